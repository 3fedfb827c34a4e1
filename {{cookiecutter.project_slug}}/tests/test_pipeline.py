"""The SageMaker pipeline, built offline with the real SDK: its step graph, parameters,
quality gate and registration, a local replay of its container contract, and its command line
against moto's S3 and SageMaker."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import math
import re
import shutil
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from {{ cookiecutter.package_name }} import config

# Warnings the SDK raises about itself: its own docstrings and import shims while it is being
# imported, and a reminder each time a step is defined with a PipelineSession.
pytestmark = [
    pytest.mark.filterwarnings("ignore:invalid escape sequence"),
    pytest.mark.filterwarnings("ignore:Importing from sagemaker:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:sagemaker.train.configs has been moved:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
]

PROCESSING_ROOT = "/opt/ml/processing"
KMS_KEY = f"arn:aws:kms:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:key/test-key"

GATE = config.QUALITY_GATE
STEPS_CODE = f"{PROCESSING_ROOT}/input/steps"


def evaluation_value(path: str) -> dict[str, Any]:
    return {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
            "Path": path,
        }
    }


METRIC = evaluation_value(GATE.json_path)
CHAMPION = evaluation_value(GATE.champion_json_path)
REQUIRED = evaluation_value(GATE.required_json_path)
THRESHOLD = {"Get": "Parameters.QualityThreshold"}
MODEL_ARTIFACTS = {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}


@pytest.fixture(scope="module")
def pipeline() -> Iterator[ModuleType]:
    """The pipeline module, with AWS emulated by moto as `make pipeline` has it (fake
    credentials, the project's region, the bucket made) for the tests of this module."""
    with pytest.MonkeyPatch.context() as environment:
        environment.delenv("AWS_PROFILE", raising=False)
        # Imported here rather than at the top, so that only these tests pay for the SDK import.
        from {{ cookiecutter.package_name }} import pipeline

        with pipeline.offline_aws():
            yield pipeline


@pytest.fixture(scope="module")
def definition(pipeline: ModuleType) -> dict[str, Any]:
    return json.loads(pipeline.get_pipeline().definition())


@pytest.fixture(scope="module")
def steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return all_steps(definition)


def all_steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step by name, including those in the branches of condition steps."""
    found: dict[str, dict[str, Any]] = {}

    def visit(level: list[dict[str, Any]]) -> None:
        for step in level:
            found[step["Name"]] = step
            if step["Type"] == "Condition":
                visit(step["Arguments"]["IfSteps"])
                visit(step["Arguments"]["ElseSteps"])

    visit(definition["Steps"])
    return found


def references(node: Any) -> set[str]:
    """Every `{"Get": ...}` inside a piece of the definition, e.g. "Parameters.InputDataUrl"."""
    if isinstance(node, dict):
        found = {node["Get"]} if isinstance(node.get("Get"), str) else set()
        return found.union(*(references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(references(value) for value in node))
    return set()


def upstream(step: dict[str, Any]) -> set[str]:
    """The steps this one waits for: those whose properties it reads, and its DependsOn."""
    # A check step names its model (Clarify's) beside its arguments; a condition step's
    # branches are steps of their own.
    arguments = {key: value for key, value in step.items() if key != "DependsOn"}
    if step["Type"] == "Condition":
        arguments = step["Arguments"]["Conditions"]
    read = {ref.split(".")[1] for ref in references(arguments) if ref.startswith("Steps.")}
    return read | set(step.get("DependsOn", []))


def output_of(step: str, output: str) -> dict[str, str]:
    return {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri"}


def json_file_in(prefix: dict[str, str], filename: str) -> dict[str, Any]:
    return {
        "ContentType": "application/json",
        "S3Uri": {"Std:Join": {"On": "/", "Values": [prefix, filename]}},
    }


def inputs_by_path(step: dict[str, Any]) -> dict[str, Any]:
    """Container path -> S3 source of every input of a processing step."""
    return {
        item["S3Input"]["LocalPath"]: item["S3Input"]["S3Uri"]
        for item in step["Arguments"]["ProcessingInputs"]
    }


def outputs_by_name(step: dict[str, Any]) -> dict[str, str]:
    """Output name -> container path of every output of a processing step."""
    return {
        item["OutputName"]: item["S3Output"]["LocalPath"]
        for item in step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    }


def processing_steps(steps: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [step for step in steps.values() if step["Type"] == "Processing"]


def optional_steps() -> list[str]:
    names = []
    if config.DATA_QUALITY_BASELINE:
        names += ["BaselineData", "Baseline", "ModelQualityBaseline"]
    if config.EXPLAINABILITY_REPORT:
        names += ["CreateModel", "Explain"]
    return names


def check_steps(steps: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps that run Model Monitor's analyzer or Clarify (processing jobs of AWS's images)."""
    return [step for step in steps.values() if step["Type"] in ("QualityCheck", "ClarifyCheck")]


# The checks this project has: step name -> (type, CheckType, its parameters' middle name).
CHECKS = {
    **(
        {
            "Baseline": ("QualityCheck", "DATA_QUALITY", "DataQuality"),
            "ModelQualityBaseline": ("QualityCheck", "MODEL_QUALITY", "ModelQuality"),
        }
        if config.DATA_QUALITY_BASELINE
        else {}
    ),
    **(
        {"Explain": ("ClarifyCheck", "MODEL_EXPLAINABILITY", "Explainability")}
        if config.EXPLAINABILITY_REPORT
        else {}
    ),
}


def s3_download(uri: str, destination: Path) -> None:
    """What an S3Prefix input puts into the container: every object under the prefix."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        relative = item["Key"].removeprefix(prefix).lstrip("/") or item["Key"].rsplit("/", 1)[1]
        (destination / relative).parent.mkdir(parents=True, exist_ok=True)
        (destination / relative).write_bytes(s3_object(f"s3://{bucket}/{item['Key']}"))


def s3_object(uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_steps_at_the_top_level_and_in_the_quality_gate(definition):
    assert [step["Name"] for step in definition["Steps"]] == [
        "Preprocess",
        "Train",
        "Evaluate",
        *optional_steps(),
        "CheckQuality",
    ]
    gate = definition["Steps"][-1]
    assert gate["Type"] == "Condition"
    assert [(s["Name"], s["Type"]) for s in gate["Arguments"]["IfSteps"]] == [
        ("Register", "RegisterModel")
    ]
    assert [(s["Name"], s["Type"]) for s in gate["Arguments"]["ElseSteps"]] == [
        ("QualityGateFailed", "Fail")
    ]


def test_dependency_graph(steps):
    expected = {
        "Preprocess": set(),
        "Train": {"Preprocess"},
        "Evaluate": {"Preprocess", "Train"},
        "CheckQuality": {"Evaluate"},
        "Register": {"Preprocess", "Train", "Evaluate"},  # the data manifest, the model, the gate
        "QualityGateFailed": {"Evaluate"},
    }
    if config.DATA_QUALITY_BASELINE:
        expected["BaselineData"] = {"Preprocess"}
        expected["Baseline"] = {"BaselineData"}
        expected["ModelQualityBaseline"] = {"Evaluate"}
        expected["Register"] |= {"Baseline", "ModelQualityBaseline"}
        # Its model quality is the analyzer's now, no longer evaluation.json (the gate still
        # puts it after Evaluate).
        expected["Register"].discard("Evaluate")
    if config.EXPLAINABILITY_REPORT:
        expected["CreateModel"] = {"Train"}
        expected["Explain"] = {"CreateModel", "Evaluate"}
        expected["Register"].add("Explain")
    assert {name: upstream(step) for name, step in steps.items()} == expected


def test_data_flows_from_split_to_training_to_evaluation(steps):
    channels = {
        channel["ChannelName"]: channel["DataSource"]["S3DataSource"]["S3Uri"]
        for channel in steps["Train"]["Arguments"]["InputDataConfig"]
    }
    assert channels["train"] == output_of("Preprocess", "train")
    assert channels["validation"] == output_of("Preprocess", "validation")
    evaluated = list(inputs_by_path(steps["Evaluate"]).values())
    assert MODEL_ARTIFACTS in evaluated
    assert output_of("Preprocess", "test") in evaluated
    if config.DATA_QUALITY_BASELINE:
        # Model Monitor profiles the data the model was trained on, features only, and the
        # model's predictions of the test split beside the labels.
        baseline_data = inputs_by_path(steps["BaselineData"])
        assert baseline_data[f"{PROCESSING_ROOT}/input/train"] == output_of("Preprocess", "train")
        assert list(inputs_by_path(steps["Baseline"]).values()) == [
            output_of("BaselineData", "features")
        ]
        assert list(inputs_by_path(steps["ModelQualityBaseline"]).values()) == [
            output_of("Evaluate", "predictions")
        ]
    if config.EXPLAINABILITY_REPORT:
        # Clarify explains the trained model (served by the model CreateModel makes) on the
        # test split as Evaluate writes it for Clarify.
        assert steps["CreateModel"]["Arguments"]["PrimaryContainer"]["ModelDataUrl"] == (
            MODEL_ARTIFACTS
        )
        assert steps["Explain"]["ModelName"] == {"Get": "Steps.CreateModel.ModelName"}
        assert output_of("Evaluate", "explain-data") in inputs_by_path(steps["Explain"]).values()


def test_parameters_and_defaults(pipeline, definition):
    parameters = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in definition["Parameters"]}
    # The images' defaults: test_without_own_images_... and test_own_images_...
    assert parameters.pop("StepsImageUri")[0] == parameters.pop("ServeImageUri")[0] == "String"
    input_type, input_url = parameters.pop("InputDataUrl")
    assert input_type == "String"
    assert input_url == pipeline.default_input_data_url(), "where upload-data puts config.DATA"
    assert input_url.endswith("/"), "a prefix: every CSV file under it is read"
    # No champion in moto's registry: every check is skipped (there is nothing to compare
    # with) and every new baseline registered.
    lifecycle = {
        f"{prefix}{check}{suffix}": ("Boolean", True)
        for _, _, check in CHECKS.values()
        for prefix, suffix in (("Skip", "Check"), ("RegisterNew", "Baseline"))
    }
    assert parameters == {
        "ProcessingInstanceType": ("String", "ml.m5.large"),
        "TrainingInstanceType": ("String", "ml.m5.xlarge"),
        "ModelApprovalStatus": ("String", "PendingManualApproval"),
        "QualityThreshold": ("Float", GATE.threshold),
        **lifecycle,
    }


def test_every_parameter_is_used_by_a_step(definition):
    declared = {f"Parameters.{p['Name']}" for p in definition["Parameters"]}
    assert declared - references(definition["Steps"]) == set()


def test_instance_parameters_size_every_job(steps):
    for step in processing_steps(steps):
        cluster = step["Arguments"]["ProcessingResources"]["ClusterConfig"]
        assert cluster["InstanceType"] == {"Get": "Parameters.ProcessingInstanceType"}
        # No script shards its input: a second instance would only repeat the same work.
        assert cluster["InstanceCount"] == 1
    resources = steps["Train"]["Arguments"]["ResourceConfig"]
    assert resources["InstanceType"] == {"Get": "Parameters.TrainingInstanceType"}


def test_preprocess_reads_the_input_data_url_and_the_uploaded_schema(steps):
    inputs = inputs_by_path(steps["Preprocess"])
    assert inputs[f"{PROCESSING_ROOT}/input/data"] == {"Get": "Parameters.InputDataUrl"}
    schema_uri = inputs[f"{PROCESSING_ROOT}/input/schema"]
    assert schema_uri.startswith(f"s3://{config.DEFAULT_BUCKET}/")
    assert s3_object(schema_uri) == config.SCHEMA.read_bytes()


def test_each_processing_step_runs_its_script_as_uploaded(steps):
    for step in processing_steps(steps):
        script = {
            "Preprocess": "preprocess.py",
            "Evaluate": "evaluate.py",
            "BaselineData": "baseline.py",
        }[step["Name"]]
        code = f"{PROCESSING_ROOT}/input/code"
        assert step["Arguments"]["AppSpecification"]["ContainerEntrypoint"] == [
            "python3",
            f"{code}/{script}",
        ]
        uploaded = s3_object(inputs_by_path(step)[code])
        assert uploaded == (config.STEPS_DIR / script).read_bytes()


def test_steps_that_load_the_model_get_train_py_where_they_look_for_it(steps):
    """evaluate.py encodes rows with train.py's code: the job gets train.py as an input, at the
    folder the script adds to its import path."""
    loaders = {"Evaluate": "evaluate"}
    for name, script in loaders.items():
        if name not in steps:
            continue
        module = importlib.import_module(f"{config.__package__}.steps.{script}")
        assert module.STEPS_CODE_DIR == STEPS_CODE, name
        uploaded = s3_object(inputs_by_path(steps[name])[STEPS_CODE] + "train.py")
        assert uploaded == (config.STEPS_DIR / "train.py").read_bytes(), name
    for step in processing_steps(steps):
        if step["Name"] not in loaders:
            assert STEPS_CODE not in inputs_by_path(step), step["Name"]


def test_train_runs_train_py_from_the_steps_folder(steps):
    arguments = steps["Train"]["Arguments"]
    assert arguments["HyperParameters"]["problem-type"] == config.PROBLEM_TYPE
    channels = {
        channel["ChannelName"]: channel["DataSource"]["S3DataSource"]["S3Uri"]
        for channel in arguments["InputDataConfig"]
    }
    source_code = json.loads(s3_object(f"{channels['sm_drivers']}/sourcecode.json"))
    assert source_code["entry_script"] == "train.py"
    uploaded = s3_object(f"{channels['code'].rstrip('/')}/train.py")
    assert uploaded == (config.STEPS_DIR / "train.py").read_bytes()


def test_script_arguments_match_the_container_paths(steps):
    for step in processing_steps(steps):
        arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
        paths = {
            value
            for value in arguments
            if isinstance(value, str) and value.startswith(PROCESSING_ROOT)
        }
        inputs = set(inputs_by_path(step)) - {f"{PROCESSING_ROOT}/input/code", STEPS_CODE}
        outputs = set(outputs_by_name(step).values())
        assert inputs <= paths, step["Name"]
        assert all(
            any(out == path or out.startswith(f"{path}/") for path in paths) for out in outputs
        ), step["Name"]
        assert paths <= inputs | outputs | {str(Path(out).parent) for out in outputs}


def job_images(steps: dict[str, dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """The images of the steps' jobs and of the registered model."""
    images = [step["Arguments"]["AppSpecification"]["ImageUri"] for step in processing_steps(steps)]
    images.append(steps["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"])
    containers = steps["Register"]["Arguments"]["InferenceSpecification"]["Containers"]
    return images, [container["Image"] for container in containers]


def ecr_digest(uri: str) -> str:
    registry, _, repository_tag = uri.partition("/")
    repository, _, tag = repository_tag.partition(":")
    found = boto3.client("ecr", region_name=config.AWS_REGION).batch_get_image(
        registryId=registry.split(".")[0], repositoryName=repository, imageIds=[{"imageTag": tag}]
    )
    return found["images"][0]["imageId"]["imageDigest"]


def test_without_own_images_every_job_runs_the_xgboost_image_by_digest(pipeline, definition):
    """The image version that matches the local xgboost, pinned by the digest ECR gives for its
    tag while the pipeline is built (a re-pushed tag cannot change what a pipeline version runs)."""
    import xgboost

    steps = all_steps(definition)
    jobs, served = job_images(steps)
    assert jobs == [{"Get": "Parameters.StepsImageUri"}] * len(jobs)
    assert served == [{"Get": "Parameters.ServeImageUri"}]
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    version = pipeline.XGBOOST_FRAMEWORK_VERSION
    registry = f"{image_uris_account()}.dkr.ecr.{config.AWS_REGION}.amazonaws.com"
    tagged = f"{registry}/sagemaker-xgboost:{version}"
    pinned = f"{registry}/sagemaker-xgboost@{ecr_digest(tagged)}"
    assert defaults["StepsImageUri"] == defaults["ServeImageUri"] == pinned
    assert xgboost.__version__.startswith(f"{version.split('-')[0]}.")
    # That image's own server takes CSV only.
    specification = steps["Register"]["Arguments"]["InferenceSpecification"]
    assert specification["SupportedContentTypes"] == ["text/csv"]
    recorded = steps["Register"]["Arguments"]["CustomerMetadataProperties"]
    assert recorded["steps_image"] == {"Get": "Parameters.StepsImageUri"}
    assert recorded["serve_image"] == {"Get": "Parameters.ServeImageUri"}


def image_uris_account() -> str:
    from sagemaker.core import image_uris

    uri = image_uris.retrieve("xgboost", region=config.AWS_REGION, version="3.2-0")
    return uri.split(".")[0]


def test_own_images_are_the_parameters_defaults_by_digest(pipeline):
    """CI passes the images it built (by tag): jobs and the model package run them by digest."""
    registry = f"{config.AWS_ACCOUNT_ID}.dkr.ecr.{config.AWS_REGION}.amazonaws.com"
    ecr = boto3.client("ecr", region_name=config.AWS_REGION)
    built = {}
    for image, repository in (
        ("steps", config.STEPS_IMAGE_REPOSITORY),
        ("serve", config.SERVE_IMAGE_REPOSITORY),
    ):
        with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
            ecr.create_repository(repositoryName=repository)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "layers": [{"digest": image}],
            }
        )
        ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag="abc1234")
        built[image] = f"{registry}/{repository}:abc1234"
    definition = json.loads(
        pipeline.get_pipeline(steps_image=built["steps"], serve_image=built["serve"]).definition()
    )
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    for image, parameter in (("steps", "StepsImageUri"), ("serve", "ServeImageUri")):
        repository = built[image].rpartition(":")[0]
        assert defaults[parameter] == f"{repository}@{ecr_digest(built[image])}"
    assert defaults["StepsImageUri"] != defaults["ServeImageUri"]
    register = all_steps(definition)["Register"]["Arguments"]["InferenceSpecification"]
    assert register["SupportedContentTypes"] == ["text/csv", "application/json"]


def test_quality_gate_needs_the_champion_beaten_by_the_margin_and_the_floor_reached(
    definition, steps
):
    """evaluate.py writes champion.required: the latest approved model's metric on the same test
    split plus the margin (the naive baseline's when no model is approved yet)."""
    champion, floor = definition["Steps"][-1]["Arguments"]["Conditions"]
    expected = "GreaterThanOrEqualTo" if GATE.higher_is_better else "LessThanOrEqualTo"
    assert champion["Type"] == floor["Type"] == expected
    assert champion["LeftValue"] == floor["LeftValue"] == METRIC
    assert champion["RightValue"] == REQUIRED
    assert floor["RightValue"] == THRESHOLD
    evaluate = steps["Evaluate"]
    assert evaluate["PropertyFiles"] == [
        {
            "PropertyFileName": "EvaluationReport",
            "OutputName": "evaluation",
            "FilePath": "evaluation.json",
        }
    ]
    assert "evaluation" in outputs_by_name(evaluate)
    arguments = evaluate["Arguments"]["AppSpecification"]["ContainerArguments"]
    option = dict(zip(arguments[::2], arguments[1::2], strict=True))
    assert option["--model-package-group"] == config.MODEL_PACKAGE_GROUP
    assert option["--region"] == config.AWS_REGION
    assert float(option["--champion-margin"]) == GATE.champion_margin


def test_failed_gate_reports_the_metric_the_champion_the_margin_and_the_floor(steps):
    message = steps["QualityGateFailed"]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert [part for part in message if not isinstance(part, str)] == [
        METRIC,
        CHAMPION,
        REQUIRED,
        THRESHOLD,
    ]
    text = "".join(part for part in message if isinstance(part, str))
    assert GATE.metric in text
    assert "champion" in text
    assert f"margin {GATE.champion_margin}" in text
    assert "floor" in text


def test_register_adds_the_trained_model_to_the_group(steps):
    arguments = steps["Register"]["Arguments"]
    assert arguments["ModelPackageGroupName"] == config.MODEL_PACKAGE_GROUP
    assert arguments["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    (container,) = arguments["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == MODEL_ARTIFACTS
    # Any SAGEMAKER_PROGRAM, even empty, switches the XGBoost container to script mode.
    assert "SAGEMAKER_PROGRAM" not in container.get("Environment", {})
    assert arguments["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]


def check_property(step: str, name: str) -> dict[str, Any]:
    return {"ContentType": "application/json", "S3Uri": {"Get": f"Steps.{step}.{name}"}}


def test_register_attaches_the_checks_baselines(pipeline, steps):
    """ModelMetrics: what the checks calculated on this run; DriftCheckBaselines: what they
    used for the drift check (this run's with RegisterNew...Baseline, else the champion's),
    which Model Monitor's schedules of this version compare with."""
    arguments = steps["Register"]["Arguments"]
    metrics = arguments["ModelMetrics"]
    drift: dict[str, Any] = {}
    if config.DATA_QUALITY_BASELINE:
        for kind, step in (
            ("ModelQuality", "ModelQualityBaseline"),
            ("ModelDataQuality", "Baseline"),
        ):
            assert metrics[kind] == {
                "Statistics": check_property(step, "CalculatedBaselineStatistics"),
                "Constraints": check_property(step, "CalculatedBaselineConstraints"),
            }, kind
            drift[kind] = {
                "Statistics": check_property(step, "BaselineUsedForDriftCheckStatistics"),
                "Constraints": check_property(step, "BaselineUsedForDriftCheckConstraints"),
            }
    else:
        assert metrics["ModelQuality"] == {
            "Statistics": json_file_in(output_of("Evaluate", "evaluation"), "evaluation.json")
        }
        assert "ModelDataQuality" not in metrics
    if config.EXPLAINABILITY_REPORT:
        # Clarify's analysis.json.
        assert metrics["Explainability"] == {
            "Report": check_property("Explain", "CalculatedBaselineConstraints")
        }
        config_file = arguments["DriftCheckBaselines"]["Explainability"]["ConfigFile"]
        assert config_file["ContentType"] == "application/json"
        # The monitoring configuration the SDK made, stored under its content's key.
        analysis = json.loads(s3_object(config_file["S3Uri"]))
        assert config_file["S3Uri"].startswith(
            f"s3://{config.DEFAULT_BUCKET}/{pipeline.CODE_PREFIX}/"
        )
        assert analysis["methods"]["shap"]["num_samples"] == pipeline.SHAP_SAMPLES
        drift["Explainability"] = {
            "Constraints": check_property("Explain", "BaselineUsedForDriftCheckConstraints"),
            "ConfigFile": config_file,
        }
    else:
        assert not metrics.get("Explainability")
    if drift:
        assert arguments["DriftCheckBaselines"] == drift
    else:
        assert "DriftCheckBaselines" not in arguments

{%- if cookiecutter.data_quality_baseline == "yes" or cookiecutter.explainability_report == "yes" %}


def test_check_steps_run_the_regions_model_monitor_and_clarify_images(steps):
    """The real tools, not an imitation: Model Monitor's analyzer and Clarify's container, as
    the SDK's image table names them for the project's region."""
    from sagemaker.core import image_uris

    images = {
        "QualityCheck": image_uris.retrieve("model-monitor", region=config.AWS_REGION),
        "ClarifyCheck": image_uris.retrieve("clarify", region=config.AWS_REGION),
    }
    assert "sagemaker-model-monitor-analyzer" in images["QualityCheck"]
    assert "sagemaker-clarify-processing" in images["ClarifyCheck"]
    for name, (step_type, check_type, _) in CHECKS.items():
        step = steps[name]
        assert (step["Type"], step["CheckType"]) == (step_type, check_type), name
        assert step["Arguments"]["AppSpecification"]["ImageUri"] == images[step_type], name


def test_each_check_compares_with_the_champion_and_is_steered_by_its_parameters(steps):
    for name, (_, _, check) in CHECKS.items():
        step = steps[name]
        assert step["SkipCheck"] == {"Get": f"Parameters.Skip{check}Check"}, name
        assert step["RegisterNewBaseline"] == {"Get": f"Parameters.RegisterNew{check}Baseline"}
        # The baseline to compare with: the group's latest Approved package's (the champion).
        assert step["ModelPackageGroupName"] == config.MODEL_PACKAGE_GROUP, name
        assert step["SuppliedBaselineConstraints"] is None, name
        assert step["FailOnViolation"] is True, name
        cluster = step["Arguments"]["ProcessingResources"]["ClusterConfig"]
        assert cluster["InstanceType"] == {"Get": "Parameters.ProcessingInstanceType"}, name
        # Every run keeps its results under its own execution's prefix.
        output = step["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        assert {"Get": "Execution.PipelineExecutionId"} in output["Std:Join"]["Values"], name

{%- if cookiecutter.data_quality_baseline == "yes" %}


def test_quality_checks_read_their_data_as_the_scripts_write_it(pipeline, steps):
    data_quality = steps["Baseline"]["Arguments"]["Environment"]
    # Headerless features: the analyzer names the columns _c0, _c1... as in captured requests.
    assert json.loads(data_quality["dataset_format"]) == {
        "csv": {"header": False, "output_columns_position": "START"}
    }
    model_quality = steps["ModelQualityBaseline"]["Arguments"]["Environment"]
    assert json.loads(model_quality["dataset_format"])["csv"]["header"] is True
    assert model_quality["analysis_type"] == "MODEL_QUALITY"
    expected = {
        "binary_classification": ("BinaryClassification", ["label", "prediction", "probability"]),
        "regression": ("Regression", ["label", "prediction"]),
    }[config.PROBLEM_TYPE]
    assert model_quality["problem_type"] == expected[0]
    evaluate = importlib.import_module(f"{config.__package__}.steps.evaluate")
    import numpy as np

    frame = evaluate.predictions_frame(np.array([0, 1]), np.array([0.2, 0.9]), config.PROBLEM_TYPE)
    assert list(frame.columns) == expected[1]
    named = {model_quality[f"{kind}_attribute"] for kind in ("ground_truth", "inference")}
    if config.PROBLEM_TYPE == "binary_classification":
        named.add(model_quality["probability_attribute"])
        assert float(model_quality["probability_threshold_attribute"]) == evaluate.THRESHOLD
    assert named == set(frame.columns)
{%- endif %}


def test_checks_run_once_the_champion_has_registered_baselines(pipeline):
    """With an Approved package that has a data-quality baseline, that check runs by default
    (Skip...Check false); the checks whose baseline it lacks stay skipped."""
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    group = config.MODEL_PACKAGE_GROUP
    source = {"ContentType": "application/json", "S3Uri": "s3://somewhere/statistics.json"}
    with contextlib.suppress(sagemaker.exceptions.ClientError):
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "image", "ModelDataUrl": "s3://somewhere/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        DriftCheckBaselines={"ModelDataQuality": {"Statistics": source, "Constraints": source}},
    )["ModelPackageArn"]
    try:
        described = sagemaker.describe_model_package(ModelPackageName=arn)
        assert described["DriftCheckBaselines"]["ModelDataQuality"]
        definition = json.loads(pipeline.get_pipeline().definition())
    finally:
        # No champion for the other tests (moto cannot delete a package).
        sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    for _, _, check in CHECKS.values():
        assert defaults[f"Skip{check}Check"] is (check != "DataQuality"), check
        assert defaults[f"RegisterNew{check}Baseline"] is True, check
{%- endif %}


def test_default_definition_names_no_key_and_disables_nothing(definition):
    """Without kms_key_id the account's default encryption applies, and no step switches off
    a protection such as network isolation or inter-container traffic encryption."""
    text = json.dumps(definition)
    assert "KmsKeyId" not in text
    assert not re.search(r'"Enable\w+": false', text)


def load_script(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A step script loaded as the container runs it: a lone file, not part of the package."""
    spec = importlib.util.spec_from_file_location(f"container_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_replay_the_container_contract_locally(
    pipeline, definition, steps, local_run, tmp_path, monkeypatch, capsys
):
    """Run every step script in-process where the definition says the container puts its
    inputs and expects its outputs (/opt/ml/processing -> a temporary folder), each script as
    the uploaded lone file (not part of the package), feeding each step what the steps it reads
    from produced, on the configured data: the result is the local run's."""
    root = tmp_path / "processing"
    produced: dict[str, Path] = {}  # an S3 location, as its Get reference -> a local stand-in

    defaults = {f"Parameters.{p['Name']}": p["DefaultValue"] for p in definition["Parameters"]}

    def local(argument: str | dict[str, str]) -> str:
        if isinstance(argument, dict):  # a pipeline parameter: its default value
            return str(defaults[argument["Get"]])
        return argument.replace(PROCESSING_ROOT, str(root), 1)

    def stage(source: Any, destination: Path) -> None:
        destination.mkdir(parents=True, exist_ok=True)
        if source == {"Get": "Parameters.InputDataUrl"}:
            shutil.copy(config.DATA, destination)
        elif isinstance(source, str):
            s3_download(source, destination)
        else:
            shutil.copytree(produced[source["Get"]], destination, dirs_exist_ok=True)

    def run_processing(step: dict[str, Any]) -> None:
        shutil.rmtree(root, ignore_errors=True)
        for path, source in inputs_by_path(step).items():
            stage(source, Path(local(path)))
        entrypoint = step["Arguments"]["AppSpecification"]["ContainerEntrypoint"]
        with monkeypatch.context() as job:
            # The script adds STEPS_CODE to its import path; here that folder is local.
            job.setattr(sys, "path", [local(STEPS_CODE), *sys.path])
            job.delitem(sys.modules, "train", raising=False)
            module = load_script(Path(local(entrypoint[-1])), job)
            arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
            assert module.main([local(a) for a in arguments]) == 0, step["Name"]
            sys.modules.pop("train", None)
        for name, path in outputs_by_name(step).items():
            kept = tmp_path / "s3" / step["Name"] / name
            shutil.copytree(local(path), kept)
            produced[output_of(step["Name"], name)["Get"]] = kept

    run_processing(steps["Preprocess"])
    # The model package's data_sha256 is this JsonGet on the data manifest preprocess wrote.
    (manifest_file,) = steps["Preprocess"]["PropertyFiles"]
    manifest_dir = produced[output_of("Preprocess", manifest_file["OutputName"])["Get"]]
    manifest = json.loads((manifest_dir / manifest_file["FilePath"]).read_text())
    data_sha256 = steps["Register"]["Arguments"]["CustomerMetadataProperties"]["data_sha256"]
    assert data_sha256["Std:JsonGet"]["Path"] == "sha256"
    assert manifest["sha256"] == pipeline.preprocess_script.data_manifest(config.DATA)["sha256"]
    assert manifest["source"] == defaults["Parameters.InputDataUrl"]

    # The training container gets its channels and model folder from the environment and the
    # hyperparameters as `--name value`, which is what SageMaker's script driver passes.
    train = steps["Train"]["Arguments"]
    for channel in train["InputDataConfig"]:
        uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
        if isinstance(uri, dict):
            monkeypatch.setenv(
                f"SM_CHANNEL_{channel['ChannelName'].upper()}", str(produced[uri["Get"]])
            )
    model_dir = tmp_path / "model"
    monkeypatch.setenv("SM_MODEL_DIR", str(model_dir))
    hyperparameters = [
        part for item in train["HyperParameters"].items() for part in ("--" + item[0], item[1])
    ]
    trainer = importlib.import_module(f"{config.__package__}.steps.train")
    capsys.readouterr()
    assert trainer.main(hyperparameters) == 0
    # The training job's metrics come from what train.py prints, by these regexes.
    printed = capsys.readouterr().out
    for metric in train["AlgorithmSpecification"]["MetricDefinitions"]:
        found = re.search(metric["Regex"], printed)
        assert found, (metric, printed)
        assert math.isfinite(float(found.group(1))), metric["Name"]
    trained_with = trainer.load_model(model_dir)[1]["hyperparameters"]
    assert trained_with == trainer.HYPERPARAMETERS, "as in a local run"
    artifacts = tmp_path / "s3" / "Train"
    artifacts.mkdir(parents=True)
    with tarfile.open(artifacts / "model.tar.gz", "w:gz") as archive:
        for file in model_dir.iterdir():
            archive.add(file, arcname=file.name)
    produced[MODEL_ARTIFACTS["Get"]] = artifacts

    for step in processing_steps(steps):
        if step["Name"] != "Preprocess":
            run_processing(step)

    report = produced[output_of("Evaluate", "evaluation")["Get"]] / "evaluation.json"
    evaluation = json.loads(report.read_text())
    for path in (GATE.json_path, GATE.champion_json_path, GATE.required_json_path):
        value: Any = evaluation
        for key in path.split("."):
            value = value[key]
        assert isinstance(value, float) and math.isfinite(value), path
    on_the_laptop = local_run.output_dir / "evaluation" / "evaluation.json"
    assert evaluation == json.loads(on_the_laptop.read_text()), "the pipeline is the local run"
    test_split = (local_run.output_dir / "processed" / "test" / "test.csv").read_text()
    header, *test_rows = test_split.splitlines()
    if config.DATA_QUALITY_BASELINE:
        # What the analyzer reads: the training features without header (as captured
        # requests are), and the predictions by the columns the check names.
        (features,) = produced[output_of("BaselineData", "features")["Get"]].iterdir()
        train_split = (local_run.output_dir / "processed" / "train" / "train.csv").read_text()
        expected_rows = [row.split(",", 1)[1] for row in train_split.splitlines()[1:]]
        assert features.read_text().splitlines() == expected_rows
        (predictions,) = produced[output_of("Evaluate", "predictions")["Get"]].iterdir()
        columns = predictions.read_text().splitlines()[0].split(",")
        environment = steps["ModelQualityBaseline"]["Arguments"]["Environment"]
        named = [environment[f"{kind}_attribute"] for kind in ("ground_truth", "inference")]
        if config.PROBLEM_TYPE == "binary_classification":
            named.append(environment["probability_attribute"])
        assert columns == named
        on_the_laptop = local_run.output_dir / "predictions" / predictions.name
        assert predictions.read_text() == on_the_laptop.read_text()
    if config.EXPLAINABILITY_REPORT:
        # Clarify reads the test split without header, by the headers of its analysis config.
        (explain_data,) = produced[output_of("Evaluate", "explain-data")["Get"]].iterdir()
        assert explain_data.read_text().splitlines() == test_rows
        analysis_input = inputs_by_path(steps["Explain"])["/opt/ml/processing/input/config"]
        assert analysis_input.endswith("/analysis_config.json")
        analysis = json.loads(s3_object(analysis_input))
        assert analysis["headers"] == header.split(",")
        assert analysis["label"] == header.split(",")[0]
        assert analysis["dataset_type"] == "text/csv"


def test_kms_key_reaches_every_job(pipeline, capsys):
    assert pipeline.main(["definition", "--kms-key-id", KMS_KEY]) == 0
    printed = json.loads(capsys.readouterr().out)
    steps = all_steps(printed)
    assert [s["Name"] for s in printed["Steps"]][-1] == "CheckQuality"
    for step in [*processing_steps(steps), *check_steps(steps)]:
        arguments = step["Arguments"]
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == KMS_KEY
        assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KMS_KEY
    train = steps["Train"]["Arguments"]
    assert train["OutputDataConfig"]["KmsKeyId"] == KMS_KEY
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == KMS_KEY
    # The code and schema the pipeline uploads, and the SDK's driver scripts, use the key too.
    uploaded = [uri for step in processing_steps(steps) for uri in inputs_by_path(step).values()]
    uploaded += [
        channel["DataSource"]["S3DataSource"]["S3Uri"] for channel in train["InputDataConfig"]
    ]
    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    staged = [uri for uri in uploaded if isinstance(uri, str)]
    assert len(staged) >= 4
    for uri in staged:
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
            head = s3.head_object(Bucket=bucket, Key=item["Key"])
            assert head["ServerSideEncryption"] == "aws:kms", item["Key"]
            assert head["SSEKMSKeyId"] == KMS_KEY, item["Key"]


def test_cli_upsert_creates_the_pipeline_and_start_starts_an_execution(pipeline, capsys):
    assert pipeline.main(["upsert"]) == 0
    pipeline_arn = capsys.readouterr().out.strip()
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    described = sagemaker.describe_pipeline(PipelineName=config.PIPELINE_NAME)
    assert described["PipelineArn"] == pipeline_arn
    assert described["RoleArn"] == config.EXECUTION_ROLE_ARN
    stored = json.loads(described["PipelineDefinition"])
    assert [step["Name"] for step in stored["Steps"]][-1] == "CheckQuality"
    tags = sagemaker.list_tags(ResourceArn=pipeline_arn)["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == expected_tags()

    assert pipeline.main(["start", "--parameter", "QualityThreshold=0.5"]) == 0
    execution_arn = capsys.readouterr().out.strip()
    assert execution_arn.startswith(f"{pipeline_arn}/execution/")
    overrides = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution_arn)
    assert overrides["PipelineParameters"] == [{"Name": "QualityThreshold", "Value": "0.5"}]


def test_cli_definition_offline_needs_no_account(pipeline, capsys):
    # Its own emulated AWS, here inside this module's, so with a bucket of its own.
    argv = ["definition", "--offline", "--bucket", "offline-definition-bucket"]
    assert pipeline.main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [step["Name"] for step in printed["Steps"]][-1] == "CheckQuality"
    parameters = {p["Name"]: p["DefaultValue"] for p in printed["Parameters"]}
    assert parameters["InputDataUrl"].startswith("s3://offline-definition-bucket/")


def test_cli_upload_data_puts_the_configured_data_where_the_pipeline_reads_it(pipeline, capsys):
    assert pipeline.main(["upload-data"]) == 0
    uri = capsys.readouterr().out.strip()
    assert uri == pipeline.default_input_data_url() + config.DATA.name
    key = uri.removeprefix(f"s3://{config.DEFAULT_BUCKET}/")
    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    stored = s3.get_object(Bucket=config.DEFAULT_BUCKET, Key=key)
    assert stored["Body"].read() == config.DATA.read_bytes()
    assert stored["ServerSideEncryption"] == "aws:kms"


@pytest.mark.parametrize(
    "argv",
    [["definition", "--parameter", "QualityThreshold=0.5"], ["start", "--parameter", "oops"]],
)
def test_cli_rejects_misused_parameters(pipeline, argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        pipeline.main(argv)
    assert exit_info.value.code == 2
    assert "--parameter" in capsys.readouterr().err


def expected_tags() -> dict[str, str]:
    from {{ cookiecutter.package_name }} import lineage

    return {**config.TAGS, "git-commit": lineage.git_state().label}


def test_every_job_and_the_model_package_carry_the_project_tags(steps):
    expected = expected_tags()
    for step in [*processing_steps(steps), *check_steps(steps), steps["Train"], steps["Register"]]:
        tags = step["Arguments"]["Tags"]
        assert {tag["Key"]: tag["Value"] for tag in tags} == expected, step["Name"]


def test_every_job_step_is_retried_on_aws_faults_and_cached_but_evaluate(steps):
    """Evaluate compares with the registry's champion, which is not part of its cache key."""
    for name, step in steps.items():
        if step["Type"] not in ("Processing", "Training"):
            continue
        if name == "Evaluate":
            assert "CacheConfig" not in step
        else:
            assert step["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}, name
        retried = {kind for policy in step["RetryPolicies"] for kind in policy["ExceptionType"]}
        assert retried == {
            "Step.SERVICE_FAULT",
            "Step.THROTTLING",
            "SageMaker.JOB_INTERNAL_ERROR",
            "SageMaker.CAPACITY_ERROR",
            "SageMaker.RESOURCE_LIMIT",
        }, name
        assert all(policy["MaxAttempts"] > 1 for policy in step["RetryPolicies"]), name
    (register_retry,) = steps["Register"]["RetryPolicies"]
    assert set(register_retry["ExceptionType"]) == {"Step.SERVICE_FAULT", "Step.THROTTLING"}


def test_an_unchanged_step_keeps_its_cache_key(pipeline, tmp_path, monkeypatch):
    """SageMaker serves a step from cache when the attributes of its key are those of an earlier
    run (a processing job's AppSpecification, Environment and ProcessingInputs; a training job's
    AlgorithmSpecification, HyperParameters and InputDataConfig...). Built twice, the definition
    is the same; with evaluate.py edited, only the steps that run it change."""

    def build() -> dict[str, dict[str, Any]]:
        return all_steps(json.loads(pipeline.get_pipeline().definition()))

    first, second = build(), build()
    assert first == second
    steps_dir = tmp_path / "steps"
    shutil.copytree(config.STEPS_DIR, steps_dir)
    edited = steps_dir / "evaluate.py"
    edited.write_text(edited.read_text() + "\n# an edit\n")
    monkeypatch.setattr(config, "STEPS_DIR", steps_dir)
    changed = build()
    keys = {
        "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
        "Training": ("AlgorithmSpecification", "HyperParameters", "InputDataConfig"),
    }
    for name, step in first.items():
        if step["Type"] not in keys:
            continue
        before = {key: step["Arguments"].get(key) for key in keys[step["Type"]]}
        after = {key: changed[name]["Arguments"].get(key) for key in keys[step["Type"]]}
        if name == "Evaluate":
            assert before != after
        else:
            assert before == after, name


def resolve(node: Any, values: dict[str, str]) -> Any:
    """A piece of the definition as SageMaker resolves it in an execution, with the step
    properties and execution variables taken from `values` (references the test does not give
    resolve to a made-up S3 location)."""
    if isinstance(node, list):
        return [resolve(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("Get"), str):
        made_up = re.sub(r"[^A-Za-z0-9]+", "-", node["Get"]).strip("-")
        return values.get(node["Get"], f"s3://{config.DEFAULT_BUCKET}/execution/{made_up}")
    if "Std:Join" in node:
        join = node["Std:Join"]
        return join["On"].join(str(resolve(part, values)) for part in join["Values"])
    if "Std:JsonGet" in node:
        json_get = node["Std:JsonGet"]
        return values[f"{json_get['PropertyFile']['Get']}.{json_get['Path']}"]
    return {key: resolve(value, values) for key, value in node.items()}


def allowed_metadata_text(shape: str) -> tuple[set[str], int]:
    """The punctuation and length that botocore's SageMaker model allows in a metadata value or
    tag; besides them, letters, numbers and spaces (\\p{L}, \\p{N}, \\p{Z})."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker").shape_for(shape)
    pattern = model.metadata["pattern"]
    classes = re.search(r"\[(.*)\]", pattern).group(1)
    assert classes.startswith(r"\p{L}\p{Z}\p{N}"), pattern
    marks = re.sub(r"\\(.)", r"\1", classes.removeprefix(r"\p{L}\p{Z}\p{N}"))
    return set(marks), model.metadata["max"]


def fits(text: str, marks: set[str], limit: int) -> bool:
    import unicodedata

    return 0 < len(text) <= limit and all(
        char.isalnum() or char in marks or unicodedata.category(char).startswith("Z")
        for char in text
    )


def test_model_package_records_what_made_the_model(pipeline, definition, steps):
    """Register's request, resolved as in an execution, creates a model package in moto's
    registry; describe-model-package then shows its lineage, every value in the characters and
    length the API accepts."""
    execution = (
        f"arn:aws:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:pipeline/"
        f"{config.PIPELINE_NAME}/execution/abcdef123456"
    )
    data_sha256 = pipeline.preprocess_script.data_manifest(config.DATA)["sha256"]
    values = {
        **{f"Parameters.{p['Name']}": p["DefaultValue"] for p in definition["Parameters"]},
        "Execution.PipelineExecutionArn": execution,
        "Steps.Train.TrainingJobName": "pipelines-abcdef123456-Train-x1y2z3",
        output_of("Preprocess", "manifest")["Get"]: (
            f"s3://{config.DEFAULT_BUCKET}/{config.PIPELINE_NAME}/abcdef123456/Preprocess/manifest"
        ),
        "Steps.Preprocess.PropertyFiles.DataManifest.sha256": data_sha256,
    }
    request = resolve(steps["Register"]["Arguments"], values)
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    with contextlib.suppress(sagemaker.exceptions.ClientError):  # made by an earlier test
        sagemaker.create_model_package_group(ModelPackageGroupName=config.MODEL_PACKAGE_GROUP)
    arn = sagemaker.create_model_package(**request)["ModelPackageArn"]
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    recorded = described["CustomerMetadataProperties"]
    print(json.dumps(recorded, indent=2))  # what `aws sagemaker describe-model-package` shows

    from {{ cookiecutter.package_name }} import lineage

    git = lineage.git_state()
    assert recorded["git_commit"] == git.commit
    assert recorded["git_dirty"] == str(git.dirty).lower()
    assert recorded["data_sha256"] == data_sha256
    assert recorded["data_manifest"].endswith("/data_manifest.json")
    assert recorded["input_data_url"] == values["Parameters.InputDataUrl"]
    assert recorded["pipeline_execution_arn"] == execution
    assert recorded["training_job"] == values["Steps.Train.TrainingJobName"]
    assert "@sha256:" in recorded["steps_image"] and "@sha256:" in recorded["serve_image"]
    pairs = dict(item.split("=", 1) for item in recorded["hyperparameters"].split(" "))
    assert pairs == {name: str(value) for name, value in pipeline.HYPERPARAMETERS.items()}
    assert described["MetadataProperties"]["GeneratedBy"] == execution
    marks, limit = allowed_metadata_text("CustomerMetadataValue")
    for key, value in recorded.items():
        assert fits(key, marks, 128) and fits(value, marks, limit), (key, value)
    tag_marks, tag_limit = allowed_metadata_text("TagValue")
    for tag in request["Tags"]:
        assert fits(tag["Key"], tag_marks, 128) and fits(tag["Value"], tag_marks, tag_limit), tag


def record_s3_calls(pipeline: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Every S3 call the pipeline module's client makes, with the parameters it sends."""
    calls: list[tuple] = []
    make_client = pipeline.s3_client

    def recording_client(session: Any = None) -> Any:
        client = make_client(session)

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            calls.append((model.name, params))

        client.meta.events.register("provide-client-params.s3.*", record)
        return client

    monkeypatch.setattr(pipeline, "s3_client", recording_client)
    return calls


def test_every_s3_call_names_the_bucket_owner(pipeline, monkeypatch, capsys):
    calls = record_s3_calls(pipeline, monkeypatch)
    pipeline.get_pipeline()
    assert pipeline.main(["upload-data"]) == 0
    assert {name for name, _ in calls} >= {"PutObject", "HeadBucket"}
    for name, params in calls:
        assert params.get("ExpectedBucketOwner") == config.AWS_ACCOUNT_ID, name


def test_upload_data_refuses_a_missing_bucket_and_says_how_to_create_it(pipeline, capsys):
    assert pipeline.main(["upload-data", "--bucket", "no-such-bucket-for-this-test"]) == 1
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "no-such-bucket-for-this-test does not exist" in error
    assert "aws s3api create-bucket --bucket no-such-bucket-for-this-test" in error


def test_upload_data_refuses_a_bucket_of_another_account(pipeline, monkeypatch):
    """S3 answers 403 to a HeadBucket whose ExpectedBucketOwner is not the owner (moto does not
    check the owner, so the answer is S3's, given here)."""
    from botocore.stub import Stubber

    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    with Stubber(s3) as stub:
        stub.add_client_error(
            "head_bucket",
            service_error_code="403",
            http_status_code=403,
            expected_params={
                "Bucket": "look-alike-bucket",
                "ExpectedBucketOwner": config.AWS_ACCOUNT_ID,
            },
        )
        with pytest.raises(pipeline.SetupError, match="not owned by account"):
            pipeline.upload_data(config.DATA, "look-alike-bucket", s3=s3)
