"""The reference: what the monitor compares traffic with, written from the training split.

A folder of three files, written by steps/reference.py in the pipeline (and by `make local-run`
into build/local-run/reference/):
    schema.json     the data contract the model was trained under (preprocess's copy)
    reference.csv   the training split's feature columns (at most REFERENCE_ROWS rows, a fixed
                    random sample beyond that), the rows each drift test compares with
    profile.json    {"rows", "sampled_rows", "problem_type", "target",
                     "features": {name: {"type", "missing_fraction", "categories"?}}}: the
                    categories seen in training, for the unseen-category check
and, in a project with the bias report, a fourth:
    bias.json       {"facet", "group", "label_value_or_threshold", "baseline": {"DPPL", "DI"},
                    "rows"}: the training labels' difference and ratio of positive proportions
                    between the facet's groups (bias.py), what the monitor's bias-drift check
                    compares the predictions' with; a model that learnt the labels reproduces
                    them, and traffic scored as the labels were gives no bias drift
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import (
    SCHEMA_FILE,
    Schema,
    SchemaError,
    load_schema,
    parse_schema,
    read_split,
    require_facet,
)

REFERENCE_FILE = "reference.csv"
PROFILE_FILE = "profile.json"
BIAS_FILE = "bias.json"
# A drift test's result does not improve beyond a few ten thousand rows, while reading them
# costs every monitoring run.
REFERENCE_ROWS = 100_000
SEED = 0


class ReferenceError(ValueError):
    """No usable reference; the message is the one line the monitor prints."""


@dataclass(frozen=True)
class Reference:
    schema: Schema
    rows: pd.DataFrame  # the feature columns, categories as text, numbers as numbers
    profile: dict[str, Any]
    bias: dict[str, Any] | None = None  # bias.json, in a project with the bias report

    @property
    def features(self) -> list[str]:
        return self.schema.features

    @property
    def categories(self) -> list[str]:
        return self.schema.categories

    @property
    def problem_type(self) -> str | None:
        return self.profile.get("problem_type")


def profile(
    features: pd.DataFrame, schema: Schema, rows: int, problem_type: str | None
) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    for name in schema.features:
        column = features[name]
        entry: dict[str, Any] = {
            "type": schema.column(name).type,
            "missing_fraction": float(column.isna().mean()) if len(column) else 0.0,
        }
        if name in schema.categories:
            entry["categories"] = sorted(str(value) for value in column.dropna().unique())
        entries[name] = entry
    return {
        "rows": rows,
        "sampled_rows": len(features),
        "problem_type": problem_type or schema.problem_type,
        "target": schema.target,
        "features": entries,
    }


def write_reference(
    train_dir: Path,
    output_dir: Path,
    problem_type: str | None = None,
    bias: bool = False,
) -> Reference:
    """The reference of the train split in train_dir (its *.csv and schema.json); the problem
    type defaults to the schema's. With bias, the facet's bias-drift baseline too."""
    train_dir, output_dir = Path(train_dir), Path(output_dir)
    try:
        schema = load_schema(train_dir / SCHEMA_FILE)
    except SchemaError as error:
        raise ReferenceError(f"{train_dir}: {error}") from None
    features, labels = read_split(train_dir)
    baseline = bias_baseline(features, labels, schema) if bias else None
    rows = len(features)
    if rows > REFERENCE_ROWS:
        features = features.sample(REFERENCE_ROWS, random_state=SEED).sort_index()
    features = features[schema.features].reset_index(drop=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / SCHEMA_FILE).write_text(json.dumps(schema.raw, indent=2) + "\n", "utf-8")
    features.to_csv(output_dir / REFERENCE_FILE, index=False)
    content = profile(features, schema, rows, problem_type)
    (output_dir / PROFILE_FILE).write_text(json.dumps(content, indent=2) + "\n", "utf-8")
    if baseline is not None:
        (output_dir / BIAS_FILE).write_text(json.dumps(baseline, indent=2) + "\n", "utf-8")
    return Reference(schema, features, content, baseline)


def bias_baseline(features: pd.DataFrame, labels: pd.Series, schema: Schema) -> dict[str, Any]:
    """bias.json: the post-training metrics of predictions equal to the training labels."""
    # Imported here: projects generated without the bias report have no bias.py.
    from .. import bias

    try:
        facet = require_facet(schema)
        sensitive, kept = bias.rows_of(features[facet.name], facet)
        positive = bias.positive_outcomes(labels.to_numpy()[kept], schema)
        baseline = bias.post_training(sensitive, positive)
    except (SchemaError, bias.BiasError) as error:
        raise ReferenceError(f"bias baseline: {error}") from None
    return {
        "facet": facet.name,
        "group": facet.group,
        "label_value_or_threshold": bias.label_value_or_threshold(schema),
        "baseline": {name: bias.json_number(value) for name, value in baseline.items()},
        "rows": int(kept.sum()),
    }


def load_reference(folder: Path) -> Reference:
    """The reference in the folder; ReferenceError names what is missing."""
    folder = Path(folder)
    paths = [folder / SCHEMA_FILE, folder / REFERENCE_FILE, folder / PROFILE_FILE]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise ReferenceError(
            f"no {', '.join(missing)} in {folder}: write the reference first (make local-run, "
            "or the pipeline's Reference step)"
        )
    try:
        # Named as the project names it in messages: the copy here is not the file to edit.
        schema = parse_schema(json.loads(paths[0].read_text(encoding="utf-8")))
        content = json.loads(paths[2].read_text(encoding="utf-8"))
    except (SchemaError, ValueError) as error:
        raise ReferenceError(f"the reference in {folder} is not readable: {error}") from None
    rows = pd.read_csv(paths[1], dtype=dict.fromkeys(schema.categories, str))
    bias_file = folder / BIAS_FILE
    bias = json.loads(bias_file.read_text(encoding="utf-8")) if bias_file.is_file() else None
    return Reference(schema, rows, content, bias)
