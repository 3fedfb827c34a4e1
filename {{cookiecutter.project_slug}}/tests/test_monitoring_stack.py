"""The monitoring stack, infra/monitoring.yaml, and its deploy helper, deploy/monitoring.py.

The stack's function runs for real against moto's S3 and SageMaker, as its role (tests/
aws_calls.py): from the captures and ground truth of its window it writes the manifests and starts
the monitoring job; that job is then replayed in-process (the container's paths in a temporary
folder, its inputs as the manifests list them), as the job's role, and the metric it publishes
is the one the alarms watch. The rest is read structurally (moto's CloudFormation skips alarms;
cfn-lint and checkov run on the template in the template's own tests): the schedule, the
forwarding rule, the dashboard, what a serverless stage keeps; and the deploy helper's parameters
from monitoring/monitoring.json and a package of moto's registry.
"""

from __future__ import annotations

import csv
import io
import json
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_calls import RECORDER, acting_as, load_function, principal_arn
from conftest import load_cloudformation
from policies import {% if cookiecutter.deployment_accounts == "yes" %}PARTITION, Request, Role, {% endif %}Stacks{% if cookiecutter.deployment_accounts == "yes" %}, evaluate, project_stacks{% endif %}

from {{ cookiecutter.package_name }} import config, jobcode
from {{ cookiecutter.package_name }}.deploy import monitoring
from {{ cookiecutter.package_name }}.deploy.stage import ConfigError, Stage

SLUG = config.PROJECT_SLUG
REGION = config.AWS_REGION
STAGE = config.STAGES[-1]
ACCOUNT = config.STAGE_ACCOUNTS[STAGE]
ENDPOINT = f"{SLUG}-{STAGE}"
# The stage as the template's !Sub strings write it.
SUB_STAGE = "${" + "Stage}"
# The checks the monitor publishes a Violations metric for, each with its alarm, and whether a
# violation starts retraining.
ALARMS = {
    "DataDriftAlarm": ("data_drift", True),
    "DataQualityAlarm": ("data_quality", False),
    "ModelQualityAlarm": ("model_quality", True),
}
if config.BIAS_REPORT:
    # The model's bias on the facet: a look, not retraining.
    ALARMS["BiasDriftAlarm"] = ("bias_drift", False)
STEPS_IMAGE = (
    f"{config.AWS_ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{config.STEPS_IMAGE_REPOSITORY}"
    "@sha256:" + "a" * 64
)
TRAINING = f"s3://{config.DEFAULT_BUCKET}/{config.PIPELINE_NAME}"
# What the pipeline records on the package (pipeline/reference.py, pipeline/registration.py).
METADATA = {
    "monitor_reference": f"{TRAINING}/abcdef123456/Reference/reference",
    "monitor_code": f"{TRAINING}/code/0123456789abcdef/",
    "steps_image": STEPS_IMAGE,
}
# What the stack takes of the package (version 3, below): what it records, or with a
# shared-artifact account the copies there and the replica of its image (deploy/artifacts.py).
if config.ARTIFACT_ACCOUNT:
    TOOLING_REGISTRY = f"{config.AWS_ACCOUNT_ID}."
    COPIES = f"s3://{config.ARTIFACT_BUCKET}/{config.PROJECT_SLUG}/3"
    TAKEN = {
        "reference": f"{COPIES}/reference/",
        "code": f"{COPIES}/monitor-code/",
        "image": STEPS_IMAGE.replace(TOOLING_REGISTRY, f"{config.ARTIFACT_ACCOUNT_ID}.", 1),
    }
else:
    TAKEN = {
        "reference": METADATA["monitor_reference"],
        "code": METADATA["monitor_code"],
        "image": STEPS_IMAGE,
    }
# A scheduled event of EventBridge, as the function gets it.
SCHEDULED = {
    "source": "aws.events",
    "detail-type": "Scheduled Event",
    "time": "2026-12-02T04:10:00Z",
}
PROCESSING = "/opt/ml/processing"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_cloudformation("monitoring.yaml")


def resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    return template["Resources"][name]["Properties"]


def sub(node: Any) -> str:
    """The text of a !Sub (either form)."""
    value = node["Fn::Sub"]
    return value[0] if isinstance(value, list) else value


def package(**metadata: str) -> dict[str, Any]:
    """describe_model_package's answer for a package the pipeline registered."""
    return {
        "ModelPackageArn": f"arn:aws:sagemaker:{REGION}:{config.AWS_ACCOUNT_ID}:"
        f"model-package/{config.MODEL_PACKAGE_GROUP}/3",
        "CustomerMetadataProperties": {"git_commit": "abc", **METADATA, **metadata},
    }


def stack_parameters(stage_name: str = STAGE, **settings: Any) -> dict[str, str]:
    loaded = monitoring.load_settings()
    schedule = {**loaded["stages"][stage_name], **settings}
    loaded["stages"][stage_name] = schedule
    return monitoring.stack_parameters(Stage.load(stage_name), package(), loaded)


# --- the function and the job it starts ---------------------------------------------------------


@pytest.fixture(scope="module")
def deployed() -> types.SimpleNamespace:
    """The stage's monitoring stack as the deploy helper's parameters make it (a 3-hour window
    ending an hour before the run), and its account stack's bucket and key."""
    stacks = Stacks({"monitoring.yaml": stack_parameters(window_hours=3, delay_hours=1)})
    stack = stacks.stack("monitoring.yaml", ACCOUNT)
    # The account stack's exports in the stage's account (the shared resolver takes any
    # account's).
    account_stack = stacks.stack("deployment-account.yaml", ACCOUNT)
    exports = {
        "BUCKET": account_stack.attribute("ServingBucket", None),
        "KMS_KEY_ARN": account_stack.attribute("ServingKey", "Arn"),
    }
    variables = stack.body["Resources"]["Starter"]["Properties"]["Environment"]["Variables"]
    return types.SimpleNamespace(
        resolve=stack.resolve,
        body=stack.body,
        bucket=exports["BUCKET"],
        key=exports["KMS_KEY_ARN"],
        environment={
            name: exports.get(name) or str(stack.resolve(value))
            for name, value in variables.items()
        },
    )


@pytest.fixture
def stage_stack(deployed, monkeypatch) -> Iterator[types.SimpleNamespace]:
    """moto in the stage's account with the serving bucket; the function's environment as the
    stack sets it."""
    from moto import mock_aws

    for name, value in deployed.environment.items():
        monkeypatch.setenv(name, value)
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "MOTO_ACCOUNT_ID": ACCOUNT,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        location = {} if REGION == "us-east-1" else {"LocationConstraint": REGION}
        s3.create_bucket(
            Bucket=deployed.bucket, **({"CreateBucketConfiguration": location} if location else {})
        )
        yield deployed


def capture_line(row: list[str], event_id: str) -> str:
    """One record of SageMaker's data capture: the request (CSV features, written as a client
    writes them: a row of one missing value is `""`, not a blank line, which is no row) and the
    answer."""
    request = io.StringIO()
    csv.writer(request, lineterminator="").writerow(row)
    answer = "0.5,0" if config.PROBLEM_TYPE == "binary_classification" else "100.0"
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": request.getvalue(),
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "mode": "OUTPUT",
                    "data": answer,
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": event_id, "inferenceTime": "2026-12-02T01:30:00Z"},
            "eventVersion": "0",
        }
    )


def ground_truth_line(label: str, event_id: str) -> str:
    return json.dumps(
        {
            "groundTruthData": {"data": label, "encoding": "CSV"},
            "eventMetadata": {"eventId": event_id},
            "eventVersion": "0",
        }
    )


def put(stack: Any, key: str, lines: list[str]) -> None:
    body = "\n".join(lines).encode("utf-8") + b"\n"
    boto3.client("s3", region_name=REGION).put_object(Bucket=stack.bucket, Key=key, Body=body)


def started_job(stack: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The function's CreateProcessingJob request as it sent it, and moto's description."""
    (call,) = [call for call in RECORDER.calls if call.operation == "CreateProcessingJob"]
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    name = call.params["ProcessingJobName"]
    return call.params, sagemaker.describe_processing_job(ProcessingJobName=name)


def read_manifest(uri: str) -> list[str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"]
    prefix, *keys = json.loads(body.read())
    return [prefix["prefix"] + relative for relative in keys]


def test_the_job_the_function_starts_reads_its_window_and_publishes_what_the_alarms_watch(
    template, stage_stack, configured, tmp_path
):
    """Window of 3 hours ending an hour before the 04:10 run: 00:00 to 03:00. The captures of
    those hours are read, the hour before and after are not; ground truth uploaded since the
    window began is read with them. The job, replayed, publishes the Violations metric of every
    check with the dimensions and namespace of the alarms."""
    stack = stage_stack
    train = sorted((configured.splits / "train").glob("*.csv"))[0]
    _header, *rows = csv.reader(train.read_text(encoding="utf-8").splitlines())
    requests = rows[:40]
    # Where the endpoint stack captures the live variant's traffic: SageMaker appends the
    # endpoint, the variant and the hour to the destination.
    endpoint_config = load_cloudformation("endpoint.yaml")["Resources"]["EndpointConfig"]
    (variant,) = endpoint_config["Properties"]["ProductionVariants"]
    capture = endpoint_config["Properties"]["DataCaptureConfig"]["Fn::If"][1]
    destination = capture["DestinationS3Uri"]["Fn::Sub"][0].removeprefix("s3://${Bucket}/")
    live = f"{destination}/{ENDPOINT}/{variant['VariantName']}"
    captured = {
        f"{live}/2026/12/02/00/a.jsonl": requests[:20],
        f"{live}/2026/12/02/02/b.jsonl": requests[20:],
    }
    for key, chunk in captured.items():
        lines = [capture_line(row[1:], f"{key}-{index}") for index, row in enumerate(chunk)]
        put(stack, key, lines)
    # Outside the window: the hour before, the hour after, and a shadow variant's copy.
    for key in (
        f"{live}/2026/12/01/23/old.jsonl",
        f"{live}/2026/12/02/03/new.jsonl",
        f"capture/{ENDPOINT}/shadow/2026/12/02/01/copy.jsonl",
    ):
        put(stack, key, [capture_line(requests[0][1:], key)])
    labels_key = f"monitoring/ground-truth/{STAGE}/2026/12/02/04/labels.jsonl"
    first = next(iter(captured))
    put(
        stack,
        labels_key,
        [ground_truth_line(row[0], f"{first}-{i}") for i, row in enumerate(requests[:20])],
    )
    put(stack, f"monitoring/ground-truth/{STAGE}/2026/12/01/22/stale.jsonl", ["{}"])

    result = load_function("monitoring.yaml", template, "Starter").handler(SCHEDULED)

    request, job = started_job(stack)
    name = f"{SLUG}-monitor-{STAGE}"[:50] + "-2612020410"
    assert result["started"] == name == job["ProcessingJobName"]
    assert result["window"] == ["2026-12-02T00:00:00+00:00", "2026-12-02T03:00:00+00:00"]
    bucket = f"s3://{stack.bucket}/"
    inputs = {item["InputName"]: item["S3Input"] for item in job["ProcessingInputs"]}
    assert sorted(read_manifest(inputs["capture"]["S3Uri"])) == [bucket + key for key in captured]
    assert read_manifest(inputs["ground-truth"]["S3Uri"]) == [bucket + labels_key]
    assert inputs["capture"]["S3DataType"] == inputs["ground-truth"]["S3DataType"] == "ManifestFile"
    # The package's code, reference and image, as the deploy helper passed them.
    assert inputs["code"]["S3Uri"] == TAKEN["code"]
    assert inputs["reference"]["S3Uri"] == TAKEN["reference"]
    app = job["AppSpecification"]
    assert app["ImageUri"] == TAKEN["image"]
    code_dir = inputs["code"]["LocalPath"]
    assert code_dir == jobcode.PROCESSING_CODE_DIR
    assert app["ContainerEntrypoint"] == [
        "python3",
        f"{code_dir}/{jobcode.entry_script('monitor.py')}",
    ]
    assert request["Environment"]["PYTHONPATH"] == code_dir
    (output,) = job["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"] == f"{bucket}monitoring/reports/{STAGE}/{name}/"
    serving_key = stack.key
    assert job["ProcessingOutputConfig"]["KmsKeyId"] == serving_key
    assert request["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == serving_key
    assert job["RoleArn"] == principal_arn("MonitorJobRole")
    assert {tag["Key"]: tag["Value"] for tag in request["Tags"]}["project"] == SLUG

    # The job, replayed: /opt/ml/processing is a temporary folder, each input as SageMaker
    # downloads it (the reference from the train split, as the Reference step writes it).
    from {{ cookiecutter.package_name }}.steps import monitor, reference

    root = tmp_path / "processing"
    local = {
        item["S3Input"]["LocalPath"]: root
        / item["S3Input"]["LocalPath"].removeprefix(f"{PROCESSING}/")
        for item in job["ProcessingInputs"]
    }
    s3 = boto3.client("s3", region_name=REGION)
    for kind in ("capture", "ground-truth"):
        for uri in read_manifest(inputs[kind]["S3Uri"]):
            key = uri.removeprefix(bucket)
            target = local[inputs[kind]["LocalPath"]] / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=stack.bucket, Key=key)["Body"].read())
    written_by_the_step = ["--train", str(train.parent)]
    written_by_the_step += ["--output", str(local[inputs["reference"]["LocalPath"]])]
    if config.BIAS_REPORT:
        written_by_the_step.append("--bias")
    assert reference.main(written_by_the_step) == 0
    arguments = [
        str(root / argument.removeprefix(f"{PROCESSING}/"))
        if argument.startswith(PROCESSING)
        else argument
        for argument in app["ContainerArguments"]
    ]
    with acting_as(principal_arn("MonitorJobRole")):
        assert monitor.main(arguments) == 0
    written = root / output["S3Output"]["LocalPath"].removeprefix(f"{PROCESSING}/")
    assert {"report.html", "violations.json"} <= {path.name for path in written.iterdir()}

    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    namespace = stack.resolve({"Ref": "MetricsNamespace"})
    published = {
        (metric["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"])))
        for metric in cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    }
    watched = set()
    for logical in ALARMS:
        alarm = stack.body["Resources"][logical]["Properties"]
        assert stack.resolve(alarm["Namespace"]) == namespace
        dimensions = tuple(
            sorted((d["Name"], stack.resolve(d["Value"])) for d in alarm["Dimensions"])
        )
        watched.add((alarm["MetricName"], dimensions))
    assert watched == published


def test_a_window_without_captured_traffic_starts_no_job(template, stage_stack):
    put(stage_stack, f"capture/{ENDPOINT}/live/2026/12/02/04/later.jsonl", ["{}"])
    result = load_function("monitoring.yaml", template, "Starter").handler(SCHEDULED)
    assert result["started"] is None
    assert "no captured traffic" in result["reason"]
    assert not [call for call in RECORDER.calls if call.operation == "CreateProcessingJob"]


# --- the stack ----------------------------------------------------------------------------------


def test_the_schedule_starts_the_function_and_keeps_what_it_could_not_deliver(template):
    rule = resource(template, "Schedule")
    assert rule["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": "Starter.Arn"}
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": "FailedStarts.Arn"}
    permission = resource(template, "ScheduleMayInvoke")
    assert permission["SourceArn"] == {"Fn::GetAtt": "Schedule.Arn"}
    function = resource(template, "Starter")
    assert sub(function["Role"]).endswith(f":role/{SLUG}-monitor-starter")
    assert function["Environment"]["Variables"]["ROLE_ARN"]["Fn::Sub"].endswith(
        f":role/{SLUG}-monitor"
    )


def test_each_check_has_an_alarm_that_reaches_the_topic_and_drift_forwards_to_retraining(template):
    topic = resource(template, "AlarmTopic")
    assert sub(topic["TopicName"]) == f"{SLUG}-{SUB_STAGE}-monitoring"
    assert topic["KmsMasterKeyId"] == {"Fn::ImportValue": f"{SLUG}-deployment-ServingKeyArn"}
    subscription = resource(template, "OwnerSubscription")
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", config.AUTHOR_EMAIL)
    retraining = []
    for logical, (check, retrains) in ALARMS.items():
        alarm = resource(template, logical)
        name = sub(alarm["AlarmName"])
        assert name == f"{SLUG}-{SUB_STAGE}-{check.replace('_', '-')}-violations"
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
        assert alarm["Period"] == {"Ref": "AlarmPeriodSeconds"}
        if retrains:
            retraining.append(name)
    rule = resource(template, "ForwardDriftAlarms")
    pattern = rule["EventPattern"]
    assert (pattern["source"], pattern["detail-type"]) == (
        ["aws.cloudwatch"],
        ["CloudWatch Alarm State Change"],
    )
    assert pattern["detail"]["state"] == {"value": ["ALARM"]}
    assert [sub(name) for name in pattern["detail"]["alarmName"]] == retraining
    (target,) = rule["Targets"]
    assert sub(target["Arn"]).endswith(":${ToolingAccountId}:event-bus/default")
    assert sub(target["RoleArn"]).endswith(f":role/{SLUG}-drift-forwarder")
    # With one account the tooling rule sees the alarms itself.
    assert template["Resources"]["ForwardDriftAlarms"]["Condition"] == "ForwardDrift"
{%- if cookiecutter.deployment_accounts == "yes" %}


def test_the_drift_alarms_reach_the_tooling_bus_as_the_forwarder_only():
    """A stage account of its own puts its drift alarms on the tooling account's default bus as
    its drift forwarder: decided as AWS would (policies.evaluate), the forwarder's own policy and
    the bus's allow it, and no other role of that account, nor the forwarder's name in another
    account, may put events there."""
    accounts = sorted(set(config.STAGE_ACCOUNTS.values()) - {config.AWS_ACCOUNT_ID})
    assert accounts
    stacks = project_stacks()
    bus = f"arn:{PARTITION}:events:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:event-bus/default"

    def may(role: Role) -> bool:
        context = {"aws:PrincipalArn": role.arn, "aws:PrincipalAccount": role.account}
        request = Request(role, "events:PutEvents", bus, {**context, "aws:SecureTransport": "true"})
        return evaluate(request).allowed

    def allowed_everything(account: str, name: str) -> Role:
        everything = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        return Role(f"arn:{PARTITION}:iam::{account}:role/{name}", name, (everything,))

    for account in accounts:
        stack = stacks.stack("monitoring.yaml", account)
        rule = stack.body["Resources"]["ForwardDriftAlarms"]["Properties"]
        (target,) = stack.resolve(rule["Targets"])
        assert target["Arn"] == bus
        forwarder = stacks.role(target["RoleArn"])
        assert forwarder.account == account
        assert may(forwarder), account
        assert not may(Role(forwarder.arn, forwarder.where, ())), account
        assert not may(allowed_everything(account, f"{SLUG}-deployment")), account
    assert not may(allowed_everything("999999999999", f"{SLUG}-drift-forwarder"))
{%- endif %}


def test_a_serverless_stage_keeps_only_the_topic_and_the_dashboard(template):
    """Serverless Inference captures nothing: no monitor, no alarm, nothing to forward."""
    unconditional = {
        name for name, item in template["Resources"].items() if "Condition" not in item
    }
    assert unconditional == {"AlarmTopic", "OwnerSubscription", "Dashboard"}
    assert {
        item["Condition"]
        for name, item in template["Resources"].items()
        if name not in unconditional
    } == {"Realtime", "ForwardDrift"}


def test_the_dashboard_shows_invocations_latency_errors_and_the_alarms(template):
    text, names = resource(template, "Dashboard")["DashboardBody"]["Fn::Sub"]
    assert sub(names["Endpoint"]) == f"{SLUG}-{SUB_STAGE}"
    body = json.loads(re.sub(r"\$\{[^}]+\}", "x", text))
    metrics = {
        widget["properties"]["metrics"][0][1]
        for widget in body["widgets"]
        if widget["type"] == "metric"
    }
    assert metrics == {"Invocations", "ModelLatency", "Invocation5XXErrors"}
    (alarms,) = [widget for widget in body["widgets"] if widget["type"] == "alarm"]
    shown = [arn.rsplit(":", 1)[1] for arn in alarms["properties"]["alarms"]]
    assert shown == [f"x-{check.replace('_', '-')}-violations" for check, _ in ALARMS.values()]


# --- the deploy helper's parameters -------------------------------------------------------------


def satisfies(spec: dict[str, Any], value: str) -> bool:
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        return False
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        return False
    if spec["Type"] == "Number":
        number = float(value)
        return spec.get("MinValue", number) <= number <= spec.get("MaxValue", number)
    return True


@pytest.mark.parametrize("stage_name", config.STAGES)
def test_the_parameters_come_from_the_package_and_the_config(template, stage_name):
    parameters = stack_parameters(stage_name)
    assert parameters["ReferenceUri"] == TAKEN["reference"]
    assert parameters["CodeUri"] == TAKEN["code"]
    assert parameters["StepsImageUri"] == TAKEN["image"]
    schedule = monitoring.load_settings()["stages"][stage_name]
    assert parameters["ScheduleExpression"] == schedule["schedule"]
    assert parameters["WindowHours"] == str(schedule["window_hours"])
    assert parameters["EndpointType"] == Stage.load(stage_name).endpoint_type
    # The namespace the job role may publish in (infra/deployment-account.yaml).
    assert parameters["MetricsNamespace"] == monitoring.METRICS_NAMESPACE
    # Labelled traffic is held to the floor of the quality gate the model passed.
    assert float(parameters["QualityFloor"]) == config.QUALITY_GATE.threshold
    # Every parameter without a default given, every one declared, each accepted.
    declared = template["Parameters"]
    required = {name for name, spec in declared.items() if "Default" not in spec}
    assert required <= set(parameters) <= set(declared)
    for name, value in parameters.items():
        assert satisfies(declared[name], value), name


def test_the_alarm_period_is_the_window_up_to_a_day():
    assert stack_parameters(window_hours=3)["AlarmPeriodSeconds"] == str(3 * 3600)
    assert stack_parameters(window_hours=72)["AlarmPeriodSeconds"] == str(24 * 3600)


@pytest.mark.parametrize("key", sorted(METADATA))
def test_a_package_without_what_the_monitor_runs_on_is_refused_naming_it(key):
    with pytest.raises(monitoring.MissingMonitorInput) as refused:
        monitoring.package_inputs(package(**{key: ""}))
    assert f"CustomerMetadataProperties.{key}" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_package_trained_in_another_image_is_refused():
    """The job role pulls the project's steps image only, which has the monitor's libraries."""
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost@sha256:" + "b" * 64
    with pytest.raises(monitoring.MissingMonitorInput, match="not the project's steps image"):
        monitoring.package_inputs(package(steps_image=image))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["retraining"].pop("cooldown_hours"), "missing key"),
        (lambda raw: raw.update(typo=1), "unknown key 'typo'"),
        (
            lambda raw: raw["stages"][STAGE].update(schedule="hourly"),
            rf"stages\.{STAGE}\.schedule: expected text matching .*ScheduleExpression",
        ),
        (lambda raw: raw["stages"][STAGE].update(window_hours=0), "whole number from 1 to 168"),
        (lambda raw: raw["stages"][STAGE].update(delay_hours=1.5), "delay_hours: expected a whole"),
        (lambda raw: raw["retraining"].update(cooldown_hours=-1), "RetrainCooldownHours"),
        (lambda raw: raw.update(instance_type="ml.p5.48xlarge"), "expected one of ml.m5"),
    ],
)
def test_a_bad_monitoring_config_is_refused_naming_the_key(tmp_path: Path, change, message):
    raw = json.loads(monitoring.SETTINGS.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "monitoring.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        monitoring.load_settings(path)
