"""Train: fit an XGBoost model on the train split, stopping early on the validation split.

Follows the SageMaker training contract: the splits arrive in the channel folders
(SM_CHANNEL_TRAIN, SM_CHANNEL_VALIDATION), the model goes to SM_MODEL_DIR, and hyperparameters
arrive as `--name value` arguments (SageMaker passes their names verbatim, so both `--num-round`
and `--num_round` work). Input files are CSV with a header row and the target first, with the
schema.json that preprocess writes beside them (it names the category columns).

Category columns use XGBoost's native categorical splits rather than one-hot columns: one input
column stays one model feature (so feature importance, SHAP values and the data-quality baseline
speak of the columns the data has), and many categories cost no extra columns. The encoding, the
categories seen in the train split, is saved inside the booster (XGBoost >= 3.1 stores them in
the model file), so whatever loads the model encodes rows the same way: `encode()` below. A
category unseen in training is treated as a missing value, and counted.

Writes <model-dir>/xgboost-model and nothing else: the booster in XGBoost's UBJSON format, under
the name the SageMaker XGBoost container loads. That container serves every file of the model
folder (several files become an averaged ensemble), so the metadata (problem type, target, feature
names in the order the model expects them, best iteration, hyperparameters, xgboost version) is a
booster attribute inside the model file, not a file beside it: `load_model()` returns both.

Self-contained (SageMaker uploads it as a lone script): stdlib, numpy, pandas, xgboost.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

PROBLEM_TYPES = ("binary_classification", "regression")
OBJECTIVES = {"binary_classification": "binary:logistic", "regression": "reg:squarederror"}
# The metric early stopping watches: log loss is smoother than AUC on a small validation split.
EVAL_METRICS = {"binary_classification": "logloss", "regression": "rmse"}
# Rows a training thread should have: OpenMP threads only pay off on larger data. On small data
# their synchronisation costs more than it saves (measured: 170 rounds on 400 rows took 0.2 s on
# one thread and 14 s with all threads of two busy cores).
ROWS_PER_THREAD = 10_000
MODEL_FILE = "xgboost-model"
# The label of a binary model's probability, as the SageMaker XGBoost container gives it: 1 when
# the probability exceeds this. Evaluate, predict and the server all label rows by it.
LABEL_THRESHOLD = 0.5
# The booster attribute that holds the metadata, as one JSON string.
METADATA_ATTRIBUTE = "metadata"
SCHEMA_FILE = "schema.json"

# Defaults for small tabular data sets; the pipeline can override each one.
HYPERPARAMETERS: dict[str, int | float] = {
    "num_round": 300,
    "max_depth": 4,
    "eta": 0.1,
    "subsample": 0.8,
    "min_child_weight": 1.0,
    "early_stopping_rounds": 20,
    "seed": 42,
}


def category_columns(split: Path) -> list[str]:
    """The category feature columns named by the schema.json that preprocess wrote beside the
    split (a folder, or a CSV file in it)."""
    path = (split if split.is_dir() else split.parent) / SCHEMA_FILE
    if not path.is_file():
        return []
    schema = json.loads(path.read_text(encoding="utf-8"))
    return [
        column["name"]
        for column in schema["columns"]
        if column.get("type") == "category" and column["name"] != schema.get("target")
    ]


def read_split(path: str | Path) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target of a split: a CSV file, or every *.csv in a folder (a channel).

    Category columns are read as text (a code such as 0042 stays "0042") and returned as text.
    """
    path = Path(path)
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise FileNotFoundError(f"no CSV files found at {path}")
    text = dict.fromkeys(category_columns(files[0]), str)
    data = pd.concat([pd.read_csv(file, dtype=text) for file in files], ignore_index=True)
    if data.empty or data.shape[1] < 2:
        raise ValueError(f"{path}: need rows with a target and at least one feature")
    return data.iloc[:, 1:], data.iloc[:, 0]


def categories(booster: xgb.Booster) -> dict[str, list[str]]:
    """The categories of each category feature, as the booster saved them in training."""
    if "c" not in (booster.feature_types or []):
        return {}
    exported = booster.get_categories(export_to_arrow=True).to_arrow() or []
    return {name: values.to_pylist() for name, values in exported if values is not None}


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


def fit_categories(features: pd.DataFrame, columns: list[str]) -> dict[str, list[str]]:
    """The encoding: the sorted categories of each category column in the train split."""
    return {
        name: sorted(features[name].dropna().astype(str).str.strip().unique()) for name in columns
    }


def train(
    train_features: pd.DataFrame,
    train_target: pd.Series,
    validation_features: pd.DataFrame,
    validation_target: pd.Series,
    problem_type: str,
    hyperparameters: dict[str, Any] | None = None,
    category_features: list[str] | None = None,
) -> xgb.Booster:
    """Fit a booster; it keeps the trees up to the best validation score.

    category_features are encoded with the categories of the train split (see encode).
    """
    if list(train_features.columns) != list(validation_features.columns):
        raise ValueError("train and validation splits have different feature columns")
    settings = {**HYPERPARAMETERS, **(hyperparameters or {})}
    params = {
        "objective": OBJECTIVES[problem_type],
        "eval_metric": EVAL_METRICS[problem_type],
        "max_depth": int(settings["max_depth"]),
        "eta": float(settings["eta"]),
        "subsample": float(settings["subsample"]),
        "min_child_weight": float(settings["min_child_weight"]),
        "seed": int(settings["seed"]),
        "tree_method": "hist",
        "nthread": max(1, min(os.cpu_count() or 1, len(train_target) // ROWS_PER_THREAD)),
    }
    known = fit_categories(train_features, category_features or [])
    training = to_dmatrix(train_features, known, train_target)
    validation = to_dmatrix(validation_features, known, validation_target)
    booster = xgb.train(
        params,
        training,
        num_boost_round=int(settings["num_round"]),
        evals=[(validation, "validation")],
        callbacks=[
            xgb.callback.EarlyStopping(
                rounds=int(settings["early_stopping_rounds"]),
                metric_name=EVAL_METRICS[problem_type],
                data_name="validation",
            )
        ],
        verbose_eval=False,
    )
    best_iteration, best_score = booster.best_iteration, booster.best_score
    # The model must end at the best round: every server scores with all the trees it has.
    # Slicing the booster (EarlyStopping's save_best) drops the saved categories in xgboost 3.2,
    # so train again for exactly that many rounds; the seed makes it the same trees.
    if booster.num_boosted_rounds() > best_iteration + 1:
        booster = xgb.train(params, training, num_boost_round=best_iteration + 1)
        booster.set_attr(best_iteration=str(best_iteration), best_score=str(best_score))
    return booster


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
    booster.load_model(bytearray((Path(model_dir) / MODEL_FILE).read_bytes()))
    return booster, read_metadata(booster)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])

    def option(name: str, **kwargs: Any) -> None:
        # SageMaker passes hyperparameter names verbatim: accept dashes and underscores.
        flags = dict.fromkeys([f"--{name}", f"--{name.replace('-', '_')}"])
        parser.add_argument(*flags, **kwargs)

    environ = os.environ
    option("train", type=Path, default=environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    option(
        "validation",
        type=Path,
        default=environ.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"),
    )
    option("model-dir", type=Path, default=environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    option("problem-type", choices=PROBLEM_TYPES, required=True)
    option("num-round", type=int, default=HYPERPARAMETERS["num_round"])
    option("max-depth", type=int, default=HYPERPARAMETERS["max_depth"])
    option("eta", type=float, default=HYPERPARAMETERS["eta"])
    option("subsample", type=float, default=HYPERPARAMETERS["subsample"])
    option("min-child-weight", type=float, default=HYPERPARAMETERS["min_child_weight"])
    option("early-stopping-rounds", type=int, default=HYPERPARAMETERS["early_stopping_rounds"])
    option("seed", type=int, default=HYPERPARAMETERS["seed"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    hyperparameters = {name: getattr(args, name) for name in HYPERPARAMETERS}
    train_features, train_target = read_split(args.train)
    validation_features, validation_target = read_split(args.validation)
    booster = train(
        train_features,
        train_target,
        validation_features,
        validation_target,
        args.problem_type,
        hyperparameters,
        category_columns(Path(args.train)),
    )
    metadata = {
        "problem_type": args.problem_type,
        "target": str(train_target.name),
        "feature_names": [str(name) for name in train_features.columns],
        "objective": OBJECTIVES[args.problem_type],
        "eval_metric": EVAL_METRICS[args.problem_type],
        "best_iteration": int(booster.best_iteration),
        "best_score": float(booster.best_score),
        "hyperparameters": hyperparameters,
        "xgboost_version": xgb.__version__,
    }
    model_path = save_model(booster, args.model_dir, metadata)
    print(
        f"train: {len(train_target)} rows, {train_features.shape[1]} features; best iteration "
        f"{booster.best_iteration} with validation {metadata['eval_metric']} "
        f"{booster.best_score:.4f} -> {model_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
