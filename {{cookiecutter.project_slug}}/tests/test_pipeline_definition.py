"""The SageMaker pipeline's definition, built offline with the real SDK (pipeline/definition.py
and its builders): its step graph, parameters, check steps, tags, retries and cache."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pipeline_support import (
    MODEL_ARTIFACTS,
    PROCESSING_ROOT,
    SDK_WARNINGS,
    expected_tags,
    inputs_by_path,
    output_of,
    outputs_by_name,
    processing_steps,
    references,
)

from {{ cookiecutter.package_name }} import {% if cookiecutter.model_monitoring == "yes" %}arns, {% endif %}config

# The pipeline is built, upserted and started by CI's operator role (tests/aws_calls.py).
pytestmark = [*SDK_WARNINGS, pytest.mark.principal("operator")]


def upstream(step: dict[str, Any]) -> set[str]:
    """The steps this one waits for: those whose properties it reads, and its DependsOn."""
    # A condition step's branches are steps of their own.
    arguments = {key: value for key, value in step.items() if key != "DependsOn"}
    if step["Type"] == "Condition":
        arguments = step["Arguments"]["Conditions"]
    read = {ref.split(".")[1] for ref in references(arguments) if ref.startswith("Steps.")}
    return read | set(step.get("DependsOn", []))


# The step whose outputs are the splits: Preprocess's, or the Feature Store's snapshot of them.
SPLITS_STEP = "Snapshot" if config.FEATURE_STORE else "Preprocess"
# Steps whose inputs are not their whole cache key: Evaluate (the registry's champion), the model
# card (it names its execution), and the Feature Store's (every run ingests with its own event
# time; the offline store changes).
UNCACHED = {
    "Evaluate",
    *(("ModelCard",) if config.MODEL_CARD else ()),
    *(("Ingest", "Snapshot") if config.FEATURE_STORE else ()),
}


def optional_steps() -> list[str]:
    names = []
    if config.DATA_QUALITY_BASELINE:
        names += ["Reference"]
    if config.BIAS_REPORT:
        names += ["Bias"]
    if config.EXPLAINABILITY_REPORT:
        names += ["Explain"]
    if config.MODEL_CARD:
        names += ["ModelCard"]
    return names


def test_steps_at_the_top_level_and_in_the_quality_gate(definition):
    assert [step["Name"] for step in definition["Steps"]] == [
        "Preprocess",
        *(("Ingest", "Snapshot") if config.FEATURE_STORE else ()),
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
        "Train": {SPLITS_STEP},
        "Evaluate": {SPLITS_STEP, "Train"},
        "CheckQuality": {"Evaluate"},
        "Register": {"Preprocess", "Train", "Evaluate"},  # the data manifest, the model, the gate
        "QualityGateFailed": {"Evaluate"},
    }
    if config.DATA_QUALITY_BASELINE:
        # The reference of the monitor: from the train split, recorded on the package.
        expected["Reference"] = {SPLITS_STEP}
        expected["Register"].add("Reference")
    if config.FEATURE_STORE:
        # Ingest reads the validated rows; Snapshot reads the offline store after it.
        expected["Ingest"] = {"Preprocess"}
        expected["Snapshot"] = {"Ingest"}
    if config.BIAS_REPORT:
        # The splits and the model; its reports on the package.
        expected["Bias"] = {"Snapshot" if config.FEATURE_STORE else "Preprocess", "Train"}
        expected["Register"].add("Bias")
    if config.EXPLAINABILITY_REPORT:
        # The trained model's SHAP values on the test split.
        expected["Explain"] = {SPLITS_STEP, "Train"}
        expected["Register"].add("Explain")
    if config.MODEL_CARD:
        # The card reads what every step before Register wrote, and Register reads the card.
        expected["ModelCard"] = {"Preprocess", "Train", "Evaluate"}
        if config.EXPLAINABILITY_REPORT:
            expected["ModelCard"].add("Explain")
        if config.BIAS_REPORT:
            expected["ModelCard"].add("Bias")
        expected["Register"].add("ModelCard")
    assert {name: upstream(step) for name, step in steps.items()} == expected


def test_data_flows_from_split_to_training_to_evaluation(steps):
    channels = {
        channel["ChannelName"]: channel["DataSource"]["S3DataSource"]["S3Uri"]
        for channel in steps["Train"]["Arguments"]["InputDataConfig"]
    }
    assert channels["train"] == output_of(SPLITS_STEP, "train")
    assert channels["validation"] == output_of(SPLITS_STEP, "validation")
    evaluated = list(inputs_by_path(steps["Evaluate"]).values())
    assert MODEL_ARTIFACTS in evaluated
    assert output_of(SPLITS_STEP, "test") in evaluated
    if config.DATA_QUALITY_BASELINE:
        # The monitor's reference is the data the model was trained on, as preprocess wrote it.
        reference = inputs_by_path(steps["Reference"])
        assert reference[f"{PROCESSING_ROOT}/input/train"] == output_of(SPLITS_STEP, "train")
        arguments = steps["Reference"]["Arguments"]["AppSpecification"]["ContainerArguments"]
        assert arguments == [
            *("--train", f"{PROCESSING_ROOT}/input/train"),
            *("--output", outputs_by_name(steps["Reference"])["reference"]),
            # The facet's baseline for the monitor's bias drift.
            *(["--bias"] if config.BIAS_REPORT else []),
        ]
    if config.BIAS_REPORT:
        # Pre-training bias of the train split's labels, post-training of the model's
        # predictions of the test split.
        biased = inputs_by_path(steps["Bias"])
        assert biased[f"{PROCESSING_ROOT}/model"] == MODEL_ARTIFACTS
        assert biased[f"{PROCESSING_ROOT}/input/train"] == output_of(SPLITS_STEP, "train")
        assert biased[f"{PROCESSING_ROOT}/input/test"] == output_of(SPLITS_STEP, "test")
    if config.EXPLAINABILITY_REPORT:
        # steps/explain.py in the steps image, on the trained model and the test split as
        # preprocess writes it (header row, schema.json beside).
        explain = inputs_by_path(steps["Explain"])
        assert explain[f"{PROCESSING_ROOT}/model"] == MODEL_ARTIFACTS
        assert explain[f"{PROCESSING_ROOT}/input/test"] == output_of(SPLITS_STEP, "test")
        app = steps["Explain"]["Arguments"]["AppSpecification"]
        assert app["ContainerEntrypoint"][-1].endswith("/steps/explain.py")
        assert app["ImageUri"] == {"Get": "Parameters.StepsImageUri"}
        assert app["ContainerArguments"] == [
            *("--model-dir", f"{PROCESSING_ROOT}/model"),
            *("--data-dir", f"{PROCESSING_ROOT}/input/test"),
            *("--output-dir", outputs_by_name(steps["Explain"])["explainability"]),
        ]
    if config.MODEL_CARD:
        # The card from evaluation.json, the data manifest and the SHAP report Explain wrote.
        card = inputs_by_path(steps["ModelCard"])
        assert card[f"{PROCESSING_ROOT}/input/evaluation"] == output_of("Evaluate", "evaluation")
        assert card[f"{PROCESSING_ROOT}/input/manifest"] == output_of("Preprocess", "manifest")
        explain = {
            "Std:Join": {
                "On": "/",
                "Values": [output_of("Explain", "explainability"), "explainability.json"],
            }
        }
        assert (card.get(f"{PROCESSING_ROOT}/input/explainability") == explain) == (
            config.EXPLAINABILITY_REPORT
        )


def test_parameters_and_defaults(definition):
    from {{ cookiecutter.package_name }}.pipeline.staging import default_input_data_url

    parameters = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in definition["Parameters"]}
    # The images' defaults: test_without_own_images_... and test_own_images_...
    assert parameters.pop("StepsImageUri")[0] == parameters.pop("ServeImageUri")[0] == "String"
    input_type, input_url = parameters.pop("InputDataUrl")
    assert input_type == "String"
    assert input_url == default_input_data_url(), "where upload-data puts config.DATA"
    assert input_url.endswith("/"), "a prefix: every CSV file under it is read"
    assert parameters == {
        "ProcessingInstanceType": ("String", "ml.m5.large"),
        "TrainingInstanceType": ("String", "ml.m5.xlarge"),
        "ModelApprovalStatus": ("String", "PendingManualApproval"),
        "QualityThreshold": ("Float", config.QUALITY_GATE.threshold),
        # The Feature Store's snapshot is taken as of the run's start unless told a time.
        **({"FeatureSnapshotAsOf": ("String", "run-start")} if config.FEATURE_STORE else {}),
    }


def test_every_parameter_is_used_by_a_step(definition):
    declared = {f"Parameters.{p['Name']}" for p in definition["Parameters"]}
    assert declared - references(definition["Steps"]) == set()


def test_instance_parameters_size_every_job(steps):
    for step in processing_steps(steps):
        cluster = step["Arguments"]["ProcessingResources"]["ClusterConfig"]
        assert cluster["InstanceType"] == {"Get": "Parameters.ProcessingInstanceType"}
        image = str(step["Arguments"]["AppSpecification"]["ImageUri"])
        if "sagemaker-spark-processing" in image:
            # Spark spreads the rows over its cluster (pipeline/spark.py).
            assert cluster["InstanceCount"] >= 2
        else:
            # No script shards its input: a second instance would only repeat the same work.
            assert cluster["InstanceCount"] == 1
    resources = steps["Train"]["Arguments"]["ResourceConfig"]
    assert resources["InstanceType"] == {"Get": "Parameters.TrainingInstanceType"}


def test_every_job_and_the_model_package_carry_the_project_tags(steps):
    expected = expected_tags()
    for step in [*processing_steps(steps), steps["Train"], steps["Register"]]:
        tags = step["Arguments"]["Tags"]
        assert {tag["Key"]: tag["Value"] for tag in tags} == expected, step["Name"]


def test_every_job_step_is_retried_on_aws_faults_and_cached_but_evaluate(steps):
    """Evaluate compares with the registry's champion, which is not part of its cache key (and
    the model card names its execution: no two runs have its arguments)."""
    for name, step in steps.items():
        if step["Type"] not in ("Processing", "Training"):
            continue
        if name in UNCACHED:
            assert "CacheConfig" not in step, name
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


def test_default_definition_names_no_key_and_disables_nothing(definition):
    """Without kms_key_id the account's default encryption applies, and no step switches off
    a protection such as network isolation or inter-container traffic encryption."""
    text = json.dumps(definition)
    assert "KmsKeyId" not in text
    assert not re.search(r'"Enable\w+": false', text)


{%- if cookiecutter.model_monitoring == "yes" %}


def test_a_drift_started_run_registers_the_new_datas_baseline(
    emulated_aws: None, definition: dict[str, Any], monkeypatch
):
    """The champion's monitor found drift and the trigger (infra/triggers.yaml) retrains on the
    newest data set: no step may fail on the champion's baselines, or nothing trained on
    drifted data is ever registered. The Reference step compares with nothing, and no step of
    the pipeline is a check against the champion's baselines."""
    import types

    import boto3
    from conftest import load_cloudformation, resources

    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    sagemaker.create_pipeline(
        PipelineName=config.PIPELINE_NAME,
        PipelineDefinition=json.dumps(definition),
        RoleArn=arns.EXECUTION_ROLE_ARN,
    )
    boto3.client("s3", region_name=config.AWS_REGION).put_object(
        Bucket=config.DEFAULT_BUCKET, Key=f"{config.PROJECT_SLUG}/data/drifted/a.csv", Body=b"a\n"
    )
    # The trigger's function, run as deployed.
    function = resources(load_cloudformation("triggers.yaml"), "AWS::Lambda::Function")["Starter"]
    variables = function["Environment"]["Variables"]
    monkeypatch.setenv("PIPELINE_NAME", variables["PIPELINE_NAME"])
    monkeypatch.setenv("DATA_PREFIX", variables["DATA_PREFIX"])
    monkeypatch.setenv("BUCKET", config.DEFAULT_BUCKET)
    monkeypatch.setenv("ACCOUNT_ID", config.AWS_ACCOUNT_ID)
    starter = types.ModuleType("starter")
    exec(compile(function["Code"]["ZipFile"], "index.py", "exec"), starter.__dict__)
    stage = config.STAGES[-1]
    alarm = {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "id": "drift",
        "detail": {"alarmName": f"{config.PROJECT_SLUG}-{stage}-data-drift-violations"},
    }
    started = starter.handler(alarm)["started"]
    given = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=started)
    declared = {p["Name"]: p for p in definition["Parameters"]}
    values = {name: p["DefaultValue"] for name, p in declared.items()}
    for parameter in given["PipelineParameters"]:
        assert parameter["Name"] in declared, parameter
        values[parameter["Name"]] = parameter["Value"]
    assert not [step["Name"] for step in definition["Steps"] if "SkipCheck" in step]
    # On the newest data set.
    assert values["InputDataUrl"].endswith(f"/{config.PROJECT_SLUG}/data/drifted/")
{%- endif %}
{%- if cookiecutter.spark_processing == "yes" %}


def test_preprocess_runs_the_spark_job_in_the_pinned_spark_image(steps):
    """The Spark image pinned by its version tag (Spark 3.5, Python 3.12: pyspark's and the job
    code's versions, tests/test_preprocess_spark.py), the committed entry script submitted, the
    package on the driver's path, the outputs the pandas step has."""
    from {{ cookiecutter.package_name }}.pipeline import spark

    arguments = steps["Preprocess"]["Arguments"]
    image = arguments["AppSpecification"]["ImageUri"]
    assert image.endswith(
        f"/sagemaker-spark-processing:{spark.SPARK_VERSION}-cpu-{spark.SPARK_PYTHON}"
        f"-v{spark.SPARK_CONTAINER}"
    )
    entrypoint = arguments["AppSpecification"]["ContainerEntrypoint"]
    assert entrypoint[0] == "smspark-submit"
    assert entrypoint[-1].endswith("/preprocess_spark.py")
    assert arguments["Environment"]["PYTHONPATH"] == spark.PACKAGE_DIR
    outputs = {o["OutputName"] for o in arguments["ProcessingOutputConfig"]["Outputs"]}
{%- if cookiecutter.feature_store == "yes" %}
    # The validated rows, which the Feature Store's Ingest reads (Snapshot splits them).
    assert outputs == {"validated", "manifest"}
    assert "--validated-dir" in arguments["AppSpecification"]["ContainerArguments"]
{%- else %}
    assert outputs == {"train", "validation", "test", "manifest"}
{%- endif %}
{%- endif %}
