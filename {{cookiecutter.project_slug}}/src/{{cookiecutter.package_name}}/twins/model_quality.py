"""Model-quality baseline, the local twin of the pipeline's ModelQualityBaseline step.

In AWS that step (a QualityCheckStep) runs Model Monitor's analyzer on evaluate's
predictions.csv and its files become the model package's model-quality baselines. `make
local-run` runs this instead, on the same predictions.csv: statistics.json and constraints.json
in the structure of Model Monitor's model-quality baseline. Statistics
`{"version": 0.0, "dataset": {"item_count": n}, "<section>": {<metric>: {"value",
"standard_deviation"}, ...}}` (the metrics of evaluation.json, metrics.py), constraints
`{"version": 0.0, "binary_classification_constraints" | "regression_constraints": {<metric>:
{"threshold", "comparison_operator"}}}` with each threshold the baseline's own value and the
operator that flags a worse one. The analyzer in AWS computes its own values (on Spark); these
are scikit-learn's on the same rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..contract import PROBLEM_TYPES
from ..metrics import metrics_report
from ..steps.evaluate import PREDICTIONS_FILE

# Model Monitor's constraint sections and the metrics it checks in them; a violation is a value
# on the wrong side of the baseline's: lower for a score, higher for an error or a false rate.
CONSTRAINT_SECTIONS = {
    "binary_classification": "binary_classification_constraints",
    "regression": "regression_constraints",
}
LOWER_IS_WORSE, HIGHER_IS_WORSE = "LessThanThreshold", "GreaterThanThreshold"
CHECKED_METRICS = {
    "binary_classification": {
        **dict.fromkeys(("accuracy", "precision", "recall", "f1", "auc"), LOWER_IS_WORSE),
        **dict.fromkeys(("false_positive_rate", "false_negative_rate"), HIGHER_IS_WORSE),
    },
    "regression": {
        **dict.fromkeys(("mae", "mse", "rmse"), HIGHER_IS_WORSE),
        "r2": LOWER_IS_WORSE,
    },
}


def model_quality_baseline(
    y_true: np.ndarray, scores: np.ndarray, problem_type: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(statistics, constraints) of the model on these rows, in the model-quality baseline's
    structure; constraints only on the metrics that are present and finite."""
    report = metrics_report(y_true, scores, problem_type)
    statistics = {"version": 0.0, "dataset": {"item_count": len(y_true)}, **report}
    (section,) = report
    checked = {
        name: {"threshold": float(report[section][name]["value"]), "comparison_operator": operator}
        for name, operator in CHECKED_METRICS[problem_type].items()
        if name in report[section] and np.isfinite(report[section][name]["value"])
    }
    constraints = {"version": 0.0, CONSTRAINT_SECTIONS[problem_type]: checked}
    return statistics, constraints


def write_model_quality_baseline(
    y_true: np.ndarray, scores: np.ndarray, problem_type: str, output_dir: str | Path
) -> tuple[Path, Path]:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = output_dir / "statistics.json", output_dir / "constraints.json"
    for path, content in zip(
        paths, model_quality_baseline(y_true, scores, problem_type), strict=True
    ):
        # allow_nan=False: NaN is not JSON ("NaN" standard deviations are strings already).
        path.write_text(json.dumps(content, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return paths


def read_predictions(predictions_dir: Path, problem_type: str) -> tuple[np.ndarray, np.ndarray]:
    """(labels, scores) of evaluate's predictions.csv: the probability of class 1 for a
    classifier, the predicted value for a regressor (pandas reads back the floats it wrote)."""
    frame = pd.read_csv(Path(predictions_dir) / PREDICTIONS_FILE)
    score = "probability" if problem_type == "binary_classification" else "prediction"
    return frame["label"].to_numpy(), frame[score].to_numpy(dtype=float)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--predictions-dir", type=Path, required=True, help="evaluate's predictions.csv is here"
    )
    parser.add_argument(
        "--output-dir", type=Path, required=True, help="statistics.json, constraints.json go here"
    )
    parser.add_argument("--problem-type", choices=PROBLEM_TYPES, required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    y_true, scores = read_predictions(args.predictions_dir, args.problem_type)
    paths = write_model_quality_baseline(y_true, scores, args.problem_type, args.output_dir)
    print(f"model quality: baseline of {len(y_true)} predictions -> {paths[0]}, {paths[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
