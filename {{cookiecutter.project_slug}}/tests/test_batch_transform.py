"""Batch transform, infra/batch-transform.yaml and deploy/batch.py: the stack's function run for
real against moto's S3 and SageMaker (the job it starts, an empty input prefix), the model's
name, the schedule's condition, the deploy command's parameters, and `make batch-transform`'s
command line through the function, and the inference server taking a whole payload of the
data's shortest rows with the job's settings.

moto runs a Lambda function in Docker only; the command line's Invoke request is answered here
by the template's own function code, run in-process against moto, so the request it sends and
what it does with the answer are both real.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import types
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_calls import load_function
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody
from conftest import load_cloudformation, resources
from policies import Stack, project_stacks
from test_serve import call, csv_body, free_port, serve_command, wait_for_ping

from {{ cookiecutter.package_name }} import config, contract
from {{ cookiecutter.package_name }}.deploy import batch
from {{ cookiecutter.package_name }}.deploy.stage import Stage
from {{ cookiecutter.package_name }}.serve import request, scoring

STAGE = config.STAGES[-1]
# `make batch-transform` runs as the stage account's deployment role (tests/aws_calls.py); the
# function as its own role.
pytestmark = pytest.mark.principal(f"deployment:{STAGE}")
ACCOUNT = config.STAGE_ACCOUNTS[STAGE]
# What the account stack (infra/deployment-account.yaml) exports, as the stack imports it: the
# names the project's stacks give them (tests/policies.py), so that the function's calls are
# checked against its role's policies on these very resources.
ACCOUNT_STACK = project_stacks().stack("deployment-account.yaml", ACCOUNT)
SERVING_BUCKET = ACCOUNT_STACK.attribute("ServingBucket", None)
SERVING_KEY = ACCOUNT_STACK.attribute("ServingKey", "Arn")
PACKAGE_ARN = (
    f"arn:aws:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:model-package/"
    f"{config.MODEL_PACKAGE_GROUP}/7"
)
# The "batch_transform" settings of config/<stage>.json.
SETTINGS = {
    "schedule": "cron(0 4 * * ? *)",
    "instance_type": "ml.m5.large",
    "instance_count": 2,
    "input_prefix": "batch/input/",
    "output_prefix": "batch/output/",
}
SCHEDULED_EVENT = {
    "source": "aws.events",
    "detail-type": "Scheduled Event",
    "id": "a-schedule-event",
    "time": "2026-12-02T04:00:00Z",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_cloudformation("batch-transform.yaml")


def copies(package_arn: str) -> dict[str, str] | None:
    """With a shared-artifact account: the package's copies there, as the deploy helper names
    them (deploy/artifacts.py); else None."""
    if not config.ARTIFACT_ACCOUNT:
        return None
    from deploy_support import registered_package

    from {{ cookiecutter.package_name }}.deploy import artifacts

    return artifacts.model_parameters(registered_package(package_arn))


def deployed(template: dict[str, Any], package_arn: str = PACKAGE_ARN, **settings: Any) -> Stack:
    """The stack as the deploy command deploys it: its parameters from these settings, its
    imports from the account stack (tests/policies.py resolves both as CloudFormation does)."""
    values = batch.stack_parameters(
        STAGE, {**SETTINGS, **settings}, package_arn, copies(package_arn)
    )
    name = Stage.load(STAGE).batch_stack_name
    return Stack("batch-transform.yaml", name, ACCOUNT, template, values, project_stacks())


def function_environment(template: dict[str, Any], **settings: Any) -> dict[str, str]:
    function = resources(template, "AWS::Lambda::Function")["Starter"]
    variables = function["Environment"]["Variables"]
    stack = deployed(template, **settings)
    return {name: str(stack.resolve(value)) for name, value in variables.items()}


def load_starter(template: dict[str, Any]) -> types.ModuleType:
    """The stack's Lambda function, its inline code as a module (environment already set); its
    AWS calls are its role's (tests/aws_calls.py)."""
    return load_function("batch-transform.yaml", template, "Starter")


@pytest.fixture
def aws(template, monkeypatch) -> Iterator[dict[str, str]]:
    """moto, in the stage's account, with the serving bucket; the function's environment set
    as the stack sets it."""
    from moto import mock_aws

    environment = function_environment(template)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", config.AWS_REGION)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=config.AWS_REGION)
        if config.AWS_REGION == "us-east-1":
            s3.create_bucket(Bucket=SERVING_BUCKET)
        else:
            s3.create_bucket(
                Bucket=SERVING_BUCKET,
                CreateBucketConfiguration={"LocationConstraint": config.AWS_REGION},
            )
        yield environment


def put(key: str, body: bytes = b"1.0,2.0\n3.0,4.0\n") -> None:
    boto3.client("s3", region_name=config.AWS_REGION).put_object(
        Bucket=SERVING_BUCKET, Key=key, Body=body
    )


def test_the_function_starts_a_transform_of_the_model_over_the_input_prefix(template, aws):
    put("batch/input/day-1.csv")
    result = load_starter(template).handler(SCHEDULED_EVENT)

    name = f"{config.PROJECT_SLUG}-batch-{STAGE}"[:50] + "-261202040000"
    output = f"s3://{SERVING_BUCKET}/batch/output/{name}/"
    assert result["started"] == name and result["output"] == output
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    job = sagemaker.describe_transform_job(TransformJobName=name)
    assert job["ModelName"] == f"{config.PROJECT_SLUG}-batch-{STAGE}-v7"
    assert job["TransformInput"] == {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"s3://{SERVING_BUCKET}/batch/input/",
            }
        },
        "ContentType": request.CSV,
        "SplitType": "Line",
    }
    # Several rows a request, in requests the inference server accepts.
    assert job["BatchStrategy"] == "MultiRecord"
    assert 1 <= job["MaxPayloadInMB"] * 1024 * 1024 <= request.MAX_BODY_BYTES
    assert job["TransformOutput"] == {
        "S3OutputPath": output,
        "Accept": request.CSV,
        "AssembleWith": "Line",
        "KmsKeyId": SERVING_KEY,
    }
    assert job["TransformResources"] == {
        "InstanceType": "ml.m5.large",
        "InstanceCount": 2,
        "VolumeKmsKeyId": SERVING_KEY,
    }
    tags = sagemaker.list_tags(ResourceArn=job["TransformJobArn"])["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == {
        "project": config.PROJECT_SLUG,
        "mlops-size": config.MLOPS_SIZE,
        "stage": STAGE,
    }


def test_a_payload_of_the_shortest_rows_is_accepted_with_the_jobs_settings(
    template, aws, configured, configured_data, monkeypatch
):
    """SageMaker sends up to MaxPayloadInMB of whole lines a request: of rows as short as the
    data's shortest, that is more rows than the server's default cap for a regression sample.
    The server started with the job's environment takes the whole payload."""
    put("batch/input/day-1.csv")
    name = load_starter(template).handler(SCHEDULED_EVENT)["started"]
    job = boto3.client("sagemaker").describe_transform_job(TransformJobName=name)
    environment = job["Environment"]
    assert set(environment) == {request.MAX_ROWS_ENV}

    schema = contract.load_schema(configured.schema)
    lines = csv_body(configured_data[schema.features]).splitlines(keepends=True)
    shortest = min(lines, key=len)
    payload_bytes = job["MaxPayloadInMB"] * 1024 * 1024
    payload = shortest * (payload_bytes // len(shortest))
    rows = payload.count(b"\n")
    # The cap holds any payload SageMaker may send, even of the shortest possible rows.
    assert int(environment[request.MAX_ROWS_ENV]) >= payload_bytes // len(b"0\n")

    # Without the setting, the default cap refuses such a payload when it holds more rows.
    monkeypatch.delenv(request.MAX_ROWS_ENV, raising=False)
    default = scoring.Scorer.load(configured.model, configured.schema)
    if rows > request.MAX_ROWS:
        with pytest.raises(request.RequestError, match=f"more than {request.MAX_ROWS} rows"):
            default.invoke(request.CSV, request.CSV, payload)

    port = free_port()
    process = subprocess.Popen(
        serve_command(configured.model, configured.schema, port),
        env={**os.environ, **environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_ping(process, url)
        status, media, text = call(url, payload, request.CSV, request.CSV)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert (status, media) == (200, request.CSV), text
    assert len(text.splitlines()) == rows


def test_an_empty_input_prefix_starts_nothing(template, aws):
    put("batch/input/", b"")  # the folder a console creates
    put("batch/elsewhere.csv")
    result = load_starter(template).handler(SCHEDULED_EVENT)
    assert result == {
        "started": None,
        "reason": f"nothing under s3://{SERVING_BUCKET}/batch/input/: no batch transform to run",
    }
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    assert sagemaker.list_transform_jobs()["TransformJobSummaries"] == []


def test_no_second_transform_starts_while_one_of_the_prefix_runs(template, aws):
    """One transform job of the prefix at a time, kept by the function, not by reserved
    concurrency (a new account's Lambda quota of 10 leaves none to reserve, and a reservation
    held only the function's minute, never the job's hours)."""
    from moto.sagemaker.models import sagemaker_backends

    function = resources(template, "AWS::Lambda::Function")["Starter"]
    assert "ReservedConcurrentExecutions" not in function
    put("batch/input/day-1.csv")
    starter = load_starter(template)
    first = starter.handler(SCHEDULED_EVENT)["started"]
    # moto ends a job at once: this one is still scoring.
    job = sagemaker_backends[ACCOUNT][config.AWS_REGION].transform_jobs[first]
    job.transform_job_status = "InProgress"
    next_day = {**SCHEDULED_EVENT, "time": "2026-12-03T04:00:00Z"}
    assert starter.handler(next_day) == {
        "started": None,
        "reason": f"{first} is still scoring s3://{SERVING_BUCKET}/batch/input/: no second "
        "batch transform",
    }
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    assert len(sagemaker.list_transform_jobs()["TransformJobSummaries"]) == 1
    # Once it has ended, the next one starts.
    job.transform_job_status = "Completed"
    assert starter.handler(next_day)["started"] not in (None, first)


def test_a_new_package_version_names_a_new_model(template):
    model = template["Resources"]["Model"]
    # The package itself, or its copies in the shared-artifact account (deploy/artifacts.py).
    expected = (
        {"Image": {"Ref": "ImageUri"}, "ModelDataUrl": {"Ref": "ModelDataUrl"}}
        if config.ARTIFACT_ACCOUNT
        else {"ModelPackageName": {"Ref": "ModelPackageArn"}}
    )
    assert model["Properties"]["Containers"] == [expected]
    assert model["Properties"]["ExecutionRoleArn"] == {
        "Fn::ImportValue": f"{config.PROJECT_SLUG}-deployment-EndpointRoleArn"
    }
    names = set()
    for version in ("7", "8"):
        stack = deployed(template, package_arn=PACKAGE_ARN[: -len("7")] + version)
        names.add(stack.resolve(model["Properties"]["ModelName"]))
    assert names == {
        f"{config.PROJECT_SLUG}-batch-{STAGE}-v7",
        f"{config.PROJECT_SLUG}-batch-{STAGE}-v8",
    }
    # SageMaker's limit of 63 characters, in the longest stage, with room for the version.
    longest = max(config.STAGES, key=len)
    assert len(f"{config.PROJECT_SLUG}-batch-{longest}-v99999") <= 63


def test_a_long_project_name_is_cut_to_fit_the_job_name_with_its_time(template, aws):
    starter = load_starter(template)
    starter.JOB_PREFIX = f"{config.PROJECT_SLUG}-batch-staging" + "x" * 63
    name = starter.job_name(SCHEDULED_EVENT)
    assert len(name) == 63 and name.endswith("-261202040000")  # SageMaker's limit


def test_the_schedule_rule_exists_only_with_a_schedule(template):
    assert deployed(template).condition("HasSchedule")
    assert not deployed(template, schedule=None).condition("HasSchedule")
    assert not deployed(template, schedule="").condition("HasSchedule")
    rule = template["Resources"]["ScheduleRule"]
    permission = template["Resources"]["ScheduleMayInvoke"]
    assert rule["Condition"] == permission["Condition"] == "HasSchedule"
    assert rule["Properties"]["ScheduleExpression"] == {"Ref": "Schedule"}
    assert deployed(template).resolve(rule["Properties"]["Name"]) == batch.function_name(STAGE)
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": "Starter.Arn"}
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": "ScheduleRule.Arn"}
    assert permission["Properties"]["Principal"] == "events.amazonaws.com"
    conditional = {
        name for name, resource in template["Resources"].items() if "Condition" in resource
    }
    assert conditional == {"ScheduleRule", "ScheduleMayInvoke"}


def test_stack_parameters_are_the_templates(template):
    values = batch.stack_parameters(STAGE, SETTINGS, PACKAGE_ARN, copies(PACKAGE_ARN))
    assert set(values) == set(template["Parameters"])
    assert values["Schedule"] == SETTINGS["schedule"] and values["InstanceCount"] == "2"
    for name, value in values.items():
        declared = template["Parameters"][name]
        assert isinstance(value, str), name
        if "AllowedPattern" in declared:
            assert re.fullmatch(declared["AllowedPattern"], value), (name, value)
        if "AllowedValues" in declared:
            assert value in declared["AllowedValues"], (name, value)
    function = resources(template, "AWS::Lambda::Function")["Starter"]
    assert deployed(template).resolve(function["FunctionName"]) == batch.function_name(STAGE)
    with pytest.raises(ValueError, match=f"batch_transform of {STAGE}: missing instance_count"):
        without = {key: value for key, value in SETTINGS.items() if key != "instance_count"}
        batch.stack_parameters(STAGE, without, PACKAGE_ARN)


@pytest.fixture
def lambda_session(template, aws) -> Iterator[tuple[boto3.Session, list[dict[str, Any]]]]:
    """A session whose Lambda Invoke calls are recorded and answered by the stack's function
    (its inline code, run here against moto) as Lambda answers them."""
    session = boto3.Session(region_name=config.AWS_REGION)
    requests: list[dict[str, Any]] = []
    starter = load_starter(template)

    def record(params: dict[str, Any], **_: Any) -> None:
        requests.append(dict(params))

    def run_the_function(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        request = requests[-1]
        parsed: dict[str, Any] = {"StatusCode": 200, "ResponseMetadata": {"HTTPStatusCode": 200}}
        try:
            answer = starter.handler(json.loads(request["Payload"]))
        except Exception as error:
            answer = {"errorMessage": str(error), "errorType": type(error).__name__}
            parsed["FunctionError"] = "Unhandled"
        body = json.dumps(answer).encode()
        parsed["Payload"] = StreamingBody(io.BytesIO(body), len(body))
        return AWSResponse("https://lambda", 200, {}, None), parsed

    session.events.register("before-parameter-build.lambda.Invoke", record)
    session.events.register("before-call.lambda.Invoke", run_the_function)
    yield session, requests


def test_the_command_line_starts_a_transform_through_the_function(template, lambda_session, capsys):
    session, requests = lambda_session
    put("batch/input/day-1.csv")
    assert batch.main(["--stage", STAGE, "--wait"], session=session) == 0

    function = resources(template, "AWS::Lambda::Function")["Starter"]
    assert requests == [
        {
            "FunctionName": deployed(template).resolve(function["FunctionName"]),
            "InvocationType": "RequestResponse",
            "Payload": b'{"source": "on-demand"}',
        }
    ]
    (summary,) = boto3.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]
    name = summary["TransformJobName"]
    assert re.fullmatch(re.escape(f"{config.PROJECT_SLUG}-batch-{STAGE}-") + "[0-9]{12}", name)
    output = f"s3://{SERVING_BUCKET}/batch/output/{name}/"
    assert capsys.readouterr().out.splitlines() == [
        f"started {name} of {config.PROJECT_SLUG}-batch-{STAGE}-v7 on "
        f"s3://{SERVING_BUCKET}/batch/input/, output to {output}",
        f"started {name}: output to {output}",
        f"{name} completed: {output}",
    ]


def test_the_command_line_fails_in_one_line_on_an_empty_prefix(lambda_session, capsys):
    session, _ = lambda_session
    assert batch.main(["--stage", STAGE], session=session) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"batch transform failed: nothing under s3://{SERVING_BUCKET}/batch/input/: "
        "no batch transform to run"
    ]


def test_the_command_line_refuses_another_accounts_credentials(lambda_session, monkeypatch):
    session, requests = lambda_session
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    with pytest.raises(SystemExit, match=f"account 999999999999, the {STAGE} stage runs in"):
        batch.main(["--stage", STAGE], session=session)
    assert requests == []
