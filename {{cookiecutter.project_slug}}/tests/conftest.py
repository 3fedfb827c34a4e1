"""Shared fixtures: the bundled sample data of this project's problem type, its splits and model,
and small generated data sets of either problem type."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import xgboost as xgb
from sklearn.datasets import make_classification, make_regression

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.steps import preprocess, train

PROBLEM_TYPES = ("binary_classification", "regression")

Dataset = tuple[pd.DataFrame, dict[str, Any]]


def generate_dataset(problem_type: str, rows: int = 240, seed: int = 0) -> Dataset:
    """A small data set of the given type (target `label` first, features x1..x5) and a schema
    that declares it; classification has a 70/30 class balance, so stratification shows."""
    if problem_type == "binary_classification":
        features, target = make_classification(
            n_samples=rows,
            n_features=5,
            n_informative=3,
            n_redundant=0,
            weights=[0.7],
            random_state=seed,
        )
        label = {"name": "label", "type": "integer", "allowed_values": [0, 1]}
    else:
        features, target = make_regression(
            n_samples=rows, n_features=5, n_informative=3, noise=10.0, random_state=seed
        )
        label = {"name": "label", "type": "number"}
    names = [f"x{index}" for index in range(1, 6)]
    frame = pd.DataFrame(features, columns=names)
    frame.insert(0, "label", target)
    schema = {
        "dataset": "generated",
        "problem_type": problem_type,
        "target": "label",
        "columns": [label, *({"name": name, "type": "number"} for name in names)],
    }
    return frame, schema


def _write_csv(frame: pd.DataFrame, folder: Path, name: str = "data.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def make_dataset() -> Callable[..., Dataset]:
    """generate_dataset(problem_type, rows=240, seed=0) -> (frame, schema)."""
    return generate_dataset


def _fit_model(
    frame: pd.DataFrame, problem_type: str, **hyperparameters: Any
) -> tuple[xgb.Booster, dict[str, pd.DataFrame]]:
    """Split a generated data set as preprocess does and train on it as train.py does."""
    splits = preprocess.split(frame, "label", problem_type)
    booster = train.train(
        splits["train"].iloc[:, 1:],
        splits["train"]["label"],
        splits["validation"].iloc[:, 1:],
        splits["validation"]["label"],
        problem_type,
        hyperparameters,
    )
    return booster, splits


@pytest.fixture
def fit_model() -> Callable[..., tuple[xgb.Booster, dict[str, pd.DataFrame]]]:
    """fit_model(frame, problem_type, **hyperparameters) -> (booster, splits)."""
    return _fit_model


@pytest.fixture
def write_csv() -> Callable[..., Path]:
    """write_csv(frame, folder, name="data.csv") -> path: CSV as the steps read it (header, no
    index), creating the folder."""
    return _write_csv


@pytest.fixture(scope="session")
def sample_data() -> pd.DataFrame:
    """The bundled sample data set of this project's problem type, target first."""
    return pd.read_csv(config.SAMPLE_DATA)


@pytest.fixture(scope="session")
def sample_schema() -> dict[str, Any]:
    """The declared data contract of the sample data set, as JSON."""
    return json.loads(config.SCHEMA.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample_splits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder where preprocess wrote train/, validation/ and test/ for the sample data."""
    output = tmp_path_factory.mktemp("processed")
    argv = ["--input-dir", str(config.SAMPLE_DATA), "--schema", str(config.SCHEMA)]
    assert preprocess.main([*argv, "--output-dir", str(output)]) == 0
    return output


@pytest.fixture(scope="session")
def sample_model(sample_splits: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model folder train wrote for the sample splits, with the default hyperparameters."""
    model_dir = tmp_path_factory.mktemp("model")
    argv = [
        *("--train", str(sample_splits / "train")),
        *("--validation", str(sample_splits / "validation")),
        *("--model-dir", str(model_dir), "--problem-type", config.PROBLEM_TYPE),
    ]
    assert train.main(argv) == 0
    return model_dir
