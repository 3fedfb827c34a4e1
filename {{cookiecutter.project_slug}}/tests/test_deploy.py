"""The deploy helper, offline: the latest approved package from moto's model registry, each
stage's stack parameters from config/ (every endpoint type and rollout), the shadow deployment,
a bad config file refused in one line, how long a deployment may take, the partition, and the
bootstrap list of this variant's stacks. The assumed role and the change sets are
test_deploy_stacks.py, the smoke test test_deploy_smoke.py."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from conftest import load_cloudformation, resources
from deploy_support import (
    ENDPOINT_PARAMETERS,
    GROUP,
    LIVE_ARN,
    PACKAGE_ARN,
    REGION,
    assert_accepted,
    described_stack,
    registered_package,
    stub_executed_change_set,
    stubbed_cloudformation,
    write_config,
)

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.deploy import __main__ as cli
from {{ cookiecutter.package_name }}.deploy import bootstrap, stacks, templates
from {{ cookiecutter.package_name }}.deploy.stage import (
    ENDPOINT_TYPES,
    ROLLOUT_TYPES,
    STACK_PARAMETERS,
    ConfigError,
    Stage,
)

# CI runs `latest` as the tooling account's deployer, which assumes the stage's deployment
# role; `deploy` and `smoke-test` run as that role (tests/aws_calls.py).
pytestmark = pytest.mark.principal("deployer")


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


class Registry:
    """The tooling account's registry as the deploy helper reads it: the package the pipeline
    registered (where the shared-artifact account's copies are named from)."""

    def describe_model_package(self, ModelPackageName: str) -> dict[str, Any]:
        return registered_package(ModelPackageName)


def test_the_parameters_are_exactly_those_of_the_endpoint_template():
    declared = set(load_cloudformation("endpoint.yaml")["Parameters"])
    assert declared == ENDPOINT_PARAMETERS
    rendered = Stage.load("prod").stack_parameters(PACKAGE_ARN)
    assert set(rendered) | set(stacks.copies(Registry(), rendered)) == declared


def copies_read_from_the_registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The `parameters` command's copies, read from Registry; those of PACKAGE_ARN."""
    real = stacks.copies
    monkeypatch.setattr(stacks, "copies", lambda _, parameters: real(Registry(), parameters))
    return real(Registry(), {"ModelPackageArn": PACKAGE_ARN, "ShadowModelPackageArn": ""})


@pytest.mark.parametrize("stage_name", config.STAGES)
@pytest.mark.parametrize("endpoint_type", ENDPOINT_TYPES)
@pytest.mark.parametrize("rollout", ROLLOUT_TYPES)
def test_parameters_of_every_stage_endpoint_type_and_rollout(
    stage_name: str, endpoint_type: str, rollout: str, tmp_path: Path, capsys, monkeypatch
):
    copied = copies_read_from_the_registry(monkeypatch)
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
        **copied,
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
        # What the stack's template allows, read from its Parameters.
        ({"serverless.memory_mb": 2048.0}, "serverless.memory_mb: expected a whole number, got"),
        ({"realtime.instance_type": "ml."}, "realtime.instance_type: expected one of ml.m5.large"),
        ({"realtime.instance_type": 5}, "realtime.instance_type: expected text, got 5"),
        ({"rollout.type": ["canary"]}, "rollout.type: expected text, got ['canary']"),
        (
            {"realtime.min_instances": 10**30},
            "realtime.min_instances: expected a whole number from",
        ),
        ({"alarms.max_model_latency_ms": -1.5}, "alarms.max_model_latency_ms: expected a whole"),
        ({"smoke_test.requests": 0}, "smoke_test.requests: expected a whole number at least 1"),
        ({"serverless": [1] * 10_000}, "serverless: expected an object, got [1, 1, 1"),
        ({"k" * 300: 1}, "unknown key 'kkk"),
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


def test_the_choices_and_bounds_are_the_templates():
    """Each setting that becomes a stack parameter is held to that parameter's declared
    constraints: allowed values pass, a value just outside fails, naming the parameter."""
    prod = json.loads((config.CONFIG_DIR / "prod.json").read_text(encoding="utf-8"))
    checked = 0
    for key, (template, parameter) in STACK_PARAMETERS.items():
        section, _, name = key.rpartition(".")
        if section and section not in prod:
            continue
        spec = templates.parameters(template)[parameter]
        if not BOUNDS & set(spec):
            continue  # nothing declared to hold the value to, beyond its type
        good = [str(value).lower() for value in spec.get("AllowedValues", [])]
        if spec["Type"] == "Number":
            good = spec.get("AllowedValues") or [spec.get("MinValue", 1)]
            bad = spec.get("MaxValue", max(good)) + 1 if "MaxValue" in spec else 0.5
        else:
            bad = "ml." if good else "/not-a-prefix"
        for value in good[:3]:
            Stage.from_dict("prod", json_with(prod, section, name, value), "prod.json")
        with pytest.raises(ConfigError, match=rf"{key}: .* \(infra/{template}, {parameter}\)$"):
            Stage.from_dict("prod", json_with(prod, section, name, bad), "prod.json")
        checked += 1
    assert checked >= 12


BOUNDS = {"AllowedValues", "AllowedPattern", "MinValue", "MaxValue", "MinLength", "MaxLength"}


def json_with(raw: dict[str, Any], section: str, name: str, value: Any) -> dict[str, Any]:
    changed = json.loads(json.dumps(raw))
    (changed[section] if section else changed)[name] = value
    return changed


def test_a_file_nested_too_deeply_is_refused_in_one_line(tmp_path: Path):
    for text in ("[" * 100_000, '{"serverless": ' + "[" * 100_000):
        (tmp_path / "prod.json").write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=r"prod\.json: not valid JSON \(nested too deeply\)$"):
            Stage.load("prod", tmp_path)
    # Nested within the parser's limit, the value is named, cut short.
    nested = "[" * 500 + "]" * 500
    text = (config.CONFIG_DIR / "prod.json").read_text(encoding="utf-8")
    (tmp_path / "prod.json").write_text(text.replace('"ml.m5.large"', nested, 1), "utf-8")
    with pytest.raises(ConfigError) as refused:
        Stage.load("prod", tmp_path)
    assert len(str(refused.value)) < 250
    assert "realtime.instance_type: expected text, got [[[[" in str(refused.value)


def test_a_missing_key_is_refused_naming_it(tmp_path: Path):
    raw = json.loads((config.CONFIG_DIR / "prod.json").read_text(encoding="utf-8"))
    del raw["alarms"]["max_model_latency_ms"]
    (tmp_path / "prod.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"missing key 'alarms\.max_model_latency_ms'$"):
        Stage.load("prod", tmp_path)


# --- shadow deployment -------------------------------------------------------------------


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
    stub_executed_change_set(stubber)
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
    accounts = {
        config.AWS_ACCOUNT_ID,
        config.OPERATIONS_ACCOUNT_ID,
        *config.STAGE_ACCOUNTS.values(),
        config.DATA_BUCKET_OWNER,
        *([config.ARTIFACT_ACCOUNT_ID] if config.ARTIFACT_ACCOUNT else []),
    }
    # The CI stacks (and the operations account's base) go where the CI/CD runs.
    ci = {file for file, _ in bootstrap.CI_STACKS[config.CI_SYSTEM]} | {"operations-account.yaml"}
    for template in ("infra/deployment-account.yaml", "infra/budget.yaml"):
        placed = [step.account for step in plan if step.template == template]
        wanted = set(config.STAGE_ACCOUNTS.values()) if "deployment" in template else accounts
        if (infra / Path(template).name).is_file():
            assert sorted(placed) == sorted(wanted)  # once in each account
    for step in plan:
        if Path(step.template).name in ci:
            assert step.account == config.OPERATIONS_ACCOUNT_ID, step.template
        elif step.template == "infra/data-lake.yaml":
            assert step.account == config.DATA_LAKE_ACCOUNT_ID
        elif step.template == "infra/artifact-account.yaml":
            assert step.account == config.ARTIFACT_ACCOUNT_ID != config.AWS_ACCOUNT_ID
        elif step.template not in ("infra/deployment-account.yaml", "infra/budget.yaml"):
            assert step.account == config.AWS_ACCOUNT_ID
        # Every parameter without a default is given, and only parameters of the template.
        parameters = load_cloudformation(Path(step.template).name).get("Parameters", {})
        required = {name for name, spec in parameters.items() if "Default" not in spec}
        given = {pair.split("=", 1)[0] for pair in step.parameters}
        assert given == required, step.template
    assert cli.main(["bootstrap"]) == 0
    out = capsys.readouterr().out
    # A template the project completes first is written by the command before `&&`.
    lines = [line for line in out.splitlines() if line.startswith(("aws ", "uv run "))]
    commands = [line.rpartition(" && ")[2] for line in lines]
    assert len(commands) == len(plan)
    for step, command in zip(plan, commands, strict=True):
        # A template the project completes first is deployed from where it is written.
        rendered = bootstrap.RENDERED.get(Path(step.template).name)
        if rendered:
            assert f"{rendered[0]} && {command}" in out
        template = rendered[1] if rendered else step.template
        assert command.startswith(
            f"aws cloudformation deploy --template-file {template} "
            f"--stack-name {step.stack_name} --capabilities CAPABILITY_NAMED_IAM "
            f"--region {REGION}"
        )
        assert command.endswith(f"--profile {step.account}")
    headers = re.findall(r"^# account (\d{12}) ", out, re.MULTILINE)
    # One block per account in turn: no two neighbouring blocks for the same account.
    assert all(a != b for a, b in itertools.pairwise(headers))


def test_the_readme_gives_every_stack_its_account_and_command_in_order():
    """The README's bootstrap order is `make bootstrap`'s: each stack's command (its template,
    stack name and account's profile), in the same order."""
    readme = (config.PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Bootstrap: which stack, in which account, in which order")[1]
    at = 0
    for step in bootstrap.steps():
        found = section.find(f"`{step.command()}`", at)
        assert found >= 0, f"{step.template} -> {step.stack_name} in {step.account}"
        at = found + 1


# The IAM resources a template may create, and the properties that give one a name of its own:
# CloudFormation refuses such a stack (InsufficientCapabilities) unless the command acknowledges
# CAPABILITY_IAM, or CAPABILITY_NAMED_IAM once a name is custom (it covers both).
NAME_PROPERTIES = ("RoleName", "ManagedPolicyName", "InstanceProfileName", "UserName", "GroupName")


def capabilities_needed(template: dict[str, Any]) -> set[str]:
    iam = [r for r in template["Resources"].values() if r["Type"].startswith("AWS::IAM::")]
    if any(name in r.get("Properties", {}) for r in iam for name in NAME_PROPERTIES):
        return {"CAPABILITY_NAMED_IAM"}
    return {"CAPABILITY_IAM"} if iam else set()


def test_every_deploy_command_acknowledges_what_its_template_creates():
    """Each `aws cloudformation deploy` a user is told to run (README, Makefile, make bootstrap)
    acknowledges the IAM capability its template needs."""
    texts = [
        (config.PROJECT_DIR / name).read_text(encoding="utf-8").replace("\\\n", " ")
        for name in ("README.md", "Makefile")
    ]
    texts += [step.command() for step in bootstrap.steps()]
    commands = re.findall(r"aws cloudformation deploy [^`\n]*", "\n".join(texts))
    # A template the project completes first (build/) has its source's resources.
    sources = {written: name for name, (_, written) in bootstrap.RENDERED.items()}
    checked = set()
    for command in commands:
        path = re.search(r"--template-file (\S+)", command)[1]
        given = set(re.findall(r"CAPABILITY_\w+", command))
        if "CAPABILITY_NAMED_IAM" in given:
            given.add("CAPABILITY_IAM")
        template = load_cloudformation(sources.get(path) or Path(path).name)
        assert capabilities_needed(template) <= given, command
        checked.add(path)
    assert "infra/base.yaml" in checked
