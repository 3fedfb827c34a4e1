"""The project's stacks as AWS would hold them, and who may do what in them.

Each infra/ template is resolved in the account and under the stack name the bootstrap plan
(deploy/bootstrap.py) and the deploy helper (deploy/stage.py) give it: parameters (their
defaults, the values this project knows), pseudo parameters, !Sub, !Ref, !GetAtt, !ImportValue
(from the exporting stack's outputs), !If and the other functions the templates use. From them:
every role and its identity policies (inline, attached managed policies, policies naming the
role), and every resource policy (model package group, bucket, key, repository, registry, event
bus).

A request is evaluated as IAM does (AWS's policy evaluation logic): an explicit Deny wins; in the
principal's own account the identity policy or the resource policy may allow; across accounts
both must; a KMS key and a role's trust always need their own policy (whose account principal
hands the decision to that account's IAM policies). Each statement is matched by the project's
evaluator (iam_evaluation.py: actions, resources, principals, condition operators); a condition
whose key this module does not model, or whose operator the evaluator does not know, makes the
statement *unevaluated*: reported, never taken as an Allow.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from conftest import load_cloudformation
from iam_evaluation import Request as EvaluatedRequest
from iam_evaluation import principal_matches, statement_applies

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.deploy import bootstrap
from {{ cookiecutter.package_name }}.deploy.stage import Stage

PARTITION = "aws"
REGION = config.AWS_REGION
TOOLING = config.AWS_ACCOUNT_ID
SLUG = config.PROJECT_SLUG
# Values of parameters that have no default and that the project does not know.
PLACEHOLDERS = {
    "GitHubRepository": "owner/repository",
    "GitHubToken": "github-token",
    "ConnectionArn": f"arn:{PARTITION}:codeconnections:{REGION}:{TOOLING}:connection/example",
}
NO_VALUE = object()


def role_arn(account: str, name: str) -> str:
    return f"arn:{PARTITION}:iam::{account}:role/{name}"


# --- the stacks --------------------------------------------------------------------------------


def pseudo_parameters(account: str, stack: str) -> dict[str, str]:
    """CloudFormation's pseudo parameters of a stack of this project's region in `account`."""
    return {
        "AWS::Partition": PARTITION,
        "AWS::Region": REGION,
        "AWS::AccountId": account,
        "AWS::StackName": stack,
        "AWS::URLSuffix": "amazonaws.com",
    }


@dataclass
class Stack:
    """One template deployed as one stack in one account."""

    template: str  # the file in infra/
    name: str
    account: str
    body: dict[str, Any]
    parameters: dict[str, str]
    stacks: Stacks = field(repr=False)
    # Resolve only what the parameters decide (Ref to a parameter, Fn::If, Fn::FindInMap,
    # AWS::NoValue, the parameters in a Fn::Sub), and keep references to resources and imports
    # as written: for tests of how a template wires its resources together.
    keep_references: bool = False

    def values(self) -> dict[str, Any]:
        return {**pseudo_parameters(self.account, self.name), **self.parameters}

    def condition(self, name: str) -> bool:
        return bool(self.holds(self.body["Conditions"][name]))

    def holds(self, node: Any) -> Any:
        """A condition function's value (in Conditions, a Fn::If, a rule's assertion)."""
        if isinstance(node, dict) and len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Fn::Not":
                return not self.holds(argument[0])
            if function == "Fn::And":
                return all(self.holds(item) for item in argument)
            if function == "Fn::Or":
                return any(self.holds(item) for item in argument)
            if function == "Fn::Equals":
                left, right = (self.holds(item) for item in argument)
                return str(left) == str(right)
            # {"Condition": name} in JSON; YAML's !Condition reads as Fn::Condition (conftest).
            if function in ("Condition", "Fn::Condition"):
                return self.condition(argument)
        return self.resolve(node)

    def attribute(self, logical: str, name: str | None) -> Any:
        """What !Ref (name None) or !GetAtt gives of one of the stack's resources or
        parameters, for the resource types whose identifiers the policies use."""
        if name is None and logical in self.values():
            return self.values()[logical]
        resource = self.body["Resources"][logical]
        kind, properties = resource["Type"], resource.get("Properties", {})
        prefix = f"arn:{PARTITION}"
        # A physical name CloudFormation makes up, as it does: the stack's name, the resource's
        # and a suffix (the account: names such as a bucket's are unique across accounts), in
        # lower case where the service wants it.
        made_up = f"{self.name}-{logical}-{self.account}"
        if kind == "AWS::IAM::Role":
            role = self.resolve(properties.get("RoleName", made_up))
            return role_arn(self.account, role) if name == "Arn" else role
        if kind == "AWS::IAM::ManagedPolicy":
            policy = self.resolve(properties.get("ManagedPolicyName", made_up))
            return f"{prefix}:iam::{self.account}:policy/{policy}"
        if kind == "AWS::S3::Bucket":
            bucket = self.resolve(properties.get("BucketName", made_up.lower()))
            return f"{prefix}:s3:::{bucket}" if name == "Arn" else bucket
        if kind == "AWS::KMS::Key":
            key = f"{prefix}:kms:{REGION}:{self.account}:key/{self.name}-{logical}"
            return key if name == "Arn" else key.rpartition("/")[2]
        if kind == "AWS::ECR::Repository":
            repository = self.resolve(properties.get("RepositoryName", made_up.lower()))
            if name == "Arn":
                return f"{prefix}:ecr:{REGION}:{self.account}:repository/{repository}"
            if name == "RepositoryUri":
                return f"{self.account}.dkr.ecr.{REGION}.amazonaws.com/{repository}"
            return repository
        if kind == "AWS::SQS::Queue":
            queue = self.resolve(properties.get("QueueName", made_up))
            if name == "Arn":
                return f"{prefix}:sqs:{REGION}:{self.account}:{queue}"
            return f"https://sqs.{REGION}.amazonaws.com/{self.account}/{queue}"
        if kind == "AWS::SNS::Topic":
            topic = self.resolve(properties.get("TopicName", made_up))
            return f"{prefix}:sns:{REGION}:{self.account}:{topic}"
        if kind == "AWS::Lambda::Function":
            function = self.resolve(properties.get("FunctionName", made_up))
            if name == "Arn":
                return f"{prefix}:lambda:{REGION}:{self.account}:function:{function}"
            return function
        if kind == "AWS::SageMaker::ModelPackageGroup":
            group = self.resolve(properties["ModelPackageGroupName"])
            if name in ("ModelPackageGroupArn", None):
                return f"{prefix}:sagemaker:{REGION}:{self.account}:model-package-group/{group}"
            return group
        if name in properties:  # an attribute that is one of its properties (a model's name)
            return self.resolve(properties[name])
        # Anything else: a name that says where it comes from (it matches no policy).
        return f"<{self.name}.{logical}{'.' + name if name else ''}>"

    def resolve(self, node: Any) -> Any:
        """node as CloudFormation resolves it in this stack."""
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Ref":
                if argument == "AWS::NoValue":
                    return NO_VALUE
                if self.keep_references and argument not in self.values():
                    return node
                return self.attribute(argument, None)
            if self.keep_references and function in ("Fn::GetAtt", "Fn::ImportValue", "Fn::Sub"):
                return self._partial(function, argument)
            if function == "Fn::GetAtt":
                logical, _, name = (
                    argument.partition(".") if isinstance(argument, str) else (*argument, "")[:3]
                )
                if isinstance(argument, list):
                    logical, name = argument
                return self.attribute(logical, name)
            if function == "Fn::Sub":
                text, local = (argument, {}) if isinstance(argument, str) else argument
                names = {key: self.resolve(value) for key, value in local.items()}
                return re.sub(
                    r"\$\{([^}!]+)\}", lambda match: str(self._name(match.group(1), names)), text
                )
            if function == "Fn::If":
                name, when_true, when_false = argument
                return self.resolve(when_true if self.condition(name) else when_false)
            if function == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self.resolve(items))
            if function == "Fn::Select":
                index, items = self.resolve(argument)
                return items[int(index)]
            if function == "Fn::Split":
                separator, text = self.resolve(argument)
                return text.split(separator)
            if function == "Fn::ImportValue":
                return self.stacks.export(self.resolve(argument), self.account)
            if function == "Fn::FindInMap":
                table, key, attribute = self.resolve(argument)
                return self.body["Mappings"][table][key][attribute]
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def _partial(self, function: str, argument: Any) -> Any:
        """A reference kept (keep_references), with what the parameters decide inside it."""
        if function == "Fn::Sub" and isinstance(argument, str):
            values = self.values()
            text = re.sub(r"\$\{([^}!]+)\}", lambda m: str(values.get(m[1], m[0])), argument)
            return text if "${" not in text else {function: text}
        return {function: self.resolve(argument)}

    def _name(self, name: str, local: Mapping[str, Any]) -> Any:
        if name in local:
            return local[name]
        logical, _, attribute = name.partition(".")
        return self.attribute(logical, attribute or None)

    def resources(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(logical name, properties) of the stack's resources of one type, conditions held."""
        for logical, resource in self.body["Resources"].items():
            if resource["Type"] != kind:
                continue
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            yield logical, resource.get("Properties", {})


@dataclass(frozen=True)
class Role:
    """A role and its identity policies, resolved."""

    arn: str
    where: str  # infra/<file> <logical name>
    documents: tuple[dict[str, Any], ...]

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


@dataclass(frozen=True)
class ResourcePolicy:
    """A resource policy and the resources it governs (ARN patterns)."""

    account: str
    where: str
    kind: str  # key, bucket, repository, registry, model package group, event bus
    resources: tuple[str, ...]
    document: dict[str, Any]

    def governs(self, resource: str) -> bool:
        return any(fnmatch.fnmatchcase(resource, pattern) for pattern in self.resources)


class Stacks:
    """Every stack of this project, where it is deployed."""

    def __init__(self, overrides: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.stacks: list[Stack] = []
        planned = [(step.account, step.template, step.stack_name) for step in bootstrap.steps()]
        for stage_name in config.STAGES:
            stage = Stage.load(stage_name)
            planned.append((stage.account, "infra/endpoint.yaml", stage.stack_name))
            if config.BATCH_TRANSFORM:
                planned.append(
                    (stage.account, "infra/batch-transform.yaml", stage.batch_stack_name)
                )
            if config.MODEL_MONITORING:
                planned.append(
                    (stage.account, "infra/monitoring.yaml", stage.monitoring_stack_name)
                )
        for account, template, name in dict.fromkeys(planned):
            file = template.removeprefix("infra/")
            body = load_cloudformation(file)
            parameters = {
                key: str(spec["Default"])
                for key, spec in body.get("Parameters", {}).items()
                if "Default" in spec
            }
            known = {**PLACEHOLDERS, **bootstrap.KNOWN_VALUES}
            for key in body.get("Parameters", {}):
                if key not in parameters and key in known:
                    parameters[key] = known[key]
            parameters.update((overrides or {}).get(file, {}))
            self.stacks.append(Stack(file, name, account, body, parameters, self))

    def export(self, name: str, account: str) -> Any:
        """What Fn::ImportValue gives in `account` (exports are per account and region)."""
        for stack in self.stacks:
            if stack.account != account:
                continue
            for output in stack.body.get("Outputs", {}).values():
                exported = output.get("Export", {}).get("Name")
                if exported is not None and stack.resolve(exported) == name:
                    return stack.resolve(output["Value"])
        raise KeyError(f"no stack in {account} exports {name}")

    @functools.cached_property
    def roles(self) -> dict[str, Role]:
        """Every role by its ARN, with its inline policies, its managed policies and the
        policies of the stack that name it."""
        managed = {
            stack.attribute(logical, None): (stack, properties)
            for stack in self.stacks
            for logical, properties in stack.resources("AWS::IAM::ManagedPolicy")
        }
        found: dict[str, Role] = {}
        for stack in self.stacks:
            for logical, properties in stack.resources("AWS::IAM::Role"):
                arn = stack.attribute(logical, "Arn")
                documents = [
                    stack.resolve(policy["PolicyDocument"])
                    for policy in properties.get("Policies", [])
                ]
                for policy_arn in stack.resolve(properties.get("ManagedPolicyArns", [])):
                    if policy_arn in managed:
                        owner, policy = managed[policy_arn]
                        documents.append(owner.resolve(policy["PolicyDocument"]))
                    else:
                        raise AssertionError(f"{stack.template} {logical}: unknown {policy_arn}")
                name = stack.attribute(logical, None)
                for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                    for _, policy in stack.resources(kind):
                        if name in stack.resolve(policy.get("Roles", [])):
                            documents.append(stack.resolve(policy["PolicyDocument"]))
                found[arn] = Role(arn, f"infra/{stack.template} {logical}", tuple(documents))
        return found

    def managed_policy(self, name: str) -> Role:
        """A managed policy of the project (by its ManagedPolicyName) as a principal: whoever
        it is attached to, for the calls only it allows."""
        for stack in self.stacks:
            for logical, properties in stack.resources("AWS::IAM::ManagedPolicy"):
                if stack.resolve(properties.get("ManagedPolicyName")) == name:
                    document = stack.resolve(properties["PolicyDocument"])
                    arn = role_arn(stack.account, f"<anyone with {name}>")
                    return Role(arn, f"infra/{stack.template} {logical}", (document,))
        raise KeyError(f"no managed policy {name}")

    @functools.cached_property
    def resource_policies(self) -> list[ResourcePolicy]:
        found = list(AWS_OWNED)
        for stack in self.stacks:
            where = f"infra/{stack.template}"
            for logical, properties in stack.resources("AWS::SageMaker::ModelPackageGroup"):
                if "ModelPackageGroupPolicy" not in properties:
                    continue
                group = stack.attribute(logical, "ModelPackageGroupArn")
                name = stack.resolve(properties["ModelPackageGroupName"])
                packages = group.replace(":model-package-group/", ":model-package/") + "/*"
                assert packages.endswith(f"model-package/{name}/*")
                found.append(
                    ResourcePolicy(
                        stack.account,
                        f"{where} {logical}",
                        "model package group",
                        (group, packages),
                        stack.resolve(properties["ModelPackageGroupPolicy"]),
                    )
                )
            for logical, properties in stack.resources("AWS::S3::BucketPolicy"):
                bucket = stack.resolve(properties["Bucket"])
                arn = f"arn:{PARTITION}:s3:::{bucket}"
                found.append(
                    ResourcePolicy(
                        stack.account,
                        f"{where} {logical}",
                        "bucket",
                        (arn, f"{arn}/*"),
                        stack.resolve(properties["PolicyDocument"]),
                    )
                )
            for logical, properties in stack.resources("AWS::KMS::Key"):
                arn = stack.attribute(logical, "Arn")
                found.append(
                    ResourcePolicy(
                        stack.account,
                        f"{where} {logical}",
                        "key",
                        (arn,),
                        stack.resolve(properties["KeyPolicy"]),
                    )
                )
            # A role's trust policy is the resource policy of sts:AssumeRole on it.
            for logical, properties in stack.resources("AWS::IAM::Role"):
                found.append(
                    ResourcePolicy(
                        stack.account,
                        f"{where} {logical} (trust)",
                        "role trust",
                        (stack.attribute(logical, "Arn"),),
                        stack.resolve(properties["AssumeRolePolicyDocument"]),
                    )
                )
            # An event bus's policy: a whole document (Policy), or one statement a resource
            # (StatementId and Statement).
            for logical, properties in stack.resources("AWS::Events::EventBusPolicy"):
                name = stack.resolve(properties.get("EventBusName", "default"))
                bus = f"arn:{PARTITION}:events:{REGION}:{stack.account}:event-bus/{name}"
                if "Policy" in properties:
                    document = stack.resolve(properties["Policy"])
                else:
                    statement = {"Sid": stack.resolve(properties["StatementId"])}
                    statement.update(stack.resolve(properties["Statement"]))
                    document = {"Statement": [statement]}
                found.append(
                    ResourcePolicy(
                        stack.account,
                        f"{where} {logical}",
                        "event bus",
                        (bus,),
                        document,
                    )
                )
            # A registry's policy: what other accounts may do to its repositories (replicate).
            for logical, properties in stack.resources("AWS::ECR::RegistryPolicy"):
                repositories = f"arn:{PARTITION}:ecr:{REGION}:{stack.account}:repository/*"
                found.append(
                    ResourcePolicy(
                        stack.account,
                        f"{where} {logical}",
                        "registry",
                        (repositories,),
                        stack.resolve(properties["PolicyText"]),
                    )
                )
            for logical, properties in stack.resources("AWS::ECR::Repository"):
                if "RepositoryPolicyText" not in properties:
                    continue
                arn = stack.attribute(logical, "Arn")
                found.append(
                    ResourcePolicy(
                        stack.account,
                        f"{where} {logical}",
                        "repository",
                        (arn,),
                        stack.resolve(properties["RepositoryPolicyText"]),
                    )
                )
        return found

    def role(self, arn: str) -> Role:
        if arn not in self.roles:
            known = "\n  ".join(sorted(self.roles))
            raise AssertionError(f"no template makes the role {arn}; the roles:\n  {known}")
        return self.roles[arn]

    def stack(self, template: str, account: str) -> Stack:
        """The template's stack in an account."""
        for stack in self.stacks:
            if stack.template == template and stack.account == account:
                return stack
        raise KeyError(f"no stack of infra/{template} in {account}")

    def role_of(self, template: str, logical: str) -> Role:
        """A stack's role by its logical name."""
        for stack in self.stacks:
            if stack.template == template:
                return self.role(stack.attribute(logical, "Arn"))
        raise KeyError(f"no stack of infra/{template}")

    def function_role(self, template: str, logical: str, account: str | None = None) -> Role:
        """The role a stack's Lambda function runs as, in the account (default: the first
        account the template is deployed in)."""
        found = [stack for stack in self.stacks if stack.template == template]
        if not found:
            raise KeyError(f"no stack of infra/{template}")
        stack = next((stack for stack in found if stack.account == account), found[0])
        properties = stack.body["Resources"][logical]["Properties"]
        return self.role(stack.resolve(properties["Role"]))

    def key_arn(self, key: str) -> str:
        """A key's ARN from what a call names it by: its ARN, or an alias (name or ARN)."""
        alias = key.rpartition(":")[2] if key.startswith("arn:") else key
        if not alias.startswith("alias/"):
            return key
        for stack in self.stacks:
            for _, properties in stack.resources("AWS::KMS::Alias"):
                if stack.resolve(properties["AliasName"]) == alias:
                    return stack.resolve({"Fn::GetAtt": [properties["TargetKeyId"]["Ref"], "Arn"]})
        return key

    def bucket_key(self, bucket: str) -> str | None:
        """The KMS key a bucket of the stacks encrypts new objects with by default, or None."""
        for stack in self.stacks:
            for logical, properties in stack.resources("AWS::S3::Bucket"):
                if stack.attribute(logical, None) != bucket:
                    continue
                encryption = properties.get("BucketEncryption", {})
                for rule in encryption.get("ServerSideEncryptionConfiguration", []):
                    default = rule.get("ServerSideEncryptionByDefault", {})
                    if default.get("SSEAlgorithm") == "aws:kms" and "KMSMasterKeyID" in default:
                        return self.key_arn(stack.resolve(default["KMSMasterKeyID"]))
        return None

    def key_aliases(self, key_arn: str) -> list[str]:
        """The aliases the stacks give a key (kms:ResourceAliases)."""
        return [
            stack.resolve(properties["AliasName"])
            for stack in self.stacks
            for _, properties in stack.resources("AWS::KMS::Alias")
            if stack.resolve({"Fn::GetAtt": [properties["TargetKeyId"]["Ref"], "Arn"]}) == key_arn
        ]


# Resources of AWS's own accounts that the project reads, with what their policies allow:
# SageMaker's prebuilt images (XGBoost; Spark processing), which every account may pull (the
# SDK's image_uris names them in AWS's accounts, by region).
# https://docs.aws.amazon.com/sagemaker/latest/dg-ecr-paths/sagemaker-algo-docker-registry-paths.html
AWS_OWNED = tuple(
    ResourcePolicy(
        account="",
        where=f"AWS's {repository} image repositories (prebuilt images: any account pulls)",
        kind="repository",
        resources=(f"arn:{PARTITION}:ecr:{REGION}:*:repository/{repository}",),
        document={
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": [
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:DescribeImages",
                    ],
                }
            ]
        },
    )
    for repository in ("sagemaker-xgboost", "sagemaker-spark-processing")
)


@functools.cache
def project_stacks() -> Stacks:
    return Stacks()


# --- the evaluation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request as IAM evaluates it: who, which action, on what, with which context."""

    principal: Role
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Decision:
    allowed: bool
    reasons: list[str]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# The condition keys the requests carry here, and keys that a request of this project never
# carries (so their absence is the answer); any other key makes a statement unevaluated.
MODELLED_KEYS = (
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:SecureTransport",
    "aws:RequestTag/*",
    "aws:TagKeys",
    "aws:SourceAccount",
    "aws:SourceArn",
    "s3:prefix",
    "cloudformation:RoleArn",
    "iam:PassedToService",
    "kms:ResourceAliases",
    "kms:GrantIsForAWSResource",
    "kms:ViaService",
    "kms:CallerAccount",
    "kms:EncryptionContext:*",
)


def _modelled(key: str, context: Mapping[str, Any]) -> bool:
    return key in context or any(
        fnmatch.fnmatchcase(key.lower(), known.lower()) for known in MODELLED_KEYS
    )


def _named(statement: Mapping[str, Any], principal: Role) -> str | None:
    """How a resource policy's statement names the principal: "direct" (its ARN, or anyone),
    "account" (its account, which then decides with its IAM policies), "" (not at all);
    None when it cannot be told."""
    if "NotPrincipal" in statement:
        return None
    element = statement.get("Principal")
    if element == "*" or principal_matches(element, principal.arn, exact=True):
        return "direct"
    return "account" if principal_matches(element, principal.arn) else ""


@dataclass(frozen=True)
class _Match:
    effect: str  # Allow or Deny
    sid: str
    unevaluated: str = ""
    named: str = "direct"  # for a resource policy: how it names the principal


def _matches(
    document: Mapping[str, Any], request: Request, resource_policy: bool
) -> Iterator[_Match]:
    """The statements of a policy that apply to the request, by the project's evaluator
    (iam_evaluation.statement_applies); a statement whose condition it cannot evaluate is
    yielded as unevaluated where its action and resource match."""
    evaluated = EvaluatedRequest(
        request.action, request.resource, request.principal.arn, request.context
    )
    for index, statement in enumerate(_as_list(document.get("Statement", []))):
        sid = statement.get("Sid", f"statement {index + 1}")
        effect = statement["Effect"]
        named = "direct"
        if resource_policy:
            found = _named(statement, request.principal)
            if found is None:
                yield _Match(effect, sid, "NotPrincipal")
                continue
            if not found:
                continue
            named = found
        # The principal is settled above: the statement as an identity policy's.
        body = {key: value for key, value in statement.items() if key != "Principal"}
        unknown = [
            f"{operator} {key}"
            for operator, keys in body.get("Condition", {}).items()
            for key in keys
            if not _modelled(key, request.context)
        ]
        try:
            if unknown:
                if statement_applies({**body, "Condition": {}}, evaluated):
                    yield _Match(effect, sid, "condition " + ", ".join(unknown), named)
                continue
            if statement_applies(body, evaluated):
                yield _Match(effect, sid, "", named)
        except NotImplementedError as error:
            yield _Match(effect, sid, f"condition {error}", named)


def evaluate(request: Request, stacks: Stacks | None = None) -> Decision:
    """Whether AWS allows the request, by the project's policies, and why (or why not)."""
    stacks = stacks or project_stacks()
    assume = request.action.lower().startswith("sts:assumerole")
    governing = [
        policy
        for policy in stacks.resource_policies
        if policy.governs(request.resource) and (policy.kind == "role trust") == assume
    ]
    owner = next((policy.account for policy in governing if policy.account), None)
    resource_account = owner or _resource_account(request.resource) or request.principal.account
    identity = [
        (request.principal.where, match)
        for document in request.principal.documents
        for match in _matches(document, request, resource_policy=False)
    ]
    resource = [
        (policy.where, match)
        for policy in governing
        for match in _matches(policy.document, request, resource_policy=True)
    ]
    reasons = []
    for where, match in identity + resource:
        if match.unevaluated:
            reasons.append(f"{where} {match.sid}: unevaluated {match.unevaluated}")
        elif match.effect == "Deny":
            return Decision(False, [f"{where} {match.sid} denies it"])
    allows = [m for _, m in identity + resource if m.effect == "Allow" and not m.unevaluated]
    identity_allows = any(m in allows for _, m in identity)
    direct = any(m in allows and m.named == "direct" for _, m in resource)
    delegated = any(m in allows and m.named == "account" for _, m in resource)
    if any(policy.kind in ("key", "role trust") for policy in governing):
        # A key policy and a role's trust policy decide always: naming the principal, or its
        # account (whose IAM policies then decide).
        allowed = direct or (delegated and identity_allows)
        resource_allows = direct or delegated
    elif resource_account == request.principal.account:
        allowed = resource_allows = identity_allows or direct
    else:
        resource_allows = direct or delegated
        allowed = identity_allows and resource_allows
    if not allowed:
        if not identity_allows:
            reasons.insert(0, f"no statement of {request.principal.where} allows it")
        if not resource_allows and (governing or resource_account != request.principal.account):
            names = ", ".join(policy.where for policy in governing) or (
                f"account {resource_account}'s resource has no policy in the templates"
            )
            reasons.insert(0, f"the resource policy does not allow it ({names})")
    return Decision(allowed, reasons)


def _resource_account(arn: str) -> str | None:
    parts = arn.split(":")
    if len(parts) > 4 and parts[4]:
        return parts[4]
    return None
