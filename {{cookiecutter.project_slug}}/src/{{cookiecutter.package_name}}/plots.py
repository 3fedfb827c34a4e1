"""Evaluate's plots: confusion matrix and ROC curve (classification) or residuals (regression),
and feature importance, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn import metrics

from .metrics import THRESHOLD, labels

MAX_FEATURES_PLOTTED = 20


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
        np.asarray(y_true).astype(int), labels(probabilities), labels=[0, 1], ax=axes
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


def plot_evaluation(
    booster: xgb.Booster,
    feature_names: list[str],
    y_true: np.ndarray,
    scores: np.ndarray,
    problem_type: str,
    output_dir: Path,
) -> list[Path]:
    """Every plot of the problem type into output_dir; returns their paths."""
    if problem_type == "binary_classification":
        paths = [
            plot_confusion_matrix(y_true, scores, output_dir / "confusion_matrix.png"),
            plot_roc_curve(y_true, scores, output_dir / "roc_curve.png"),
        ]
    else:
        paths = [plot_residuals(y_true, scores, output_dir / "residuals.png")]
    importance = output_dir / "feature_importance.png"
    return [*paths, plot_feature_importance(booster, feature_names, importance)]
