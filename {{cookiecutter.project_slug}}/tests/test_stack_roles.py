"""Stacks against their role: for every resource of every stack the deploy helper creates with a
CloudFormation service role, that role may make every call the resource's handlers list (create,
update, delete, and the tagging permissions of every taggable type: the stack's tags reach each
resource). A missing permission is no error until CloudFormation rolls the stack back in AWS.
The feature group's stack, deployed by hand, is held by the role it passes to Feature Store (at
the end of this module).

Where the data comes from:
- which stacks a role deploys: `deploy.stacks.deploy`, run with its AWS calls recorded;
- the handler permissions: the resource provider schemas that cfn-lint ships;
- which resource each call acts on: the service authorization reference that cfn-lint ships
  (each action's resource types and their ARN formats), filled with the stack's own resources'
  names and with the ARNs its properties name (a role passed, a key used);
- whether the role's policy allows the call: the project's evaluator (iam_evaluation.py, IAM's
  evaluation logic with its condition operators).

Simplifications, each on the side of asking for more: a name CloudFormation generates is a
made-up one (`<stack>-<logical id>-<suffix>`, as CloudFormation names them), so only a policy
that allows every name of the project's tag or prefix passes; every resource of a template is
checked whatever its condition (a stage's config decides which are made); a call that creates
the resource is evaluated without the resource's tags (it has none yet), every other one with
the stack's tags on the resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources as package_data
from typing import Any

import pytest
from conftest import load_cloudformation
from deploy_support import registered_package
from iam_evaluation import Request, allows
{%- if cookiecutter.feature_store == "yes" %}
from policies import Request as PolicyRequest
{%- endif %}
from policies import {% if cookiecutter.feature_store == "yes" %}Role, evaluate, project_stacks, {% endif %}pseudo_parameters
{%- if cookiecutter.feature_store == "yes" %}
from policies import Stack as ProjectStack
{%- endif %}

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.deploy import {% if cookiecutter.feature_store == "yes" %}bootstrap, {% endif %}stacks, templates
from {{ cookiecutter.package_name }}.deploy.stage import Stage

PARTITION = "aws"
REGION = config.AWS_REGION
# The stack of infra/deployment-account.yaml, whose outputs the stage stacks import.
DEPLOYMENT_STACK = f"{config.PROJECT_SLUG}-deployment"

# Calls a handler makes only for a property (or a property's value) the resource does not set
# here: checked where the resource sets it. Each property is one of the type's schema
# (test_every_exemption_names_a_property_and_permission_of_its_type keeps this table honest).
ONLY_WITH: dict[str, dict[str, tuple[str, ...]]] = {
    "AWS::Lambda::Function": {
        "VpcConfig": (
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "ec2:DescribeNetworkInterfaces",
        ),
        "FileSystemConfigs": ("elasticfilesystem:DescribeMountTargets", "s3files:ListMountTargets"),
        # Code from a bucket, not inline.
        "Code.S3Bucket": ("s3:GetObject", "s3:GetObjectVersion"),
        "CodeSigningConfigArn": (
            "lambda:GetCodeSigningConfig",
            "lambda:PutFunctionCodeSigningConfig",
            "lambda:DeleteFunctionCodeSigningConfig",
        ),
        "Layers": ("lambda:GetLayerVersion",),
        "RuntimeManagementConfig": ("lambda:PutRuntimeManagementConfig",),
        # A customer-managed runtime's alias.
        "RuntimeManagementConfig.RuntimeVersionArn": ("lambda:AssociateRuntimeAlias",),
        "RecursiveLoop": ("lambda:PutFunctionRecursionConfig",),
        "FunctionScalingConfig": ("lambda:PutFunctionScalingConfig",),
        "CapacityProviderConfig": ("lambda:PassCapacityProvider",),
        "PublishToLatestPublished": ("lambda:PublishVersion",),
    },
    "AWS::Logs::LogGroup": {
        # The data protection policy's audit findings go to logs, S3 or Firehose.
        "DataProtectionPolicy": (
            "logs:PutDataProtectionPolicy",
            "logs:DeleteDataProtectionPolicy",
            "logs:CreateLogDelivery",
            "s3:REST.PUT.OBJECT",
            "firehose:TagDeliveryStream",
        ),
        "ResourcePolicyDocument": (
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DeleteResourcePolicy",
        ),
        "FieldIndexPolicies": (
            "logs:PutIndexPolicy",
            "logs:DescribeIndexPolicies",
            "logs:DeleteIndexPolicy",
        ),
        "BearerTokenAuthenticationEnabled": ("logs:PutBearerTokenAuthentication",),
        "DeletionProtectionEnabled": ("logs:PutLogGroupDeletionProtection",),
    },
    "AWS::SNS::Topic": {
        "DataProtectionPolicy": ("sns:GetDataProtectionPolicy", "sns:PutDataProtectionPolicy"),
        # The role that writes delivery status logs.
        "DeliveryStatusLogging": ("iam:GetRole", "iam:PassRole"),
    },
    "AWS::SNS::Subscription": {"SubscriptionRoleArn": ("iam:GetRole", "iam:PassRole")},
    "AWS::SageMaker::EndpointConfig": {"ExecutionRoleArn": ("iam:PassRole",)},
    # The rule's own role, or a target's role (a Lambda target needs none).
    "AWS::Events::Rule": {"RoleArn": ("iam:PassRole",), "Targets.RoleArn": ("iam:PassRole",)},
    "AWS::ApplicationAutoScaling::ScalableTarget": {
        "RoleARN": ("iam:PassRole",),
        "ScheduledActions": (
            "application-autoscaling:PutScheduledAction",
            "application-autoscaling:DeleteScheduledAction",
        ),
        # Provisioned concurrency is what Application Auto Scaling scales of a Lambda function.
        "ServiceNamespace=lambda": (
            "lambda:GetProvisionedConcurrencyConfig",
            "lambda:PutProvisionedConcurrencyConfig",
            "lambda:DeleteProvisionedConcurrencyConfig",
        ),
    },
}

# Actions whose resource types in the reference are all optional for the call made here: they
# are granted on `*`. (GetMetricData reads metrics, which have no ARN; `dataset` is only for
# CloudWatch datasets.)
ON_ANY_RESOURCE = {"cloudwatch:getmetricdata"}

# Service namespace of a scalable target -> the service-linked role Application Auto Scaling
# creates at the first registration (its name is the service's documented one).
SCALING_SERVICE_LINKED_ROLES = {
    "sagemaker": (
        "sagemaker.application-autoscaling.amazonaws.com",
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
    ),
}


def policies_json() -> dict[str, Any]:
    """The service authorization reference as cfn-lint ships it: service -> Actions (lower-case
    action -> its resource types) and Resources (type -> ARN formats, names as `.*`)."""
    text = (package_data.files("cfnlint.data.AdditionalSpecs") / "Policies.json").read_text(
        encoding="utf-8"
    )
    return json.loads(text)


SERVICES = policies_json()


def provider_schema(kind: str) -> dict[str, Any]:
    """The resource provider schema of `kind` in the project's region, as cfn-lint ships it
    (a region's file maps each type to the file of its schema)."""
    data = package_data.files("cfnlint.data.schemas")
    region = data / "providers" / f"{REGION}.json"
    digest = json.loads(region.read_text(encoding="utf-8"))[kind]
    return json.loads((data / "resources" / f"{digest}.json").read_text(encoding="utf-8"))


def normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def action_resource_types(action: str) -> list[str] | None:
    """The resource types the reference lists for an action (None: unknown action; []: one
    that takes no resource, granted on `*`)."""
    service, name = action.lower().split(":", 1)
    found = SERVICES.get(service, {}).get("Actions", {}).get(name)
    return None if found is None else list(found.get("Resources") or [])


def arn_formats(service: str, resource_type: str) -> list[str]:
    """The ARN formats of a resource type (the reference's keys are lower case, its actions'
    resource types not always)."""
    return SERVICES[service]["Resources"][resource_type.lower()]["ARNFormats"]


def arn_regex(service: str, resource_type: str) -> list[re.Pattern[str]]:
    formats = arn_formats(service, resource_type)
    patterns = []
    for arn_format in formats:
        escaped = re.escape(arn_format).replace(re.escape(".*"), ".*")
        for variable in ("Partition", "Region", "Account"):
            escaped = escaped.replace(re.escape("${" + variable + "}"), "[^:]*")
        patterns.append(re.compile(f"^{escaped}$"))
    return patterns


def own_resource_type(kind: str, service: str) -> str | None:
    """The reference's resource type of a CloudFormation type (AWS::SageMaker::EndpointConfig
    -> endpoint-config, AWS::Events::Rule -> rule-on-default-event-bus), or None."""
    wanted = normalized(kind.split("::")[2])
    types = SERVICES.get(service, {}).get("Resources", {})
    for name in types:
        if normalized(name) == wanted:
            return name
    for name in types:
        if normalized(name).startswith(wanted + "ondefault"):
            return name
    return None


def fill_arn(service: str, resource_type: str, account: str, name: str) -> str:
    arn_format = arn_formats(service, resource_type)[0]
    arn = (
        arn_format.replace("${Partition}", PARTITION)
        .replace("${Region}", REGION)
        .replace("${Account}", account)
    )
    return arn.replace(".*", name, 1).replace(".*", "x")


# --- templates with their values filled in ---------------------------------------------------


class Stack:
    """One stack of a template: its parameters, account and resources' names and ARNs."""

    def __init__(
        self,
        template: dict[str, Any],
        name: str,
        account: str,
        parameters: dict[str, str],
        imports: dict[str, str] | None = None,
    ) -> None:
        self.template, self.name, self.account = template, name, account
        self.parameters = {
            key: str(spec.get("Default", ""))
            for key, spec in template.get("Parameters", {}).items()
        } | parameters
        self.imports = imports or {}
        self.resources: dict[str, dict[str, Any]] = template["Resources"]

    def pseudo(self, name: str) -> str:
        return pseudo_parameters(self.account, self.name)[name]

    def physical_name(self, logical: str) -> str:
        """The name the template gives the resource, else one as CloudFormation makes them."""
        resource = self.resources[logical]
        short = resource["Type"].split("::")[2]
        properties = resource.get("Properties", {})
        for key in (f"{short}Name", "Name", "RoleName", "JobDefinitionName"):
            if key in properties:
                return self.resolve(properties[key])
        return f"{self.name}-{logical}-1A2B3C4D5E6F7"

    def arn(self, logical: str) -> str:
        """The resource's ARN; its name where the reference has no resource type for it (a
        scaling policy, whose calls act on its scalable target)."""
        kind = self.resources[logical]["Type"]
        service = kind.split("::")[1].lower()
        service = {"applicationautoscaling": "application-autoscaling"}.get(service, service)
        resource_type = own_resource_type(kind, service)
        if resource_type is None:
            return self.physical_name(logical)
        return fill_arn(service, resource_type, self.account, self.physical_name(logical))

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return None if name == "AWS::NoValue" else self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        # A reference to another resource: the calls that use it act on it, so its ARN.
        return self.arn(name)

    def substitute(self, text: str, variables: dict[str, Any]) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            return str(self.ref(name.split(".")[0]))

        return re.sub(r"\$\{([^!}][^}]*)\}", value, text)

    def resolve(self, node: Any) -> Any:
        """The value with every intrinsic function evaluated; Fn::If gives both branches."""
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Ref":
                return self.ref(argument)
            if function == "Fn::GetAtt":
                logical = argument[0] if isinstance(argument, list) else argument.split(".")[0]
                return self.arn(logical)
            if function == "Fn::Sub":
                if isinstance(argument, list):
                    return self.substitute(argument[0], argument[1])
                return self.substitute(argument, {})
            if function == "Fn::ImportValue":
                return self.imports[self.resolve(argument)]
            if function == "Fn::If":
                return [self.resolve(argument[1]), self.resolve(argument[2])]
            if function == "Fn::Join":
                parts = [str(self.resolve(part)) for part in self.resolve(argument[1])]
                return str(self.resolve(argument[0])).join(parts)
            if function.startswith("Fn::"):
                return None  # Select, Split, ...: no ARN the checks need comes from them
        return {key: self.resolve(value) for key, value in node.items()}

    def exports(self) -> dict[str, str]:
        return {
            self.resolve(output["Export"]["Name"]): self.resolve(output["Value"])
            for output in self.template.get("Outputs", {}).values()
            if "Export" in output
        }


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def property_set(properties: Any, path: str) -> bool:
    """Whether `Name`, `Name.Sub` (of any item of a list) or `Name=value` holds of the
    resource's properties."""
    path, _, wanted = path.partition("=")
    key, _, rest = path.partition(".")
    if isinstance(properties, list):
        return any(
            property_set(item, path + (f"={wanted}" if wanted else "")) for item in properties
        )
    if not isinstance(properties, dict) or key not in properties:
        return False
    if rest:
        return property_set(properties[key], rest + (f"={wanted}" if wanted else ""))
    return not wanted or properties[key] == wanted


# --- what CloudFormation calls, on what -------------------------------------------------------


@dataclass(frozen=True)
class Call:
    stack: str
    logical: str
    kind: str
    action: str
    resource: str
    context: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return f"{self.stack} {self.logical} ({self.kind}): {self.action} on {self.resource}"


def handler_permissions(schema: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(phase, action) of the create, update and delete handlers, and the tagging permissions
    of a taggable type (phase "tag": on create and on every later update of the stack's tags)."""
    for phase in ("create", "update", "delete"):
        for action in schema.get("handlers", {}).get(phase, {}).get("permissions", []):
            yield phase, action
    tagging = schema.get("tagging", {})
    if tagging.get("taggable"):
        for action in tagging.get("permissions", []):
            yield "tag", action


CREATING_VERBS = ("create", "put", "register", "add", "tag")


def contexts(phase: str, action: str, tags: dict[str, str], own: bool) -> list[dict[str, str]]:
    """The condition keys of the call: the stack's tags in the request; on the resource too,
    unless the call brings the resource into being (then it has none yet). A tag is added on
    creation and on every later change of the stack's tags; other resources the call names
    already exist."""
    request = {f"aws:RequestTag/{key}": value for key, value in tags.items()}
    existing = request | {f"aws:ResourceTag/{key}": value for key, value in tags.items()}
    creating = action.split(":", 1)[1].lower().startswith(CREATING_VERBS)
    if own and creating and phase == "create":
        return [request]
    if own and creating and phase == "tag":
        return [request, existing]
    return [existing]


def calls_of(stack: Stack, tags: dict[str, str]) -> Iterator[Call]:
    for logical, resource in stack.resources.items():
        kind = resource["Type"]
        schema = provider_schema(kind)
        properties = stack.resolve(resource.get("Properties", {}))
        only_with: dict[str, list[str]] = {}
        for path, actions in ONLY_WITH.get(kind, {}).items():
            for action in actions:
                only_with.setdefault(action, []).append(path)
        exempt = {
            action
            for action, paths in only_with.items()
            if not any(property_set(resource.get("Properties", {}), path) for path in paths)
        }
        # A function's environment is data its code reads: CloudFormation acts on none of it.
        acted_on = {
            key: value
            for key, value in properties.items()
            if not (kind == "AWS::Lambda::Function" and key == "Environment")
        }
        named = [text for text in strings(acted_on) if text.startswith("arn:")]
        own_arn = stack.arn(logical)
        tagging = set(schema.get("tagging", {}).get("permissions", []))
        for phase, action in handler_permissions(schema):
            if action in exempt:
                continue
            # A tagging call acts on the resource itself, whatever else it names.
            others = [] if action in tagging else named
            for resource_arn, extra in resources_of(kind, action, own_arn, others, properties):
                for context in contexts(phase, action, tags, resource_arn == own_arn):
                    yield Call(
                        stack.name,
                        logical,
                        kind,
                        action,
                        resource_arn,
                        tuple(sorted((context | extra).items())),
                    )


def resources_of(
    kind: str, action: str, own_arn: str, named: list[str], properties: dict[str, Any]
) -> list[tuple[str, dict[str, str]]]:
    """The resources `action` acts on for this resource, with the call's own condition keys:
    the resource itself, the ARNs its properties name that are of a type the action takes,
    `*` for an action that takes none, and the service-linked role a scalable target makes."""
    service = action.split(":", 1)[0].lower()
    types = action_resource_types(action)
    assert types is not None, f"{kind}: {action} is in no service authorization reference"
    if not types or action.lower() in ON_ANY_RESOURCE:
        return [("*", {})]
    found: list[tuple[str, dict[str, str]]] = []
    own_type = own_resource_type(kind, service)
    if own_type is not None and own_type in {name.lower() for name in types}:
        found.append((own_arn, {}))
    for resource_type in types:
        patterns = arn_regex(service, resource_type)
        for arn in named:
            if arn != own_arn and any(pattern.match(arn) for pattern in patterns):
                extra = {}
                if action.lower() == "iam:passrole":
                    extra = {"iam:PassedToService": passed_to(kind)}
                found.append((arn, extra))
    if kind == "AWS::ApplicationAutoScaling::ScalableTarget" and not found:
        namespace = properties["ServiceNamespace"]
        if action.lower() == "iam:createservicelinkedrole":
            service_name, role = SCALING_SERVICE_LINKED_ROLES[namespace]
            arn = f"arn:{PARTITION}:iam::{own_arn.split(':')[4]}:role/aws-service-role/"
            found.append((f"{arn}{service_name}/{role}", {"iam:AWSServiceName": service_name}))
        elif service == "cloudwatch":
            # The alarms of the target's target-tracking policies.
            account = own_arn.split(":")[4]
            resource_id = properties["ResourceId"]
            alarm = f"TargetTracking-{resource_id}-AlarmHigh-00000000"
            found.append((f"arn:{PARTITION}:cloudwatch:{REGION}:{account}:alarm:{alarm}", {}))
    assert found, (
        f"{kind}: no resource of the stack for {action} (types {types}): name the property it "
        "needs in ONLY_WITH, or find its resource"
    )
    return found


def passed_to(kind: str) -> str:
    """The service a role is passed to: the resource's own (the events rule's targets' role
    goes to EventBridge)."""
    service = kind.split("::")[1].lower()
    return {"events": "events.amazonaws.com", "sagemaker": "sagemaker.amazonaws.com"}.get(
        service, f"{service}.amazonaws.com"
    )


# --- the role's policy ----------------------------------------------------------------------


def allowed(statements: list[dict[str, Any]], call: Call) -> bool:
    """Whether the role's statements allow the call, by the project's evaluator."""
    request = Request(call.action, call.resource, context=dict(call.context))
    return allows([{"Statement": statements}], request)


def role_statements(stack: Stack, role_arn: str) -> list[dict[str, Any]]:
    """The resolved statements of the template's role whose ARN is `role_arn`."""
    for logical, resource in stack.resources.items():
        if resource["Type"] == "AWS::IAM::Role" and stack.arn(logical) == role_arn:
            return [
                statement
                for policy in stack.resolve(resource["Properties"].get("Policies", []))
                for statement in policy["PolicyDocument"]["Statement"]
            ]
    raise AssertionError(f"no role {role_arn} in infra/deployment-account.yaml")


# --- the stacks the deploy helper makes -------------------------------------------------------


@dataclass(frozen=True)
class Deployed:
    stack_name: str
    template: str
    parameters: dict[str, str]
    role_arn: str
    tags: dict[str, str]


def deployed_stacks(stage: Stage, monkeypatch: pytest.MonkeyPatch) -> list[Deployed]:
    """What `stacks.deploy` creates for the stage, and with which role, its AWS calls recorded
    instead of made."""
    recorded: list[Deployed] = []

    def create_or_update(_, name, body, parameters, role_arn, stack_tags, *args) -> str:
        tags = {tag["Key"]: tag["Value"] for tag in stack_tags}
        recorded.append(Deployed(name, body, dict(parameters), role_arn, tags))
        return "created"

    class Registry:
        """The tooling account's answer for the package, with what the pipeline records for
        its monitor (what the monitoring stack's parameters are read from)."""

        def describe_model_package(self, ModelPackageName: str) -> dict[str, Any]:
            return registered_package(ModelPackageName)

    monkeypatch.setattr(stacks, "create_or_update", create_or_update)
    monkeypatch.setattr(stacks, "describe_stack", lambda *_: None)
    package = (
        f"arn:{PARTITION}:sagemaker:{REGION}:{config.AWS_ACCOUNT_ID}:model-package/"
        f"{config.MODEL_PACKAGE_GROUP}/1"
    )
    stacks.deploy(stage, package, False, object(), poll_seconds=0, sagemaker=Registry())
    return recorded


def stage_account_stack(account: str) -> Stack:
    template = load_cloudformation("deployment-account.yaml")
    return Stack(template, DEPLOYMENT_STACK, account, {"ToolingAccountId": config.AWS_ACCOUNT_ID})


def missing_calls(stage_name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Call], int]:
    stage = Stage.load(stage_name)
    account_stack = stage_account_stack(stage.account)
    missing, checked = [], 0
    deployed = deployed_stacks(stage, monkeypatch)
    assert deployed and {item.role_arn for item in deployed} == {stage.cloudformation_role_arn}
    for item in deployed:
        statements = role_statements(account_stack, item.role_arn)
        template = templates.load(item.template)
        stack = Stack(
            template, item.stack_name, stage.account, item.parameters, account_stack.exports()
        )
        for call in calls_of(stack, item.tags):
            checked += 1
            if not allowed(statements, call):
                missing.append(call)
    return missing, checked


@pytest.mark.parametrize("stage_name", config.STAGES)
def test_the_cloudformation_role_may_make_every_call_of_its_stacks_handlers(
    stage_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing, checked = missing_calls(stage_name, monkeypatch)
    assert checked > 0
    assert [f"{call} with {dict(call.context)}" for call in missing] == []


def test_a_policy_without_one_permission_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: the role's policy without cloudwatch:PutMetricAlarm misses the
    endpoint stack's alarms."""
    original = Stack.resolve

    def without_put_metric_alarm(self: Stack, node: Any) -> Any:
        value = original(self, node)
        if isinstance(value, dict) and isinstance(value.get("Action"), list):
            return {
                **value,
                "Action": [a for a in value["Action"] if a != "cloudwatch:PutMetricAlarm"],
            }
        return value

    monkeypatch.setattr(Stack, "resolve", without_put_metric_alarm)
    missing, _ = missing_calls(config.STAGES[0], monkeypatch)
    assert {(call.kind, call.action) for call in missing} >= {
        ("AWS::CloudWatch::Alarm", "cloudwatch:PutMetricAlarm")
    }


def test_a_create_under_a_resource_tag_condition_is_refused() -> None:
    """A resource being created has no tags yet: a statement that allows its creation only for
    a resource tag allows nothing then."""
    statement = {
        "Effect": "Allow",
        "Action": "sagemaker:CreateModel",
        "Resource": "arn:aws:sagemaker:*:*:model/*",
        "Condition": {"StringEquals": {"aws:ResourceTag/project": config.PROJECT_SLUG}},
    }
    tags = {"project": config.PROJECT_SLUG}
    (context,) = contexts("create", "sagemaker:CreateModel", tags, own=True)
    call = Call(
        "s",
        "Model",
        "AWS::SageMaker::Model",
        "sagemaker:CreateModel",
        f"arn:aws:sagemaker:{REGION}:111111111111:model/m",
        tuple(context.items()),
    )
    assert not allowed([statement], call)
    (context,) = contexts("update", "sagemaker:DescribeModel", tags, own=True)
    assert allowed(
        [statement | {"Action": "sagemaker:DescribeModel"}],
        Call(
            **{
                **call.__dict__,
                "action": "sagemaker:DescribeModel",
                "context": tuple(context.items()),
            }
        ),
    )


def test_every_exemption_names_a_property_and_permission_of_its_type() -> None:
    for kind, paths in ONLY_WITH.items():
        schema = provider_schema(kind)
        permissions = {action for _, action in handler_permissions(schema)}
        for path, actions in paths.items():
            assert path.split("=")[0].split(".")[0] in schema["properties"], (kind, path)
            assert set(actions) <= permissions, (kind, path, set(actions) - permissions)
{%- if cookiecutter.feature_store == "yes" %}


# --- the feature group's stack: deployed by hand, its offline store written as its own role ---
#
# `make feature-store-stack` deploys it with its deployer's own credentials (no service role):
# what the stack must get right is the role it passes to Feature Store (RoleArn), which writes
# the offline store's files as that role: AmazonSageMakerFeatureStoreAccess's S3 actions, and the
# data keys of the offline store's key (GenerateDataKey to write, Decrypt to complete a multipart
# upload). Each call is decided as AWS would (policies.evaluate: the role's policy, the bucket's
# and the key's), on the files' layout Feature Store documents
# (<S3Uri>/<account>/sagemaker/<region>/offline-store/<group>-<time>/data/year=.../).
# https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-adding-policies.html
# https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-offline.html


@pytest.fixture(scope="module")
def feature_group() -> dict[str, Any]:
    """The feature group as `make feature-store-stack` deploys it (the schema's features), its
    properties resolved in the tooling account beside the base stack's exports."""
    from {{ cookiecutter.package_name }}.deploy import feature_group as rendered

    (step,) = [s for s in bootstrap.steps() if s.template == "infra/feature-store.yaml"]
    body = rendered.template()
    defaults = {
        key: str(spec["Default"]) for key, spec in body["Parameters"].items() if "Default" in spec
    }
    stack = ProjectStack(
        "feature-store.yaml", step.stack_name, step.account, body, defaults, project_stacks()
    )
    return stack.resolve(body["Resources"]["FeatureGroup"]["Properties"])


def s3_request(role: Role, action: str, resource: str, **context: Any) -> PolicyRequest:
    """The request, with the keys every call over TLS by a role carries."""
    given = {"aws:PrincipalArn": role.arn, "aws:PrincipalAccount": role.account}
    given["aws:SecureTransport"] = "true"
    return PolicyRequest(role, action, resource, {**given, **context})


def through_s3(role: Role, file: str) -> dict[str, str]:
    """The context of a key's use by S3 for a file, on the role's behalf."""
    return {
        "kms:ViaService": f"s3.{REGION}.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": file,
        "kms:CallerAccount": role.account,
    }


def offline_store_file(feature_group: dict[str, Any]) -> tuple[str, str, str]:
    """(bucket ARN, a file of the offline store as Feature Store names it, its prefix)."""
    uri = feature_group["OfflineStoreConfig"]["S3StorageConfig"]["S3Uri"]
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    where = f"{prefix}/{config.AWS_ACCOUNT_ID}/sagemaker/{REGION}/offline-store/"
    folder = f"{where}{feature_group['FeatureGroupName']}-1767605400/data/year=2026/month=01/"
    name = f"{folder}day=05/hour=09/20260105T093000Z_abc.parquet"
    return f"arn:{PARTITION}:s3:::{bucket}", f"arn:{PARTITION}:s3:::{bucket}/{name}", prefix


def test_feature_store_may_write_the_offline_store_as_the_role_the_stack_passes(feature_group):
    stacks = project_stacks()
    role = stacks.role(feature_group["RoleArn"])
    assert role.where.startswith("infra/feature-store.yaml")
    bucket, file, _ = offline_store_file(feature_group)
    key = feature_group["OfflineStoreConfig"]["S3StorageConfig"]["KmsKeyId"]
    via_s3 = through_s3(role, file)
    requests = [
        s3_request(role, "s3:PutObject", file),
        s3_request(role, "s3:PutObjectAcl", file),
        s3_request(role, "s3:GetBucketAcl", bucket),
        s3_request(role, "kms:GenerateDataKey", key, **via_s3),
        s3_request(role, "kms:Decrypt", key, **via_s3),
    ]
    refused = {r.action: evaluate(r).reasons for r in requests if not evaluate(r).allowed}
    assert refused == {}
    # The role writes the offline store and nothing else of the bucket.
    elsewhere = bucket + "/" + config.PIPELINE_NAME + "/model.tar.gz"
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        assert not evaluate(s3_request(role, action, elsewhere)).allowed, action
    assert not evaluate(s3_request(role, "s3:GetObject", file)).allowed


def test_the_pipeline_reads_the_offline_store_it_trains_on(feature_group):
    """The Snapshot step's input is the offline store's prefix, which SageMaker downloads as the
    execution role: list the prefix, read the files, decrypt them through S3."""
    stacks = project_stacks()
    base = stacks.stack("base.yaml", config.AWS_ACCOUNT_ID)
    execution = stacks.role(base.attribute("ExecutionRole", "Arn"))
    bucket, file, prefix = offline_store_file(feature_group)
    key = feature_group["OfflineStoreConfig"]["S3StorageConfig"]["KmsKeyId"]
    via_s3 = through_s3(execution, file)
    requests = [
        s3_request(execution, "s3:ListBucket", bucket, **{"s3:prefix": f"{prefix}/"}),
        s3_request(execution, "s3:GetObject", file),
        s3_request(execution, "kms:Decrypt", key, **via_s3),
    ]
    refused = {r.action: evaluate(r).reasons for r in requests if not evaluate(r).allowed}
    assert refused == {}
{%- endif %}
