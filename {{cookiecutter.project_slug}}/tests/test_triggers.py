"""The retraining triggers, infra/triggers.yaml: its function run for real against moto's S3
and SageMaker (new data, the schedule, nothing to train on), and its rules against it."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_calls import load_function
from conftest import load_cloudformation, resources

from {{ cookiecutter.package_name }} import arns, config

PIPELINE_ARN_PREFIX = (
    f"arn:aws:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:pipeline/{config.PIPELINE_NAME}"
)


@pytest.fixture(scope="module")
def triggers() -> dict[str, Any]:
    return load_cloudformation("triggers.yaml")


@pytest.fixture
def starter(triggers, monkeypatch) -> Iterator[types.ModuleType]:
    """The triggers' Lambda function, its inline code as a module, with AWS emulated by moto:
    the bucket, and the training pipeline as `make upsert` creates it."""
    from moto import mock_aws

    from {{ cookiecutter.package_name }}.pipeline.offline import OFFLINE_ENVIRONMENT

    function = resources(triggers, "AWS::Lambda::Function")["Starter"]
    environment = {
        "PIPELINE_NAME": function["Environment"]["Variables"]["PIPELINE_NAME"],
        "BUCKET": config.DATA_BUCKET,
        "DATA_PREFIX": function["Environment"]["Variables"]["DATA_PREFIX"],
        "ACCOUNT_ID": config.DATA_BUCKET_OWNER,
    }
{%- if cookiecutter.model_monitoring == "yes" %}
    environment["COOLDOWN_HOURS"] = str(triggers["Parameters"]["RetrainCooldownHours"]["Default"])
{%- endif %}
    for name, value in {**OFFLINE_ENVIRONMENT, **environment}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", config.AWS_REGION)
    with mock_aws():
        s3 = boto3.client("s3", region_name=config.AWS_REGION)
        location = {"LocationConstraint": config.AWS_REGION}
        if config.AWS_REGION == "us-east-1":
            s3.create_bucket(Bucket=config.DATA_BUCKET)
        else:
            s3.create_bucket(Bucket=config.DATA_BUCKET, CreateBucketConfiguration=location)
        boto3.client("sagemaker", region_name=config.AWS_REGION).create_pipeline(
            PipelineName=config.PIPELINE_NAME,
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
            RoleArn=arns.EXECUTION_ROLE_ARN,
        )
        # Its AWS calls are its role's (tests/aws_calls.py).
        yield load_function("triggers.yaml", triggers, "Starter")


def started_on(result: dict[str, Any]) -> str:
    """The InputDataUrl of the execution the function started."""
    assert result["started"].startswith(f"{PIPELINE_ARN_PREFIX}/execution/")
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    parameters = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=result["started"]
    )["PipelineParameters"]
    return {p["Name"]: p["Value"] for p in parameters}["InputDataUrl"]


def put(key: str) -> None:
    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    s3.put_object(Bucket=config.DATA_BUCKET, Key=key, Body=b"a,b\n1,2\n")


def s3_event(key: str) -> dict[str, Any]:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "time": "2026-12-02T03:00:07Z",
        "detail": {"bucket": {"name": config.DATA_BUCKET}, "object": {"key": key}},
    }


def test_new_data_starts_the_pipeline_on_its_folder(starter):
    key = f"{config.PROJECT_SLUG}/data/0123abcd/new.csv"
    put(key)
    result = starter.handler(s3_event(key))
    assert started_on(result) == f"s3://{config.DATA_BUCKET}/{config.PROJECT_SLUG}/data/0123abcd/"


def test_the_schedule_retrains_on_the_newest_data_set(starter):
    import time

    put(f"{config.PROJECT_SLUG}/data/older/a.csv")
    time.sleep(1.1)  # S3 times objects to the second
    put(f"{config.PROJECT_SLUG}/data/newer/b.csv")
    put("elsewhere/c.csv")
    result = starter.handler({"source": "aws.events", "id": "a-schedule-event"})
    assert started_on(result) == f"s3://{config.DATA_BUCKET}/{config.PROJECT_SLUG}/data/newer/"


def test_no_data_set_starts_nothing(starter):
    assert starter.handler({"source": "aws.events", "id": "another-event"}) == {"started": None}


def start_tokens(monkeypatch) -> list[str]:
    """The ClientRequestToken of every StartPipelineExecution the function sends: SageMaker
    starts one execution for one token (an idempotent call), which moto does not emulate."""
    tokens: list[str] = []
    client = boto3.client

    def recording(*args, **kwargs):
        made = client(*args, **kwargs)
        made.meta.events.register(
            "provide-client-params.sagemaker.StartPipelineExecution",
            lambda params, **_: tokens.append(params["ClientRequestToken"]),
        )
        return made

    monkeypatch.setattr(boto3, "client", recording)
    return tokens


def test_the_starts_that_arrive_together_name_one_execution(starter, triggers, monkeypatch):
    """No reserved concurrency (a new account's Lambda quota of 10 leaves none to reserve):
    the objects of one upload, handled at once, start one execution by its token."""
    function = resources(triggers, "AWS::Lambda::Function")["Starter"]
    assert "ReservedConcurrentExecutions" not in function
    tokens = start_tokens(monkeypatch)
    for name in ("part-1.csv", "part-2.csv"):
        key = f"{config.PROJECT_SLUG}/data/0123abcd/{name}"
        put(key)
        starter.handler(s3_event(key))
    assert len(tokens) == 2 and len(set(tokens)) == 1


def test_the_rules_match_what_the_function_handles(triggers):
    rules = resources(triggers, "AWS::Events::Rule")
    pattern = rules["NewData"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    (prefix,) = pattern["detail"]["object"]["key"]
    function = resources(triggers, "AWS::Lambda::Function")["Starter"]
    assert prefix == {"prefix": function["Environment"]["Variables"]["DATA_PREFIX"]}
    assert prefix["prefix"] == f"{config.PROJECT_SLUG}/data/"
    # upload-data writes under that prefix, into a folder named after the data's content.
    from {{ cookiecutter.package_name }}.pipeline.staging import default_input_data_url

    data_url = default_input_data_url()
    assert data_url.startswith(f"s3://{config.DATA_BUCKET}/{prefix['prefix']}")
    assert rules["Schedule"]["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    for rule in rules.values():
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": "Starter.Arn"}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": "FailedStarts.Arn"}}
{%- if cookiecutter.model_monitoring == "yes" %}


def alarm_event(stage: str = config.STAGES[-1], kind: str = "data-drift") -> dict[str, Any]:
    """A drift alarm going off, as CloudWatch sends it (forwarded from the stage's account)."""
    return {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "account": config.STAGE_ACCOUNTS[stage],
        "id": f"alarm-{stage}-{kind}",
        "detail": {
            "alarmName": f"{config.PROJECT_SLUG}-{stage}-{kind}-violations",
            "state": {"value": "ALARM"},
        },
    }


def executions() -> list[dict[str, Any]]:
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    return sagemaker.list_pipeline_executions(PipelineName=config.PIPELINE_NAME)[
        "PipelineExecutionSummaries"
    ]


def test_a_drift_alarm_retrains_on_the_newest_data_set(starter):
    put(f"{config.PROJECT_SLUG}/data/current/a.csv")
    result = starter.handler(alarm_event())
    assert started_on(result) == f"s3://{config.DATA_BUCKET}/{config.PROJECT_SLUG}/data/current/"


def test_a_second_alarm_within_the_cool_down_starts_nothing_and_says_why(starter, capsys):
    put(f"{config.PROJECT_SLUG}/data/current/a.csv")
    first = starter.handler(alarm_event(kind="data-drift"))
    assert first["started"]
    second = starter.handler(alarm_event(kind="model-quality"))
    assert second["started"] is None and second["cooldown_since"]
    assert len(executions()) == 1
    assert "within the cool-down" in capsys.readouterr().out


def test_an_alarm_after_the_cool_down_retrains_again(starter, monkeypatch):
    import datetime

    put(f"{config.PROJECT_SLUG}/data/current/a.csv")
    assert starter.handler(alarm_event())["started"]
    # The same moment seen COOLDOWN_HOURS and a minute later.
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        hours=starter.COOLDOWN_HOURS, minutes=1
    )
    assert starter.recent_start(boto3.client("sagemaker"), later) is None
    assert starter.recent_start(boto3.client("sagemaker"), later - datetime.timedelta(minutes=2))


def test_alarms_that_go_off_together_name_one_execution(starter, monkeypatch):
    """Without reserved concurrency two alarms handled at once may both find no recent start
    (the cool-down check races): they send one token, that of the cool-down period."""
    put(f"{config.PROJECT_SLUG}/data/current/a.csv")
    monkeypatch.setattr(starter, "recent_start", lambda sagemaker, now: None)
    tokens = start_tokens(monkeypatch)
    for stage in config.STAGES:
        for kind in ("data-drift", "model-quality"):
            assert starter.handler(alarm_event(stage, kind))["started"]
    assert len(tokens) == 2 * len(config.STAGES) and len(set(tokens)) == 1


def test_the_drift_rule_takes_exactly_the_stages_alarms_to_the_starter(triggers):
    rule = resources(triggers, "AWS::Events::Rule")["DriftAlarms"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.cloudwatch"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"]["state"] == {"value": ["ALARM"]}
    assert sorted(pattern["account"]) == sorted(set(config.STAGE_ACCOUNTS.values()))
    assert sorted(pattern["detail"]["alarmName"]) == sorted(
        f"{config.PROJECT_SLUG}-{stage}-{kind}-violations"
        for stage in config.STAGES
        for kind in ("data-drift", "model-quality")
    )
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": "Starter.Arn"}
    permissions = resources(triggers, "AWS::Lambda::Permission")
    assert permissions["DriftAlarmsMayInvoke"]["SourceArn"] == {"Fn::GetAtt": "DriftAlarms.Arn"}
    # Stage accounts of their own put the forwarded alarms on this bus; one account needs none.
    policies = [
        policy
        for policy in resources(triggers, "AWS::Events::EventBusPolicy").values()
        if "-drift-from-" in policy["StatementId"]
    ]
    others = set(config.STAGE_ACCOUNTS.values()) - {config.AWS_ACCOUNT_ID}
    principals = [p["Statement"]["Principal"]["AWS"]["Fn::Sub"] for p in policies]
    # In the stack's partition, never a written arn:aws:.
    assert all(arn.startswith("arn:${AWS::Partition}:iam::") for arn in principals)
    assert {arn.split("}:")[1].split(":")[2] for arn in principals} == others


def test_the_cool_down_is_the_one_of_the_monitoring_config(triggers):
    settings = json.loads(
        (config.PROJECT_DIR / "monitoring" / "monitoring.json").read_text(encoding="utf-8")
    )
    default = triggers["Parameters"]["RetrainCooldownHours"]["Default"]
    assert default == settings["retraining"]["cooldown_hours"]
{%- endif %}
