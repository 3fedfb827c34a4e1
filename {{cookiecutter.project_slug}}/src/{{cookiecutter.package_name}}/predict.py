"""Score a CSV file with a model of the local registry, the way the model will be served.

    python -m {{ cookiecutter.package_name }}.predict --data new.csv [--output out.csv]
        [--registry-dir build/registry [--version v0002] | --model-dir DIR]

The model is the registry's last run that passed the quality gate (registry.serving_version: the
newest version not Rejected), or --version, or the model folder --model-dir; which one is said
in one line on standard error.

The rows are checked against the project's schema first (the feature columns; a target column,
if the file has one, is ignored): a file that breaks a rule is refused with one line per rule,
naming the column. They are then encoded with the encoding saved in the model (model_io.encode): a
category the model never saw in training is scored as a missing value, and counted. The output
is the input with the predictions appended: `probability` (of the positive class) and
`predicted_label` for classification, `prediction` for regression. Columns the schema declares
with "role": "id" (or "ignored") are not fed to the model and stay in the output as they came,
so the predictions join back on the id.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import xgboost as xgb

from . import config, contract, model_io, registry

DEFAULT_OUTPUT = Path("build/predictions.csv")


class PredictError(ValueError):
    """The model or the rows cannot be scored; the message says why and what to do."""


def load(model_dir: Path) -> xgb.Booster:
    if not (model_dir / model_io.MODEL_FILE).is_file():
        raise PredictError(f"no model in {model_dir}: run `make local-run` first")
    try:
        booster, _ = model_io.load_model(model_dir)
    except ValueError as error:
        raise PredictError(str(error)) from None
    return booster


def score(
    booster: xgb.Booster, data: pd.DataFrame, schema: contract.Schema
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The data with the predictions appended, and the unseen-category counts per column."""
    problem_type = schema.problem_type or config.PROBLEM_TYPE
    features = contract.validate(data, schema, problem_type, with_target=False)
    scores, unseen = model_io.score(booster, features)
    scored = data.copy()
    if problem_type == "binary_classification":
        negative, positive = schema.labels or (0, 1)
        scored["probability"] = scores
        # The label the SageMaker XGBoost container gives: positive when probability > 0.5.
        scored["predicted_label"] = [
            positive if p > model_io.LABEL_THRESHOLD else negative for p in scores
        ]
    else:
        scored["prediction"] = scores
    return scored, unseen


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="CSV file (or folder) to score")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model-dir", type=Path, help="a model folder, instead of the registry")
    source.add_argument("--registry-dir", type=Path, default=registry.DEFAULT_DIR)
    parser.add_argument(
        "--version", help="the registry's version (default: the last run that passed the gate)"
    )
    parser.add_argument("--schema", type=Path, default=config.SCHEMA)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    errors = (
        PredictError,
        contract.SchemaError,
        contract.DataValidationError,
        registry.RegistryError,
    )
    try:
        if args.model_dir is None:
            package = registry.serving_version(args.registry_dir, args.version)
            model_dir = registry.model_dir(args.registry_dir, package["version"])
            using = registry.serving_line(args.registry_dir, package)
        else:
            model_dir, using = args.model_dir, f"model in {args.model_dir}"
        booster = load(model_dir)
        schema = contract.load_schema(args.schema)
        scored, unseen = score(booster, contract.read_data(args.data), schema)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        scored.to_csv(args.output, index=False)
    except (*errors, OSError) as error:
        # OSError: an output folder that cannot be written (a read-only build/).
        print(f"predict failed: {error}", file=sys.stderr)
        return 1
    print(f"predict: {using}", file=sys.stderr)
    for name, count in unseen.items():
        print(f"predict: column '{name}': {count} values unseen in training, scored as missing")
    print(f"predict: {len(scored)} rows scored -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
