"""AWS calls of a deployment: the latest approved package, the stage account's session, and a
CloudFormation stack created or updated through a change set."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import boto3
import botocore.session
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from botocore.exceptions import ClientError, WaiterError

from .. import arns, champion, config
from .stage import Stage

INFRA_DIR = config.PROJECT_DIR / "infra"
ENDPOINT_TEMPLATE = INFRA_DIR / "endpoint.yaml"
BATCH_TEMPLATE = INFRA_DIR / "batch-transform.yaml"
# What CloudFormation says of a change set that would change nothing: a deploy of what is
# already deployed, which succeeds.
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
# A blue/green rollout waits its bake time at every step: 15 s between polls, for all of a
# stage's stacks together at most config.DEPLOY_WAIT_MINUTES (longer than the longest rollout,
# shorter than the CI job that runs the helper).
POLL_SECONDS = 15


class DeployError(RuntimeError):
    """A deployment that cannot go on; the message says why in one line."""


def tooling_session() -> boto3.Session:
    """The caller's credentials in the project's region: CI's deployer role, or a person's."""
    return boto3.Session(region_name=config.AWS_REGION)


def registry_session(session: boto3.Session) -> boto3.Session:
    """A session that reads the tooling account's model registry: `session` itself, or with an
    operations account (config.OPERATIONS_ACCOUNT), the tooling account's operations role
    assumed from it (CI's deployer)."""
    if not config.OPERATIONS_ACCOUNT:
        return session
    role = arns.role_arn(config.AWS_ACCOUNT_ID, config.OPERATIONS_ROLE)
    hint = (
        f"deploy infra/operations-access.yaml in account {config.AWS_ACCOUNT_ID}, and run as "
        f"the operations account's {config.PROJECT_SLUG}-deployer role"
    )
    return assumed_session(session, role, f"{config.PROJECT_SLUG}-registry", hint)


def latest_approved(session: boto3.Session, group: str = config.MODEL_PACKAGE_GROUP) -> str:
    """The ARN of the group's newest Approved model package: the champion (champion.py)."""
    arn = champion.latest_approved(registry_session(session).client("sagemaker"), group)
    if arn is None:
        raise DeployError(
            f"no Approved model package in group {group}: approve one "
            "(aws sagemaker update-model-package --model-approval-status Approved)"
        )
    return arn


class _Provided(CredentialProvider):
    """Credentials made elsewhere, as botocore's resolver takes them."""

    METHOD = "assume-role"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


def deployment_session(stage: Stage, session: boto3.Session) -> boto3.Session:
    """A session as the stage account's deployment role, assumed from `session` (the CI
    account's deployer); `session` itself when it already is that role (CI's profiles, which
    botocore refreshes)."""
    hint = (
        f"deploy infra/deployment-account.yaml in account {stage.account}, and run as the "
        f"{'operations' if config.OPERATIONS_ACCOUNT else 'tooling'} account's "
        f"{config.PROJECT_SLUG}-deployer role"
    )
    name = f"{config.PROJECT_SLUG}-deploy-{stage.name}"
    return assumed_session(session, stage.deployment_role_arn, name, hint)


def assumed_session(session: boto3.Session, role_arn: str, name: str, hint: str) -> boto3.Session:
    """A session as `role_arn`, assumed from `session`; `session` itself when it already is that
    role. Its credentials are assumed again before they expire: a rollout can outlast the hour
    of an assumed role's session (a chained one cannot be longer). `hint` says what to do when
    the role refuses."""
    sts = session.client("sts")
    identity = sts.get_caller_identity()
    _, _, _, _, account, resource = role_arn.split(":", 5)
    partition = arns.partition(session.region_name)
    assumed = f"arn:{partition}:sts::{account}:assumed-role/{resource.removeprefix('role/')}/"
    if identity["Arn"].startswith(assumed):
        return session

    def assume() -> dict[str, str]:
        try:
            credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=name[:64])[
                "Credentials"
            ]
        except ClientError as error:
            raise DeployError(
                f"cannot assume {role_arn} as {identity['Arn']}: "
                f"{error.response['Error']['Message']} ({hint})"
            ) from None
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    # Assumed now (a refusal is reported before anything is deployed), then again whenever
    # botocore finds them within minutes of their expiry (its RefreshableCredentials).
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=assume(), refresh_using=assume, method="assume-role"
    )
    botocore_session = botocore.session.Session()
    botocore_session.register_component(
        "credential_provider", CredentialResolver([_Provided(credentials)])
    )
    return boto3.Session(
        botocore_session=botocore_session,
        region_name=session.region_name or config.AWS_REGION,
    )


def describe_stack(cloudformation: Any, stack_name: str) -> dict[str, Any] | None:
    """The stack's description, or None when there is no such stack."""
    try:
        return cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in error.response["Error"]["Message"]:
            return None
        raise


def current_package(stack: Mapping[str, Any] | None) -> str:
    """The package the endpoint stack serves live: its ModelPackageArn output, else parameter."""
    if stack is None:
        return ""
    for output in stack.get("Outputs", []):
        if output["OutputKey"] == "ModelPackageArn":
            return output["OutputValue"]
    for parameter in stack.get("Parameters", []):
        if parameter["ParameterKey"] == "ModelPackageArn":
            return parameter["ParameterValue"]
    return ""


def serves_instances(stack: Mapping[str, Any] | None) -> bool:
    """Whether the stack has a realtime endpoint in service (created, not only in review)."""
    if stack is None or stack["StackStatus"] in ("REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE"):
        return False
    values = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    return values.get("EndpointType") == "realtime"


def endpoint_parameters(
    stage: Stage, model_package_arn: str, shadow: bool, stack: Mapping[str, Any] | None
) -> dict[str, str]:
    """The endpoint stack's parameters. With shadow, the package the stack serves now stays
    live and the new one runs as the shadow variant. An update of an endpoint on instances
    keeps their number (RetainVariantProperties): what AWS documents for an endpoint under
    auto scaling, whose new fleet would otherwise start at MinInstances."""
    retain = serves_instances(stack) and stage.endpoint_type == "realtime"
    if not shadow:
        return stage.stack_parameters(model_package_arn, retain_variant_properties=retain)
    live = current_package(stack)
    if not live:
        raise DeployError(
            f"--shadow keeps the live model, but stack {stage.stack_name} serves none yet: "
            "deploy without --shadow first"
        )
    if live == model_package_arn:
        raise DeployError(f"{model_package_arn} is already live on {stage.endpoint_name}")
    return stage.stack_parameters(
        live, shadow_model_package_arn=model_package_arn, retain_variant_properties=retain
    )


def copies(sagemaker: Any, parameters: Mapping[str, str]) -> dict[str, str]:
    """With a shared-artifact account: the endpoint stack's parameters that name the copies of
    its live (and shadow) package there (deploy/artifacts.py), from the packages `sagemaker`
    (a client of the tooling account's registry) describes; else none."""
    if not config.ARTIFACT_ACCOUNT:
        return {}
    from . import artifacts  # only the projects with a shared-artifact account have it

    live = sagemaker.describe_model_package(ModelPackageName=parameters["ModelPackageArn"])
    shadow_arn = parameters.get("ShadowModelPackageArn")
    shadow = sagemaker.describe_model_package(ModelPackageName=shadow_arn) if shadow_arn else None
    return artifacts.endpoint_parameters(live, shadow)


def deploy(
    stage: Stage,
    model_package_arn: str,
    shadow: bool,
    cloudformation: Any,
    poll_seconds: int = POLL_SECONDS,
    sagemaker: Any = None,
) -> dict[str, str]:
    """Deploy the stage's endpoint stack (and its batch stack, with batch transform; its
    monitoring stack, with model monitoring, whose reference, code and image `sagemaker`, a
    client of the tooling account, reads from the package) with a CloudFormation client of the
    stage's account; stack name -> outcome. All of them within config.DEPLOY_WAIT_MINUTES.
    With a shared-artifact account, every stack takes the package's copies there (`deploy
    publish` made them)."""
    deadline = time.monotonic() + config.DEPLOY_WAIT_MINUTES * 60
    stack = describe_stack(cloudformation, stage.stack_name)
    parameters = endpoint_parameters(stage, model_package_arn, shadow, stack)
    parameters.update(copies(sagemaker, parameters))
    outcomes = {
        stage.stack_name: create_or_update(
            cloudformation,
            stage.stack_name,
            ENDPOINT_TEMPLATE.read_text(encoding="utf-8"),
            parameters,
            stage.cloudformation_role_arn,
            tags(stage),
            poll_seconds,
            deadline,
        )
    }
    if config.BATCH_TRANSFORM:
        from . import batch  # only the projects with batch transform have it

        # The live package: a shadow is only tried on the endpoint's requests.
        live = parameters["ModelPackageArn"]
        settings = stage.batch_transform or {}
        # The live variant's copies, as the endpoint's.
        copied = parameters if config.ARTIFACT_ACCOUNT else None
        batch_parameters = batch.stack_parameters(stage.name, settings, live, copied)
        outcomes[stage.batch_stack_name] = create_or_update(
            cloudformation,
            stage.batch_stack_name,
            BATCH_TEMPLATE.read_text(encoding="utf-8"),
            batch_parameters,
            stage.cloudformation_role_arn,
            tags(stage),
            poll_seconds,
            deadline,
        )
    if config.MODEL_MONITORING:
        from . import monitoring  # only the projects with model monitoring have it

        # The live package's reference: the monitor watches what the clients get.
        package = sagemaker.describe_model_package(ModelPackageName=parameters["ModelPackageArn"])
        outcomes[stage.monitoring_stack_name] = create_or_update(
            cloudformation,
            stage.monitoring_stack_name,
            monitoring.TEMPLATE.read_text(encoding="utf-8"),
            monitoring.stack_parameters(stage, package),
            stage.cloudformation_role_arn,
            tags(stage),
            poll_seconds,
            deadline,
        )
    return outcomes


def tags(stage: Stage) -> list[dict[str, str]]:
    """The project's tags and the stage, on the stack and so on every resource it creates."""
    return [
        {"Key": key, "Value": value} for key, value in {**config.TAGS, "stage": stage.name}.items()
    ]


def first_failure(cloudformation: Any, stack_name: str) -> str:
    """The first failed resource of the stack's latest operation and its reason, in one line."""
    events: list[dict[str, Any]] = []
    paginator = cloudformation.get_paginator("describe_stack_events")
    # Newest first: collect back to the start of the latest operation on the stack.
    for page in paginator.paginate(StackName=stack_name):
        done = False
        for event in page["StackEvents"]:
            events.append(event)
            if (
                event["ResourceType"] == "AWS::CloudFormation::Stack"
                and event["ResourceStatus"] in ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS")
                and event["LogicalResourceId"] == stack_name
            ):
                done = True
                break
        if done:
            break
    for event in reversed(events):
        if event["ResourceStatus"].endswith("_FAILED") and event.get("ResourceStatusReason"):
            reason = " ".join(event["ResourceStatusReason"].split())
            return f"{event['LogicalResourceId']} ({event['ResourceType']}): {reason}"
    stack = describe_stack(cloudformation, stack_name) or {}
    return stack.get("StackStatusReason") or stack.get("StackStatus", "no stack events")


def waiter_config(poll_seconds: int, deadline: float) -> dict[str, int]:
    """A waiter's polls: every poll_seconds until the deadline (time.monotonic()), at least one."""
    left = max(deadline - time.monotonic(), 0)
    return {"Delay": poll_seconds, "MaxAttempts": max(1, math.ceil(left / max(poll_seconds, 1)))}


def create_or_update(
    cloudformation: Any,
    stack_name: str,
    template_body: str,
    parameters: Mapping[str, str],
    role_arn: str,
    stack_tags: list[dict[str, str]],
    poll_seconds: int = POLL_SECONDS,
    deadline: float | None = None,
) -> str:
    """Create the stack, or update it, through a change set with the CloudFormation service role;
    wait for the end, until `deadline` (time.monotonic(); by default config.DEPLOY_WAIT_MINUTES
    from now). Returns "created", "updated" or "no changes"; DeployError with the first failed
    resource's reason when the change set or the stack fails, or when the wait runs out."""
    if deadline is None:
        deadline = time.monotonic() + config.DEPLOY_WAIT_MINUTES * 60
    stack = describe_stack(cloudformation, stack_name)
    status = stack["StackStatus"] if stack else ""
    if status == "ROLLBACK_COMPLETE":
        raise DeployError(
            f"stack {stack_name} is ROLLBACK_COMPLETE (its creation failed: "
            f"{first_failure(cloudformation, stack_name)}); delete it "
            f"(aws cloudformation delete-stack --stack-name {stack_name}) and deploy again"
        )
    if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise DeployError(f"stack {stack_name} is {status}: wait for it to finish")
    # A stack only in review is a change set that never ran: create it again.
    change_type = "UPDATE" if stack and status != "REVIEW_IN_PROGRESS" else "CREATE"
    name = f"deploy-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    cloudformation.create_change_set(
        StackName=stack_name,
        ChangeSetName=name,
        ChangeSetType=change_type,
        TemplateBody=template_body,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        RoleARN=role_arn,
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Tags=stack_tags,
    )
    try:
        cloudformation.get_waiter("change_set_create_complete").wait(
            StackName=stack_name,
            ChangeSetName=name,
            WaiterConfig=waiter_config(poll_seconds, deadline),
        )
    except WaiterError:
        change_set = cloudformation.describe_change_set(StackName=stack_name, ChangeSetName=name)
        reason = change_set.get("StatusReason", "")
        if any(text in reason for text in NO_CHANGES):
            cloudformation.delete_change_set(StackName=stack_name, ChangeSetName=name)
            return "no changes"
        raise DeployError(
            f"change set {name} of stack {stack_name} failed: {' '.join(reason.split())}"
        ) from None
    cloudformation.execute_change_set(StackName=stack_name, ChangeSetName=name)
    waiter = "stack_create_complete" if change_type == "CREATE" else "stack_update_complete"
    try:
        cloudformation.get_waiter(waiter).wait(
            StackName=stack_name, WaiterConfig=waiter_config(poll_seconds, deadline)
        )
    except WaiterError as error:
        if "Max attempts exceeded" in str(error):
            status = (describe_stack(cloudformation, stack_name) or {}).get("StackStatus")
            raise DeployError(
                f"stack {stack_name} is still {status} after the {config.DEPLOY_WAIT_MINUTES} "
                "minutes a deployment may take: see its events in the CloudFormation console"
            ) from None
        raise DeployError(
            f"stack {stack_name}: {first_failure(cloudformation, stack_name)}"
        ) from None
    return "created" if change_type == "CREATE" else "updated"
