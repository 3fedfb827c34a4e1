"""Train fits XGBoost with early stopping and writes a model that loads back and predicts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.steps import preprocess, train

PROBLEM_TYPES = ("binary_classification", "regression")


def test_sample_model_loads_back_and_predicts(sample_model: Path, sample_splits: Path):
    booster = xgb.Booster()
    booster.load_model(bytearray((sample_model / train.MODEL_FILE).read_bytes()))
    test = pd.read_csv(sample_splits / "test" / "test.csv")
    predictions = booster.predict(xgb.DMatrix(test.iloc[:, 1:].to_numpy(float)))
    assert predictions.shape == (len(test),)
    assert np.isfinite(predictions).all()
    if config.PROBLEM_TYPE == "binary_classification":
        assert ((predictions >= 0) & (predictions <= 1)).all()
    # The saved model predicts exactly what train.predict gives for the same rows.
    loaded, _ = train.load_model(sample_model)
    np.testing.assert_array_equal(train.predict(loaded, test.iloc[:, 1:]), predictions)


def test_sample_metadata_names_the_features_in_order(sample_model: Path, sample_splits: Path):
    metadata = json.loads((sample_model / train.METADATA_FILE).read_text(encoding="utf-8"))
    columns = list(pd.read_csv(sample_splits / "train" / "train.csv", nrows=0).columns)
    assert metadata["target"] == columns[0]
    assert metadata["feature_names"] == columns[1:]
    assert metadata["problem_type"] == config.PROBLEM_TYPE
    assert metadata["hyperparameters"] == train.HYPERPARAMETERS
    assert 0 <= metadata["best_iteration"] < train.HYPERPARAMETERS["num_round"]


@pytest.mark.parametrize(
    ("problem_type", "objective"),
    [("binary_classification", "binary:logistic"), ("regression", "reg:squarederror")],
)
def test_objective_follows_the_problem_type(
    problem_type: str, objective: str, make_dataset, fit_model
):
    frame, _ = make_dataset(problem_type, rows=120)
    booster, _ = fit_model(frame, problem_type, num_round=5)
    config_json = json.loads(booster.save_config())
    assert config_json["learner"]["objective"]["name"] == objective


def test_early_stopping_keeps_the_best_round_on_the_validation_split(make_dataset, fit_model):
    frame, _ = make_dataset("regression", rows=200)
    booster, splits = fit_model(
        frame, "regression", num_round=2000, early_stopping_rounds=5, eta=0.3
    )
    validation = splits["validation"]
    # Stopped long before 2000 rounds, and the model ends at the best round (save_best).
    assert booster.num_boosted_rounds() == booster.best_iteration + 1 < 2000
    predictions = train.predict(booster, validation.iloc[:, 1:])
    rmse = float(np.sqrt(np.mean((predictions - validation["label"].to_numpy()) ** 2)))
    assert rmse == pytest.approx(booster.best_score, rel=1e-4)


@pytest.mark.parametrize("spelling", ["-", "_"])
def test_hyperparameters_accept_dashes_and_underscores(spelling: str):
    names = ["num-round", "max-depth", "min-child-weight", "early-stopping-rounds", "problem-type"]
    flags = {name: "--" + name.replace("-", spelling) for name in names}
    args = train.parse_args(
        [
            *(flags["num-round"], "7", flags["max-depth"], "2", flags["min-child-weight"], "3.5"),
            *(flags["early-stopping-rounds"], "4", flags["problem-type"], "regression"),
            *("--eta", "0.2", "--subsample", "0.5", "--seed", "9"),
        ]
    )
    assert (args.num_round, args.max_depth, args.min_child_weight) == (7, 2, 3.5)
    assert (args.early_stopping_rounds, args.problem_type) == (4, "regression")
    assert (args.eta, args.subsample, args.seed) == (0.2, 0.5, 9)


def test_paths_default_to_the_sagemaker_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SM_CHANNEL_TRAIN", "/data/train")
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", "/data/validation")
    monkeypatch.setenv("SM_MODEL_DIR", "/model")
    args = train.parse_args(["--problem-type", "regression"])
    assert (args.train, args.validation, args.model_dir) == (
        Path("/data/train"),
        Path("/data/validation"),
        Path("/model"),
    )


def test_main_reads_channel_folders_and_records_the_hyperparameters(
    tmp_path: Path, make_dataset, write_csv
):
    frame, _ = make_dataset("binary_classification", rows=120)
    splits = preprocess.split(frame, "label", "binary_classification")
    write_csv(splits["train"], tmp_path / "train", "part-1.csv")
    write_csv(splits["validation"], tmp_path / "validation", "part-1.csv")
    argv = ["--train", str(tmp_path / "train"), "--validation", str(tmp_path / "validation")]
    argv += ["--model_dir", str(tmp_path / "model"), "--problem_type", "binary_classification"]
    assert train.main([*argv, "--num_round", "10", "--max_depth", "2"]) == 0
    booster, metadata = train.load_model(tmp_path / "model")
    assert metadata["feature_names"] == ["x1", "x2", "x3", "x4", "x5"]
    assert metadata["hyperparameters"]["num_round"] == 10
    assert metadata["hyperparameters"]["max_depth"] == 2
    assert booster.num_boosted_rounds() <= 10
