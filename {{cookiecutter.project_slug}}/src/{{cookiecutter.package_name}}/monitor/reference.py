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
    bias.json       steps/bias.py's report of the model (its post-training metrics on the test
                    split), what the monitor's bias-drift check compares traffic's with
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import SCHEMA_FILE, Schema, SchemaError, load_schema, parse_schema, read_split

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
    bias_dir: Path | None = None,
) -> Reference:
    """The reference of the train split in train_dir (its *.csv and schema.json); the problem
    type defaults to the schema's. The bias.json of bias_dir (steps/bias.py's output) is kept."""
    train_dir, output_dir = Path(train_dir), Path(output_dir)
    try:
        schema = load_schema(train_dir / SCHEMA_FILE)
    except SchemaError as error:
        raise ReferenceError(f"{train_dir}: {error}") from None
    features, _ = read_split(train_dir)
    rows = len(features)
    if rows > REFERENCE_ROWS:
        features = features.sample(REFERENCE_ROWS, random_state=SEED).sort_index()
    features = features[schema.features].reset_index(drop=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / SCHEMA_FILE).write_text(json.dumps(schema.raw, indent=2) + "\n", "utf-8")
    features.to_csv(output_dir / REFERENCE_FILE, index=False)
    content = profile(features, schema, rows, problem_type)
    (output_dir / PROFILE_FILE).write_text(json.dumps(content, indent=2) + "\n", "utf-8")
    bias = None
    if bias_dir is not None:
        bias = json.loads((Path(bias_dir) / BIAS_FILE).read_text(encoding="utf-8"))
        (output_dir / BIAS_FILE).write_text(json.dumps(bias, indent=2) + "\n", "utf-8")
    return Reference(schema, features, content, bias)


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
