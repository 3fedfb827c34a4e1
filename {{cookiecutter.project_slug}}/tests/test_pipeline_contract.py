"""What the SageMaker pipeline's jobs get and what they do with it (pipeline/training.py,
pipeline/jobs.py): each step script and the package modules it imports as uploaded (jobcode.py),
run from the job's code folder on its PYTHONPATH, its inputs and arguments at the container's
paths; and a local replay of the whole container contract, on the code as uploaded, whose result
is the local run's."""

from __future__ import annotations

import contextlib
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
from pipeline_support import (
    CODE,
    MODEL_ARTIFACTS,
    PROCESSING_ROOT,
    SDK_WARNINGS,
    inputs_by_path,
    output_of,
    outputs_by_name,
    runs_spark,
    s3_object,
    script_steps,
)

from {{ cookiecutter.package_name }} import config, contract, jobcode, model_io

# The pipeline is built, upserted and started by CI's operator role (tests/aws_calls.py).
pytestmark = [*SDK_WARNINGS, pytest.mark.principal("operator")]

GATE = config.QUALITY_GATE


def s3_download(uri: str, destination: Path) -> None:
    """What an S3Prefix input puts into the container: every object under the prefix."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        relative = item["Key"].removeprefix(prefix).lstrip("/") or item["Key"].rsplit("/", 1)[1]
        (destination / relative).parent.mkdir(parents=True, exist_ok=True)
        (destination / relative).write_bytes(s3_object(f"s3://{bucket}/{item['Key']}"))


def test_preprocess_reads_the_input_data_url_and_the_uploaded_schema(steps):
    inputs = inputs_by_path(steps["Preprocess"])
    if runs_spark(steps["Preprocess"]):
        # Spark reads the data from S3 itself, spread over its instances.
        arguments = steps["Preprocess"]["Arguments"]["AppSpecification"]["ContainerArguments"]
        url = arguments[arguments.index("--input-url") + 1]
        assert url == {"Get": "Parameters.InputDataUrl"}
    else:
        assert inputs[f"{PROCESSING_ROOT}/input/data"] == {"Get": "Parameters.InputDataUrl"}
    schema_uri = inputs[f"{PROCESSING_ROOT}/input/schema"]
    assert schema_uri.startswith(f"s3://{config.DEFAULT_BUCKET}/")
    assert s3_object(schema_uri) == config.SCHEMA.read_bytes()


SCRIPTS = {
    "Preprocess": "preprocess.py",
    "Ingest": "ingest.py",
    "Snapshot": "snapshot.py",
    "Evaluate": "evaluate.py",
    "Reference": "reference.py",
    "Explain": "explain.py",
    "Bias": "bias.py",
    "ModelCard": "model_card.py",
}


def uploaded_code(prefix: str) -> dict[str, bytes]:
    """The files under a code input's S3 prefix, by their path in the job's code folder."""
    bucket, _, key = prefix.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]
    return {
        item["Key"].removeprefix(key): s3_object(f"s3://{bucket}/{item['Key']}") for item in listed
    }


def test_each_processing_step_runs_its_script_from_the_shipped_package(steps):
    """The job's code input is the script and the package modules it imports, as committed, in
    the package's layout; the job runs the script from there, with that folder on PYTHONPATH."""
    for step in script_steps(steps):
        script = SCRIPTS[step["Name"]]
        arguments = step["Arguments"]
        assert arguments["AppSpecification"]["ContainerEntrypoint"] == [
            "python3",
            f"{CODE}/{config.__package__}/steps/{script}",
        ]
        assert arguments["Environment"] == {"PYTHONPATH": CODE}
        shipped = uploaded_code(inputs_by_path(step)[CODE])
        expected = {name: path.read_bytes() for name, path in jobcode.files(script).items()}
        assert shipped == expected, step["Name"]


def test_each_job_gets_only_the_modules_its_script_imports(steps):
    """So that editing one module changes the code (and the cache key) of the steps that use it
    only; nothing of the project's configuration, pipeline or server reaches a job."""
    scripts = {step["Name"]: SCRIPTS[step["Name"]] for step in script_steps(steps)}
    if runs_spark(steps["Preprocess"]):
        scripts["Preprocess"] = "preprocess_spark.py"
    shipped = {name: set(jobcode.files(script)) for name, script in scripts.items()}
    shipped["Train"] = set(jobcode.files("train.py"))
    package = config.__package__
    assert f"{package}/contract/rules.py" in shipped["Preprocess"]
    assert f"{package}/model_io.py" in shipped["Evaluate"]
    assert f"{package}/champion.py" in shipped["Evaluate"]
    assert f"{package}/plots.py" not in shipped["Preprocess"]
    for files in shipped.values():
        for never in ("config.py", "pipeline/__init__.py", "local.py", "serve/app.py"):
            assert f"{package}/{never}" not in files, never


def test_train_runs_train_py_from_the_shipped_package(steps):
    """The SDK's driver runs `python3 <entry_script>` in the code channel's folder."""
    arguments = steps["Train"]["Arguments"]
    assert arguments["HyperParameters"]["problem-type"] == config.PROBLEM_TYPE
    assert arguments["Environment"]["PYTHONPATH"] == "/opt/ml/input/data/code"
    channels = {
        channel["ChannelName"]: channel["DataSource"]["S3DataSource"]["S3Uri"]
        for channel in arguments["InputDataConfig"]
    }
    source_code = json.loads(s3_object(f"{channels['sm_drivers']}/sourcecode.json"))
    assert source_code["entry_script"] == f"{config.__package__}/steps/train.py"
    expected = {name: path.read_bytes() for name, path in jobcode.files("train.py").items()}
    assert uploaded_code(channels["code"]) == expected


def test_script_arguments_match_the_container_paths(steps):
    for step in script_steps(steps):
        arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
        paths = {
            value
            for value in arguments
            if isinstance(value, str) and value.startswith(PROCESSING_ROOT)
        }
        inputs = set(inputs_by_path(step)) - {CODE}
        outputs = set(outputs_by_name(step).values())
        assert inputs <= paths, step["Name"]
        assert all(
            any(out == path or out.startswith(f"{path}/") for path in paths) for out in outputs
        ), step["Name"]
        assert paths <= inputs | outputs | {str(Path(out).parent) for out in outputs}


def load_script(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A step script loaded as the container runs it: a file, not a module of the package."""
    spec = importlib.util.spec_from_file_location(f"container_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def job_imports(code_dir: Path) -> Iterator[None]:
    """The package as a job has it: imported from its code folder (on PYTHONPATH there), not
    from this checkout; the checkout's modules are back afterwards."""
    package = config.__package__
    ours = {n: m for n, m in sys.modules.items() if n == package or n.startswith(f"{package}.")}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(code_dir))
    try:
        yield
    finally:
        sys.path.remove(str(code_dir))
        for name in [n for n in sys.modules if n == package or n.startswith(f"{package}.")]:
            del sys.modules[name]
        sys.modules.update(ours)


def test_replay_the_container_contract_locally(
    definition, steps, local_run, tmp_path, monkeypatch, capsys
):
    """Run every step script in-process where the definition says the container puts its
    inputs and expects its outputs (/opt/ml/processing -> a temporary folder), each script and
    the package modules it imports as uploaded (not this checkout's), feeding each step what the
    steps it reads from produced, on the configured data: the result is the local run's."""
    root = tmp_path / "processing"
    produced: dict[str, Path] = {}  # an S3 location, as its Get reference -> a local stand-in

    defaults = {f"Parameters.{p['Name']}": p["DefaultValue"] for p in definition["Parameters"]}
    defaults["Execution.StartDateTime"] = "2026-01-05T09:30:00.000Z"
    # The Feature Store's stand-in: Ingest writes a local offline store (PutRecord's twin), which
    # Snapshot gets for its input of the offline store's prefix.
    feature_store = tmp_path / "feature-store"
    # What the model card's job is told of its execution and training job.
    arn = f"arn:aws:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}"
    execution = f"{arn}:pipeline/{config.PIPELINE_NAME}/execution/y"
    defaults["Execution.PipelineExecutionArn"] = execution
    defaults["Steps.Train.TrainingJobArn"] = f"{arn}:training-job/t"
    defaults[MODEL_ARTIFACTS["Get"]] = f"s3://{config.DEFAULT_BUCKET}/models/t/output/model.tar.gz"

    def local(argument: str | dict[str, str]) -> str:
        if isinstance(argument, dict):  # a pipeline parameter: its default value
            return str(defaults[argument["Get"]])
        return argument.replace(PROCESSING_ROOT, str(root), 1)

    def stage(source: Any, destination: Path) -> None:
        destination.mkdir(parents=True, exist_ok=True)
        if source == {"Get": "Parameters.InputDataUrl"}:
            shutil.copy(config.DATA, destination)
        elif isinstance(source, str) and source.endswith(f"/offline-store/{config.FEATURE_GROUP}-"):
            shutil.copytree(feature_store, destination, dirs_exist_ok=True)
        elif isinstance(source, str):
            s3_download(source, destination)
        elif "Std:Join" in source:  # one file of a step's output: its folder, then its name
            folder, *names = source["Std:Join"]["Values"]
            file = produced[folder["Get"]].joinpath(*names)
            shutil.copy(file, destination / file.name)
        else:
            shutil.copytree(produced[source["Get"]], destination, dirs_exist_ok=True)

    def run_processing(step: dict[str, Any]) -> None:
        shutil.rmtree(root, ignore_errors=True)
        for path, source in inputs_by_path(step).items():
            stage(source, Path(local(path)))
        entrypoint = step["Arguments"]["AppSpecification"]["ContainerEntrypoint"]
        code = Path(local(step["Arguments"]["Environment"]["PYTHONPATH"]))
        with job_imports(code), monkeypatch.context() as job:
            module = load_script(Path(local(entrypoint[-1])), job)
            specification = step["Arguments"]["AppSpecification"]
            arguments = [local(a) for a in specification["ContainerArguments"]]
            if step["Name"] == "Ingest":
                arguments += ["--local-store", str(feature_store)]
            assert module.main(arguments) == 0, step["Name"]
        for name, path in outputs_by_name(step).items():
            kept = tmp_path / "s3" / step["Name"] / name
            shutil.copytree(local(path), kept)
            produced[output_of(step["Name"], name)["Get"]] = kept

    # The steps before Train: Preprocess, and with the Feature Store Ingest and Snapshot.
    before_training = ["Preprocess", *(("Ingest", "Snapshot") if config.FEATURE_STORE else ())]
    for name in before_training:
        if runs_spark(steps[name]):
            # The Spark job's outputs are preprocess.py's (tests/test_preprocess_spark.py runs
            # both on the same data, `make test-spark`): the local run's stand in for them here,
            # where starting Spark would cost this tier more than all its other tests.
            for output in outputs_by_name(steps[name]):
                folder = "validated" if output == "validated" else f"processed/{output}"
                produced[output_of(name, output)["Get"]] = local_run.output_dir / folder
        else:
            run_processing(steps[name])
    # The model package's data_sha256 is this JsonGet on the data manifest preprocess wrote.
    (manifest_file,) = steps["Preprocess"]["PropertyFiles"]
    manifest_dir = produced[output_of("Preprocess", manifest_file["OutputName"])["Get"]]
    manifest = json.loads((manifest_dir / manifest_file["FilePath"]).read_text())
    data_sha256 = steps["Register"]["Arguments"]["CustomerMetadataProperties"]["data_sha256"]
    assert data_sha256["Std:JsonGet"]["Path"] == "sha256"
    assert manifest["sha256"] == contract.data_manifest(config.DATA)["sha256"]
    if not runs_spark(steps["Preprocess"]):
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
    # The SDK's driver runs `python3 <entry_script>` in the code channel's folder.
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in train["InputDataConfig"]
    }
    code = tmp_path / "training-code"
    s3_download(channels["code"], code)
    source_code = json.loads(s3_object(f"{channels['sm_drivers']}/sourcecode.json"))
    entry_script = source_code["entry_script"]
    capsys.readouterr()
    with job_imports(code), monkeypatch.context() as job:
        trainer = load_script(code / entry_script, job)
        assert trainer.main(hyperparameters) == 0
    # The training job's metrics come from what train.py prints, by these regexes.
    printed = capsys.readouterr().out
    for metric in train["AlgorithmSpecification"]["MetricDefinitions"]:
        found = re.search(metric["Regex"], printed)
        assert found, (metric, printed)
        assert math.isfinite(float(found.group(1))), metric["Name"]
    trained_with = model_io.load_model(model_dir)[1]["hyperparameters"]
    assert trained_with == trainer.HYPERPARAMETERS, "as in a local run"
    artifacts = tmp_path / "s3" / "Train"
    artifacts.mkdir(parents=True)
    with tarfile.open(artifacts / "model.tar.gz", "w:gz") as archive:
        for file in model_dir.iterdir():
            archive.add(file, arcname=file.name)
    produced[MODEL_ARTIFACTS["Get"]] = artifacts

    for step in script_steps(steps):
        if step["Name"] not in before_training:
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
    if config.DATA_QUALITY_BASELINE:
        # The monitor's reference: what reference.py writes from the local run's train split.
        from {{ cookiecutter.package_name }}.steps import reference

        produced_reference = produced[output_of("Reference", "reference")["Get"]]
        on_the_laptop = tmp_path / "reference-on-the-laptop"
        train_dir = local_run.output_dir / "processed" / "train"
        arguments = ["--train", str(train_dir), "--output", str(on_the_laptop)]
        if config.BIAS_REPORT:
            arguments.append("--bias")
        assert reference.main(arguments) == 0
        written = {
            p.relative_to(on_the_laptop): p.read_bytes()
            for p in on_the_laptop.rglob("*")
            if p.is_file()
        }
        shipped = {
            p.relative_to(produced_reference): p.read_bytes()
            for p in produced_reference.rglob("*")
            if p.is_file()
        }
        assert shipped == written
    if config.BIAS_REPORT:
        # The model package's bias reports are the local run's.
        produced_bias = produced[output_of("Bias", "bias")["Get"]]
        for name in ("bias.json", "pre_training_bias.json", "post_training_bias.json"):
            on_the_laptop = local_run.output_dir / name
            assert (produced_bias / name).read_bytes() == on_the_laptop.read_bytes(), name
    if config.MODEL_CARD:
        # The card the job wrote says what the local run's says, and names the execution.
        card = produced[output_of("ModelCard", "model-card")["Get"]] / "model_card.json"
        job_card = json.loads(card.read_text())
        laptop = json.loads((local_run.output_dir / "model-card" / "model_card.json").read_text())
        for part in ("intended_uses", "business_details"):
            assert job_card[part] == laptop[part], part
        (job_detail,) = job_card["evaluation_details"]
        (laptop_detail,) = laptop["evaluation_details"]
        assert job_detail["metric_groups"] == laptop_detail["metric_groups"]
        assert job_detail["metadata"]["data_sha256"] == manifest["sha256"]
        assert job_detail["metadata"]["pipeline_execution_arn"] == execution
        assert job_card["model_overview"]["model_artifact"] == [defaults[MODEL_ARTIFACTS["Get"]]]
    if config.EXPLAINABILITY_REPORT:
        # The model package's explainability report is the local run's.
        produced_explain = produced[output_of("Explain", "explainability")["Get"]]
        on_the_laptop = local_run.output_dir / "explainability" / "explainability.json"
        shipped = (produced_explain / "explainability.json").read_bytes()
        assert shipped == on_the_laptop.read_bytes()
