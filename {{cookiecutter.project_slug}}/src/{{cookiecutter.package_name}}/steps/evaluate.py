"""Evaluate: score the trained model on the test split; write evaluation.json and plots.

--model-dir holds model.tar.gz (what a SageMaker training job produces; it is extracted here) or,
in a local run, train.py's xgboost-model itself (its metadata is inside it).
--test-dir holds the test split (CSV with a header row, target first, and preprocess's
schema.json). Rows are encoded for the model by train.py's own code (train.encode), the one
encoding of category columns.

Writes into --output-dir:
- evaluation.json in the SageMaker model-quality metrics format, the format the model registry
  shows: `binary_classification_metrics` (auc, accuracy, precision, recall, f1, confusion
  matrix, ROC and precision-recall curves, ...) or `regression_metrics` (rmse, mae, mse, r2),
  each metric `{"value": ..., "standard_deviation": ...}`; the pipeline's quality gate reads it.
  Beside them, `naive_baseline`: the same scalar metrics of a model that knows nothing of the
  features (the positive rate of the test split as every probability, or the mean of the test
  split's target as every prediction).
  And `champion`: the model to beat, scored on the same test split, and what the new model must
  reach, which the pipeline's quality gate reads:
      {"model_package": ARN or local registry version, or null,
       "strategy": where the champion came from,
       "margin": --champion-margin, "required": the champion's gate metric + margin,
       "<section>": {"<metric>": {"value": ...}, ...}}
  The champion is --champion-model-dir (a model folder found by the caller, e.g. local.py's
  registry) or, with --model-package-group, the latest Approved package of that group in the
  SageMaker model registry (boto3). Without one, the naive baseline stands in.
With --predictions-dir, predictions.csv there: the test split's true `label` beside the model's
`prediction` (the class at the threshold, or the value) and, for a classifier, `probability` of
class 1, with a header row: the input of Model Monitor's model-quality baseline (the pipeline's
ModelQualityBaseline step) and of the local twin (baseline.py --predictions-dir).
With --model-quality-dir (the local twin of that step: `make local-run`), statistics.json and
constraints.json there in the structure of Model Monitor's model-quality baseline: statistics
`{"version": 0.0, "dataset": {"item_count": n}, "<section>": {<metric>: {"value",
"standard_deviation"}, ...}}` (the metrics of evaluation.json), constraints `{"version": 0.0,
"binary_classification_constraints" | "regression_constraints": {<metric>: {"threshold",
"comparison_operator"}}}` with each threshold the baseline's own value and the operator that
flags a worse one. The analyzer in AWS computes its own values (on Spark); these are
scikit-learn's on the same rows.
With --explain-data-dir, the test split there as SageMaker Clarify reads CSV: the same rows and
columns, target first, without the header row (the pipeline gives Clarify the column names).
- confusion_matrix.png and roc_curve.png (classification) or residuals.png (regression), and
  feature_importance.png, drawn with matplotlib's Agg backend (no display needed).

Needs train.py (in STEPS_CODE_DIR in a SageMaker job, where the pipeline puts it), numpy, pandas,
scikit-learn, xgboost and matplotlib; boto3 for a champion from the SageMaker model registry.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn import metrics

# Where the pipeline puts train.py for a processing job (its "steps" input).
STEPS_CODE_DIR = "/opt/ml/processing/input/steps"
try:
    from . import train as model_io  # part of the package: the local twin and the tests
except ImportError:  # a lone script in a SageMaker job
    sys.path.insert(0, STEPS_CODE_DIR)
    import train as model_io  # type: ignore[no-redef]

PROBLEM_TYPES = ("binary_classification", "regression")
MODEL_ARCHIVE = "model.tar.gz"
MODEL_FILE = "xgboost-model"
EVALUATION_FILE = "evaluation.json"
# The metric the quality gate judges, per problem type (config.QUALITY_GATE names the same one).
# Both are higher-is-better, so what a challenger must reach is the champion's value + margin.
HEADLINE_METRICS = {"binary_classification": "auc", "regression": "r2"}
NO_CHAMPION = "no approved model yet: the naive baseline stands in"
THRESHOLD = model_io.LABEL_THRESHOLD
# Model Monitor's convention for standard deviations: the metric on 5 random 80 % samples,
# reported only from 200 rows up ("NaN" below that).
STD_MIN_ROWS = 200
STD_SAMPLES = 5
STD_FRACTION = 0.8
MAX_FEATURES_PLOTTED = 20

Metric = Callable[[np.ndarray, np.ndarray], float]


def find_model(model_dir: str | Path, work_dir: str | Path) -> Path:
    """The folder with the model files: model_dir, or work_dir after extracting model.tar.gz."""
    model_dir = Path(model_dir)
    archive = model_dir / MODEL_ARCHIVE
    if not archive.is_file():
        return model_dir
    with tarfile.open(archive, "r:gz") as tar:
        # The "data" filter refuses absolute paths, links out of work_dir and device files.
        tar.extractall(work_dir, filter="data")
    return Path(work_dir)


def load_model(model_dir: str | Path) -> tuple[xgb.Booster, dict[str, Any]]:
    """The booster and the metadata train.py stored inside it."""
    model_file = Path(model_dir) / MODEL_FILE
    if not model_file.is_file():
        raise FileNotFoundError(f"{model_dir} has no {MODEL_FILE}")
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


def predict(booster: xgb.Booster, features: pd.DataFrame) -> np.ndarray:
    """Probabilities of class 1 (classification) or predicted values (regression)."""
    return model_io.predict(booster, features)


def _standard_deviation(metric: Metric, y_true: np.ndarray, y_score: np.ndarray) -> float | str:
    if len(y_true) < STD_MIN_ROWS:
        return "NaN"
    rng = np.random.default_rng(0)
    size = int(STD_FRACTION * len(y_true))
    values = []
    for _ in range(STD_SAMPLES):
        rows = rng.choice(len(y_true), size=size, replace=False)
        try:
            values.append(metric(y_true[rows], y_score[rows]))
        except ValueError:
            # A sample with one class has no AUC; the others still measure the spread.
            continue
    return float(np.std(values)) if len(values) > 1 else "NaN"


def _entry(metric: Metric, y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float | str]:
    return {
        "value": float(metric(y_true, y_score)),
        "standard_deviation": _standard_deviation(metric, y_true, y_score),
    }


def _labels(probabilities: np.ndarray) -> np.ndarray:
    return (probabilities > THRESHOLD).astype(int)


def _rate(actual: int, predicted: int) -> Metric:
    """Share of the rows of class `actual` that get label `predicted` (TPR, TNR, FPR, FNR)."""

    def rate(y_true: np.ndarray, probabilities: np.ndarray) -> float:
        of_class = y_true == actual
        hits = of_class & (_labels(probabilities) == predicted)
        return float(hits.sum() / of_class.sum()) if of_class.any() else 0.0

    return rate


def _on_labels(score: Callable[..., float], **kwargs: Any) -> Metric:
    """A label metric (accuracy, precision, ...) computed from probabilities."""
    return lambda y_true, probabilities: score(y_true, _labels(probabilities), **kwargs)


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    """`binary_classification_metrics` of the model-quality format."""
    y_true = np.asarray(y_true).astype(int)
    probabilities = np.asarray(probabilities, dtype=float)
    matrix = metrics.confusion_matrix(y_true, _labels(probabilities), labels=[0, 1])
    fpr, tpr, _ = metrics.roc_curve(y_true, probabilities)
    precisions, recalls, _ = metrics.precision_recall_curve(y_true, probabilities)
    scalar: dict[str, Metric] = {
        "recall": _on_labels(metrics.recall_score, zero_division=0),
        "precision": _on_labels(metrics.precision_score, zero_division=0),
        "accuracy": _on_labels(metrics.accuracy_score),
        "true_positive_rate": _rate(1, 1),
        "true_negative_rate": _rate(0, 0),
        "false_positive_rate": _rate(0, 1),
        "false_negative_rate": _rate(1, 0),
        "auc": metrics.roc_auc_score,
        "f0_5": _on_labels(metrics.fbeta_score, beta=0.5, zero_division=0),
        "f1": _on_labels(metrics.f1_score, zero_division=0),
        "f2": _on_labels(metrics.fbeta_score, beta=2, zero_division=0),
    }
    result: dict[str, Any] = {
        # Rows are the actual labels, columns the predicted ones.
        "confusion_matrix": {
            str(actual): {str(predicted): int(matrix[actual, predicted]) for predicted in (0, 1)}
            for actual in (0, 1)
        },
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": fpr.tolist(),
            "true_positive_rates": tpr.tolist(),
        },
        "precision_recall_curve": {"precisions": precisions.tolist(), "recalls": recalls.tolist()},
    }
    result.update({name: _entry(metric, y_true, probabilities) for name, metric in scalar.items()})
    return {"binary_classification_metrics": result}


def _rmse(y_true: np.ndarray, predictions: np.ndarray) -> float:
    return float(np.sqrt(metrics.mean_squared_error(y_true, predictions)))


def regression_metrics(y_true: np.ndarray, predictions: np.ndarray) -> dict[str, Any]:
    """`regression_metrics` of the model-quality format."""
    y_true = np.asarray(y_true, dtype=float)
    predictions = np.asarray(predictions, dtype=float)
    scalar: dict[str, Metric] = {
        "mae": metrics.mean_absolute_error,
        "mse": metrics.mean_squared_error,
        "rmse": _rmse,
        "r2": metrics.r2_score,
    }
    return {
        "regression_metrics": {
            name: _entry(metric, y_true, predictions) for name, metric in scalar.items()
        }
    }


def _figure(width: float = 6.4, height: float = 4.8) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    # Attaching the Agg canvas draws off-screen, whatever pyplot backend the user has.
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=100)
    return path


def plot_confusion_matrix(y_true: np.ndarray, probabilities: np.ndarray, path: Path) -> Path:
    figure = _figure(5, 4.5)
    axes = figure.subplots()
    metrics.ConfusionMatrixDisplay.from_predictions(
        np.asarray(y_true).astype(int), _labels(probabilities), labels=[0, 1], ax=axes
    )
    axes.set_title(f"Confusion matrix (label 1 when probability > {THRESHOLD})")
    return _save(figure, path)


def plot_roc_curve(y_true: np.ndarray, probabilities: np.ndarray, path: Path) -> Path:
    figure = _figure(5, 5)
    axes = figure.subplots()
    metrics.RocCurveDisplay.from_predictions(y_true, probabilities, name="model", ax=axes)
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance (AUC = 0.5)")
    axes.legend(loc="lower right")
    axes.set_title("ROC curve on the test split")
    return _save(figure, path)


def plot_residuals(y_true: np.ndarray, predictions: np.ndarray, path: Path) -> Path:
    figure = _figure()
    axes = figure.subplots()
    metrics.PredictionErrorDisplay.from_predictions(
        y_true, predictions, kind="residual_vs_predicted", ax=axes
    )
    axes.set_title("Residuals on the test split (actual - predicted)")
    return _save(figure, path)


def plot_feature_importance(booster: xgb.Booster, feature_names: list[str], path: Path) -> Path:
    # Features the trees never split on have no entry.
    gains = booster.get_score(importance_type="gain")
    importance = pd.Series([gains.get(name, 0.0) for name in feature_names], index=feature_names)
    top = importance.sort_values().tail(MAX_FEATURES_PLOTTED)
    figure = _figure(7, 0.3 * len(top) + 1.5)
    axes = figure.subplots()
    axes.barh(top.index, top.to_numpy())
    axes.set_xlabel("average gain of the splits on the feature")
    shown = f"top {len(top)} of {len(importance)}" if len(top) < len(importance) else "all"
    axes.set_title(f"Feature importance ({shown} features)")
    return _save(figure, path)


def metrics_report(y_true: np.ndarray, scores: np.ndarray, problem_type: str) -> dict[str, Any]:
    """The model-quality section of the problem type: binary classification or regression."""
    if problem_type == "binary_classification":
        return classification_metrics(y_true, scores)
    return regression_metrics(y_true, scores)


def scalar_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """{section: {metric: {"value": ...}}}: the scalar values of a report's first section."""
    (section, entries), *_ = report.items()
    return {section: {name: {"value": e["value"]} for name, e in entries.items() if "value" in e}}


def naive_scores(y_true: np.ndarray) -> np.ndarray:
    """A prediction that knows nothing of the features: the mean of the target on every row."""
    y_true = np.asarray(y_true, dtype=float)
    return np.full(len(y_true), y_true.mean())


def naive_baseline(y_true: np.ndarray, problem_type: str) -> dict[str, Any]:
    """The scalar metrics of a constant prediction on the same rows: the positive rate as every
    probability (AUC 0.5), or the mean of the target as every value (R^2 0)."""
    y_true = np.asarray(y_true, dtype=float)
    constant = naive_scores(y_true)
    if problem_type == "binary_classification":
        strategy = "prior: the positive rate of the test split as every probability"
    else:
        strategy = "mean: the mean of the test split's target as every prediction"
    return {"strategy": strategy, **scalar_metrics(metrics_report(y_true, constant, problem_type))}


@dataclass(frozen=True)
class Champion:
    """The approved model a new model must beat: its model folder and where it came from."""

    model_dir: Path
    model_package: str  # a model package ARN, or a local registry version
    strategy: str


def sagemaker_champion(group: str, region: str | None, work_dir: str | Path) -> Champion | None:
    """The latest Approved model package of the group, downloaded and extracted into work_dir;
    None when the group has none, or does not exist yet (the first registration creates it).

    boto3 is imported here: the SageMaker image has it, a local run does not need it.
    """
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client("sagemaker", region_name=region)
    try:
        listed = client.list_model_packages(
            ModelPackageGroupName=group,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        )["ModelPackageSummaryList"]
    except ClientError as error:
        # Before the first registration the group does not exist: there is no champion yet.
        details = error.response.get("Error", {})
        missing = "does not exist" in details.get("Message", "")
        if details.get("Code") == "ValidationException" and missing:
            return None
        raise
    if not listed:
        return None
    arn = listed[0]["ModelPackageArn"]
    package = client.describe_model_package(ModelPackageName=arn)
    url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    bucket, _, key = url.removeprefix("s3://").partition("/")
    download, extracted = Path(work_dir) / "download", Path(work_dir) / "extracted"
    download.mkdir(parents=True)
    extracted.mkdir()
    boto3.client("s3", region_name=region).download_file(bucket, key, str(download / MODEL_ARCHIVE))
    model_dir = find_model(download, extracted)
    return Champion(model_dir, arn, f"the latest Approved model package of group {group}")


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
            scores = predict(booster, features[metadata["feature_names"]])
    scalar = scalar_metrics(metrics_report(y_true, scores, problem_type))
    (entries,) = scalar.values()
    required = entries[HEADLINE_METRICS[problem_type]]["value"] + margin
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
    scores = predict(booster, features)
    report = metrics_report(y_true, scores, problem_type)
    if problem_type == "binary_classification":
        plot_confusion_matrix(y_true, scores, output_dir / "confusion_matrix.png")
        plot_roc_curve(y_true, scores, output_dir / "roc_curve.png")
    else:
        plot_residuals(y_true, scores, output_dir / "residuals.png")
    plot_feature_importance(booster, feature_names, output_dir / "feature_importance.png")
    report["naive_baseline"] = naive_baseline(y_true, problem_type)
    report["champion"] = champion
    (output_dir / EVALUATION_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


PREDICTIONS_FILE = "predictions.csv"
EXPLAIN_DATA_FILE = "test.csv"


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
    frame = predictions_frame(target.to_numpy(), predict(booster, features), problem_type)
    path = output_dir / PREDICTIONS_FILE
    frame.to_csv(path, index=False)
    return path


def write_explain_data(test_dir: str | Path, output_dir: str | Path) -> Path:
    """The test split's CSV files as one file without the header row, cells as written."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(Path(test_dir).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"evaluate: no *.csv file in {test_dir}")
    frames = [pd.read_csv(file, dtype=str, keep_default_na=False) for file in files]
    path = output_dir / EXPLAIN_DATA_FILE
    pd.concat(frames, ignore_index=True).to_csv(path, header=False, index=False)
    return path


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
    parser.add_argument(
        "--model-quality-dir",
        "--model_quality_dir",
        type=Path,
        help="write a local model-quality baseline (statistics.json, constraints.json) here",
    )
    parser.add_argument(
        "--explain-data-dir",
        "--explain_data_dir",
        type=Path,
        help="write the test split without its header row here (Clarify's input)",
    )
    args = parser.parse_args(argv)
    if args.champion_model_dir and args.model_package_group:
        parser.error("--champion-model-dir and --model-package-group are two sources: pick one")
    return args


def find_champion(args: argparse.Namespace, work_dir: Path) -> Champion | None:
    """The champion named by the command line, if any."""
    if args.champion_model_dir is not None:
        model_dir = find_model(args.champion_model_dir, work_dir)
        champion_id = args.champion_id or str(args.champion_model_dir)
        return Champion(model_dir, champion_id, f"approved model {champion_id}")
    if args.model_package_group:
        return sagemaker_champion(args.model_package_group, args.region, work_dir)
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as work_dir:
        booster, metadata = load_model(find_model(args.model_dir, Path(work_dir) / "model"))
        problem_type = args.problem_type or metadata["problem_type"]
        feature_names = metadata["feature_names"]
        test_features, target = model_io.read_split(args.test_dir)
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
    if args.model_quality_dir is not None:
        y_true, scores = target.to_numpy(), predict(booster, features)
        paths = write_model_quality_baseline(y_true, scores, problem_type, args.model_quality_dir)
        print(f"evaluate: model-quality baseline -> {paths[0]}, {paths[1]}")
    if args.explain_data_dir is not None:
        path = write_explain_data(args.test_dir, args.explain_data_dir)
        print(f"evaluate: test split without header -> {path}")
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
