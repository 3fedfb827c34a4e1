"""The SageMaker pipeline, built offline with the real SDK: its step graph, parameters,
quality gate and registration, a local replay of its container contract, and its command line
against moto's S3 and SageMaker."""

from __future__ import annotations

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
NAIVE_BASELINE = evaluation_value(GATE.baseline_json_path)
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
    arguments = step["Arguments"]
    if step["Type"] == "Condition":
        arguments = arguments["Conditions"]
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
    return [
        name
        for name, enabled in (
            ("Baseline", config.DATA_QUALITY_BASELINE),
            ("Explain", config.EXPLAINABILITY_REPORT),
        )
        if enabled
    ]


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
        "Register": {"Train", "Evaluate"},
        "QualityGateFailed": {"Evaluate"},
    }
    if config.DATA_QUALITY_BASELINE:
        expected["Baseline"] = {"Preprocess"}
        expected["Register"].add("Baseline")
    if config.EXPLAINABILITY_REPORT:
        expected["Explain"] = {"Preprocess", "Train"}
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
        # Model Monitor profiles the data the model was trained on.
        assert output_of("Preprocess", "train") in inputs_by_path(steps["Baseline"]).values()


def test_parameters_and_defaults(definition):
    parameters = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in definition["Parameters"]}
    input_type, input_url = parameters.pop("InputDataUrl")
    assert input_type == "String"
    assert input_url.startswith(f"s3://{config.DEFAULT_BUCKET}/")
    assert input_url.endswith("/"), "a prefix: every CSV file under it is read"
    assert parameters == {
        "ProcessingInstanceType": ("String", "ml.m5.large"),
        "ProcessingInstanceCount": ("Integer", 1),
        "TrainingInstanceType": ("String", "ml.m5.xlarge"),
        "ModelApprovalStatus": ("String", "PendingManualApproval"),
        "QualityThreshold": ("Float", GATE.threshold),
    }


def test_every_parameter_is_used_by_a_step(definition):
    declared = {f"Parameters.{p['Name']}" for p in definition["Parameters"]}
    assert declared - references(definition["Steps"]) == set()


def test_instance_parameters_size_every_job(steps):
    for step in processing_steps(steps):
        cluster = step["Arguments"]["ProcessingResources"]["ClusterConfig"]
        assert cluster["InstanceType"] == {"Get": "Parameters.ProcessingInstanceType"}
        assert cluster["InstanceCount"] == {"Get": "Parameters.ProcessingInstanceCount"}
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
            "Baseline": "baseline.py",
            "Explain": "explain.py",
        }[step["Name"]]
        code = f"{PROCESSING_ROOT}/input/code"
        assert step["Arguments"]["AppSpecification"]["ContainerEntrypoint"] == [
            "python3",
            f"{code}/{script}",
        ]
        uploaded = s3_object(inputs_by_path(step)[code])
        assert uploaded == (config.STEPS_DIR / script).read_bytes()


def test_steps_that_load_the_model_get_train_py_where_they_look_for_it(steps):
    """evaluate.py and explain.py encode rows with train.py's code: the job gets train.py as an
    input, at the folder the script adds to its import path."""
    loaders = {"Evaluate": "evaluate", "Explain": "explain"}
    for name, script in loaders.items():
        if name not in steps:
            continue
        module = importlib.import_module(f"{config.__package__}.steps.{script}")
        assert module.STEPS_CODE_DIR == STEPS_CODE, name
        uploaded = s3_object(inputs_by_path(steps[name])[STEPS_CODE])
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
    uploaded = s3_object(f"{channels['code']}/train.py")
    assert uploaded == (config.STEPS_DIR / "train.py").read_bytes()


def test_script_arguments_match_the_container_paths(steps):
    for step in processing_steps(steps):
        arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
        paths = {value for value in arguments if value.startswith(PROCESSING_ROOT)}
        inputs = set(inputs_by_path(step)) - {f"{PROCESSING_ROOT}/input/code", STEPS_CODE}
        outputs = set(outputs_by_name(step).values())
        assert inputs <= paths, step["Name"]
        assert all(
            any(out == path or out.startswith(f"{path}/") for path in paths) for out in outputs
        ), step["Name"]
        assert paths <= inputs | outputs | {str(Path(out).parent) for out in outputs}


def test_every_job_runs_the_xgboost_container_that_matches_the_local_xgboost(pipeline, steps):
    import xgboost

    images = [step["Arguments"]["AppSpecification"]["ImageUri"] for step in processing_steps(steps)]
    images.append(steps["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"])
    images += [
        c["Image"] for c in steps["Register"]["Arguments"]["InferenceSpecification"]["Containers"]
    ]
    version = pipeline.XGBOOST_FRAMEWORK_VERSION
    for image in images:
        assert f".dkr.ecr.{config.AWS_REGION}." in image
        assert image.endswith(f"/sagemaker-xgboost:{version}")
    assert xgboost.__version__.startswith(f"{version.split('-')[0]}.")


def test_quality_gate_needs_the_naive_baseline_beaten_and_the_floor_reached(definition, steps):
    beats, reaches = definition["Steps"][-1]["Arguments"]["Conditions"]
    if GATE.higher_is_better:
        assert (beats["Type"], reaches["Type"]) == ("GreaterThan", "GreaterThanOrEqualTo")
    else:
        assert (beats["Type"], reaches["Type"]) == ("LessThan", "LessThanOrEqualTo")
    assert beats["LeftValue"] == reaches["LeftValue"] == METRIC
    assert beats["RightValue"] == NAIVE_BASELINE
    assert reaches["RightValue"] == THRESHOLD
    evaluate = steps["Evaluate"]
    assert evaluate["PropertyFiles"] == [
        {
            "PropertyFileName": "EvaluationReport",
            "OutputName": "evaluation",
            "FilePath": "evaluation.json",
        }
    ]
    assert "evaluation" in outputs_by_name(evaluate)


def test_failed_gate_reports_the_metric_the_baseline_and_the_floor(steps):
    message = steps["QualityGateFailed"]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert [part for part in message if not isinstance(part, str)] == [
        METRIC,
        NAIVE_BASELINE,
        THRESHOLD,
    ]
    text = "".join(part for part in message if isinstance(part, str))
    assert GATE.metric in text
    assert "naive baseline" in text
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


def test_register_attaches_the_evaluation_and_baselines(steps):
    arguments = steps["Register"]["Arguments"]
    metrics = arguments["ModelMetrics"]
    assert metrics["ModelQuality"] == {
        "Statistics": json_file_in(output_of("Evaluate", "evaluation"), "evaluation.json")
    }
    if config.DATA_QUALITY_BASELINE:
        baseline = output_of("Baseline", "baseline")
        data_quality = {
            "Statistics": json_file_in(baseline, "statistics.json"),
            "Constraints": json_file_in(baseline, "constraints.json"),
        }
        assert metrics["ModelDataQuality"] == data_quality
        assert arguments["DriftCheckBaselines"] == {"ModelDataQuality": data_quality}
    else:
        assert "ModelDataQuality" not in metrics
        assert "DriftCheckBaselines" not in arguments
    if config.EXPLAINABILITY_REPORT:
        report = json_file_in(output_of("Explain", "explainability"), "explainability.json")
        assert metrics["Explainability"] == {"Report": report}
    else:
        assert not metrics.get("Explainability")


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


def test_replay_the_container_contract_locally(steps, local_run, tmp_path, monkeypatch):
    """Run every step script in-process where the definition says the container puts its
    inputs and expects its outputs (/opt/ml/processing -> a temporary folder), each script as
    the uploaded lone file (not part of the package), feeding each step what the steps it reads
    from produced, on the configured data: the result is the local run's."""
    root = tmp_path / "processing"
    produced: dict[str, Path] = {}  # an S3 location, as its Get reference -> a local stand-in

    def local(path: str) -> str:
        return path.replace(PROCESSING_ROOT, str(root), 1)

    def stage(source: Any, destination: Path) -> None:
        destination.mkdir(parents=True, exist_ok=True)
        if source == {"Get": "Parameters.InputDataUrl"}:
            shutil.copy(config.DATA, destination)
        elif isinstance(source, str):
            (destination / source.rsplit("/", 1)[1]).write_bytes(s3_object(source))
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
    assert trainer.main(hyperparameters) == 0
    trained_with = json.loads((model_dir / "metadata.json").read_text())["hyperparameters"]
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
    for path in (GATE.json_path, GATE.baseline_json_path):
        value: Any = evaluation
        for key in path.split("."):
            value = value[key]
        assert isinstance(value, float) and math.isfinite(value), path
    on_the_laptop = local_run.output_dir / "evaluation" / "evaluation.json"
    assert evaluation == json.loads(on_the_laptop.read_text()), "the pipeline is the local run"
    if config.DATA_QUALITY_BASELINE:
        baseline = produced[output_of("Baseline", "baseline")["Get"]]
        assert {"statistics.json", "constraints.json"} <= {p.name for p in baseline.iterdir()}
    if config.EXPLAINABILITY_REPORT:
        explain = produced[output_of("Explain", "explainability")["Get"]]
        assert (explain / "explainability.json").is_file()


def test_kms_key_reaches_every_job(pipeline, capsys):
    assert pipeline.main(["definition", "--kms-key-id", KMS_KEY]) == 0
    printed = json.loads(capsys.readouterr().out)
    steps = all_steps(printed)
    assert [s["Name"] for s in printed["Steps"]][-1] == "CheckQuality"
    for step in processing_steps(steps):
        arguments = step["Arguments"]
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == KMS_KEY
        assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KMS_KEY
    train = steps["Train"]["Arguments"]
    assert train["OutputDataConfig"]["KmsKeyId"] == KMS_KEY
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == KMS_KEY


def test_cli_upsert_creates_the_pipeline_and_start_starts_an_execution(pipeline, capsys):
    assert pipeline.main(["upsert"]) == 0
    pipeline_arn = capsys.readouterr().out.strip()
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    described = sagemaker.describe_pipeline(PipelineName=config.PIPELINE_NAME)
    assert described["PipelineArn"] == pipeline_arn
    assert described["RoleArn"] == config.EXECUTION_ROLE_ARN
    stored = json.loads(described["PipelineDefinition"])
    assert [step["Name"] for step in stored["Steps"]][-1] == "CheckQuality"

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
