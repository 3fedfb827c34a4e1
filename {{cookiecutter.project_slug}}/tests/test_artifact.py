"""The model that train writes holds against the serving rules of the image that serves the model
package: the SageMaker XGBoost 3.2-0 container in algorithm mode (aws/sagemaker-xgboost-container).
Its rules are replicated here as that container applies them:

- serve_utils.get_loaded_booster loads every regular file of /opt/ml/model that is not a dot file
  (several become an ensemble whose predictions are averaged): each must fail to unpickle and then
  load with `xgb.Booster().load_model(path)`; it then sets nthread to 1;
- encoder.csv_to_dmatrix(payload, dtype=float) parses a text/csv request: the payload stripped,
  the delimiter sniffed from the first line, an empty value as NaN, every value a float, no header
  and no feature names;
- the booster predicts that matrix with validate_features=False.

So a client sends the feature columns in the model's order, a category column as its code (the
index of the value in the categories stored in the model, `model_io.categories`) and a missing value
empty. XGBoost 3.2 predicts a categorical model from such codes in a plain float matrix, which the
mixed data sets (text categories, missing values) check. Text categories need the encoding of
model_io.encode, which the container lacks: the project's own inference image serves them.
"""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from {{ cookiecutter.package_name }} import contract, model_io


def served_files(model_dir: Path) -> list[Path]:
    """The files get_loaded_booster loads: every regular file whose name is not a dot file."""
    return sorted(
        path for path in model_dir.iterdir() if path.is_file() and not path.name.startswith(".")
    )


def unpickles(path: Path) -> bool:
    try:
        with path.open("rb") as stream:
            pickle.load(stream)
    except Exception:  # the container catches every error here, then tries XGBoost
        return False
    return True


def container_load(path: Path) -> xgb.Booster:
    """get_loaded_booster for one file, requiring its XGBoost branch: the pickle branch would
    serve whatever object the file unpickles to."""
    assert not unpickles(path), f"{path.name} unpickles"
    booster = xgb.Booster()
    booster.load_model(str(path))
    booster.set_param("nthread", 1)
    return booster


def csv_to_dmatrix(payload: bytes) -> xgb.DMatrix:
    """encoder.csv_to_dmatrix(payload.strip().decode("utf-8"), dtype=float)."""
    text = payload.strip().decode("utf-8")
    delimiter = csv.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
    delimiter = "," if delimiter.isalnum() else delimiter
    rows = [
        ["nan" if value == "" else value for value in line.split(delimiter)]
        for line in text.split("\n")
    ]
    return xgb.DMatrix(np.array(rows).astype(float))


def request_body(
    features: pd.DataFrame, categories: dict[str, list[str]], names: list[str]
) -> bytes:
    """Rows as a client sends them to the container: the model's columns in its order, no header;
    a category as its code in the model's categories, a missing or unseen value empty."""
    lines = []
    for _, row in features[names].iterrows():
        values = []
        for name in names:
            value = row[name]
            if pd.isna(value):
                values.append("")
            elif name in categories:
                text = str(value).strip()
                known = categories[name]
                values.append(str(known.index(text)) if text in known else "")
            else:
                values.append(repr(float(value)))
        lines.append(",".join(values))
    return ("\n".join(lines) + "\n").encode("utf-8")


# The container loads the extension-less file the same way, with the same guess of the format.
pytestmark = pytest.mark.filterwarnings("ignore:.*Unknown file format.*UBJSON:UserWarning")


def assert_served_like_train_predicts(model_dir: Path, test_split: Path) -> None:
    files = served_files(model_dir)
    assert [path.name for path in files] == [model_io.MODEL_FILE]  # one model, not an ensemble
    served = container_load(files[0])
    booster, metadata = model_io.load_model(model_dir)
    features, _ = contract.read_split(test_split)
    body = request_body(features, model_io.categories(booster), metadata["feature_names"])
    predictions = served.predict(csv_to_dmatrix(body), validate_features=False)
    expected = model_io.predict(booster, features)
    np.testing.assert_allclose(predictions, expected, rtol=1e-6, atol=1e-7)


def test_the_configured_model_is_served_as_train_predicts_it(configured):
    assert_served_like_train_predicts(configured.model, configured.splits / "test")


@pytest.mark.parametrize("problem_type", ["binary_classification", "regression"])
def test_category_codes_and_missing_values_are_served_as_train_predicts_them(
    problem_type: str, mixed_project
):
    project = mixed_project(problem_type)
    booster, _ = model_io.load_model(project.model)
    assert model_io.categories(booster)  # the model has category features to serve
    assert_served_like_train_predicts(project.model, project.splits / "test")


def test_the_metadata_travels_inside_the_one_model_file(configured):
    served = container_load(configured.model / model_io.MODEL_FILE)
    metadata = model_io.read_metadata(served)
    _, loaded = model_io.load_model(configured.model)
    assert metadata == loaded
    assert metadata["feature_names"] == served.feature_names
    assert metadata["xgboost_version"] == xgb.__version__
