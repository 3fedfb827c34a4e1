"""Keys against their users. Every resource of every stack in infra/ that names a KMS key is
matched to the key it names (in its own stack or another, through Ref, GetAtt, ImportValue or a
parameter's default), and every principal that uses the key for that resource (a service such
as CloudWatch Logs, or the role the resource runs as) is held against the key's policy, and
against its own policies where the key policy leaves the decision to IAM, with the request the
service makes: its actions and context keys, as the AWS page linked beside each requirement
documents them. The policies are evaluated by tests/iam_evaluation.py, not matched as text.

Also: the key fields of the pipeline's jobs get what SageMaker's API takes there (a key ARN
where botocore's model of the API documents no alias)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from conftest import load_cloudformation
from iam_evaluation import Request, as_list, decision, kms_allows
from pipeline_support import all_steps

from {{ cookiecutter.package_name }} import arns, config
from {{ cookiecutter.package_name }}.deploy import bootstrap
from {{ cookiecutter.package_name }}.deploy.stage import Stage

PARTITION = "aws"
REGION = config.AWS_REGION
SLUG = config.PROJECT_SLUG

# What each service asks of a key, from the page of AWS's documentation it links.
LOGS = {
    "doc": "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
    # The key policy of step 2 ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*",
    # "kms:GenerateDataKey*", "kms:Describe*"), with the log group's ARN as encryption context.
    "actions": [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
    ],
}
# A service that sends to an encrypted topic or queue: a data key, and its decryption.
SNS_FROM_SERVICES = {
    "doc": "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services",
    "actions": ["kms:GenerateDataKey", "kms:Decrypt"],
}
SQS_FROM_SERVICES = {
    "doc": "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html#compatibility-with-aws-services",
    "actions": ["kms:GenerateDataKey", "kms:Decrypt"],
}
SQS_PRODUCER = {
    "doc": "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html#send-to-encrypted-queue",
    "actions": ["kms:GenerateDataKey", "kms:Decrypt"],
}
LAMBDA_ENVIRONMENT = {
    "doc": "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html",
    "actions": ["kms:Decrypt"],
}
# SageMaker makes a grant for the instances' volumes as the caller of CreateEndpoint (and of a
# job's Create* for its volume): kms:GrantIsForAWSResource is true on that request.
SAGEMAKER_VOLUME = {
    "doc": "https://docs.aws.amazon.com/sagemaker/latest/dg/api-permissions-reference.html",
    "actions": ["kms:CreateGrant"],
    "context": {"kms:GrantIsForAWSResource": True},
}
# Objects written with SSE-KMS (job outputs, captured data, artifacts): a data key to write,
# decryption to read and to complete multipart uploads.
S3_WRITER = {
    "doc": "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#aws-managed-customer-managed-keys",
    "actions": ["kms:GenerateDataKey", "kms:Decrypt"],
}
# Where the resource does not name who writes (bucket default encryption, ECR repositories),
# the key policy must let the account's IAM policies decide (the roles are tested elsewhere).
ACCOUNT_DECIDES = {
    "doc": "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam",
    "actions": ["kms:GenerateDataKey", "kms:Decrypt", "kms:CreateGrant", "kms:DescribeKey"],
    "key_policy_only": True,
}
# The offline store's role (the RoleArn of CreateFeatureGroup) makes the data keys of the files
# it writes; whoever calls PutRecord on a group whose online store has a key decrypts with it.
FEATURE_STORE_OFFLINE = {
    "doc": "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-sagemaker-featuregroup-s3storageconfig.html",
    "actions": ["kms:GenerateDataKey"],
}
FEATURE_STORE_WRITER = {
    "doc": "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OnlineStoreSecurityConfig.html",
    "actions": ["kms:Decrypt"],
}
# The KMS operations whose requests carry kms:GrantIsForAWSResource.
# https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource
GRANT_OPERATIONS = {"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}

# Where each resource type names a key (`*` for every item of a list), and who uses it there.
KEY_PROPERTIES: dict[str, dict[tuple[str, ...], str]] = {
    "AWS::Logs::LogGroup": {("KmsKeyId",): "log group"},
    "AWS::SNS::Topic": {("KmsMasterKeyId",): "topic"},
    "AWS::SQS::Queue": {("KmsMasterKeyId",): "queue"},
    "AWS::Lambda::Function": {
        ("KmsKeyArn",): "function environment",
        # The batch and monitoring stacks' functions start jobs with this key (their volumes;
        # a monitoring job's manifests and outputs, written by the function and the job's role).
        ("Environment", "Variables", "KMS_KEY_ARN"): "jobs",
    },
    "AWS::S3::Bucket": {
        (
            "BucketEncryption",
            "ServerSideEncryptionConfiguration",
            "*",
            "ServerSideEncryptionByDefault",
            "KMSMasterKeyID",
        ): "account",
    },
    "AWS::ECR::Repository": {("EncryptionConfiguration", "KmsKey"): "account"},
    "AWS::SageMaker::EndpointConfig": {
        ("KmsKeyId",): "endpoint volumes",
        ("DataCaptureConfig", "KmsKeyId"): "captured data",
    },
    "AWS::CodeBuild::Project": {("EncryptionKey",): "build artifacts"},
    "AWS::SageMaker::FeatureGroup": {
        ("OfflineStoreConfig", "S3StorageConfig", "KmsKeyId"): "offline store",
        ("OnlineStoreConfig", "SecurityConfig", "KmsKeyId"): "online store",
    },
    "AWS::CodePipeline::Pipeline": {("ArtifactStore", "EncryptionKey", "Id"): "pipeline artifacts"},
}
# A property name that names a key (the check that KEY_PROPERTIES misses none).
KEY_NAME = re.compile(r"kms|encryptionkey", re.IGNORECASE)


@dataclass
class Stack:
    file: str
    name: str
    account: str
    template: dict[str, Any]
    parameters: dict[str, str]
    # The role CloudFormation creates the stack's resources as; None where a person deploys it.
    cloudformation_role: str | None = None
    resources: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.resources = self.template.get("Resources", {})


def _stacks() -> list[Stack]:
    """Every stack of this project, in its account, as bootstrap.py and the deploy helper name
    them: the stacks deployed once, and each stage's endpoint, batch and monitoring stacks."""
    infra = config.PROJECT_DIR / "infra"
    found = []
    for step in bootstrap.steps():
        file = Path(step.template).name
        parameters = dict(parameter.split("=", 1) for parameter in step.parameters)
        template = load_cloudformation(file)
        found.append(Stack(file, step.stack_name, step.account, template, parameters))
    package = f"arn:{PARTITION}:sagemaker:{REGION}:{config.AWS_ACCOUNT_ID}:model-package/{SLUG}/1"
    for name in config.STAGES:
        stage = Stage.load(name)
        # The parameters the deploy helper passes (deploy/stacks.py), where they are known here.
        for file, stack_name, passed in (
            ("endpoint.yaml", stage.stack_name, stage.stack_parameters(package)),
            ("batch-transform.yaml", stage.batch_stack_name, {"ModelPackageArn": package}),
            ("monitoring.yaml", stage.monitoring_stack_name, {"EndpointType": stage.endpoint_type}),
        ):
            if (infra / file).is_file():
                parameters = {"Stage": name, **bootstrap.KNOWN_VALUES, **passed}
                found.append(
                    Stack(
                        file,
                        stack_name,
                        stage.account,
                        load_cloudformation(file),
                        parameters,
                        stage.cloudformation_role_arn,
                    )
                )
    return found


# The ARN (GetAtt Arn, and Ref where CloudFormation returns the ARN) and name of each type.
ARNS = {
    "AWS::KMS::Key": "arn:{p}:kms:{r}:{a}:key/{n}",
    "AWS::Logs::LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{n}:*",
    "AWS::SNS::Topic": "arn:{p}:sns:{r}:{a}:{n}",
    "AWS::SQS::Queue": "arn:{p}:sqs:{r}:{a}:{n}",
    "AWS::Events::Rule": "arn:{p}:events:{r}:{a}:rule/{n}",
    "AWS::IAM::Role": "arn:{p}:iam::{a}:role/{n}",
    "AWS::IAM::ManagedPolicy": "arn:{p}:iam::{a}:policy/{n}",
    "AWS::Lambda::Function": "arn:{p}:lambda:{r}:{a}:function:{n}",
    "AWS::CloudWatch::Alarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{n}",
    "AWS::S3::Bucket": "arn:{p}:s3:::{n}",
    "AWS::ECR::Repository": "arn:{p}:ecr:{r}:{a}:repository/{n}",
}
NAME_PROPERTIES = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Events::Rule": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::SageMaker::Model": "ModelName",
}
REF_IS_ARN = {"AWS::SNS::Topic", "AWS::IAM::ManagedPolicy"}
NO_VALUE = object()


def _without_no_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_no_value(v) for k, v in value.items() if v is not NO_VALUE}
    if isinstance(value, list):
        return [_without_no_value(item) for item in value if item is not NO_VALUE]
    return value


class Project:
    """The stacks, with CloudFormation's values worked out: pseudo parameters, parameters (their
    defaults, or what this project passes), resource names and ARNs (a resource without a name
    gets `<stack>-<logical id>`; a key's ID is that too), and the exports between stacks."""

    def __init__(self, stacks: list[Stack]) -> None:
        self.stacks = stacks
        self.exports: dict[tuple[str, str], Any] = {}
        for stack in stacks:
            for output in stack.template.get("Outputs", {}).values():
                if "Export" in output:
                    name = self.resolve(stack, output["Export"]["Name"])
                    self.exports[(stack.account, name)] = self.resolve(stack, output["Value"])
        # Every key, policy and role by its ARN.
        self.by_arn: dict[str, tuple[Stack, str]] = {}
        for stack in stacks:
            for logical, resource in stack.resources.items():
                if resource["Type"] in ARNS:
                    self.by_arn[self.arn(stack, logical)] = (stack, logical)

    def name(self, stack: Stack, logical: str) -> str:
        resource = stack.resources[logical]
        given = resource.get("Properties", {}).get(NAME_PROPERTIES.get(resource["Type"], ""))
        return self.resolve(stack, given) if given else f"{stack.name}-{logical}"

    def arn(self, stack: Stack, logical: str) -> str:
        kind = stack.resources[logical]["Type"]
        return ARNS[kind].format(
            p=PARTITION, r=REGION, a=stack.account, n=self.name(stack, logical)
        )

    def ref(self, stack: Stack, name: str) -> Any:
        pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": REGION,
            "AWS::AccountId": stack.account,
            "AWS::StackName": stack.name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in stack.template.get("Parameters", {}):
            spec = stack.template["Parameters"][name]
            return stack.parameters.get(name, str(spec.get("Default", f"<{name}>")))
        kind = stack.resources[name]["Type"]
        if kind in REF_IS_ARN:
            return self.arn(stack, name)
        return self.name(stack, name)

    def get_att(self, stack: Stack, logical: str, attribute: str) -> str:
        kind = stack.resources[logical]["Type"]
        if attribute in ("Arn", "TopicArn") and kind in ARNS:
            return self.arn(stack, logical).removesuffix(":*")
        if attribute.endswith("Name"):  # QueueName, TopicName, ModelName...
            return self.name(stack, logical)
        return f"{stack.name}-{logical}.{attribute}"

    def resolve(self, stack: Stack, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(stack, item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Fn::", "Ref")):
            return {key: self.resolve(stack, item) for key, item in value.items()}
        ((function, argument),) = value.items()
        if function == "Ref":
            return self.ref(stack, argument)
        if function == "Fn::GetAtt":
            logical, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.get_att(stack, logical, attribute)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            variables = {name: self.resolve(stack, item) for name, item in variables.items()}

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in variables:
                    return str(variables[name])
                if "." in name:
                    return self.get_att(stack, *name.split(".", 1))
                return str(self.ref(stack, name))

            return re.sub(r"\$\{([^!}][^}]*)\}", substitute, text)
        if function == "Fn::ImportValue":
            name = self.resolve(stack, argument)
            assert (stack.account, name) in self.exports, f"{stack.file}: no export {name}"
            return self.exports[(stack.account, name)]
        if function == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.resolve(stack, items))
        if function == "Fn::If":
            condition, if_true, if_false = argument
            chosen = if_true if self.condition(stack, condition) else if_false
            return self.resolve(stack, chosen)
        if function == "Fn::FindInMap":
            table, first, second = self.resolve(stack, argument)
            return stack.template["Mappings"][table][first][second]
        if function == "Fn::Split":
            separator, text = self.resolve(stack, argument)
            return text.split(separator)
        if function == "Fn::Select":
            index, items = self.resolve(stack, argument)
            return items[int(index)]
        if function in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition", "Fn::Condition"):
            return self.evaluate(stack, value)
        raise NotImplementedError(f"{stack.file}: {function}")

    def condition(self, stack: Stack, name: str) -> bool:
        return self.evaluate(stack, stack.template["Conditions"][name])

    def evaluate(self, stack: Stack, value: Any) -> bool:
        ((function, argument),) = value.items()
        # `!Condition X` in YAML, {"Condition": "X"} in JSON.
        if function in ("Condition", "Fn::Condition"):
            return self.condition(stack, argument)
        if function == "Fn::Equals":
            first, second = self.resolve(stack, argument)
            return str(first) == str(second)
        if function == "Fn::Not":
            return not self.evaluate(stack, argument[0])
        if function == "Fn::And":
            return all(self.evaluate(stack, item) for item in argument)
        if function == "Fn::Or":
            return any(self.evaluate(stack, item) for item in argument)
        raise NotImplementedError(f"{stack.file}: condition {function}")

    def properties(self, stack: Stack, logical: str) -> dict[str, Any]:
        """A resource's properties as CloudFormation passes them (Fn::If decided, without
        AWS::NoValue). A resource that its Condition leaves out with these parameters counts:
        other values of them create it (a stage's batch schedule, its endpoint type)."""
        resource = stack.resources[logical]
        return _without_no_value(self.resolve(stack, resource.get("Properties", {})))

    def key(self, stack: Stack, reference: Any) -> tuple[Stack, str]:
        """The key resource a property names (its ARN, ID, alias name or alias ARN)."""
        named = self.resolve(stack, reference)
        for other in self.stacks:
            if other.account != stack.account and f":{other.account}:" not in named:
                continue
            for logical, resource in other.resources.items():
                if resource["Type"] == "AWS::KMS::Key" and named in (
                    self.arn(other, logical),
                    self.name(other, logical),
                ):
                    return other, logical
                if resource["Type"] == "AWS::KMS::Alias":
                    alias = self.resolve(other, resource["Properties"]["AliasName"])
                    arn = f"arn:{PARTITION}:kms:{REGION}:{other.account}:{alias}"
                    if named in (alias, arn):
                        return self.key(other, resource["Properties"]["TargetKeyId"])
        raise AssertionError(f"{stack.file}: {named} is no key of this project")

    def role_policies(self, role_arn: str) -> list[dict[str, Any]]:
        """The identity policies of a role of this project: inline and managed."""
        stack, logical = self.by_arn[role_arn]
        properties = stack.resources[logical]["Properties"]
        # (the stack a document is written in, the document)
        documents = [(stack, policy["PolicyDocument"]) for policy in properties.get("Policies", [])]
        for arn in as_list(self.resolve(stack, properties.get("ManagedPolicyArns", []))):
            if arn in self.by_arn:  # the project's own; AWS managed policies are not read here
                owner, name = self.by_arn[arn]
                documents.append((owner, owner.resources[name]["Properties"]["PolicyDocument"]))
        # Managed policies of the role's stack that name the role (Roles:) instead.
        for resource in stack.resources.values():
            if resource["Type"] == "AWS::IAM::ManagedPolicy":
                roles = self.resolve(stack, resource["Properties"].get("Roles", []))
                if self.name(stack, logical) in roles:
                    documents.append((stack, resource["Properties"]["PolicyDocument"]))
        return [self.resolve(owner, document) for owner, document in documents]


@pytest.fixture(scope="module")
def project() -> Project:
    return Project(_stacks())


def _at(value: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield value
    elif path[0] == "*":
        for item in as_list(value):
            yield from _at(item, path[1:])
    elif isinstance(value, dict) and path[0] in value:
        yield from _at(value[path[0]], path[1:])


@dataclass(frozen=True)
class Need:
    """A principal that must be allowed to use a key, for what, and where AWS says so."""

    resource: str  # <file>:<logical id> (<what the key protects>)
    principal: str
    requirement: dict[str, Any]
    context: tuple[tuple[str, Any], ...] = ()


def _referrers(project: Project, stack: Stack, arn: str, kind: str) -> Iterator[tuple[str, Any]]:
    """The resources of a type in the stack whose properties name `arn`, with their properties."""
    for logical, resource in stack.resources.items():
        if resource["Type"] == kind:
            properties = project.properties(stack, logical)
            if arn in json.dumps(properties):
                yield logical, properties


def needs(project: Project, stack: Stack, logical: str, path: tuple[str, ...]) -> list[Need]:
    """Who uses the key at `path` of the resource, and for what."""
    resource = stack.resources[logical]
    kind = resource["Type"]
    use = KEY_PROPERTIES[kind][path]
    properties = project.properties(stack, logical)
    where = f"{stack.file}:{logical} ({use})"
    account = stack.account
    source = (("aws:SourceAccount", account),)
    found = []
    if kind == "AWS::Logs::LogGroup":
        group = project.arn(stack, logical).removesuffix(":*")
        context = (("kms:EncryptionContext:aws:logs:arn", group),)
        found.append(Need(where, f"logs.{REGION}.amazonaws.com", LOGS, context))
    elif kind == "AWS::SNS::Topic":
        topic = project.arn(stack, logical)
        for alarm, _ in _referrers(project, stack, topic, "AWS::CloudWatch::Alarm"):
            context = (*source, ("aws:SourceArn", project.arn(stack, alarm)))
            found.append(Need(where, "cloudwatch.amazonaws.com", SNS_FROM_SERVICES, context))
        for rule, _ in _referrers(project, stack, topic, "AWS::Events::Rule"):
            context = (*source, ("aws:SourceArn", project.arn(stack, rule)))
            found.append(Need(where, "events.amazonaws.com", SNS_FROM_SERVICES, context))
    elif kind == "AWS::SQS::Queue":
        queue = project.arn(stack, logical)
        for rule, _ in _referrers(project, stack, queue, "AWS::Events::Rule"):
            context = (*source, ("aws:SourceArn", project.arn(stack, rule)))
            found.append(Need(where, "events.amazonaws.com", SQS_FROM_SERVICES, context))
        # A function's asynchronous dead letters are sent as the function's role.
        for _, function in _referrers(project, stack, queue, "AWS::Lambda::Function"):
            found.append(Need(where, function["Role"], SQS_PRODUCER))
    elif use == "function environment":
        found.append(Need(where, properties["Role"], LAMBDA_ENVIRONMENT))
    elif use == "jobs":
        found.append(Need(where, properties["Role"], SAGEMAKER_VOLUME))
        job_role = properties["Environment"]["Variables"].get("ROLE_ARN")
        if job_role:
            found.append(Need(where, properties["Role"], S3_WRITER))
            found.append(Need(where, job_role, S3_WRITER))
    elif use == "account":
        found.append(Need(where, f"arn:{PARTITION}:iam::{account}:role/any-role", ACCOUNT_DECIDES))
    elif kind == "AWS::SageMaker::EndpointConfig" and use == "endpoint volumes":
        if stack.cloudformation_role:
            found.append(Need(where, stack.cloudformation_role, SAGEMAKER_VOLUME))
    elif kind == "AWS::SageMaker::EndpointConfig":
        # The endpoint's model runs as its execution role, which writes the captured data.
        for variant in properties["ProductionVariants"]:
            model = next(
                name
                for name, other in stack.resources.items()
                if other["Type"] == "AWS::SageMaker::Model"
                and project.name(stack, name) == variant["ModelName"]
            )
            role = project.properties(stack, model)["ExecutionRoleArn"]
            found.append(Need(where, role, S3_WRITER))
    elif kind == "AWS::SageMaker::FeatureGroup" and use == "offline store":
        found.append(Need(where, properties["RoleArn"], FEATURE_STORE_OFFLINE))
    elif kind == "AWS::SageMaker::FeatureGroup":
        # The pipeline's Ingest puts the records, as the execution role.
        found.append(Need(where, arns.EXECUTION_ROLE_ARN, FEATURE_STORE_WRITER))
    elif kind == "AWS::CodeBuild::Project":
        found.append(Need(where, properties["ServiceRole"], S3_WRITER))
    elif kind == "AWS::CodePipeline::Pipeline":
        found.append(Need(where, properties["RoleArn"], S3_WRITER))
    return found


def key_uses(project: Project) -> Iterator[tuple[Stack, str, tuple[str, ...], Any]]:
    """(stack, logical id, property path, the key reference) of every key a resource names."""
    for stack in project.stacks:
        for logical, resource in stack.resources.items():
            for path in KEY_PROPERTIES.get(resource["Type"], {}):
                for reference in _at(project.properties(stack, logical), path):
                    yield stack, logical, path, reference


def unchecked(project: Project) -> list[str]:
    """Properties that name a key and that KEY_PROPERTIES does not know."""
    known = {(s.file, logical, path) for s, logical, path, _ in key_uses(project)}
    prefixes = {(f, logical, path[:n]) for f, logical, path in known for n in range(len(path))}
    missed = []

    def walk(stack: Stack, logical: str, value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                inner = (*path, name)
                generic = tuple("*" if part.isdigit() else part for part in inner)
                named = KEY_NAME.search(name) and not isinstance(item, bool)
                if named and {(stack.file, logical, generic)}.isdisjoint(known | prefixes):
                    missed.append(f"{stack.file}:{logical} {'.'.join(inner)}")
                walk(stack, logical, item, inner)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(stack, logical, item, (*path, str(index)))

    for stack in project.stacks:
        for logical, resource in stack.resources.items():
            if resource["Type"] not in ("AWS::KMS::Key", "AWS::KMS::Alias"):
                # Policies name kms: actions, not keys to use.
                properties = {
                    name: value
                    for name, value in project.properties(stack, logical).items()
                    if "Polic" not in name and name != "Code"
                }
                walk(stack, logical, properties, ())
    return sorted(set(missed))


def test_every_property_that_names_a_key_is_checked(project):
    assert list(key_uses(project)), "no resource of this project names a key"
    assert unchecked(project) == []


def refusals(project: Project) -> list[str]:
    """Every use of a key its policies refuse, as `<resource>: <principal> <action> (<doc>)`."""
    refused = []
    for stack, logical, path, reference in key_uses(project):
        key_stack, key = project.key(stack, reference)
        key_arn = project.arn(key_stack, key)
        key_policy = project.resolve(key_stack, key_stack.resources[key]["Properties"]["KeyPolicy"])
        for need in needs(project, stack, logical, path):
            identity = (
                project.role_policies(need.principal) if need.principal in project.by_arn else []
            )
            context = {**dict(need.context), **need.requirement.get("context", {})}
            for action in need.requirement["actions"]:
                request = Request(action, key_arn, need.principal, context)
                if need.requirement.get("key_policy_only"):
                    allowed = decision([key_policy], request) == "Allow"
                else:
                    allowed = kms_allows(key_policy, identity, request, key_stack.account)
                if not allowed:
                    refused.append(
                        f"{need.resource}: {need.principal} may not {action} with "
                        f"{key_stack.file}:{key} ({need.requirement['doc']})"
                    )
    return refused


def test_every_user_of_a_key_is_allowed_what_its_service_asks(project):
    """A log group, topic or queue encrypted with a key its service may not use fails when
    CloudFormation creates it, or drops what it should keep, in AWS only."""
    assert refusals(project) == []


def test_the_check_refuses_a_key_policy_without_its_services():
    """The same check against the key policies without the statements that name a service."""
    project = Project(_stacks())  # its own copy: the templates are changed
    for stack in project.stacks:
        for resource in stack.resources.values():
            if resource["Type"] == "AWS::KMS::Key":
                statements = resource["Properties"]["KeyPolicy"]["Statement"]
                statements[:] = [s for s in statements if "Service" not in s["Principal"]]
    refused = refusals(project)
    # Every variant has a log group encrypted with a key (the retraining trigger's).
    assert any(f"logs.{REGION}.amazonaws.com may not kms:GenerateDataKey" in r for r in refused)


def policy_documents(project: Project) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy document of every stack: key policies, role and managed policies."""
    for stack in project.stacks:
        for logical, resource in stack.resources.items():
            properties = resource.get("Properties", {})
            for name in ("KeyPolicy", "PolicyDocument", "AssumeRolePolicyDocument"):
                if name in properties:
                    yield f"{stack.file}:{logical}", properties[name]
            for policy in properties.get("Policies", []):
                yield f"{stack.file}:{logical}:{policy['PolicyName']}", policy["PolicyDocument"]


def test_only_grant_operations_are_granted_under_grant_is_for_aws_resource(project):
    """kms:GrantIsForAWSResource is in the requests of the grant operations only: any other
    action under that condition is never allowed (kms:DescribeKey was, so)."""
    dead = {
        f"{where}:{statement.get('Sid')} {action}"
        for where, document in policy_documents(project)
        for statement in as_list(document["Statement"])
        if any(
            key.lower() == "kms:grantisforawsresource"
            for keys in statement.get("Condition", {}).values()
            for key in keys
        )
        for action in as_list(statement["Action"])
        if action not in GRANT_OPERATIONS
    }
    assert sorted(dead) == []


def _kms_key_fields(shape: Any, value: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(path, botocore member shape, value) of every KMS key field in a request's value."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                if member.name == "KmsKeyId":
                    yield f"{path}.{name}", shape, value[name]
                else:
                    yield from _kms_key_fields(member, value[name], f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _kms_key_fields(shape.member, item, f"{path}[{index}]")


# The API operation whose request a pipeline step's Arguments are.
STEP_OPERATIONS = {
    "Training": "CreateTrainingJob",
    "Processing": "CreateProcessingJob",
    "QualityCheck": "CreateProcessingJob",
    "Transform": "CreateTransformJob",
    "Model": "CreateModel",
    "RegisterModel": "CreateModelPackage",
}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
# The pipeline is built by CI's operator role (tests/aws_calls.py).
@pytest.mark.principal("operator")
def test_the_pipeline_passes_a_key_arn_where_sagemaker_takes_no_alias(pipeline_cli, capsys):
    """`make pipeline`/`upsert` default to the base key by its alias. SageMaker's API takes an
    alias in some key fields and not in others (ResourceConfig.VolumeKmsKeyId of a training job
    documents a key ID or key ARN only): botocore's model of the API says which, and each field
    whose documentation names no alias gets the key's ARN."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    # The base stack's key and alias, as in AWS (made here too if the emulation has none).
    kms = boto3.client("kms", region_name=REGION)
    alias = arns.KMS_KEY_ID.rsplit(":", 1)[1]
    with contextlib.suppress(kms.exceptions.AlreadyExistsException):
        kms.create_alias(AliasName=alias, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    key_arn = kms.describe_key(KeyId=arns.KMS_KEY_ID)["KeyMetadata"]["Arn"]
    assert pipeline_cli.main(["definition"]) == 0
    steps = all_steps(json.loads(capsys.readouterr().out))
    checked = []
    for name, step in steps.items():
        if step["Type"] not in STEP_OPERATIONS:
            assert "Kms" not in json.dumps(step.get("Arguments", {})), name
            continue
        request = model.operation_model(STEP_OPERATIONS[step["Type"]]).input_shape
        for path, parent, value in _kms_key_fields(request, step["Arguments"], name):
            field_name = path.rsplit(".", 1)[1]
            documented = parent.members[field_name].documentation
            if "alias" not in documented.lower():
                assert value == key_arn, f"{path}: {value}"
            checked.append(path)
    assert any(path.endswith("ResourceConfig.VolumeKmsKeyId") for path in checked)
