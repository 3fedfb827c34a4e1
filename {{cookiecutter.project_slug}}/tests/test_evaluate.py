"""Evaluate writes evaluation.json in the model-registry format, consistent with scikit-learn, with
the naive baseline, the champion the quality gate compares against (a model folder, the latest
Approved package of a SageMaker model package group, or the naive baseline standing in), and
valid PNG plots; it reads the model from a folder or from SageMaker's model.tar.gz and encodes rows
with model_io's code."""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import botocore.exceptions
import numpy as np
import pandas as pd
import pytest
from botocore.stub import Stubber
from matplotlib import image
from moto import mock_aws
from sklearn import metrics

from {{ cookiecutter.package_name }} import config, contract, local, model_io
from {{ cookiecutter.package_name }} import metrics as model_metrics
from {{ cookiecutter.package_name }}.steps import evaluate

# Evaluate and the other steps run as the SageMaker execution role (tests/aws_calls.py).
pytestmark = pytest.mark.principal("execution")

PROBLEM_TYPES = ("binary_classification", "regression")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLOTS = {
    "binary_classification": {"confusion_matrix.png", "roc_curve.png", "feature_importance.png"},
    "regression": {"residuals.png", "feature_importance.png"},
}


@pytest.fixture(scope="session")
def tiny_model(make_dataset, fit_model, write_csv) -> Callable[..., tuple[Path, Path]]:
    """tiny_model(problem_type, folder, **hyperparameters): train a small model on generated data
    into folder; returns (model folder, test folder)."""

    def _tiny_model(problem_type: str, folder: Path, **hyperparameters: Any) -> tuple[Path, Path]:
        frame, _ = make_dataset(problem_type, rows=200)
        booster, splits = fit_model(frame, problem_type, **{"num_round": 30, **hyperparameters})
        metadata = {
            "problem_type": problem_type,
            "target": "label",
            "feature_names": list(frame.columns[1:]),
        }
        model_dir = folder / "model"
        model_io.save_model(booster, model_dir, metadata)
        write_csv(splits["test"], folder / "test", "test.csv")
        return model_dir, folder / "test"

    return _tiny_model


@dataclass(frozen=True)
class Evaluated:
    model_dir: Path
    test_dir: Path
    folder: Path  # evaluation/ and predictions/ are in here
    report: dict[str, Any]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory, tiny_model) -> Callable[[str], Evaluated]:
    """evaluated(problem_type): a tiny model evaluated once a module, with every output evaluate
    writes and a champion margin of 0.02, for the tests that read what it wrote. No
    --problem-type: evaluate takes it from the model's metadata."""
    done: dict[str, Evaluated] = {}

    def get(problem_type: str) -> Evaluated:
        if problem_type not in done:
            folder = tmp_path_factory.mktemp(f"evaluated-{problem_type}")
            model_dir, test_dir = tiny_model(problem_type, folder)
            options = ["--champion-margin", "0.02"]
            options += ["--predictions-dir", str(folder / "predictions")]
            output = folder / "evaluation"
            report = run_evaluate(model_dir, test_dir, output, None, *options, plots=True)
            done[problem_type] = Evaluated(model_dir, test_dir, folder, report)
        return done[problem_type]

    return get


def run_evaluate(
    model_dir: Path,
    test_dir: Path,
    output_dir: Path,
    problem_type: str | None,
    *options: str,
    plots: bool = False,
) -> dict:
    """evaluate.main; without a problem type it comes from the model's metadata. The plots are
    drawn where a test looks at them (`evaluated`, and the local run's): half a second a run."""
    argv = ["--model-dir", str(model_dir), "--test-dir", str(test_dir)]
    argv += ["--output-dir", str(output_dir), *options]
    if problem_type is not None:
        argv += ["--problem-type", problem_type]
    with contextlib.ExitStack() as unplotted:
        if not plots:
            unplotted.enter_context(mock.patch.object(evaluate, "plot_evaluation"))
        assert evaluate.main(argv) == 0
    return json.loads((output_dir / evaluate.EVALUATION_FILE).read_text(encoding="utf-8"))


def assert_valid_pngs(folder: Path, names: set[str]) -> None:
    assert {path.name for path in folder.glob("*.png")} == names
    for name in names:
        assert (folder / name).read_bytes()[:8] == PNG_SIGNATURE, name
        pixels = image.imread(folder / name)
        assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100, name


def expected_scores(model_dir: Path, test_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labels and model scores computed independently of evaluate.py, by train.py's code."""
    booster, metadata = model_io.load_model(model_dir)
    features, target = contract.read_split(test_dir)
    return target.to_numpy(), model_io.predict(booster, features[metadata["feature_names"]])


def assert_metric_entries(section: dict[str, Any], names: list[str]) -> None:
    for name in names:
        assert set(section[name]) == {"value", "standard_deviation"}, name
        assert isinstance(section[name]["value"], float), name


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_evaluation_json_agrees_with_scikit_learn(problem_type: str, evaluated):
    run = evaluated(problem_type)
    report = run.report
    y_true, scores = expected_scores(run.model_dir, run.test_dir)

    if problem_type == "binary_classification":
        assert list(report) == ["binary_classification_metrics", "naive_baseline", "champion"]
        section = report["binary_classification_metrics"]
        labels = (scores > 0.5).astype(int)
        expected = {
            "auc": metrics.roc_auc_score(y_true, scores),
            "accuracy": metrics.accuracy_score(y_true, labels),
            "precision": metrics.precision_score(y_true, labels),
            "recall": metrics.recall_score(y_true, labels),
            "f1": metrics.f1_score(y_true, labels),
            "f0_5": metrics.fbeta_score(y_true, labels, beta=0.5),
            "f2": metrics.fbeta_score(y_true, labels, beta=2),
        }
        assert_metric_entries(section, list(expected))
        (tn, fp), (fn, tp) = metrics.confusion_matrix(y_true, labels)
        assert section["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
        assert section["true_positive_rate"]["value"] == pytest.approx(tp / (tp + fn))
        assert section["false_positive_rate"]["value"] == pytest.approx(fp / (fp + tn))
        assert section["true_negative_rate"]["value"] == pytest.approx(tn / (tn + fp))
        assert section["false_negative_rate"]["value"] == pytest.approx(fn / (fn + tp))
        curve = section["receiver_operating_characteristic_curve"]
        fpr, tpr, _ = metrics.roc_curve(y_true, scores)
        assert curve == {"false_positive_rates": fpr.tolist(), "true_positive_rates": tpr.tolist()}
        assert metrics.auc(fpr, tpr) == pytest.approx(section["auc"]["value"])
    else:
        assert list(report) == ["regression_metrics", "naive_baseline", "champion"]
        section = report["regression_metrics"]
        expected = {
            "mae": metrics.mean_absolute_error(y_true, scores),
            "mse": metrics.mean_squared_error(y_true, scores),
            "rmse": metrics.root_mean_squared_error(y_true, scores),
            "r2": metrics.r2_score(y_true, scores),
        }
        assert_metric_entries(section, list(expected))
    for name, value in expected.items():
        assert section[name]["value"] == pytest.approx(value), name
    # The test split has fewer than 200 rows: no standard deviation, as in Model Monitor.
    assert {section[name]["standard_deviation"] for name in expected} == {"NaN"}
    assert_valid_pngs(run.folder / "evaluation", PLOTS[problem_type])


def test_standard_deviation_is_measured_from_200_rows():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, size=400)
    scores = np.clip(y_true * 0.6 + rng.normal(0.2, 0.25, size=400), 0, 1)
    section = model_metrics.classification_metrics(y_true, scores)["binary_classification_metrics"]
    assert 0 < section["auc"]["standard_deviation"] < 0.1
    section = model_metrics.regression_metrics(y_true[:199], scores[:199])["regression_metrics"]
    assert section["rmse"]["standard_deviation"] == "NaN"


def make_archive(model_dir: Path, archive: Path) -> Path:
    """model.tar.gz as a SageMaker training job packs /opt/ml/model: files at the top level."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for path in model_dir.iterdir():
            tar.add(path, arcname=path.name)
    return archive


def test_model_tar_gz_is_extracted(tmp_path: Path, tiny_model):
    model_dir, test_dir = tiny_model("regression", tmp_path)
    packed = make_archive(model_dir, tmp_path / "packed" / model_io.MODEL_ARCHIVE).parent
    from_archive = run_evaluate(packed, test_dir, tmp_path / "from-archive", "regression")
    from_folder = run_evaluate(model_dir, test_dir, tmp_path / "from-folder", "regression")
    assert from_archive == from_folder
    # Extracted into a temporary folder: the input folder keeps only the archive.
    assert [path.name for path in packed.iterdir()] == [model_io.MODEL_ARCHIVE]


def test_archive_members_outside_the_folder_are_refused(tmp_path: Path):
    archive = tmp_path / "model" / model_io.MODEL_ARCHIVE
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        payload = b"not a model"
        member = tarfile.TarInfo("../escaped.txt")
        member.size = len(payload)
        tar.addfile(member, io.BytesIO(payload))
    (tmp_path / "work").mkdir()
    with pytest.raises(tarfile.FilterError):
        model_io.find_model(archive.parent, tmp_path / "work")
    assert not (tmp_path / "escaped.txt").exists()


def test_test_data_without_a_model_feature_is_refused(tmp_path: Path, tiny_model, write_csv):
    model_dir, test_dir = tiny_model("regression", tmp_path)
    test = pd.read_csv(test_dir / "test.csv").drop(columns="x3")
    write_csv(test, test_dir, "test.csv")
    with pytest.raises(ValueError, match=r"lacks features the model was trained on: \['x3'\]"):
        run_evaluate(model_dir, test_dir, tmp_path / "evaluation", "regression")


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_naive_baseline_is_a_constant_prediction(problem_type: str, evaluated):
    run = evaluated(problem_type)
    baseline = run.report["naive_baseline"]
    y_true, _ = expected_scores(run.model_dir, run.test_dir)
    constant = np.full(len(y_true), y_true.mean())
    if problem_type == "binary_classification":
        assert baseline["strategy"].startswith("prior")
        section = baseline["binary_classification_metrics"]
        assert section["auc"] == {"value": 0.5}  # a constant ranks no row above another
        expected = metrics.accuracy_score(y_true, (constant > 0.5).astype(int))
        assert section["accuracy"]["value"] == pytest.approx(expected)
    else:
        assert baseline["strategy"].startswith("mean")
        section = baseline["regression_metrics"]
        assert section["r2"]["value"] == pytest.approx(0.0, abs=1e-12)
        expected = metrics.root_mean_squared_error(y_true, constant)
        assert section["rmse"]["value"] == pytest.approx(expected)


def test_configured_evaluation_has_the_gate_metric_and_the_champions(configured, local_run):
    folder = local_run.output_dir / "evaluation"
    report = json.loads((folder / evaluate.EVALUATION_FILE).read_text(encoding="utf-8"))
    gate = config.QUALITY_GATE
    value = local.metric_value(report, gate.json_path)
    champion = local.metric_value(report, gate.champion_json_path)
    required = local.metric_value(report, gate.required_json_path)
    assert math.isfinite(value) and math.isfinite(champion) and math.isfinite(required)
    assert_valid_pngs(folder, PLOTS[config.PROBLEM_TYPE])
    # Scored with train.py's encoding: the metric is that of model_io.predict's scores.
    y_true, scores = expected_scores(configured.model, configured.splits / "test")
    if config.PROBLEM_TYPE == "binary_classification":
        assert value == pytest.approx(metrics.roc_auc_score(y_true, scores))
    else:
        assert value == pytest.approx(metrics.r2_score(y_true, scores))


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_categories_and_missing_values_are_scored_as_train_scores_them(
    problem_type: str, mixed_project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    project = mixed_project(problem_type)
    test_dir = tmp_path / "test"
    shutil.copytree(project.splits / "test", test_dir)
    test = pd.read_csv(test_dir / "test.csv", dtype={"plan": str, "region": str})
    test.loc[:2, "region"] = "atlantis"  # a category the model never saw
    test.to_csv(test_dir / "test.csv", index=False)
    report = run_evaluate(project.model, test_dir, tmp_path / "evaluation", problem_type)
    assert "column 'region': 3 values unseen in training, scored as missing" in (
        capsys.readouterr().out
    )
    y_true, scores = expected_scores(project.model, test_dir)
    booster, metadata = model_io.load_model(project.model)
    features, _ = contract.read_split(test_dir)
    np.testing.assert_array_equal(model_io.predict(booster, features), scores)
    if problem_type == "binary_classification":
        auc = report["binary_classification_metrics"]["auc"]["value"]
        assert auc == pytest.approx(metrics.roc_auc_score(y_true, scores))
    else:
        r2 = report["regression_metrics"]["r2"]["value"]
        assert r2 == pytest.approx(metrics.r2_score(y_true, scores))
    # Feature importance is keyed by the column names, categories included.
    assert set(booster.get_score(importance_type="gain")) <= set(metadata["feature_names"])


def champion_options(model_dir: Path, champion_id: str, margin: float) -> list[str]:
    return [
        *("--champion-model-dir", str(model_dir), "--champion-id", champion_id),
        *("--champion-margin", str(margin)),
    ]


def scalar(report: dict[str, Any]) -> dict[str, Any]:
    """The scalar metrics of a report's model section, as the champion section has them."""
    section = next(iter(report))
    return model_metrics.scalar_metrics({section: report[section]})


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_without_a_champion_the_naive_baseline_stands_in(problem_type: str, evaluated):
    report = evaluated(problem_type).report
    section = next(iter(report))
    headline = model_metrics.HEADLINE_METRICS[problem_type]
    naive = report["naive_baseline"][section]
    assert report["champion"] == {
        "model_package": None,
        "strategy": evaluate.NO_CHAMPION,
        "margin": 0.02,
        "required": pytest.approx(naive[headline]["value"] + 0.02),
        section: naive,
    }


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_a_champion_folder_is_scored_on_the_same_test_split(
    problem_type: str, tmp_path: Path, tiny_model, capsys: pytest.CaptureFixture[str]
):
    model_dir, test_dir = tiny_model(problem_type, tmp_path / "challenger")
    # Another model of the same data: shallower, fewer rounds.
    champion_dir, _ = tiny_model(problem_type, tmp_path / "champion", num_round=3, max_depth=1)
    options = champion_options(champion_dir, "v0007", 0.01)
    report = run_evaluate(model_dir, test_dir, tmp_path / "evaluation", problem_type, *options)
    # The champion's metrics are those it gets as the evaluated model on the same rows.
    as_model = run_evaluate(champion_dir, test_dir, tmp_path / "as-model", problem_type)
    champion = report["champion"]
    assert (champion["model_package"], champion["strategy"]) == ("v0007", "approved model v0007")
    assert {key: champion[key] for key in scalar(report)} == scalar(as_model)
    assert scalar(as_model) != scalar(report)
    section, metric = next(iter(report)), model_metrics.HEADLINE_METRICS[problem_type]
    champion_value = as_model[section][metric]["value"]
    assert champion["required"] == pytest.approx(champion_value + 0.01)
    assert champion["margin"] == 0.01
    out = capsys.readouterr().out
    assert f"champion v0007 (approved model v0007): {metric} {champion_value:.4f}" in out


def test_a_champion_of_other_features_is_not_compared(tmp_path: Path, tiny_model, write_csv):
    model_dir, test_dir = tiny_model("regression", tmp_path / "challenger")
    champion_dir, _ = tiny_model("regression", tmp_path / "champion", num_round=3)
    # The champion knows x6, which this test split lacks: trained on another data set.
    booster, metadata = model_io.load_model(champion_dir)
    model_io.save_model(booster, champion_dir, {**metadata, "feature_names": ["x1", "x6"]})
    options = champion_options(champion_dir, "v0001", 0.0)
    report = run_evaluate(model_dir, test_dir, tmp_path / "evaluation", "regression", *options)
    champion = report["champion"]
    assert champion["model_package"] is None
    assert champion["strategy"] == (
        f"v0001 cannot be scored (the test split lacks its features ['x6']): {evaluate.NO_CHAMPION}"
    )
    assert champion["regression_metrics"] == report["naive_baseline"]["regression_metrics"]


def test_two_champion_sources_are_refused(tmp_path: Path, tiny_model):
    model_dir, test_dir = tiny_model("regression", tmp_path)
    argv = ["--model-dir", str(model_dir), "--test-dir", str(test_dir)]
    argv += ["--champion-model-dir", str(model_dir), "--model-package-group", "group"]
    with pytest.raises(SystemExit):
        evaluate.main(argv)


REGION = "eu-west-1"
# The project's group, account and bucket: the calls are checked against the execution role.
GROUP = config.MODEL_PACKAGE_GROUP
BUCKET = config.DEFAULT_BUCKET
ARTIFACTS = f"{config.PROJECT_SLUG}-training"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    """moto's SageMaker and S3, with fake credentials (nothing leaves the machine)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "MOTO_ACCOUNT_ID": config.AWS_ACCOUNT_ID,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("sagemaker", region_name=REGION), boto3.client("s3", region_name=REGION)


def register_package(sagemaker: Any, model_data_url: str, status: str) -> str:
    return sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": f"141502667606.dkr.ecr.{REGION}.amazonaws.com/xgboost:3.2-0",
                    "ModelDataUrl": model_data_url,
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


def sagemaker_champion(model_dir: Path, test_dir: Path, output_dir: Path) -> dict[str, Any]:
    options = ["--model-package-group", GROUP, "--region", REGION, "--champion-margin", "0.005"]
    return run_evaluate(model_dir, test_dir, output_dir, "binary_classification", *options)


def test_a_model_package_group_that_does_not_exist_has_no_champion(aws, tmp_path, tiny_model):
    model_dir, test_dir = tiny_model("binary_classification", tmp_path)
    champion = sagemaker_champion(model_dir, test_dir, tmp_path / "evaluation")["champion"]
    assert (champion["model_package"], champion["strategy"]) == (None, evaluate.NO_CHAMPION)


def test_a_pending_package_is_no_champion(aws, tmp_path: Path, tiny_model):
    sagemaker, _ = aws
    model_dir, test_dir = tiny_model("binary_classification", tmp_path)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    pending = f"s3://{BUCKET}/{ARTIFACTS}/pending/model.tar.gz"
    register_package(sagemaker, pending, "PendingManualApproval")
    champion = sagemaker_champion(model_dir, test_dir, tmp_path / "evaluation")["champion"]
    assert (champion["model_package"], champion["strategy"]) == (None, evaluate.NO_CHAMPION)


def test_the_latest_approved_package_is_downloaded_and_scored(aws, tmp_path: Path, tiny_model):
    sagemaker, s3 = aws
    model_dir, test_dir = tiny_model("binary_classification", tmp_path / "challenger")
    champion_dir, _ = tiny_model(
        "binary_classification", tmp_path / "champion", num_round=3, max_depth=1
    )
    archive = make_archive(champion_dir, tmp_path / "packed" / model_io.MODEL_ARCHIVE)
    location = {} if REGION == "us-east-1" else {"LocationConstraint": REGION}
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration=location)
    s3.upload_file(str(archive), BUCKET, f"{ARTIFACTS}/train/output/model.tar.gz")
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    models = f"s3://{BUCKET}/{ARTIFACTS}"
    register_package(sagemaker, f"{models}/older/model.tar.gz", "Approved")
    arn = register_package(sagemaker, f"{models}/train/output/model.tar.gz", "Approved")
    register_package(sagemaker, f"{models}/newer/model.tar.gz", "PendingManualApproval")
    report = sagemaker_champion(model_dir, test_dir, tmp_path / "evaluation")
    as_model = run_evaluate(champion_dir, test_dir, tmp_path / "as-model", "binary_classification")
    champion = report["champion"]
    assert champion["model_package"] == arn
    assert champion["strategy"] == f"the latest Approved model package of group {GROUP}"
    assert {key: champion[key] for key in scalar(report)} == scalar(as_model)
    auc = as_model["binary_classification_metrics"]["auc"]["value"]
    assert champion["required"] == pytest.approx(auc + 0.005)


@pytest.mark.parametrize(
    ("code", "message", "refused"),
    [
        ("ValidationException", f"Model Package Group {GROUP} does not exist.", False),
        ("AccessDeniedException", "not authorized to perform sagemaker:ListModelPackages", True),
    ],
)
def test_only_a_group_that_does_not_exist_means_no_champion(
    aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, code: str, message: str, refused: bool
):
    """moto lists a missing group as empty; SageMaker may refuse its name instead. Any other
    error (no permission, throttling) fails the step rather than passing every model."""
    client = boto3.client("sagemaker", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_client_error(
        "list_model_packages", service_error_code=code, service_message=message
    )
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: client)
    with stubber:
        if refused:
            with pytest.raises(botocore.exceptions.ClientError, match=code):
                evaluate.sagemaker_champion(GROUP, REGION, tmp_path)
        else:
            assert evaluate.sagemaker_champion(GROUP, REGION, tmp_path) is None


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_predictions_csv_holds_the_labels_and_the_models_predictions(problem_type: str, evaluated):
    """What Model Monitor's model-quality baseline reads (the pipeline names these columns)."""
    run = evaluated(problem_type)
    y_true, scores = expected_scores(run.model_dir, run.test_dir)

    predictions = pd.read_csv(run.folder / "predictions" / evaluate.PREDICTIONS_FILE)
    np.testing.assert_array_equal(predictions["label"], y_true)
    if problem_type == "binary_classification":
        assert list(predictions.columns) == ["label", "prediction", "probability"]
        np.testing.assert_allclose(predictions["probability"], scores, rtol=1e-6)
        np.testing.assert_array_equal(predictions["prediction"], scores >= model_io.LABEL_THRESHOLD)
        assert set(predictions["prediction"]) <= {0, 1}
    else:
        assert list(predictions.columns) == ["label", "prediction"]
        np.testing.assert_allclose(predictions["prediction"], scores, rtol=1e-6)
