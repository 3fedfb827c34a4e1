"""Model-quality metrics in the format of SageMaker's model-quality baseline, the format the
model registry shows: `binary_classification_metrics` (auc, accuracy, precision, recall, f1,
confusion matrix, ROC and precision-recall curves, ...) or `regression_metrics` (rmse, mae, mse,
r2), each metric `{"value": ..., "standard_deviation": ...}`, computed with scikit-learn.

Evaluate writes them into evaluation.json for the model, the champion and the naive baseline;
the monitor (monitor/checks.py) computes them on captured predictions joined with ground truth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn import metrics

from .model_io import LABEL_THRESHOLD as THRESHOLD

# The metric the quality gate judges, per problem type (config.QUALITY_GATE names the same one).
# Both are higher-is-better, so what a challenger must reach is the champion's value + margin
# (required_to_beat), and both are at most 1.0: a perfect ranking, a perfect fit.
HEADLINE_METRICS = {"binary_classification": "auc", "regression": "r2"}
METRIC_MAXIMUM = {"auc": 1.0, "r2": 1.0}
# Model Monitor's convention for standard deviations: the metric on 5 random 80 % samples,
# reported only from 200 rows up ("NaN" below that).
STD_MIN_ROWS = 200
STD_SAMPLES = 5
STD_FRACTION = 0.8

Metric = Callable[[np.ndarray, np.ndarray], float]


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


def labels(probabilities: np.ndarray) -> np.ndarray:
    """The class of each probability, as the SageMaker XGBoost container labels it."""
    return (probabilities > THRESHOLD).astype(int)


def _rate(actual: int, predicted: int) -> Metric:
    """Share of the rows of class `actual` that get label `predicted` (TPR, TNR, FPR, FNR)."""

    def rate(y_true: np.ndarray, probabilities: np.ndarray) -> float:
        of_class = y_true == actual
        hits = of_class & (labels(probabilities) == predicted)
        return float(hits.sum() / of_class.sum()) if of_class.any() else 0.0

    return rate


def _on_labels(score: Callable[..., float], **kwargs: Any) -> Metric:
    """A label metric (accuracy, precision, ...) computed from probabilities."""
    return lambda y_true, probabilities: score(y_true, labels(probabilities), **kwargs)


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    """`binary_classification_metrics` of the model-quality format."""
    y_true = np.asarray(y_true).astype(int)
    probabilities = np.asarray(probabilities, dtype=float)
    matrix = metrics.confusion_matrix(y_true, labels(probabilities), labels=[0, 1])
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


def metrics_report(y_true: np.ndarray, scores: np.ndarray, problem_type: str) -> dict[str, Any]:
    """The model-quality section of the problem type: binary classification or regression."""
    if problem_type == "binary_classification":
        return classification_metrics(y_true, scores)
    return regression_metrics(y_true, scores)


def scalar_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """{section: {metric: {"value": ...}}}: the scalar values of a report's first section."""
    (section, entries), *_ = report.items()
    return {section: {name: {"value": e["value"]} for name, e in entries.items() if "value" in e}}


def required_to_beat(champion_value: float, margin: float, metric: str) -> float:
    """What a challenger's gate metric must reach to replace a champion: the champion's value plus
    the margin, the margin cut to half of what is left below the metric's maximum. Near the
    maximum (AUC or R^2 of 0.9998) a full margin would ask for more than 1.0, a gate no model can
    pass; this way a better model still passes, and one at the maximum matches one there. The one
    rule of the gate: evaluate writes it into evaluation.json (champion.required), which the local
    run and the pipeline's condition both compare with."""
    headroom = max(METRIC_MAXIMUM[metric] - champion_value, 0.0)
    return champion_value + min(margin, headroom / 2)


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
