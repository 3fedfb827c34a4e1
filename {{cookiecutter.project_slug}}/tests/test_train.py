"""Train fits XGBoost with early stopping, category columns as native categories, and writes one
model file that loads back, keeps its encoding and metadata, and predicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from {{ cookiecutter.package_name }} import config, contract, model_io
from {{ cookiecutter.package_name }}.steps import preprocess, train

PROBLEM_TYPES = ("binary_classification", "regression")


def test_configured_model_loads_back_and_predicts(configured):
    features, _ = contract.read_split(configured.splits / "test")
    booster, metadata = model_io.load_model(configured.model)
    predictions = model_io.predict(booster, features)
    assert predictions.shape == (len(features),)
    assert np.isfinite(predictions).all()
    if config.PROBLEM_TYPE == "binary_classification":
        assert ((predictions >= 0) & (predictions <= 1)).all()
    # The model file alone holds the features and their encoding: loaded by plain xgboost, it
    # predicts the same.
    plain = xgb.Booster()
    plain.load_model(bytearray((configured.model / model_io.MODEL_FILE).read_bytes()))
    assert plain.feature_names == metadata["feature_names"]
    np.testing.assert_array_equal(model_io.predict(plain, features), predictions)


def test_configured_metadata_names_the_features_in_order(configured, configured_schema):
    # The metadata is a booster attribute: the model file alone carries it.
    assert [path.name for path in configured.model.iterdir()] == [model_io.MODEL_FILE]
    plain = xgb.Booster()
    plain.load_model(bytearray((configured.model / model_io.MODEL_FILE).read_bytes()))
    metadata = json.loads(plain.attr(model_io.METADATA_ATTRIBUTE))
    assert model_io.load_model(configured.model)[1] == metadata
    columns = list(pd.read_csv(configured.splits / "train" / "train.csv", nrows=0).columns)
    assert metadata["target"] == columns[0] == configured_schema.target
    assert metadata["feature_names"] == columns[1:] == configured_schema.features
    assert metadata["problem_type"] == config.PROBLEM_TYPE
    assert metadata["hyperparameters"] == train.HYPERPARAMETERS
    assert 0 <= metadata["best_iteration"] < train.HYPERPARAMETERS["num_round"]
    assert metadata["objective"] == train.OBJECTIVES[config.PROBLEM_TYPE]
    assert metadata["eval_metric"] == train.EVAL_METRICS[config.PROBLEM_TYPE]
    assert metadata["xgboost_version"] == xgb.__version__
    booster, _ = model_io.load_model(configured.model)
    assert set(model_io.categories(booster)) == set(configured_schema.categories)


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


def mixed_splits(make_mixed_dataset, problem_type: str) -> dict[str, pd.DataFrame]:
    """The mixed data set validated and split as preprocess does: categories as text."""
    frame, schema = make_mixed_dataset(problem_type)
    checked = contract.validate(frame, contract.parse_schema(schema), problem_type)
    return preprocess.split(checked, "label", problem_type)


def fit_mixed(
    splits: dict[str, pd.DataFrame], problem_type: str, **hyperparameters: Any
) -> xgb.Booster:
    """Train on mixed splits as train.py does, with plan and region as category features."""
    return train.train(
        splits["train"].iloc[:, 1:],
        splits["train"]["label"],
        splits["validation"].iloc[:, 1:],
        splits["validation"]["label"],
        problem_type,
        hyperparameters,
        ["plan", "region"],
    )


def test_early_stopping_retrains_to_the_best_round_with_the_same_trees(
    make_mixed_dataset, monkeypatch: pytest.MonkeyPatch
):
    splits = mixed_splits(make_mixed_dataset, "regression")
    boosters: list[xgb.Booster] = []
    real_train = xgb.train

    def keep(*args, **kwargs) -> xgb.Booster:
        boosters.append(real_train(*args, **kwargs))
        return boosters[-1]

    monkeypatch.setattr(model_io.xgb, "train", keep)
    validation = splits["validation"]
    booster = fit_mixed(splits, "regression", num_round=2000, early_stopping_rounds=5, eta=0.3)
    # Stopped long before 2000 rounds, then trained again to end at the best round.
    full, retrained = boosters
    assert retrained is booster
    best = booster.best_iteration
    assert booster.num_boosted_rounds() == best + 1 < full.num_boosted_rounds() < 2000
    assert best == full.best_iteration
    # The retrained model predicts what the first one predicted at its best round ...
    features = validation.iloc[:, 1:]
    known = model_io.categories(booster)
    assert known == model_io.categories(full)  # ... and keeps the categories slicing would lose
    at_best = full.predict(model_io.to_dmatrix(features, known), iteration_range=(0, best + 1))
    predictions = model_io.predict(booster, features)
    np.testing.assert_allclose(predictions, at_best, rtol=1e-6)
    rmse = float(np.sqrt(np.mean((predictions - validation["label"].to_numpy()) ** 2)))
    assert rmse == pytest.approx(booster.best_score, rel=1e-4)


def test_categories_are_fitted_on_the_train_split_and_saved_in_the_model(
    make_mixed_dataset, tmp_path: Path
):
    splits = mixed_splits(make_mixed_dataset, "binary_classification")
    features = splits["train"].iloc[:, 1:]
    known = model_io.fit_categories(features, ["plan", "region"])
    assert known == {
        "plan": sorted(features["plan"].dropna().unique()),
        "region": sorted(features["region"].dropna().unique()),
    }
    booster = fit_mixed(splits, "binary_classification", num_round=20)
    assert booster.feature_names == list(features.columns)
    assert model_io.categories(booster) == known
    model_io.save_model(booster, tmp_path, {"note": "kept"})
    loaded, metadata = model_io.load_model(tmp_path)
    assert metadata == {"note": "kept"}
    assert model_io.categories(loaded) == known
    test = splits["test"].iloc[:, 1:]
    np.testing.assert_array_equal(model_io.predict(loaded, test), model_io.predict(booster, test))


def test_an_unseen_category_is_scored_as_missing_and_counted(make_mixed_dataset):
    splits = mixed_splits(make_mixed_dataset, "binary_classification")
    booster = fit_mixed(splits, "binary_classification", num_round=20)
    rows = splits["test"].iloc[:6, 1:].reset_index(drop=True)
    unseen = rows.assign(region=["atlantis", "atlantis", None, " north ", "atlantis", "south"])
    encoded, counts = model_io.encode(unseen, model_io.categories(booster))
    assert counts == {"region": 3}
    assert encoded["region"].isna().tolist() == [True, True, True, False, True, False]
    as_missing = unseen.assign(region=[None, None, None, "north", None, "south"])
    np.testing.assert_array_equal(
        model_io.predict(booster, unseen), model_io.predict(booster, as_missing)
    )
    # Columns in another order are put in the model's order.
    np.testing.assert_array_equal(
        model_io.predict(booster, unseen[unseen.columns[::-1]]), model_io.predict(booster, unseen)
    )


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
    booster, metadata = model_io.load_model(tmp_path / "model")
    assert metadata["feature_names"] == ["x1", "x2", "x3", "x4", "x5"]
    assert metadata["hyperparameters"]["num_round"] == 10
    assert metadata["hyperparameters"]["max_depth"] == 2
    assert booster.num_boosted_rounds() <= 10
    assert model_io.categories(booster) == {}  # no schema.json beside the splits: no categories


def test_categories_are_read_as_text_from_the_schema_beside_the_split(
    tmp_path: Path, make_mixed_dataset
):
    frame, schema = make_mixed_dataset("regression", rows=10)
    frame["plan"] = ["0042", "7", "0042", "7", "01", "7", "0042", "01", "7", "0042"]
    schema["columns"][1].pop("allowed_values")
    folder = tmp_path / "train"
    folder.mkdir()
    frame[["label", "plan", "region", "usage", "tenure"]].to_csv(folder / "a.csv", index=False)
    (folder / contract.SCHEMA_FILE).write_text(json.dumps(schema), encoding="utf-8")
    assert contract.category_columns(folder) == ["plan", "region"]
    assert contract.category_columns(folder / "a.csv") == ["plan", "region"]
    features, target = contract.read_split(folder)
    assert target.name == "label"
    assert list(features.columns) == ["plan", "region", "usage", "tenure"]
    assert features["plan"].tolist() == frame["plan"].tolist()  # 0042 is not the number 42
    assert features["region"].dropna().map(type).eq(str).all()
    assert pd.api.types.is_float_dtype(features["usage"])
