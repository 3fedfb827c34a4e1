"""The deploy helper, offline: the latest approved package from moto's model registry, each
stage's stack parameters from config/ (every endpoint type and rollout), the shadow deployment,
a bad config file refused in one line, the bootstrap list of this variant's stacks, the assumed
deployment role (moto's STS), the change-set logic of a deployment (botocore's Stubber: moto's
CloudFormation needs extras this project does not install), and the smoke test through the real
boto3 `invoke_endpoint` call against the project's own inference server."""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
import uvicorn
import yaml
from aws_calls import acting_as
from botocore.stub import ANY, Stubber
from conftest import load_cloudformation, resources
from moto import mock_aws
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from {{ cookiecutter.package_name }} import config, contract
from {{ cookiecutter.package_name }}.deploy import __main__ as cli
from {{ cookiecutter.package_name }}.deploy import bootstrap, smoke, stacks
from {{ cookiecutter.package_name }}.deploy.stage import (
    ENDPOINT_TYPES,
    ROLLOUT_TYPES,
    ConfigError,
    Stage,
)
from {{ cookiecutter.package_name }}.serve import app as serve_app

REGION = config.AWS_REGION
GROUP = config.MODEL_PACKAGE_GROUP
ENDPOINT_PARAMETERS = {
    "Stage",
    "ModelPackageArn",
    "ShadowModelPackageArn",
    "EndpointType",
    "InstanceType",
    "MinInstances",
    "MaxInstances",
    "TargetInvocationsPerInstance",
    "ServerlessMemoryMB",
    "ServerlessMaxConcurrency",
    "RolloutType",
    "RolloutStepPercent",
    "WaitMinutes",
    "Max5xxErrors",
    "MaxModelLatencyMs",
    "RetainVariantProperties",
}
if config.MODEL_MONITORING:
    ENDPOINT_PARAMETERS.add("CaptureSamplingPercentage")
PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{config.AWS_ACCOUNT_ID}:model-package/{GROUP}/7"
LIVE_ARN = f"arn:aws:sagemaker:{REGION}:{config.AWS_ACCOUNT_ID}:model-package/{GROUP}/6"
# CI runs `latest` as the tooling account's deployer, which assumes the stage's deployment
# role; `deploy` and `smoke-test` run as that role (tests/aws_calls.py).
pytestmark = pytest.mark.principal("deployer")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials in the tooling account and AWS emulated by moto."""
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
        yield


def write_config(folder: Path, stage: str, **changes: Any) -> Path:
    """config/<stage>.json copied to folder, with changes: {"rollout.type": "linear", ...}."""
    raw = json.loads((config.CONFIG_DIR / f"{stage}.json").read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        section, _, key = dotted.rpartition(".")
        (raw[section] if section else raw)[key] = value
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stage}.json").write_text(json.dumps(raw), encoding="utf-8")
    return folder


# --- the latest approved package ------------------------------------------------------------


def test_latest_is_the_newest_approved_package_never_a_rejected_or_pending_one(aws, capsys):
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    inference = {
        "Containers": [{"Image": "serve"}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }
    arns = {}
    for version, status in enumerate(
        ["Approved", "Approved", "Rejected", "PendingManualApproval"], 1
    ):
        arns[version] = sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus=status,
            InferenceSpecification=inference,
        )["ModelPackageArn"]
        time.sleep(0.01)  # distinct creation times
    session = stacks.tooling_session()
    # The newer packages 3 and 4 are Rejected and pending: the newest Approved one is 2.
    assert stacks.latest_approved(session) == arns[2]
    assert cli.main(["latest"]) == 0
    assert capsys.readouterr().out == f"{arns[2]}\n"
    sagemaker.update_model_package(ModelPackageArn=arns[4], ModelApprovalStatus="Approved")
    assert stacks.latest_approved(session) == arns[4]


def test_latest_fails_in_one_line_when_nothing_is_approved(aws, capsys):
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Rejected",
        InferenceSpecification={
            "Containers": [{"Image": "serve"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )
    with pytest.raises(stacks.DeployError, match=f"no Approved model package in group {GROUP}"):
        stacks.latest_approved(stacks.tooling_session())
    assert cli.main(["latest"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("latest failed: no Approved model package")
    assert captured.err.count("\n") == 1


# --- each stage's configuration and stack parameters -------------------------------------


def test_the_stages_config_files_are_what_the_answers_chose():
    assert [path.stem for path in sorted(config.CONFIG_DIR.glob("*.json"))] == sorted(config.STAGES)
    prod = Stage.load("prod")
    assert (prod.endpoint_type, prod.rollout_type) == (
        "{{ cookiecutter.endpoint_type }}",
        "{{ cookiecutter.rollout }}",
    )
    if "staging" in config.STAGES:
        staging = Stage.load("staging")
        assert staging.endpoint_type == "serverless"
        assert staging.min_instances == staging.max_instances == 1
    for stage in map(Stage.load, config.STAGES):
        assert (stage.batch_transform is not None) == config.BATCH_TRANSFORM


def test_the_parameters_are_exactly_those_of_the_endpoint_template():
    declared = set(load_cloudformation("endpoint.yaml")["Parameters"])
    assert declared == ENDPOINT_PARAMETERS
    assert set(Stage.load("prod").stack_parameters(PACKAGE_ARN)) == declared


def assert_accepted(template: str, parameters: dict[str, str]) -> None:
    """The values meet the template's own constraints: CloudFormation would take them."""
    declared = load_cloudformation(template)["Parameters"]
    for name, value in parameters.items():
        spec = declared[name]
        if "AllowedValues" in spec:
            assert value in [str(allowed) for allowed in spec["AllowedValues"]], name
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), name
        if spec["Type"] == "Number":
            assert spec.get("MinValue", -math.inf) <= float(value), name
            assert float(value) <= spec.get("MaxValue", math.inf), name


@pytest.mark.parametrize("stage_name", config.STAGES)
@pytest.mark.parametrize("endpoint_type", ENDPOINT_TYPES)
@pytest.mark.parametrize("rollout", ROLLOUT_TYPES)
def test_parameters_of_every_stage_endpoint_type_and_rollout(
    stage_name: str, endpoint_type: str, rollout: str, tmp_path: Path, capsys
):
    folder = write_config(
        tmp_path, stage_name, endpoint_type=endpoint_type, **{"rollout.type": rollout}
    )
    argv = ["--config-dir", str(folder), "parameters", "--stage", stage_name]
    assert cli.main([*argv, "--model-package-arn", PACKAGE_ARN]) == 0
    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    raw = json.loads((folder / f"{stage_name}.json").read_text(encoding="utf-8"))
    captured = {}
    if config.MODEL_MONITORING:
        captured["CaptureSamplingPercentage"] = str(raw["data_capture"]["sampling_percentage"])
    assert printed == {
        **captured,
        "Stage": stage_name,
        "ModelPackageArn": PACKAGE_ARN,
        "ShadowModelPackageArn": "",
        "EndpointType": endpoint_type,
        "InstanceType": raw["realtime"]["instance_type"],
        "MinInstances": str(raw["realtime"]["min_instances"]),
        "MaxInstances": str(raw["realtime"]["max_instances"]),
        "TargetInvocationsPerInstance": str(raw["realtime"]["target_invocations_per_instance"]),
        "ServerlessMemoryMB": str(raw["serverless"]["memory_mb"]),
        "ServerlessMaxConcurrency": str(raw["serverless"]["max_concurrency"]),
        "RolloutType": {"canary": "CANARY", "linear": "LINEAR", "all_at_once": "ALL_AT_ONCE"}[
            rollout
        ],
        "RolloutStepPercent": str(raw["rollout"]["step_percent"]),
        "WaitMinutes": str(raw["rollout"]["wait_minutes"]),
        "Max5xxErrors": str(raw["alarms"]["max_5xx_errors"]),
        "MaxModelLatencyMs": str(raw["alarms"]["max_model_latency_ms"]),
        # No stack read (no --shadow): a creation's parameters.
        "RetainVariantProperties": "false",
    }
    assert_accepted("endpoint.yaml", printed)
    stage = Stage.load(stage_name, folder)
    assert stage.endpoint_name == f"{config.PROJECT_SLUG}-{stage_name}"
    assert stage.stack_name == f"{config.PROJECT_SLUG}-endpoint-{stage_name}"
    account = config.STAGE_ACCOUNTS[stage_name]
    assert stage.deployment_role_arn == (
        f"arn:aws:iam::{account}:role/{config.PROJECT_SLUG}-deployment"
    )
    assert stage.cloudformation_role_arn == (
        f"arn:aws:iam::{account}:role/{config.PROJECT_SLUG}-cloudformation"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rollout.typo": 1}, "unknown key 'rollout.typo'"),
        ({"smoke-test": {}}, "unknown key 'smoke-test'"),
        ({"rollout.type": "blue_green"}, "rollout.type: expected one of canary, linear"),
        ({"endpoint_type": "async"}, "endpoint_type: expected one of realtime, serverless"),
        ({"realtime.min_instances": "2"}, "realtime.min_instances: expected a whole number"),
        ({"realtime.max_instances": 0}, "realtime.max_instances: expected a whole number"),
        ({"serverless.memory_mb": 1000}, "serverless.memory_mb: expected one of 1024"),
        ({"rollout.step_percent": 60}, "rollout.step_percent: expected a whole number from 10"),
        ({"rollout.wait_minutes": 0}, "rollout.wait_minutes: expected a whole number from 1 "),
        (
            {"rollout.type": "linear", "rollout.step_percent": 10, "rollout.wait_minutes": 14},
            "rollout.wait_minutes: 14 minutes at each of the 11 waits of this rollout, with 30 "
            "for the new fleet to start, take 184 minutes, more than the 180 a rollout may take: "
            "at most 13",
        ),
        ({"alarms.max_5xx_errors": True}, "alarms.max_5xx_errors: expected a whole number"),
{%- if cookiecutter.model_monitoring == "yes" %}
        (
            {"data_capture.sampling_percentage": 101},
            "data_capture.sampling_percentage: expected a whole number from 0 to 100",
        ),
{%- endif %}
    ],
)
def test_a_bad_config_file_is_refused_in_one_line_naming_the_key(
    changes: dict[str, Any], message: str, tmp_path: Path, capsys
):
    folder = write_config(tmp_path, "prod", **changes)
    argv = ["--config-dir", str(folder), "parameters", "--stage", "prod"]
    assert cli.main([*argv, "--model-package-arn", PACKAGE_ARN]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"parameters failed: {folder / 'prod.json'}: {message}")
    assert captured.err.count("\n") == 1


def test_a_missing_key_is_refused_naming_it(tmp_path: Path):
    raw = json.loads((config.CONFIG_DIR / "prod.json").read_text(encoding="utf-8"))
    del raw["alarms"]["max_model_latency_ms"]
    (tmp_path / "prod.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"missing key 'alarms\.max_model_latency_ms'$"):
        Stage.load("prod", tmp_path)


# --- shadow deployment -------------------------------------------------------------------


def described_stack(package_arn: str) -> dict[str, Any]:
    """A stack as describe_stacks returns it, serving package_arn."""
    return {
        "StackName": Stage.load("prod").stack_name,
        "StackStatus": "UPDATE_COMPLETE",
        "CreationTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        "Parameters": [{"ParameterKey": "ModelPackageArn", "ParameterValue": package_arn}],
        "Outputs": [{"OutputKey": "ModelPackageArn", "OutputValue": package_arn}],
    }


def test_shadow_keeps_the_live_package_and_shadows_the_new_one():
    # On instances: a serverless endpoint takes no shadow (test_a_serverless_stage_refuses...).
    stage = dataclasses.replace(Stage.load("prod"), endpoint_type="realtime")
    parameters = stacks.endpoint_parameters(stage, PACKAGE_ARN, True, described_stack(LIVE_ARN))
    assert (parameters["ModelPackageArn"], parameters["ShadowModelPackageArn"]) == (
        LIVE_ARN,
        PACKAGE_ARN,
    )
    # Without --shadow the new package is promoted and the shadow removed.
    parameters = stacks.endpoint_parameters(stage, PACKAGE_ARN, False, described_stack(LIVE_ARN))
    assert (parameters["ModelPackageArn"], parameters["ShadowModelPackageArn"]) == (
        PACKAGE_ARN,
        "",
    )
    with pytest.raises(stacks.DeployError, match="serves none yet"):
        stacks.endpoint_parameters(stage, PACKAGE_ARN, True, None)
    with pytest.raises(stacks.DeployError, match="already live"):
        stacks.endpoint_parameters(stage, LIVE_ARN, True, described_stack(LIVE_ARN))


def test_an_update_of_an_endpoint_on_instances_keeps_its_instance_count():
    """RetainVariantProperties (RetainAllVariantProperties): only when the stack already serves
    on instances and stays on them; a new stack, or one not yet created, is created as written."""
    stage = dataclasses.replace(Stage.load("prod"), endpoint_type="realtime")

    def stack(endpoint_type: str, status: str = "UPDATE_COMPLETE") -> dict[str, Any]:
        described = described_stack(LIVE_ARN)
        described["StackStatus"] = status
        described["Parameters"].append(
            {"ParameterKey": "EndpointType", "ParameterValue": endpoint_type}
        )
        return described

    def retains(stage: Stage, described: dict[str, Any] | None, shadow: bool = False) -> str:
        return stacks.endpoint_parameters(stage, PACKAGE_ARN, shadow, described)[
            "RetainVariantProperties"
        ]

    assert retains(stage, stack("realtime")) == "true"
    assert retains(stage, stack("realtime"), shadow=True) == "true"
    assert retains(stage, None) == "false"
    assert retains(stage, stack("realtime", "REVIEW_IN_PROGRESS")) == "false"
    assert retains(stage, stack("realtime", "ROLLBACK_COMPLETE")) == "false"
    # From serverless to instances there is no instance count to keep.
    assert retains(stage, stack("serverless")) == "false"
    serverless = dataclasses.replace(stage, endpoint_type="serverless")
    assert retains(serverless, stack("realtime")) == "false"


def test_a_serverless_stage_refuses_a_shadow(tmp_path: Path):
    folder = write_config(tmp_path, "prod", endpoint_type="serverless")
    stage = Stage.load("prod", folder)
    with pytest.raises(ConfigError, match="takes no shadow variant"):
        stacks.endpoint_parameters(stage, PACKAGE_ARN, True, described_stack(LIVE_ARN))


# --- how long a deployment may take ------------------------------------------------------


def test_every_rollout_the_helper_accepts_ends_within_the_bound():
    """Every rollout type, step and wait the config accepts ends (its waits and the new fleet's
    start) within config.MAX_ROLLOUT_MINUTES, which the endpoint stack's timeout is; the others
    are refused before any AWS call."""
    from {{ cookiecutter.package_name }}.deploy.stage import longest_rollout_minutes

    raw = json.loads((config.CONFIG_DIR / "prod.json").read_text(encoding="utf-8"))
    accepted = refused = 0
    for rollout, step, wait in itertools.product(ROLLOUT_TYPES, range(10, 51), range(1, 41)):
        raw["rollout"] = {"type": rollout, "step_percent": step, "wait_minutes": wait}
        longest = longest_rollout_minutes(rollout, step, wait)
        try:
            Stage.from_dict("prod", raw, "prod.json")
        except ConfigError as error:
            assert "rollout.wait_minutes" in str(error)
            assert longest > config.MAX_ROLLOUT_MINUTES
            refused += 1
            continue
        assert longest <= config.MAX_ROLLOUT_MINUTES
        accepted += 1
    assert accepted and refused
    # The longest a linear rollout of 10% steps may wait at each: 11 waits and the start.
    assert longest_rollout_minutes("linear", 10, 13) <= config.MAX_ROLLOUT_MINUTES
    assert longest_rollout_minutes("linear", 10, 14) > config.MAX_ROLLOUT_MINUTES


def ci_deploy_timeouts() -> dict[str, int]:
    """The timeout (minutes) of every CI job that runs the deploy helper, where it is set."""
    found = {}
    pipeline = config.PROJECT_DIR / "infra" / "deploy-pipeline.yaml"
    if pipeline.exists():
        projects = resources(load_cloudformation("deploy-pipeline.yaml"), "AWS::CodeBuild::Project")
        for name, project in projects.items():
            if project["Source"].get("BuildSpec") == "buildspecs/deploy.yml":
                found[f"CodeBuild {name}"] = project["TimeoutInMinutes"]
        spec = yaml.safe_load((config.PROJECT_DIR / "buildspecs" / "deploy.yml").read_text())
        if "timeout-in-minutes" in spec.get("env", {}):
            found["buildspecs/deploy.yml"] = spec["env"]["timeout-in-minutes"]
    workflow = config.PROJECT_DIR / ".github" / "workflows" / "deploy.yml"
    if workflow.exists():
        flow = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        for name, job in flow["jobs"].items():
            found[f"GitHub job {name}"] = job["timeout-minutes"]
    return found


def test_the_rollout_fits_in_the_helpers_wait_which_fits_in_every_ci_job():
    """rollout <= the helper's wait <= each CI job that deploys; CodeBuild's and GitHub's own
    maximum is 8 hours and 6 hours (a job's default, 60 minutes and 6 hours, is never relied on)."""
    template = load_cloudformation("endpoint.yaml")
    policy = template["Resources"]["Endpoint"]["Properties"]["DeploymentConfig"][
        "BlueGreenUpdatePolicy"
    ]
    rollout_seconds = policy["MaximumExecutionTimeoutInSeconds"]
    assert isinstance(rollout_seconds, int)
    assert rollout_seconds <= config.MAX_ROLLOUT_MINUTES * 60
    # The rest of the stacks (models, alarms, scaling; batch and monitoring) take minutes.
    assert config.MAX_ROLLOUT_MINUTES + 30 <= config.DEPLOY_WAIT_MINUTES
    timeouts = ci_deploy_timeouts()
    assert timeouts, "no CI job deploys"
    # Installing the helper, finding the package and the smoke test take a few minutes more.
    for job, minutes in timeouts.items():
        assert minutes >= config.DEPLOY_WAIT_MINUTES + 15, job


@pytest.mark.principal("deployment:prod")
def test_a_stack_still_updating_when_the_wait_runs_out_fails_in_one_line():
    stage = Stage.load("prod")
    cloudformation, stubber = stubbed_cloudformation()
    stubber.add_response("describe_stacks", {"Stacks": [described_stack(LIVE_ARN)]})
    stubber.add_response("create_change_set", {"Id": "change-set-id"})
    stubber.add_response("describe_change_set", {"Status": "CREATE_COMPLETE"})
    stubber.add_response("execute_change_set", {})
    updating = {**described_stack(LIVE_ARN), "StackStatus": "UPDATE_IN_PROGRESS"}
    stubber.add_response("describe_stacks", {"Stacks": [updating]})
    stubber.add_response("describe_stacks", {"Stacks": [updating]})
    with stubber, pytest.raises(stacks.DeployError) as failure:
        stacks.create_or_update(
            cloudformation,
            stage.stack_name,
            "template",
            stage.stack_parameters(PACKAGE_ARN),
            stage.cloudformation_role_arn,
            stacks.tags(stage),
            poll_seconds=0,
            deadline=time.monotonic(),  # spent: one look, then the helper gives up
        )
    stubber.assert_no_pending_responses()
    assert str(failure.value) == (
        f"stack {stage.stack_name} is still UPDATE_IN_PROGRESS after the "
        f"{config.DEPLOY_WAIT_MINUTES} minutes a deployment may take: see its events in the "
        "CloudFormation console"
    )


# --- the partition -------------------------------------------------------------------------


def test_arns_are_in_the_partition_of_the_projects_region(monkeypatch: pytest.MonkeyPatch):
    """The region's partition, from botocore's endpoint data, never a written `arn:aws:`."""
    import boto3.session

    from {{ cookiecutter.package_name }} import arns

    assert arns.partition() == boto3.session.Session().get_partition_for_region(REGION)
    assert arns.execution_role_arn() == arns.EXECUTION_ROLE_ARN
    for region, partition in (("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")):
        monkeypatch.setattr(config, "AWS_REGION", region)
        stage = Stage.load("prod")
        assert stage.deployment_role_arn.startswith(f"arn:{partition}:iam::{stage.account}:")
        assert stage.cloudformation_role_arn.startswith(f"arn:{partition}:iam::{stage.account}:")
        assert arns.execution_role_arn().startswith(f"arn:{partition}:iam::")


def test_no_template_writes_the_partition():
    """Every ARN a stack writes names ${AWS::Partition} (an ARN pattern may say arn:aws[a-z-]*)."""
    for path in sorted((config.PROJECT_DIR / "infra").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert "arn:aws:" not in text, path.name


def test_no_module_writes_the_partition():
    """Every ARN the package builds asks arns.partition(): no string starts `arn:aws:`."""
    for path in sorted(config.PACKAGE_DIR.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""["']arn:aws:""", text), path.relative_to(config.PACKAGE_DIR)


# --- the deployment role and the change sets ---------------------------------------------


@pytest.mark.parametrize("stage_name", config.STAGES)
def test_deploy_assumes_the_stage_accounts_deployment_role(aws, stage_name):
    from moto.sts.models import sts_backends

    stage = Stage.load(stage_name)
    deployment = stacks.deployment_session(stage, stacks.tooling_session())
    credentials = deployment.get_credentials().get_frozen_credentials()
    assert credentials.access_key != "testing"
    assert credentials.token and credentials.token != "testing"
    assumed = sts_backends[stage.account]["global"].assumed_roles
    assert [role.role_arn for role in assumed] == [stage.deployment_role_arn]
    assert assumed[0].session_name == f"{config.PROJECT_SLUG}-deploy-{stage_name}"[:64]


def test_the_deployment_roles_credentials_are_assumed_again_before_they_expire(
    aws, monkeypatch: pytest.MonkeyPatch
):
    """A rollout outlasts the hour of an assumed role's session: the helper's session assumes
    the role again when botocore finds its credentials about to expire (moto's STS gives an
    hour)."""
    import botocore.credentials
    from moto.sts.models import sts_backends

    stage = Stage.load(config.STAGES[-1])
    deployment = stacks.deployment_session(stage, stacks.tooling_session())
    first = deployment.get_credentials().get_frozen_credentials()
    assumed = sts_backends[stage.account]["global"].assumed_roles
    assert len(assumed) == 1
    # Within the hour: the same credentials.
    assert deployment.get_credentials().get_frozen_credentials() == first
    # Fifty-five minutes later, within botocore's refresh margin of the expiry.
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=55)
    credentials = deployment.get_credentials()
    assert isinstance(credentials, botocore.credentials.RefreshableCredentials)
    # Its clock (botocore reads the time through the credentials' own fetcher).
    monkeypatch.setattr(credentials, "_time_fetcher", lambda: later)
    renewed = deployment.get_credentials().get_frozen_credentials()
    assert renewed.access_key != first.access_key
    assert [role.role_arn for role in assumed] == [stage.deployment_role_arn] * 2
    # Back to the present: the renewed ones hold for their hour.
    monkeypatch.setattr(credentials, "_time_fetcher", botocore.credentials._local_now)
    assert deployment.get_credentials().get_frozen_credentials() == renewed
    assert len(assumed) == 2


@pytest.mark.parametrize("stage_name", config.STAGES)
def test_deploy_keeps_the_session_that_already_is_the_deployment_role(
    stage_name, monkeypatch: pytest.MonkeyPatch
):
    from moto.sts.models import sts_backends

    stage = Stage.load(stage_name)
    # moto names an assumed role as the caller only in its own account: the stage's here.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", stage.account)
    with mock_aws():
        as_role = stacks.deployment_session(stage, stacks.tooling_session())
        identity = as_role.client("sts").get_caller_identity()["Arn"]
        assert identity.startswith(
            f"arn:aws:sts::{stage.account}:assumed-role/{config.PROJECT_SLUG}-deployment/"
        )
        before = len(sts_backends[stage.account]["global"].assumed_roles)
        assert stacks.deployment_session(stage, as_role) is as_role
        assert len(sts_backends[stage.account]["global"].assumed_roles) == before


def stubbed_cloudformation() -> tuple[Any, Stubber]:
    client = boto3.client(
        "cloudformation",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def update_endpoint_stack(cloudformation: Any, stage: Stage, parameters: dict[str, str]) -> str:
    """The stage's endpoint stack through stacks.create_or_update, polling at once."""
    return stacks.create_or_update(
        cloudformation,
        stage.stack_name,
        "template",
        parameters,
        stage.cloudformation_role_arn,
        stacks.tags(stage),
        poll_seconds=0,
    )


def no_stack_error(stubber: Stubber, stack_name: str) -> None:
    stubber.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {stack_name} does not exist",
        expected_params={"StackName": stack_name},
    )


@pytest.mark.principal("deployment:prod")
def test_deploy_creates_a_missing_stack_through_a_change_set_with_the_service_role():
    stage = Stage.load("prod")
    cloudformation, stubber = stubbed_cloudformation()
    parameters = stage.stack_parameters(PACKAGE_ARN)
    no_stack_error(stubber, stage.stack_name)
    stubber.add_response(
        "create_change_set",
        {"Id": "change-set-id", "StackId": "stack-id"},
        {
            "StackName": stage.stack_name,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "TemplateBody": "template",
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            "RoleARN": stage.cloudformation_role_arn,
            "Capabilities": ["CAPABILITY_NAMED_IAM"],
            "Tags": stacks.tags(stage),
        },
    )
    stubber.add_response(
        "describe_change_set",
        {"Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE"},
        {"StackName": stage.stack_name, "ChangeSetName": ANY},
    )
    stubber.add_response(
        "execute_change_set", {}, {"StackName": stage.stack_name, "ChangeSetName": ANY}
    )
    stubber.add_response(
        "describe_stacks",
        {"Stacks": [{**described_stack(PACKAGE_ARN), "StackStatus": "CREATE_COMPLETE"}]},
        {"StackName": stage.stack_name},
    )
    with stubber:
        outcome = update_endpoint_stack(cloudformation, stage, parameters)
    stubber.assert_no_pending_responses()
    assert outcome == "created"
    tags = {tag["Key"]: tag["Value"] for tag in stacks.tags(stage)}
    assert tags == {**config.TAGS, "stage": "prod"}


@pytest.mark.principal("deployment:prod")
def test_deploying_what_is_deployed_is_a_success_with_no_changes():
    stage = Stage.load("prod")
    cloudformation, stubber = stubbed_cloudformation()
    stubber.add_response("describe_stacks", {"Stacks": [described_stack(PACKAGE_ARN)]})
    stubber.add_response("create_change_set", {"Id": "change-set-id"})
    reason = (
        "The submitted information didn't contain changes. Submit different information to "
        "create a change set."
    )
    failed = {"Status": "FAILED", "StatusReason": reason}
    stubber.add_response("describe_change_set", failed)
    stubber.add_response("describe_change_set", failed)
    stubber.add_response(
        "delete_change_set", {}, {"StackName": stage.stack_name, "ChangeSetName": ANY}
    )
    with stubber:
        outcome = update_endpoint_stack(cloudformation, stage, stage.stack_parameters(PACKAGE_ARN))
    stubber.assert_no_pending_responses()
    assert outcome == "no changes"


@pytest.mark.principal("deployment:prod")
def test_a_failed_update_reports_the_first_failed_resource_in_one_line():
    stage = Stage.load("prod")
    cloudformation, stubber = stubbed_cloudformation()
    stubber.add_response("describe_stacks", {"Stacks": [described_stack(LIVE_ARN)]})
    stubber.add_response("create_change_set", {"Id": "change-set-id"})
    stubber.add_response("describe_change_set", {"Status": "CREATE_COMPLETE"})
    stubber.add_response("execute_change_set", {})
    rolled_back = {**described_stack(LIVE_ARN), "StackStatus": "UPDATE_ROLLBACK_COMPLETE"}
    stubber.add_response("describe_stacks", {"Stacks": [rolled_back]})

    def event(number: int, logical: str, kind: str, status: str, reason: str = "") -> dict:
        return {
            "StackId": "stack-id",
            "EventId": str(number),
            "StackName": stage.stack_name,
            "LogicalResourceId": logical,
            "ResourceType": kind,
            "ResourceStatus": status,
            "Timestamp": datetime.datetime(2026, 1, 1, 0, number, tzinfo=datetime.UTC),
            **({"ResourceStatusReason": reason} if reason else {}),
        }

    stack_kind, endpoint_kind = "AWS::CloudFormation::Stack", "AWS::SageMaker::Endpoint"
    newest_first = [
        event(6, stage.stack_name, stack_kind, "UPDATE_ROLLBACK_COMPLETE"),
        event(5, "Alarm", "AWS::CloudWatch::Alarm", "UPDATE_FAILED", "Resource update cancelled"),
        event(4, "Endpoint", endpoint_kind, "UPDATE_FAILED", "Auto-rollback:\n alarm fired"),
        event(3, "Endpoint", endpoint_kind, "UPDATE_IN_PROGRESS"),
        event(2, stage.stack_name, stack_kind, "UPDATE_IN_PROGRESS", "User Initiated"),
        event(1, "Endpoint", endpoint_kind, "CREATE_FAILED", "an older failure"),
    ]
    stubber.add_response("describe_stack_events", {"StackEvents": newest_first})
    with stubber, pytest.raises(stacks.DeployError) as failure:
        update_endpoint_stack(cloudformation, stage, stage.stack_parameters(PACKAGE_ARN))
    assert str(failure.value) == (
        f"stack {stage.stack_name}: Endpoint ({endpoint_kind}): Auto-rollback: alarm fired"
    )


def stub_create(stubber: Stubber, stage: Stage, stack_name: str, template: Path, parameters):
    """The calls that create a missing stack: its change set, with the service role and tags."""
    no_stack_error(stubber, stack_name)
    stubber.add_response(
        "create_change_set",
        {"Id": "change-set-id"},
        {
            "StackName": stack_name,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "TemplateBody": template.read_text(encoding="utf-8"),
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            "RoleARN": stage.cloudformation_role_arn,
            "Capabilities": ["CAPABILITY_NAMED_IAM"],
            "Tags": stacks.tags(stage),
        },
    )
    stubber.add_response("describe_change_set", {"Status": "CREATE_COMPLETE"})
    stubber.add_response("execute_change_set", {})
    created = {**described_stack(PACKAGE_ARN), "StackName": stack_name}
    created["StackStatus"] = "CREATE_COMPLETE"
    stubber.add_response("describe_stacks", {"Stacks": [created]})


@pytest.mark.parametrize("stage_name", config.STAGES)
def test_deploy_creates_the_stages_stacks_from_the_projects_templates(stage_name: str):
    stage = Stage.load(stage_name)
    cloudformation, stubber = stubbed_cloudformation()
    no_stack_error(stubber, stage.stack_name)
    parameters = stage.stack_parameters(PACKAGE_ARN)
    stub_create(stubber, stage, stage.stack_name, stacks.ENDPOINT_TEMPLATE, parameters)
    expected = {stage.stack_name: "created"}
    if config.BATCH_TRANSFORM:
        from {{ cookiecutter.package_name }}.deploy import batch

        batch_parameters = batch.stack_parameters(stage.name, stage.batch_transform, PACKAGE_ARN)
        assert_accepted("batch-transform.yaml", batch_parameters)
        template = stacks.BATCH_TEMPLATE
        stub_create(stubber, stage, stage.batch_stack_name, template, batch_parameters)
        expected[stage.batch_stack_name] = "created"
    registry = None
    if config.MODEL_MONITORING:
        from {{ cookiecutter.package_name }}.deploy import monitoring

        # The registry's answer for the live package, with the baselines the pipeline registers.
        package = {
            "ModelPackageName": f"{GROUP}/7",
            "ModelPackageArn": PACKAGE_ARN,
            "CreationTime": datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC),
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "DriftCheckBaselines": {
                group: {
                    kind: {"ContentType": "application/json", "S3Uri": f"s3://b/{group}/{kind}"}
                    for kind in ("Statistics", "Constraints")
                }
                for group in ("ModelDataQuality", "ModelQuality")
            },
        }
        registry = boto3.client(
            "sagemaker",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        registry_stubber = Stubber(registry)
        registry_stubber.add_response(
            "describe_model_package", package, {"ModelPackageName": PACKAGE_ARN}
        )
        registry_stubber.activate()
        monitoring_parameters = monitoring.stack_parameters(stage, package)
        assert monitoring_parameters["ModelQualityConstraintsUri"] == (
            "s3://b/ModelQuality/Constraints"
        )
        template = monitoring.TEMPLATE
        stub_create(stubber, stage, stage.monitoring_stack_name, template, monitoring_parameters)
        expected[stage.monitoring_stack_name] = "created"
    # CI runs the whole deploy command as the stage account's deployment role.
    with stubber, acting_as(f"deployment:{stage_name}"):
        outcomes = stacks.deploy(
            stage, PACKAGE_ARN, False, cloudformation, poll_seconds=0, sagemaker=registry
        )
    stubber.assert_no_pending_responses()
    assert outcomes == expected


# --- bootstrap -----------------------------------------------------------------------------


def test_bootstrap_lists_exactly_this_variants_stacks_with_their_commands(capsys):
    plan = bootstrap.steps()
    infra = config.PROJECT_DIR / "infra"
    # Every infra file but those the deploy helper deploys itself, per stage.
    expected = {f"infra/{path.name}" for path in infra.glob("*.yaml")} - {
        "infra/endpoint.yaml",
        "infra/batch-transform.yaml",
        "infra/monitoring.yaml",
    }
    assert {step.template for step in plan} == expected
    assert plan[0].template == "infra/base.yaml"
    assert plan[0].account == config.AWS_ACCOUNT_ID
    accounts = {config.AWS_ACCOUNT_ID, *config.STAGE_ACCOUNTS.values()}
    for template in ("infra/deployment-account.yaml", "infra/budget.yaml"):
        placed = [step.account for step in plan if step.template == template]
        wanted = set(config.STAGE_ACCOUNTS.values()) if "deployment" in template else accounts
        if (infra / Path(template).name).is_file():
            assert sorted(placed) == sorted(wanted)  # once in each account
    for step in plan:
        if step.template not in ("infra/deployment-account.yaml", "infra/budget.yaml"):
            assert step.account == config.AWS_ACCOUNT_ID
        # Every parameter without a default is given, and only parameters of the template.
        parameters = load_cloudformation(Path(step.template).name).get("Parameters", {})
        required = {name for name, spec in parameters.items() if "Default" not in spec}
        given = {pair.split("=", 1)[0] for pair in step.parameters}
        assert given == required, step.template
    assert cli.main(["bootstrap"]) == 0
    out = capsys.readouterr().out
    commands = [line for line in out.splitlines() if line.startswith("aws ")]
    assert len(commands) == len(plan)
    for step, command in zip(plan, commands, strict=True):
        assert command.startswith(
            f"aws cloudformation deploy --template-file {step.template} "
            f"--stack-name {step.stack_name} --capabilities CAPABILITY_NAMED_IAM "
            f"--region {REGION}"
        )
        assert command.endswith(f"--profile {step.account}")
    headers = re.findall(r"^# account (\d{12}) ", out, re.MULTILINE)
    # One block per account in turn: no two neighbouring blocks for the same account.
    assert all(a != b for a, b in itertools.pairwise(headers))


# --- the smoke test, through boto3's invoke_endpoint ---------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def runtime_api() -> Iterator[Callable[[Starlette], str]]:
    """runtime_api(app) -> the URL of a server on 127.0.0.1 running the ASGI app."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Starlette) -> str:
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def sagemaker_runtime(
    handler: Callable[[Request], Any],
) -> tuple[Starlette, list[str]]:
    """SageMaker Runtime's route, POST /endpoints/<name>/invocations (what botocore calls),
    answered by handler; the endpoint names called are recorded."""
    called: list[str] = []

    async def invocations(request: Request) -> Response:
        called.append(request.path_params["name"])
        return await handler(request)

    app = Starlette(routes=[Route("/endpoints/{name}/invocations", invocations, methods=["POST"])])
    return app, called


@pytest.fixture(scope="module")
def model_server(configured) -> Callable[[Request], Any]:
    """The project's own inference server (serve/) for the model of the local run: its
    /invocations handler."""
    served = serve_app.create_app(configured.model, config.SCHEMA)
    (route,) = [route for route in served.routes if route.path == "/invocations"]
    return route.endpoint


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def smoke_test(url: str, tmp_path: Path, requests: int = 20) -> int:
    """The smoke-test command against url, for the first stage, with `requests` calls."""
    stage = config.STAGES[0]
    folder = write_config(tmp_path, stage, **{"smoke_test.requests": requests})
    argv = ["--config-dir", str(folder), "smoke-test", "--stage", stage, "--endpoint-url", url]
    return cli.main(argv)


@pytest.mark.principal(f"deployment:{config.STAGES[0]}")
def test_the_smoke_test_passes_against_the_projects_inference_server(
    model_server, runtime_api, credentials, tmp_path: Path, capsys
):
    app, called = sagemaker_runtime(model_server)
    assert smoke_test(runtime_api(app), tmp_path) == 0
    out = capsys.readouterr().out
    stage = Stage.load(config.STAGES[0])
    assert out.startswith(
        f"smoke-test {stage.endpoint_name}: passed: 20 requests of {smoke.ROWS_PER_REQUEST} rows"
    )
    assert re.search(r"p50 [0-9.]+ ms, p99 [0-9.]+ ms \(limit \d+ ms\), 0 errors$", out.strip())
    assert called == [stage.endpoint_name] * 20


@pytest.mark.principal(f"deployment:{config.STAGES[0]}")
def test_the_smoke_test_fails_on_server_errors(runtime_api, credentials, tmp_path: Path, capsys):
    async def failing(request: Request) -> Response:
        return Response("scoring failed\n", 500, media_type="text/plain")

    app, called = sagemaker_runtime(failing)
    assert smoke_test(runtime_api(app), tmp_path, requests=3) == 1
    out = capsys.readouterr().out
    assert ": FAILED: 3 requests" in out
    assert "3 errors; first error: request 1:" in out
    assert len(called) == 3  # no retries: each error counts once


@pytest.mark.principal(f"deployment:{config.STAGES[0]}")
def test_the_smoke_test_fails_on_one_prediction_too_few(
    model_server, runtime_api, credentials, tmp_path: Path, capsys
):
    async def short(request: Request) -> Response:
        answer = await model_server(request)
        lines = answer.body.decode().splitlines(keepends=True)
        return Response("".join(lines[:-1]), media_type="text/csv")

    app, _ = sagemaker_runtime(short)
    assert smoke_test(runtime_api(app), tmp_path, requests=2) == 1
    out = capsys.readouterr().out
    rows = smoke.ROWS_PER_REQUEST
    assert f"first error: request 1: {rows - 1} predictions for {rows} rows" in out


def test_the_sample_rows_meet_the_schema(configured_schema):
    schema = json.loads(config.SCHEMA.read_text(encoding="utf-8"))
    rows = smoke.sample_rows(schema, 50, seed=1)
    features = [name for name in configured_schema.names if name != configured_schema.target]
    assert all(len(row) == len(features) for row in rows)
    # preprocess's own validation accepts them, as a file of these rows.
    frame = pd.DataFrame(rows, columns=features, dtype=object)
    contract.validate(frame, configured_schema, config.PROBLEM_TYPE, with_target=False)
