"""The model's explanation: exact TreeSHAP values of the model, by xgboost itself (pred_contribs).

steps/explain.py runs it, in the pipeline's Explain step (the steps image) and in `make local-run`:
the same code, the same numbers. Not SageMaker Clarify's KernelSHAP: Clarify is no longer open to
new customers (AWS's "Clarify availability change"), and exact values need no shadow endpoint.
The values are in the model's raw margin space (log-odds for binary:logistic).

The report is `explainability.json`, in the structure of Clarify's analysis.json (SageMaker
developer guide, "Get the Analysis Results" of a Clarify processing job), under the name of the
method that made the values, which the model package registers as its explainability report:

    {"version": "1.0",
     "explanations": {"tree_shap": {"label0": {"global_shap_values": {feature: value},
                                               "expected_value": value}}}}

Like Clarify's default aggregation (`mean_abs`), the global value of a feature is the mean
absolute SHAP value over the explained rows. `shap_summary.png` is a bar chart of the features
with the largest global values.

Inputs: train.py's `xgboost-model` (its metadata, inside it, names the features in the model's
order), or the training job's `model.tar.gz` holding it; the test split as CSV with a header row
and the target first (the target is not explained).

Rows are encoded for the model by model_io.encode, the one encoding of category columns: a
category feature gets one SHAP value, like any other column.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import model_io
from .contract import read_split
from .model_io import MODEL_ARCHIVE, MODEL_FILE

REPORT_FILE = "explainability.json"
PLOT_FILE = "shap_summary.png"

# Clarify's analysis.json format version, and the key it uses for a model's single output when
# no label headers are configured.
REPORT_VERSION = "1.0"
LABEL = "label0"
# Clarify files SHAP results under the name of its method ("kernel_shap"); these exact TreeSHAP
# values are filed under "tree_shap".
METHOD_KEY = "tree_shap"

TOP_FEATURES = 20
DEFAULT_MAX_ROWS = 1000
DEFAULT_SEED = 42


def load_model(model_dir: Path) -> tuple[xgb.Booster, dict[str, Any]]:
    """The booster and the metadata train.py stored inside it (empty for a model saved otherwise).

    In SageMaker the folder holds the training job's `model.tar.gz`; locally it holds the model
    file that training wrote. The model is read straight out of the archive, so nothing is
    written into the model input folder.
    """
    model_dir = Path(model_dir)
    archive = model_dir / MODEL_ARCHIVE
    if archive.is_file():
        files = _read_archive(archive, {MODEL_FILE})
    else:
        model_file = model_dir / MODEL_FILE
        files = {MODEL_FILE: model_file.read_bytes()} if model_file.is_file() else {}
    if MODEL_FILE not in files:
        raise FileNotFoundError(
            f"explain: no {MODEL_FILE} in {model_dir} (nor inside {MODEL_ARCHIVE})"
        )
    booster = xgb.Booster()
    booster.load_model(bytearray(files[MODEL_FILE]))
    return booster, model_io.read_metadata(booster)


def _read_archive(archive: Path, names: set[str]) -> dict[str, bytes]:
    """The wanted files of a tar archive, matched by base name (SageMaker writes `./name`)."""
    found: dict[str, bytes] = {}
    with tarfile.open(archive, "r:*") as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if member.isfile() and name in names:
                content = tar.extractfile(member)
                if content is not None:
                    found[name] = content.read()
    return found


def read_csv_dir(data_dir: Path) -> pd.DataFrame:
    """Every *.csv in the folder (header row, target first), concatenated; category columns
    (named by preprocess's schema.json beside them) as text."""
    if not any(Path(data_dir).glob("*.csv")):
        raise FileNotFoundError(f"explain: no *.csv file in {data_dir}")
    features, target = read_split(data_dir)
    return pd.concat([target, features], axis=1)


def feature_frame(
    data: pd.DataFrame, booster: xgb.Booster, metadata: dict[str, Any]
) -> pd.DataFrame:
    """The model's input columns, in the order it was trained on; the target is left out.

    The names come from the model's metadata, else from the booster's feature names, else every
    column after the first (the target).
    """
    names = metadata.get("feature_names") or booster.feature_names or list(data.columns[1:])
    target = metadata.get("target", data.columns[0])
    if target in names:
        raise ValueError(f"explain: the target column {target!r} is listed as a feature")
    missing = [name for name in names if name not in data.columns]
    if missing:
        raise ValueError(f"explain: feature columns missing from the data: {missing}")
    return data[list(names)]


def sample_rows(features: pd.DataFrame, max_rows: int, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """At most max_rows rows, drawn reproducibly: TreeSHAP cost grows with the row count."""
    if max_rows < 1:
        raise ValueError("explain: --max-rows must be at least 1")
    if len(features) <= max_rows:
        return features
    return features.sample(n=max_rows, random_state=seed)


def shap_values(booster: xgb.Booster, features: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Per-row SHAP values (one column per feature) and the expected value.

    xgboost's pred_contribs gives exact TreeSHAP values plus a last "bias" column, the model's
    expected margin, which is the same for every row; each row adds up to the raw margin
    prediction (predict with output_margin=True).
    """
    if features.empty:
        raise ValueError("explain: the data set has no rows")
    matrix = model_io.to_dmatrix(features, model_io.categories(booster))
    # float64: the means over many rows are then not limited by float32 rounding.
    contributions = booster.predict(matrix, pred_contribs=True).astype(np.float64)
    values = pd.DataFrame(contributions[:, :-1], columns=features.columns, index=features.index)
    return values, float(np.mean(contributions[:, -1]))


def global_shap(booster: xgb.Booster, features: pd.DataFrame) -> dict[str, float]:
    """Mean absolute SHAP value of each feature, in the features' column order."""
    values, _ = shap_values(booster, features)
    return _mean_abs(values)


def _mean_abs(values: pd.DataFrame) -> dict[str, float]:
    return {str(name): float(value) for name, value in values.abs().mean().items()}


def clarify_report(global_values: dict[str, float], expected_value: float) -> dict[str, Any]:
    """The analysis.json document of a Clarify explainability job, for one model output."""
    return {
        "version": REPORT_VERSION,
        "explanations": {
            METHOD_KEY: {
                LABEL: {"global_shap_values": global_values, "expected_value": expected_value}
            }
        },
    }


def explain(booster: xgb.Booster, features: pd.DataFrame) -> dict[str, Any]:
    """The Clarify-format report of the model on these feature rows."""
    values, expected_value = shap_values(booster, features)
    return clarify_report(_mean_abs(values), expected_value)


def margin_unit(booster: xgb.Booster) -> str:
    """What a SHAP value measures, from the booster's objective, for the plot's axis."""
    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    if objective in {"binary:logistic", "binary:logitraw"}:
        return "log-odds"
    return "model output"


def plot_summary(global_values: dict[str, float], path: Path, unit: str = "model output") -> Path:
    """A horizontal bar chart of the top features by mean |SHAP|, the largest on top."""
    top = sorted(global_values.items(), key=lambda item: item[1], reverse=True)[:TOP_FEATURES]
    names = [name for name, _ in reversed(top)]
    values = [value for _, value in reversed(top)]
    figure = Figure(figsize=(8, 1.5 + 0.35 * len(top)))
    FigureCanvasAgg(figure)  # the Agg canvas: renders PNG without a display
    axes = figure.add_subplot()
    axes.barh(names, values, color="#1f77b4")
    axes.set_xlabel(f"mean |SHAP value| ({unit})")
    axes.set_title(f"Global feature importance (top {len(top)} of {len(global_values)})")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path


def write_report(output_dir: Path, report: dict[str, Any]) -> Path:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / REPORT_FILE
    path.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path
