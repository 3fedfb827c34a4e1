"""Every AWS call the project's code makes while the tests run it, with the principal that makes
it in AWS, checked against that principal's policies in the templates (policies.py).

A call is the project's when the project's code is on the stack: its package (but not
pipeline/offline.py, the offline harness) or a stack's Lambda function loaded with
`load_function`. The tests' own calls (moto set-up, checks) are not recorded. Each call is
seen through botocore's event system (`before-parameter-build`, which fires for moto, for
botocore's Stubber and for the real service alike), on every client any session creates.

Who makes the call, as in AWS:
- a Lambda function's code: the function's role, from its template;
- credentials from an assumed role (moto's STS): that role;
- else the test's own credentials: the principal the test names with
  `@pytest.mark.principal(ARN)` (module or test), or the innermost `acting_as(ARN)` block.
A call made with none of these fails the test: every call is checked.

Each call becomes IAM requests: its action (`<service prefix>:<operation>`, the documented
exceptions in ACTION_EXCEPTIONS) on its resource (`resource_arn`, from the call's parameters,
ARN formats of the Service Authorization Reference), with the condition keys the call carries.
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
from policies import PARTITION, REGION, Decision, Request, Role, evaluate, project_stacks

from {{ cookiecutter.package_name }} import arns, config
from {{ cookiecutter.package_name }}.deploy.stage import Stage

PACKAGE_DIR = Path(config.PACKAGE_DIR).resolve()
# The offline harness runs in the tests only: its calls set moto up.
NOT_THE_PROJECTS = {PACKAGE_DIR / "pipeline" / "offline.py"}
PIPELINE_CLI = PACKAGE_DIR / "pipeline" / "cli.py"
FUNCTION_FILE_PREFIX = "infra/"


@dataclass(frozen=True)
class Call:
    service: str  # botocore's service name (s3, sagemaker, sagemaker-runtime, ...)
    prefix: str  # the IAM service prefix (the signing name)
    operation: str
    params: dict[str, Any]
    principal: Role | None
    where: str  # the innermost project frame: file:line

    def describe(self) -> str:
        who = self.principal.arn if self.principal else "no principal"
        return f"{self.service}.{self.operation} as {who} (from {self.where})"


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    # The principal of the test's own credentials: the innermost acting_as, else the marker's.
    acting: list[str] = field(default_factory=list)
    marked: str | None = None
    # Actions the test expects AWS to deny (pytest.mark.denied): a resource not the project's.
    denied: frozenset[str] = frozenset()

    def principal_of(self, access_key: str | None, function: tuple[str, str] | None) -> Role | None:
        stacks = project_stacks()
        if function is not None:
            # The function runs in the account the test emulates (moto's account).
            template, logical = function
            return stacks.function_role(template, logical, os.environ.get("MOTO_ACCOUNT_ID"))
        assumed = _assumed_role(access_key)
        if assumed is not None:
            return stacks.role(assumed)
        name = self.acting[-1] if self.acting else self.marked
        if name is None:
            return None
        if name.startswith("policy:"):
            return stacks.managed_policy(name.removeprefix("policy:"))
        return stacks.role(principal_arn(name))


def principal_arn(name: str) -> str:
    """The role a principal's name stands for: a role ARN as it is, or one of
    - `deployer`: the CI account's deployer (CI's deploy jobs, `deploy latest`): the operations
      account's with one (config.OPERATIONS_ACCOUNT), else the tooling account's;
    - `deployment:<stage>`: the stage account's deployment role (CI's deploy and smoke test);
    - `operator`: the role that upserts and starts the pipeline (base.yaml's operator policy):
      the CI's own, or the tooling role the operations account's CI assumes;
    - `execution`: the SageMaker execution role (the pipeline's jobs);
    - the logical ID of a role of infra/deployment-account.yaml (e.g. `MonitorJobRole`, what the
      monitoring jobs run as): that role in the last stage's account.
    """
    if name.startswith("arn:"):
        return name
    if name == "deployer":
        account = config.OPERATIONS_ACCOUNT_ID
        return f"arn:{PARTITION}:iam::{account}:role/{config.PROJECT_SLUG}-deployer"
    if name.startswith("deployment:"):
        return Stage.load(name.partition(":")[2]).deployment_role_arn
    if name == "execution":
        return arns.EXECUTION_ROLE_ARN
    if name == "operator":
        template, logical = OPERATOR_ROLES[
            "operations_account" if config.OPERATIONS_ACCOUNT else config.CI_SYSTEM
        ]
        return project_stacks().role_of(template, logical).arn
    account = config.STAGE_ACCOUNTS[config.STAGES[-1]]
    stack = project_stacks().stack("deployment-account.yaml", account)
    if stack.body["Resources"].get(name, {}).get("Type") == "AWS::IAM::Role":
        return stack.attribute(name, "Arn")
    raise ValueError(f"unknown principal {name!r}")


# Who writes the raw data (`make upload-data`): the operator into the base bucket, or, with a
# data lake, whoever of that account holds the writer policy of infra/data-lake.yaml.
DATA_WRITER = (
    f"policy:{config.PROJECT_SLUG}-data-lake-writer" if config.DATA_LAKE_ACCOUNT else "operator"
)


# The CI role that runs `pipeline upsert` and `start`, by CI system: (template, role).
OPERATOR_ROLES = {
    "github_actions": ("github-oidc.yaml", "GitHubActionsRole"),
    "codepipeline": ("cicd.yaml", "RunPipelineRole"),
    # Either CI system from an operations account: the tooling role it assumes.
    "operations_account": ("operations-access.yaml", "OperationsCiRole"),
}


RECORDER = Recorder()


@contextlib.contextmanager
def acting_as(arn: str) -> Iterator[None]:
    """The calls made with the test's own credentials in the block are this principal's (a
    role ARN, or `policy:<ManagedPolicyName>` for whoever the policy is attached to)."""
    RECORDER.acting.append(arn)
    try:
        yield
    finally:
        RECORDER.acting.pop()


def _offline(frame: types.FrameType) -> bool:
    """Whether the frame is `pipeline definition --offline`, which runs against moto by design:
    nothing it calls reaches AWS."""
    code = frame.f_code
    if code.co_name != "definition" or Path(code.co_filename).resolve() != PIPELINE_CLI:
        return False
    return bool(getattr(frame.f_locals.get("args"), "offline", False))


def _project_frame(frame: types.FrameType | None) -> types.FrameType | None:
    """The innermost frame of the project's code, or None (the call is the test's, or the
    offline harness's)."""
    innermost = None
    while frame is not None:
        if _offline(frame):
            return None
        innermost = innermost or _project_code(frame)
        frame = frame.f_back
    return innermost


def _project_code(frame: types.FrameType) -> types.FrameType | None:
    filename = frame.f_code.co_filename
    if filename.startswith(FUNCTION_FILE_PREFIX):
        return frame
    path = Path(filename)
    if path.is_absolute() and path.is_relative_to(PACKAGE_DIR):
        return None if path.resolve() in NOT_THE_PROJECTS else frame
    return None


def _function_frame(frame: types.FrameType | None) -> tuple[str, str] | None:
    """(template, logical name) of the Lambda function whose code is on the stack."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(FUNCTION_FILE_PREFIX):
            template, _, logical = filename.removeprefix(FUNCTION_FILE_PREFIX).partition("#")
            return template, logical
        frame = frame.f_back
    return None


def _assumed_role(access_key: str | None) -> str | None:
    """The role whose credentials moto's STS handed out with this access key."""
    if not access_key:
        return None
    from moto.sts.models import sts_backends

    for account in list(sts_backends.keys()):
        for role in sts_backends[account]["global"].assumed_roles:
            if role.access_key_id == access_key:
                return role.role_arn
    return None


def load_function(template_name: str, template: dict[str, Any], logical: str) -> types.ModuleType:
    """A stack's Lambda function, its inline code as a module; its calls are the function
    role's."""
    code = template["Resources"][logical]["Properties"]["Code"]["ZipFile"]
    module = types.ModuleType(logical)
    filename = f"{FUNCTION_FILE_PREFIX}{template_name}#{logical}"
    exec(compile(code, filename, "exec"), module.__dict__)
    return module


def _origin(frame: types.FrameType | None) -> tuple[str, tuple[str, str] | None] | None:
    """Where the project's code is in a stack (file:line) and the Lambda function whose code
    it is, if any; None when the project's code is not on it."""
    found = _project_frame(frame)
    if found is None:
        return None
    return f"{Path(found.f_code.co_filename).name}:{found.f_lineno}", _function_frame(found)


def _recording_create_client(original: Any) -> Any:
    def create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        explicit = kwargs.get("aws_access_key_id")
        # A client the project's code made is the project's, even where a thread of its own
        # calls it (boto3's transfers): its calls are recorded as made where it was made.
        created_by = _origin(sys._getframe(1))

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            origin = _origin(sys._getframe(1)) or created_by
            if origin is None:
                return
            where, function = origin
            if explicit:
                access_key = explicit
            else:
                credentials = self.get_credentials()
                access_key = credentials.access_key if credentials else None
            RECORDER.calls.append(
                Call(
                    service=client.meta.service_model.service_name,
                    prefix=client.meta.service_model.signing_name,
                    operation=model.name,
                    params=dict(params),
                    principal=RECORDER.principal_of(access_key, function),
                    where=where,
                )
            )

        client.meta.events.register("before-parameter-build", record)
        return client

    return create_client


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """Record the project's calls on every client created in the block."""
    original = botocore.session.Session.create_client
    botocore.session.Session.create_client = _recording_create_client(original)  # type: ignore[method-assign]
    try:
        yield RECORDER
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]


# --- calls as IAM requests -----------------------------------------------------------------

# Operations whose IAM action is not `<prefix>:<operation>`, each from the service's own
# documentation of the permissions an operation needs.
ACTION_EXCEPTIONS = {
    # CloudWatch signs as "monitoring"; its IAM actions are cloudwatch:*.
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
    ("monitoring", "PutMetricData"): "cloudwatch:PutMetricData",
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
    ("s3", "HeadObject"): "s3:GetObject",
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html
    ("s3", "HeadBucket"): "s3:ListBucket",
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html (and the
    # other parts of a multipart upload): s3:PutObject.
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
    # https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html
    ("lambda", "Invoke"): "lambda:InvokeFunction",
}
# Operations that need no permission: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
NO_PERMISSION = {("sts", "GetCallerIdentity")}


def project_key(key: str) -> str:
    """The stacks' key a call names: by an alias, or by the ARN of the key moto emulates for it
    (the offline harness makes the base key and its alias)."""
    stacks = project_stacks()
    arn = stacks.key_arn(key)
    if arn != key or not re.fullmatch(r"arn:[\w-]+:kms:[\w-]+:\d{12}:key/.+", arn):
        return arn
    from moto.kms.models import kms_backends

    _, _, _, region, account, resource = arn.split(":", 5)
    emulated = kms_backends[account][region].keys.get(resource.removeprefix("key/"))
    for alias in emulated.aliases if emulated else ():
        found = stacks.key_arn(alias)
        if found != alias:
            return found
    return arn


def _sagemaker_arn(kind: str, name: str, account: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:{PARTITION}:sagemaker:{REGION}:{account}:{kind}/{name.lower()}"


def _pipeline_of_execution(arn: str) -> str:
    return arn.split("/execution/")[0]


def resource_arn(call: Call, account: str) -> str:
    """The ARN the call's action is authorized on (the Service Authorization Reference's
    resource types), for the operations this project calls; AssertionError for another, so
    that a new call gets its row here."""
    p, op, region = call.params, call.operation, REGION
    if call.prefix == "s3":
        if "Key" in p:
            return f"arn:{PARTITION}:s3:::{p['Bucket']}/{p['Key']}"
        return f"arn:{PARTITION}:s3:::{p['Bucket']}"
    if call.prefix == "sagemaker":
        if op == "DescribeModelPackage":
            return _sagemaker_arn("model-package", p["ModelPackageName"], account)
        if op == "UpdateModelPackage":
            return p["ModelPackageArn"]
        # List actions and Search take no resource.
        if op in ("ListModelPackages", "ListTransformJobs", "Search"):
            return "*"
        if op in (
            "ListPipelineExecutions",
            "StartPipelineExecution",
            "CreatePipeline",
            "UpdatePipeline",
            "DescribePipeline",
        ):
            return _sagemaker_arn("pipeline", p["PipelineName"], account)
        if op in ("DescribePipelineExecution", "ListPipelineExecutionSteps"):
            return _pipeline_of_execution(p["PipelineExecutionArn"]).lower()
        if op == "AddTags":
            return p["ResourceArn"]
        if op in ("CreateTransformJob", "DescribeTransformJob"):
            return _sagemaker_arn("transform-job", p["TransformJobName"], account)
        if op in ("CreateProcessingJob", "DescribeProcessingJob"):
            return _sagemaker_arn("processing-job", p["ProcessingJobName"], account)
        if op in ("DescribeEndpoint", "InvokeEndpoint"):
            return _sagemaker_arn("endpoint", p["EndpointName"], account)
        if op == "DescribeModel":
            return _sagemaker_arn("model", p["ModelName"], account)
        # Feature Store's data plane (sagemaker-featurestore-runtime) signs as sagemaker too.
        if op in ("CreateFeatureGroup", "DescribeFeatureGroup", "PutRecord", "DeleteRecord"):
            return _sagemaker_arn("feature-group", p["FeatureGroupName"], account)
        if op == "DescribeModelPackageGroup":
            return _sagemaker_arn("model-package-group", p["ModelPackageGroupName"], account)
    if call.prefix == "cloudformation":
        stack = p.get("StackName", "")
        if stack.startswith("arn:"):
            return stack
        return f"arn:{PARTITION}:cloudformation:{region}:{account}:stack/{stack}/*"
    if call.prefix == "sts" and op == "AssumeRole":
        return p["RoleArn"]
    if call.prefix == "iam" and op == "SimulatePrincipalPolicy":
        return p["PolicySourceArn"]
    if call.prefix == "lambda":
        name = p["FunctionName"]
        if name.startswith("arn:"):
            return name
        return f"arn:{PARTITION}:lambda:{region}:{account}:function:{name}"
    if call.prefix == "kms":
        # A key named by an alias is authorized on the key the alias points at.
        key = project_key(p["KeyId"])
        if key.startswith("arn:"):
            return key
        return f"arn:{PARTITION}:kms:{region}:{account}:{'' if '/' in key else 'key/'}{key}"
    if call.prefix == "monitoring" and op == "PutMetricData":
        # No resource type: a policy narrows it by the cloudwatch:namespace condition key.
        return "*"
    if call.prefix == "ecr":
        registry = p.get("registryId", account)
        return f"arn:{PARTITION}:ecr:{region}:{registry}:repository/{p['repositoryName']}"
    raise AssertionError(
        f"{call.describe()}: no resource ARN for {call.prefix}:{op}; add it to resource_arn"
    )


def context_of(call: Call) -> dict[str, Any]:
    """The condition keys a call carries (those the project's policies test)."""
    principal = call.principal
    assert principal is not None
    context: dict[str, Any] = {
        "aws:PrincipalArn": principal.arn,
        "aws:PrincipalAccount": principal.account,
        "aws:SecureTransport": "true",
    }
    p = call.params
    if call.prefix == "kms":
        key = resource_arn(call, principal.account)
        context["kms:CallerAccount"] = principal.account
        context["kms:ResourceAliases"] = project_stacks().key_aliases(key)
    listings = ("ListObjectsV2", "ListObjects", "ListObjectVersions")
    if call.prefix == "s3" and call.operation in listings and "Prefix" in p:
        context["s3:prefix"] = p["Prefix"]
    if call.prefix == "cloudformation" and "RoleARN" in p:
        context["cloudformation:RoleArn"] = p["RoleARN"]
    if call.prefix == "monitoring" and "Namespace" in p:
        context["cloudwatch:namespace"] = p["Namespace"]
    tags = p.get("Tags")
    if isinstance(tags, list) and tags and isinstance(tags[0], dict) and "Key" in tags[0]:
        context["aws:TagKeys"] = [tag["Key"] for tag in tags]
        for tag in tags:
            context[f"aws:RequestTag/{tag['Key']}"] = tag["Value"]
    return context


# The KMS action an S3 request makes as its caller on an object encrypted with a KMS key.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms
S3_KMS_ACTIONS = {
    "PutObject": "kms:GenerateDataKey",
    "CreateMultipartUpload": "kms:GenerateDataKey",
    "GetObject": "kms:Decrypt",
}


def requests_of(call: Call) -> list[Request]:
    """The IAM requests a call makes: its action on its resource, as its principal, and the
    KMS request S3 makes as the caller for an object encrypted with a KMS key."""
    assert call.principal is not None
    key = (call.prefix, call.operation)
    if key in NO_PERMISSION or key in TOLERATED_DENIALS:
        return []
    action = ACTION_EXCEPTIONS.get(key, f"{call.prefix}:{call.operation}")
    resource = resource_arn(call, call.principal.account)
    requests = [Request(call.principal, action, resource, context_of(call))]
    if (
        call.prefix == "sagemaker"
        and call.operation.startswith("Create")
        and "RoleArn" in call.params
    ):
        # A job started as a role passes it to SageMaker: iam:PassRole as the caller.
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
        passed = {**context_of(call), "iam:PassedToService": "sagemaker.amazonaws.com"}
        requests.append(Request(call.principal, "iam:PassRole", call.params["RoleArn"], passed))
    if call.prefix == "s3" and call.operation in S3_KMS_ACTIONS:
        stacks = project_stacks()
        bucket = call.params["Bucket"]
        named = call.params.get("SSEKMSKeyId")
        key_arn = project_key(named) if named else stacks.bucket_key(bucket)
        if key_arn is not None:
            context = {
                **context_of(call),
                "kms:ViaService": f"s3.{REGION}.amazonaws.com",
                "kms:CallerAccount": call.principal.account,
                "kms:ResourceAliases": stacks.key_aliases(key_arn),
                "kms:EncryptionContext:aws:s3:arn": [
                    f"arn:{PARTITION}:s3:::{bucket}",
                    f"arn:{PARTITION}:s3:::{bucket}/{call.params['Key']}",
                ],
            }
            action = S3_KMS_ACTIONS[call.operation]
            requests.append(Request(call.principal, action, key_arn, context))
    return requests


# Calls whose denial the code that makes them takes as an answer: (prefix, operation) -> why.
TOLERATED_DENIALS = {
    # The SDK's default_bucket() reads the bucket's creation date through boto3's Bucket
    # resource, which takes AccessDenied as "unknown" and the SDK then checks the bucket with
    # HeadBucket (boto3/s3/inject.py bucket_load).
    ("s3", "ListBuckets"): "boto3's Bucket.load takes AccessDenied as no creation date",
}


_DECISIONS: dict[tuple[Any, ...], Decision] = {}


def _decision(request: Request) -> Decision:
    """evaluate(request), once a session for each request (the tests repeat theirs)."""
    context = tuple(sorted((key, repr(value)) for key, value in request.context.items()))
    key = (request.principal.arn, request.action, request.resource, context)
    if key not in _DECISIONS:
        _DECISIONS[key] = evaluate(request)
    return _DECISIONS[key]


def check(calls: list[Call]) -> list[str]:
    """One line for each call that its principal may not make."""
    problems: dict[str, list[str]] = {}
    seen = set()
    log = os.environ.get("AWS_CALLS_LOG")
    if log:
        # Every call the project's code made, for a look: AWS_CALLS_LOG=calls.txt make test.
        with open(log, "a", encoding="utf-8") as out:
            out.writelines(f"{call.describe()} {sorted(call.params)}\n" for call in calls)
    for call in calls:
        if call.principal is None:
            problem = f"{call.describe()}: name the principal (pytest.mark.principal or acting_as)"
            problems.setdefault(problem, [])
            continue
        for request in requests_of(call):
            signature = (request.principal.arn, request.action, request.resource)
            if signature in seen:
                continue
            seen.add(signature)
            decision = _decision(request)
            if request.action in RECORDER.denied:
                if decision.allowed:
                    problem = (
                        f"{call.describe()}: {request.action} is allowed on {request.resource}, "
                        "but the test expects AWS to deny it (pytest.mark.denied)"
                    )
                    problems.setdefault(problem, [])
                continue
            if not decision.allowed:
                # One line per call, action and reason; the resources listed after it.
                problem = f"{call.describe()}: {request.action} is denied: " + "; ".join(
                    decision.reasons
                )
                problems.setdefault(problem, []).append(request.resource)
    lines = []
    for problem, denied_on in problems.items():
        shown = f" (on {denied_on[0]}" if denied_on else ""
        if len(denied_on) > 1:
            shown += f" and {len(denied_on) - 1} more"
        lines.append(problem + shown + (")" if denied_on else ""))
    return lines
