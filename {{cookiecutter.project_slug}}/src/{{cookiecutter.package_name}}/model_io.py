"""The model file: how train saves it, how everything else loads it, and how rows are encoded.

train writes <model-dir>/xgboost-model and nothing else: the booster in XGBoost's UBJSON format,
under the name the SageMaker XGBoost container loads. That container serves every file of the
model folder (several files become an averaged ensemble), so the metadata (problem type, target,
feature names in the order the model expects them, best iteration, hyperparameters, xgboost
version) is a booster attribute inside the model file, not a file beside it: `load_model()`
returns both.

Category columns use XGBoost's native categorical splits rather than one-hot columns: one input
column stays one model feature (so feature importance, SHAP values and the data-quality baseline
speak of the columns the data has), and many categories cost no extra columns. The encoding, the
categories seen in the train split, is saved inside the booster (XGBoost >= 3.1 stores them in
the model file), so whatever loads the model encodes rows the same way: `encode()` below, the one
encoding that train, evaluate, predict and explain use (the server's numpy path holds to
it, see serve/checking.py). A category unseen in training is treated as a missing value, and
counted.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

MODEL_FILE = "xgboost-model"
# What a SageMaker training job makes of the model folder.
MODEL_ARCHIVE = "model.tar.gz"
# The label of a binary model's probability, as the SageMaker XGBoost container gives it: 1 when
# the probability exceeds this. Evaluate, predict and the server all label rows by it.
LABEL_THRESHOLD = 0.5
# The booster attribute that holds the metadata, as one JSON string.
METADATA_ATTRIBUTE = "metadata"


def categories(booster: xgb.Booster) -> dict[str, list[str]]:
    """The categories of each category feature, as the booster saved them in training."""
    if "c" not in (booster.feature_types or []):
        return {}
    exported = booster.get_categories(export_to_arrow=True).to_arrow() or []
    return {name: values.to_pylist() for name, values in exported if values is not None}


def fit_categories(features: pd.DataFrame, columns: list[str]) -> dict[str, list[str]]:
    """The encoding: the sorted categories of each category column in the train split."""
    return {
        name: sorted(features[name].dropna().astype(str).str.strip().unique()) for name in columns
    }


def encode(
    features: pd.DataFrame, known: dict[str, list[str]]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Features as the model takes them: category columns with the known categories, in their
    order; a value outside them becomes missing. Returns the frame and, per column, how many
    values were unseen."""
    encoded = features.copy()
    unseen = {}
    for name, values in known.items():
        text = features[name].astype("string").str.strip()
        # Unseen values become missing here, explicitly (pandas 4 will refuse them in Categorical).
        encoded[name] = pd.Categorical(text.where(text.isin(values)), categories=values)
        count = int((text.notna() & encoded[name].isna()).sum())
        if count:
            unseen[name] = count
    return encoded, unseen


def to_dmatrix(
    features: pd.DataFrame, known: dict[str, list[str]], target: pd.Series | None = None
) -> xgb.DMatrix:
    encoded, _ = encode(features, known)
    return _dmatrix(encoded, known, target)


def _dmatrix(
    encoded: pd.DataFrame, known: dict[str, list[str]], target: pd.Series | None = None
) -> xgb.DMatrix:
    numeric = [name for name in encoded.columns if name not in known]
    encoded[numeric] = encoded[numeric].astype(float)
    label = None if target is None else target.to_numpy(dtype=float)
    return xgb.DMatrix(encoded, label=label, missing=np.nan, enable_categorical=True)


def predict(booster: xgb.Booster, features: pd.DataFrame) -> np.ndarray:
    """Probabilities of class 1 (classification) or predicted values (regression)."""
    return score(booster, features)[0]


def score(booster: xgb.Booster, features: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
    """predict(), and per category column how many values were unseen in training."""
    known = categories(booster)
    encoded, unseen = encode(features[booster.feature_names], known)
    return booster.predict(_dmatrix(encoded, known)), unseen


def save_model(booster: xgb.Booster, model_dir: str | Path, metadata: dict[str, Any]) -> Path:
    """Write the booster, with the metadata as its attribute, into model_dir as its only file;
    returns the model file."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    model_path = model_dir / MODEL_FILE
    booster.set_attr(**{METADATA_ATTRIBUTE: json.dumps(metadata)})
    # Raw UBJSON bytes: save_model() would guess the format from the extension-less name.
    model_path.write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    return model_path


def read_metadata(booster: xgb.Booster) -> dict[str, Any]:
    """The metadata save_model stored in the booster (empty for a model saved otherwise)."""
    text = booster.attr(METADATA_ATTRIBUTE)
    return json.loads(text) if text else {}


def load_model(model_dir: str | Path) -> tuple[xgb.Booster, dict[str, Any]]:
    """The booster and metadata that save_model wrote."""
    booster = xgb.Booster()
    model_file = Path(model_dir) / MODEL_FILE
    try:
        booster.load_model(bytearray(model_file.read_bytes()))
    except xgb.core.XGBoostError:
        # Its message is xgboost's C++ backtrace, dozens of lines.
        raise ValueError(f"{model_file} is not a model xgboost can read: cut short?") from None
    return booster, read_metadata(booster)


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
