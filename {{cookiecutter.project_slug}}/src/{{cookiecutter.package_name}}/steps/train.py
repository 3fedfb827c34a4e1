"""Train: fit an XGBoost model on the train split, stopping early on the validation split.

Follows the SageMaker training contract: the splits arrive in the channel folders
(SM_CHANNEL_TRAIN, SM_CHANNEL_VALIDATION), the model goes to SM_MODEL_DIR, and hyperparameters
arrive as `--name value` arguments (SageMaker passes their names verbatim, so both `--num-round`
and `--num_round` work). Input files are CSV with a header row and the target first, with the
schema.json that preprocess writes beside them (it names the category columns).

Category columns are encoded with the categories of the train split, saved inside the model, and
the model is written as model_io.py says (<model-dir>/xgboost-model, its metadata inside it).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import xgboost as xgb

from {{ cookiecutter.package_name }}.contract import (
    PROBLEM_TYPES,
    category_columns,
    read_split,
)
from {{ cookiecutter.package_name }}.model_io import fit_categories, save_model, to_dmatrix

OBJECTIVES = {"binary_classification": "binary:logistic", "regression": "reg:squarederror"}
# The metric early stopping watches: log loss is smoother than AUC on a small validation split.
EVAL_METRICS = {"binary_classification": "logloss", "regression": "rmse"}
# Rows a training thread should have: OpenMP threads only pay off on larger data. On small data
# their synchronisation costs more than it saves (measured: 170 rounds on 400 rows took 0.2 s on
# one thread and 14 s with all threads of two busy cores).
ROWS_PER_THREAD = 10_000


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

    category_features are encoded with the categories of the train split (model_io.encode).
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
