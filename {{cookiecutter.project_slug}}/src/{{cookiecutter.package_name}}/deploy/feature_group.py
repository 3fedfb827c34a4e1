"""infra/feature-store.yaml with the feature group of the current schema: its name
(config.FEATURE_GROUP) and its features (offline_store.feature_group: the schema's model
columns with their types, the record identifier and the event time), as the JSON template
`make feature-store-stack` deploys.

    python -m {{ cookiecutter.package_name }}.deploy.feature_group
        [--output build/feature-store.json]

The features come from the schema at deploy time, not from the YAML: `make schema` changes the
data set, and the feature group follows without an edit of infra/.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .. import config, offline_store
from ..contract import SchemaError, load_schema
from .templates import INFRA_DIR, load

TEMPLATE = INFRA_DIR / "feature-store.yaml"


def _long_form(node: Any) -> Any:
    """The template as JSON takes it: Fn::GetAtt as a list (its "A.B" form is YAML's only)."""
    if isinstance(node, list):
        return [_long_form(item) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::GetAtt"} and isinstance(node["Fn::GetAtt"], str):
        return {"Fn::GetAtt": node["Fn::GetAtt"].split(".", 1)}
    return {key: _long_form(value) for key, value in node.items()}


def template(schema_path: Path = config.SCHEMA) -> dict[str, Any]:
    """The stack's template, its feature group that of the schema. Raises SchemaError."""
    group = offline_store.feature_group(load_schema(schema_path), config.PROBLEM_TYPE)
    body = _long_form(load(TEMPLATE.read_text(encoding="utf-8")))
    properties = body["Resources"]["FeatureGroup"]["Properties"]
    properties["FeatureGroupName"] = config.FEATURE_GROUP
    properties["RecordIdentifierFeatureName"] = group.record_identifier
    properties["EventTimeFeatureName"] = group.event_time
    properties["FeatureDefinitions"] = group.definitions()
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("build/feature-store.json"))
    args = parser.parse_args(argv)
    try:
        body = template()
    except SchemaError as error:
        print(f"feature-store: {error}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    features = len(body["Resources"]["FeatureGroup"]["Properties"]["FeatureDefinitions"])
    print(f"feature-store: {config.FEATURE_GROUP} with {features} features -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
