"""What the SageMaker pipeline's jobs get and what they do with it (pipeline/training.py,
pipeline/jobs.py): each script as uploaded, its inputs and arguments at the container's paths,
train.py where the steps that load the model look for it; and a local replay of the whole
container contract whose result is the local run's."""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import re
import shutil
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from pipeline_support import (
    MODEL_ARTIFACTS,
    PROCESSING_ROOT,
    SDK_WARNINGS,
    STEPS_CODE,
    inputs_by_path,
    output_of,
    outputs_by_name,
    processing_steps,
    s3_object,
)

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.steps import preprocess

pytestmark = SDK_WARNINGS

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


def load_script(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A step script loaded as the container runs it: a lone file, not part of the package."""
    spec = importlib.util.spec_from_file_location(f"container_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_replay_the_container_contract_locally(
    definition, steps, local_run, tmp_path, monkeypatch, capsys
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
    assert manifest["sha256"] == preprocess.data_manifest(config.DATA)["sha256"]
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
