"""The explanation (explain.py, run by steps/explain.py in the pipeline and in `make local-run`)
reports exact TreeSHAP values in Clarify's analysis.json shape."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from matplotlib import image

from {{ cookiecutter.package_name }} import contract, explain, model_io
from {{ cookiecutter.package_name }}.steps import explain as explain_step

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TARGET = "label"
FEATURES = ["noise", "signal"]  # the informative feature is not first, so order cannot fake it
OBJECTIVES = {"binary_classification": "binary:logistic", "regression": "reg:squarederror"}


def make_data(problem_type: str, rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """Target first; `signal` alone determines it, `noise` is independent of it."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    noise = rng.normal(size=rows)
    target = (signal > 0).astype(int) if problem_type == "binary_classification" else 3 * signal
    return pd.DataFrame({TARGET: target, "noise": noise, "signal": signal})


@pytest.fixture(scope="module", params=list(OBJECTIVES))
def problem_type(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def data(problem_type: str) -> pd.DataFrame:
    return make_data(problem_type)


def fit(data: pd.DataFrame, problem_type: str, named: bool = True) -> xgb.Booster:
    features = data[FEATURES] if named else data[FEATURES].to_numpy(dtype=float)
    matrix = xgb.DMatrix(features, label=data[TARGET].to_numpy(dtype=float))
    params = {
        "objective": OBJECTIVES[problem_type],
        "max_depth": 3,
        "eta": 0.3,
        "seed": 0,
        # One thread, as train.py uses on small data: more threads only add synchronisation.
        "nthread": 1,
    }
    return xgb.train(params, matrix, num_boost_round=20)


@pytest.fixture(scope="module")
def booster(problem_type: str, data: pd.DataFrame) -> xgb.Booster:
    """A tiny model trained the way train.py trains: from a DataFrame, so that it knows its
    feature names."""
    return fit(data, problem_type)


@pytest.fixture
def metadata(problem_type: str) -> dict:
    return {"problem_type": problem_type, "target": TARGET, "feature_names": FEATURES}


@pytest.fixture
def model_dir(tmp_path: Path, booster: xgb.Booster, metadata: dict) -> Path:
    """What training writes to SM_MODEL_DIR: the booster, its metadata inside it."""
    folder = tmp_path / "model"
    # A copy: saving records the metadata on the booster, which the other tests share.
    model_io.save_model(booster.copy(), folder, metadata)
    return folder


@pytest.fixture
def archive_dir(tmp_path: Path, model_dir: Path) -> Path:
    """What a processing job receives from a training job: model.tar.gz alone, with the files
    at its root as `./name` (how SageMaker packs SM_MODEL_DIR)."""
    folder = tmp_path / "model-archive"
    folder.mkdir()
    with tarfile.open(folder / model_io.MODEL_ARCHIVE, "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=f"./{path.name}")
    return folder


@pytest.fixture
def split_dir(tmp_path: Path, data: pd.DataFrame) -> Path:
    folder = tmp_path / "test"
    folder.mkdir()
    data.to_csv(folder / "test.csv", index=False)
    return folder


def margin(booster: xgb.Booster, features: pd.DataFrame) -> np.ndarray:
    """The raw prediction (log-odds or value), with the rows encoded by train.py's code."""
    matrix = model_io.to_dmatrix(features, model_io.categories(booster))
    return booster.predict(matrix, output_margin=True)


def test_the_informative_feature_has_the_largest_global_value(booster, data):
    values = explain.global_shap(booster, data[FEATURES])
    assert list(values) == FEATURES
    assert max(values, key=values.__getitem__) == "signal"
    assert values["signal"] > 10 * values["noise"]


def test_global_value_is_the_mean_absolute_contribution(booster, data):
    matrix = xgb.DMatrix(data[FEATURES])
    contributions = booster.predict(matrix, pred_contribs=True).astype(float)
    values = explain.global_shap(booster, data[FEATURES])
    expected = np.abs(contributions[:, :-1]).mean(axis=0)
    assert [values[name] for name in FEATURES] == pytest.approx(expected.tolist())


def test_shap_values_and_expected_value_add_up_to_the_margin(booster, data):
    values, expected_value = explain.shap_values(booster, data[FEATURES])
    assert list(values.columns) == FEATURES
    assert values.shape == (len(data), len(FEATURES))
    reconstructed = values.sum(axis=1).to_numpy() + expected_value
    np.testing.assert_allclose(reconstructed, margin(booster, data[FEATURES]), atol=1e-4)


# The structure of the analysis.json of a SageMaker Clarify explainability job on tabular data
# with one model output (developer guide, "Get the Analysis Results"): the structure the model
# package's explainability report keeps, so that readers of Clarify's reports read it too.
CLARIFY_ANALYSIS = {
    "version": "1.0",
    "explanations": {
        "kernel_shap": {
            "label0": {
                "global_shap_values": {"feature_a": 0.25, "feature_b": 0.125},
                "expected_value": 0.5,
            }
        }
    },
}


def structure(node: object) -> object:
    """Keys and value types of a JSON document, feature names abstracted away."""
    if isinstance(node, dict):
        if node and all(isinstance(v, float) for v in node.values()):
            return {"<feature>": float}
        return {key: structure(value) for key, value in node.items()}
    return type(node)


def test_report_has_the_clarify_analysis_structure_under_an_honest_method_name(booster, data):
    """Clarify's structure, but the values are exact TreeSHAP, not KernelSHAP estimates: filed
    under tree_shap, so that nothing mistakes them for Clarify's numbers."""
    report = explain.explain(booster, data[FEATURES])
    assert list(report["explanations"]) == ["tree_shap"]
    clarify = CLARIFY_ANALYSIS["explanations"]["kernel_shap"]
    assert structure(report["explanations"]["tree_shap"]) == structure(clarify)
    assert report["version"] == CLARIFY_ANALYSIS["version"]
    label = report["explanations"]["tree_shap"]["label0"]
    assert set(label) == {"global_shap_values", "expected_value"}
    assert set(label["global_shap_values"]) == set(FEATURES)
    _, expected_value = explain.shap_values(booster, data[FEATURES])
    assert label["expected_value"] == pytest.approx(expected_value)
    json.dumps(report, allow_nan=False)  # plain JSON types only


def test_the_target_column_is_excluded(booster, data, metadata):
    features = explain.feature_frame(data, booster, metadata)
    assert list(features.columns) == FEATURES
    assert TARGET not in features


def test_features_follow_the_training_order_not_the_file_order(booster, data, metadata):
    shuffled = data[[TARGET, "signal", "noise"]]
    assert list(explain.feature_frame(shuffled, booster, metadata).columns) == FEATURES


def test_without_metadata_the_booster_names_the_features(booster, data):
    shuffled = data[[TARGET, "signal", "noise"]]
    features = explain.feature_frame(shuffled, booster, {})
    assert list(features.columns) == FEATURES
    values = explain.global_shap(booster, features)
    assert max(values, key=values.__getitem__) == "signal"


def test_without_any_names_every_column_after_the_target_is_a_feature(data, problem_type):
    unnamed = fit(data, problem_type, named=False)
    assert unnamed.feature_names is None
    assert list(explain.feature_frame(data, unnamed, {}).columns) == FEATURES


def test_missing_feature_columns_are_named(booster, data, metadata):
    with pytest.raises(ValueError, match=r"missing from the data: \['signal'\]"):
        explain.feature_frame(data.drop(columns="signal"), booster, metadata)


def test_a_target_listed_as_a_feature_is_rejected(booster, data, metadata):
    metadata["feature_names"] = [TARGET, *FEATURES]
    with pytest.raises(ValueError, match="target column 'label'"):
        explain.feature_frame(data, booster, metadata)


def test_model_folder_and_model_archive_load_the_same_model(
    model_dir, archive_dir, booster, data, metadata
):
    from_files, files_metadata = explain.load_model(model_dir)
    from_archive, archive_metadata = explain.load_model(archive_dir)
    assert files_metadata == archive_metadata == metadata
    expected = margin(booster, data[FEATURES])
    np.testing.assert_allclose(margin(from_files, data[FEATURES]), expected, rtol=1e-6)
    np.testing.assert_allclose(margin(from_archive, data[FEATURES]), expected, rtol=1e-6)
    assert not (archive_dir / model_io.MODEL_FILE).exists()  # read in memory, not extracted


def test_a_model_saved_without_metadata_loads_with_empty_metadata(tmp_path: Path, booster, data):
    (tmp_path / model_io.MODEL_FILE).write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    loaded, metadata = explain.load_model(tmp_path)
    assert metadata == {}
    assert list(explain.feature_frame(data, loaded, metadata).columns) == FEATURES


def test_an_archive_without_a_model_is_reported(tmp_path: Path):
    with tarfile.open(tmp_path / model_io.MODEL_ARCHIVE, "w:gz") as tar:
        readme = b"not a model"
        info = tarfile.TarInfo("./README")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))
    with pytest.raises(FileNotFoundError, match="no xgboost-model"):
        explain.load_model(tmp_path)


def test_sample_is_seeded_and_bounded(data):
    first = explain.sample_rows(data[FEATURES], max_rows=50, seed=7)
    again = explain.sample_rows(data[FEATURES], max_rows=50, seed=7)
    assert len(first) == 50
    assert first.index.equals(again.index)
    assert first.index.isin(data.index).all()
    assert len(explain.sample_rows(data[FEATURES], max_rows=10_000)) == len(data)
    with pytest.raises(ValueError, match="at least 1"):
        explain.sample_rows(data[FEATURES], max_rows=0)


def test_margin_unit_follows_the_objective(booster, problem_type):
    expected = "log-odds" if problem_type == "binary_classification" else "model output"
    assert explain.margin_unit(booster) == expected


def test_summary_plot_is_a_png_of_the_top_features(tmp_path: Path):
    many = {f"f{i}": float(i) for i in range(explain.TOP_FEATURES + 5)}
    path = explain.plot_summary(many, tmp_path / "plots" / "shap.png", unit="log-odds")
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    pixels = image.imread(path)
    assert pixels.ndim == 3
    assert pixels.shape[0] > 100
    assert pixels.shape[1] > 100


def test_main_writes_the_report_and_the_plot(archive_dir, split_dir, tmp_path, booster, data):
    output = tmp_path / "explainability"
    argv = ["--model-dir", str(archive_dir), "--data-dir", str(split_dir)]
    assert explain_step.main([*argv, "--output-dir", str(output)]) == 0

    report = json.loads((output / "explainability.json").read_text(encoding="utf-8"))
    label = report["explanations"]["tree_shap"]["label0"]
    assert list(label["global_shap_values"]) == FEATURES
    assert max(label["global_shap_values"], key=label["global_shap_values"].get) == "signal"
    values, expected_value = explain.shap_values(booster, data[FEATURES])
    assert label["global_shap_values"] == pytest.approx(values.abs().mean().to_dict())
    assert label["expected_value"] == pytest.approx(expected_value)
    assert (output / "shap_summary.png").read_bytes().startswith(PNG_SIGNATURE)


def test_main_explains_a_sample_of_large_data(model_dir, split_dir, tmp_path, capsys):
    output = tmp_path / "explainability"
    argv = ["--model-dir", str(model_dir), "--data-dir", str(split_dir)]
    explain_step.main([*argv, "--output-dir", str(output), "--max-rows", "40"])
    assert "TreeSHAP on 40 of 300 rows" in capsys.readouterr().out
    report = json.loads((output / "explainability.json").read_text(encoding="utf-8"))
    label = report["explanations"]["tree_shap"]["label0"]
    assert set(label["global_shap_values"]) == set(FEATURES)


def test_main_fails_clearly_without_csv(model_dir, tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"no \*\.csv file"):
        explain_step.main(["--model-dir", str(model_dir), "--data-dir", str(empty)])


def assert_additive(booster: xgb.Booster, features: pd.DataFrame) -> pd.DataFrame:
    """SHAP values, one per column (a category column too), that add up to the margin."""
    values, expected_value = explain.shap_values(booster, features)
    assert list(values.columns) == list(features.columns)
    reconstructed = values.sum(axis=1).to_numpy() + expected_value
    np.testing.assert_allclose(reconstructed, margin(booster, features), rtol=1e-4, atol=1e-3)
    return values


def test_category_columns_get_one_shap_value_each(problem_type, mixed_project, tmp_path: Path):
    project = mixed_project(problem_type)
    booster, metadata = model_io.load_model(project.model)
    features, _ = contract.read_split(project.splits / "test")
    values = assert_additive(booster, features[metadata["feature_names"]])
    assert values["plan"].abs().mean() > 0  # the model uses the category
    output = tmp_path / "explainability"
    argv = ["--model-dir", str(project.model), "--data-dir", str(project.splits / "test")]
    assert explain_step.main([*argv, "--output-dir", str(output)]) == 0
    report = json.loads((output / explain.REPORT_FILE).read_text(encoding="utf-8"))
    label = report["explanations"]["tree_shap"]["label0"]
    assert list(label["global_shap_values"]) == metadata["feature_names"]
    assert label["global_shap_values"] == pytest.approx(values.abs().mean().to_dict())


def test_configured_model_explanation_adds_up(configured, local_run):
    booster, metadata = model_io.load_model(configured.model)
    features, _ = contract.read_split(configured.splits / "test")
    assert_additive(booster, features[metadata["feature_names"]])
    report = json.loads(
        (local_run.output_dir / "explainability" / explain.REPORT_FILE).read_text(encoding="utf-8")
    )
    values = report["explanations"]["tree_shap"]["label0"]["global_shap_values"]
    assert list(values) == metadata["feature_names"]
    assert all(np.isfinite(value) and value >= 0 for value in values.values())
