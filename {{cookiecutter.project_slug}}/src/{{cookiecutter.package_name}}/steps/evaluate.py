"""Evaluate: score the trained model on the test split; write evaluation.json and plots.

--model-dir holds model.tar.gz (what a SageMaker training job produces; it is extracted here) or,
in a local run, train.py's xgboost-model itself (its metadata is inside it).
--test-dir holds the test split (CSV with a header row, target first, and preprocess's
schema.json). Rows are encoded for the model by model_io.encode, the one encoding of category
columns.

Writes into --output-dir:
- evaluation.json: the model-quality metrics of the model (metrics.py), the format the model
  registry shows and the pipeline's quality gate reads. Beside them, `naive_baseline`: the same
  scalar metrics of a model that knows nothing of the features (the positive rate of the test
  split as every probability, or the mean of the test split's target as every prediction).
  And `champion`: the model to beat, scored on the same test split, and what the new model must
  reach, which the pipeline's quality gate reads:
      {"model_package": ARN or local registry version, or null,
       "strategy": where the champion came from,
       "margin": --champion-margin, "required": the champion's gate metric + margin, the
       margin cut to half the distance to the metric's maximum (metrics.required_to_beat),
       "<section>": {"<metric>": {"value": ...}, ...}}
  The champion is --champion-model-dir (a model folder found by the caller, e.g. local.py's
  registry) or, with --model-package-group, the latest Approved package of that group in the
  SageMaker model registry (champion.py, with boto3). Without one, the naive baseline stands in.
- the plots of plots.py: confusion_matrix.png and roc_curve.png (classification) or
  residuals.png (regression), and feature_importance.png.
With --predictions-dir, predictions.csv there: the test split's true `label` beside the model's
`prediction` (the class at the threshold, or the value) and, for a classifier, `probability` of
class 1, with a header row: the input of Model Monitor's model-quality baseline (the pipeline's
ModelQualityBaseline step).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from {{ cookiecutter.package_name }} import model_io
from {{ cookiecutter.package_name }}.champion import latest_approved
from {{ cookiecutter.package_name }}.contract import PROBLEM_TYPES, read_split
from {{ cookiecutter.package_name }}.metrics import (
    HEADLINE_METRICS,
    THRESHOLD,
    metrics_report,
    naive_baseline,
    naive_scores,
    required_to_beat,
    scalar_metrics,
)
from {{ cookiecutter.package_name }}.plots import plot_evaluation

EVALUATION_FILE = "evaluation.json"
NO_CHAMPION = "no approved model yet: the naive baseline stands in"


def load_model(model_dir: str | Path) -> tuple[xgb.Booster, dict[str, Any]]:
    """The booster and the metadata train.py stored inside it."""
    model_file = Path(model_dir) / model_io.MODEL_FILE
    if not model_file.is_file():
        raise FileNotFoundError(f"{model_dir} has no {model_io.MODEL_FILE}")
    booster, metadata = model_io.load_model(model_dir)
    if "feature_names" not in metadata:
        raise ValueError(f"{model_file} carries no metadata: it was not saved by train.py")
    return booster, metadata


def model_features(features: pd.DataFrame, feature_names: list[str]) -> pd.DataFrame:
    """The test split's features that the model takes, in the model's order."""
    absent = [name for name in feature_names if name not in features.columns]
    if absent:
        raise ValueError(f"the test data lacks features the model was trained on: {absent}")
    return features[feature_names]


@dataclass(frozen=True)
class Champion:
    """The approved model a new model must beat: its model folder and where it came from."""

    model_dir: Path
    model_package: str  # a model package ARN, or a local registry version
    strategy: str


def _incompatible(metadata: dict[str, Any], features: pd.DataFrame, problem_type: str) -> str:
    """Why a champion cannot be scored on this test split, or "" when it can."""
    if metadata.get("problem_type", problem_type) != problem_type:
        return f"it is a {metadata['problem_type']} model"
    absent = [name for name in metadata["feature_names"] if name not in features.columns]
    return f"the test split lacks its features {absent}" if absent else ""


def champion_section(
    champion: Champion | None,
    features: pd.DataFrame,
    target: pd.Series,
    problem_type: str,
    margin: float,
) -> dict[str, Any]:
    """evaluation.json's `champion`: the champion's scalar metrics on the test split (features:
    every feature column of it) and the gate metric a new model must reach. The naive baseline
    stands in without a champion, or for one trained on other features (another data set)."""
    y_true = target.to_numpy()
    model_package, strategy = None, NO_CHAMPION
    scores = naive_scores(y_true)
    if champion is not None:
        booster, metadata = load_model(champion.model_dir)
        reason = _incompatible(metadata, features, problem_type)
        if reason:
            strategy = f"{champion.model_package} cannot be scored ({reason}): {NO_CHAMPION}"
        else:
            model_package, strategy = champion.model_package, champion.strategy
            scores = model_io.predict(booster, features[metadata["feature_names"]])
    scalar = scalar_metrics(metrics_report(y_true, scores, problem_type))
    (entries,) = scalar.values()
    headline = HEADLINE_METRICS[problem_type]
    required = required_to_beat(entries[headline]["value"], margin, headline)
    return {
        "model_package": model_package,
        "strategy": strategy,
        "margin": float(margin),
        "required": float(required),
        **scalar,
    }


def evaluate(
    booster: xgb.Booster,
    feature_names: list[str],
    features: pd.DataFrame,
    target: pd.Series,
    problem_type: str,
    output_dir: str | Path,
    champion: dict[str, Any],
) -> dict[str, Any]:
    """Write evaluation.json (with the champion section from champion_section) and the plots
    into output_dir; return the report."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    y_true = target.to_numpy()
    scores = model_io.predict(booster, features)
    report = metrics_report(y_true, scores, problem_type)
    plot_evaluation(booster, feature_names, y_true, scores, problem_type, output_dir)
    report["naive_baseline"] = naive_baseline(y_true, problem_type)
    report["champion"] = champion
    (output_dir / EVALUATION_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


PREDICTIONS_FILE = "predictions.csv"


def predictions_frame(y_true: np.ndarray, scores: np.ndarray, problem_type: str) -> pd.DataFrame:
    """The test split's labels and the model's predictions, as the model-quality analyzer
    reads them (columns label, prediction and, for a classifier, probability)."""
    if problem_type == "binary_classification":
        return pd.DataFrame(
            {
                "label": y_true.astype(int),
                "prediction": (scores >= THRESHOLD).astype(int),
                "probability": scores.astype(float),
            }
        )
    return pd.DataFrame({"label": y_true.astype(float), "prediction": scores.astype(float)})


def write_predictions(
    booster: xgb.Booster,
    features: pd.DataFrame,
    target: pd.Series,
    problem_type: str,
    output_dir: str | Path,
) -> Path:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    frame = predictions_frame(target.to_numpy(), model_io.predict(booster, features), problem_type)
    path = output_dir / PREDICTIONS_FILE
    frame.to_csv(path, index=False)
    return path


def sagemaker_champion(group: str, region: str | None, work_dir: str | Path) -> Champion | None:
    """The latest Approved model package of the group, downloaded and extracted into work_dir;
    None when the group has none, or does not exist yet (the first registration creates it).

    boto3 is imported here: the SageMaker image has it, a local run does not need it.
    """
    import boto3

    client = boto3.client("sagemaker", region_name=region)
    arn = latest_approved(client, group)
    if arn is None:
        return None
    package = client.describe_model_package(ModelPackageName=arn)
    url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    bucket, _, key = url.removeprefix("s3://").partition("/")
    download, extracted = Path(work_dir) / "download", Path(work_dir) / "extracted"
    download.mkdir(parents=True)
    extracted.mkdir()
    archive = download / model_io.MODEL_ARCHIVE
    boto3.client("s3", region_name=region).download_file(bucket, key, str(archive))
    model_dir = model_io.find_model(download, extracted)
    return Champion(model_dir, arn, f"the latest Approved model package of group {group}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("/opt/ml/processing/model"))
    parser.add_argument("--test-dir", type=Path, default=Path("/opt/ml/processing/test"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/evaluation"))
    parser.add_argument(
        "--problem-type",
        "--problem_type",
        choices=PROBLEM_TYPES,
        help="defaults to the problem type in the model's metadata",
    )
    parser.add_argument(
        "--champion-margin",
        "--champion_margin",
        type=float,
        default=0.0,
        help="how much more than the champion's gate metric a new model must reach",
    )
    parser.add_argument(
        "--champion-model-dir",
        "--champion_model_dir",
        type=Path,
        help="the champion's model folder (or one with its model.tar.gz), found by the caller",
    )
    parser.add_argument(
        "--champion-id", "--champion_id", help="what --champion-model-dir is, e.g. v0003"
    )
    parser.add_argument(
        "--model-package-group",
        "--model_package_group",
        help="find the champion in the SageMaker model registry: the latest Approved package",
    )
    parser.add_argument("--region", help="the region of --model-package-group")
    parser.add_argument(
        "--predictions-dir",
        "--predictions_dir",
        type=Path,
        help="write predictions.csv (label, prediction[, probability]) of the test split here",
    )
    args = parser.parse_args(argv)
    if args.champion_model_dir and args.model_package_group:
        parser.error("--champion-model-dir and --model-package-group are two sources: pick one")
    return args


def find_champion(args: argparse.Namespace, work_dir: Path) -> Champion | None:
    """The champion named by the command line, if any."""
    if args.champion_model_dir is not None:
        model_dir = model_io.find_model(args.champion_model_dir, work_dir)
        champion_id = args.champion_id or str(args.champion_model_dir)
        return Champion(model_dir, champion_id, f"approved model {champion_id}")
    if args.model_package_group:
        return sagemaker_champion(args.model_package_group, args.region, work_dir)
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as work_dir:
        model_dir = model_io.find_model(args.model_dir, Path(work_dir) / "model")
        booster, metadata = load_model(model_dir)
        problem_type = args.problem_type or metadata["problem_type"]
        feature_names = metadata["feature_names"]
        test_features, target = read_split(args.test_dir)
        features = model_features(test_features, feature_names)
        champion = find_champion(args, Path(work_dir) / "champion")
        champion_report = champion_section(
            champion, test_features, target, problem_type, args.champion_margin
        )
    report = evaluate(
        booster, feature_names, features, target, problem_type, args.output_dir, champion_report
    )
    if args.predictions_dir is not None:
        path = write_predictions(booster, features, target, problem_type, args.predictions_dir)
        print(f"evaluate: predictions of the test split -> {path}")
    section = next(iter(report))
    headline = HEADLINE_METRICS[problem_type]
    value = report[section][headline]["value"]
    naive = report["naive_baseline"][section][headline]["value"]
    print(
        f"evaluate: {len(target)} test rows, {headline} {value:.4f} "
        f"(naive baseline {naive:.4f}) -> {args.output_dir / EVALUATION_FILE}"
    )
    print(
        f"evaluate: champion {champion_report['model_package'] or 'none'} "
        f"({champion_report['strategy']}): "
        f"{headline} {champion_report[section][headline]['value']:.4f}, required "
        f"{champion_report['required']:.4f} (margin {args.champion_margin})"
    )
    _, unseen = model_io.encode(features, model_io.categories(booster))
    for name, count in unseen.items():
        print(f"evaluate: column '{name}': {count} values unseen in training, scored as missing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
