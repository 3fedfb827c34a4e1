"""The execution role (infra/base.yaml) against every step of the pipeline the project builds:
for each step type, the requests AWS documents a job of that type making as the role (the job's
own creation, tagging, the role passed on, its S3 data under the project key, its image, its
logs; the registry), each made concrete from the step in the
definition and decided as AWS would (policies.evaluate): the role's policy as CloudFormation
renders it, and the policies of the bucket and key it reads, which decide too where they are
another account's (a data lake's raw data)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from iam_evaluation import as_list
from pipeline_support import SDK_WARNINGS
from policies import PARTITION, REGION, Request, Role, evaluate, project_stacks

from {{ cookiecutter.package_name }} import config

# The pipeline is built by CI's operator role (tests/aws_calls.py).
pytestmark = [*SDK_WARNINGS, pytest.mark.principal("operator")]

ARN = f"arn:aws:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}"
EXECUTION_ID = "a1b2c3d4e5f6"
SAGEMAKER = "sagemaker.amazonaws.com"

# Where each requirement comes from.
PIPELINES_ACCESS = "https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-access.html"
PROCESSING_ROLE = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html"
    "#sagemaker-roles-createprocessingjob-perms"
)
TRAINING_ROLE = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html"
    "#sagemaker-roles-createtrainingjob-perms"
)
TAG_ON_CREATE = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/"
    "security_iam_id-based-policy-examples.html#api-access-policy-tag-on-create"
)
PASS_ROLE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"
SSE_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"
REGISTER_MODEL = "https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-version.html"
PROPERTY_FILES = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-propertyfile.html"
)


@dataclass(frozen=True)
class Need:
    """Actions a step of a type needs on one kind of resource (RESOURCES resolves it from the
    step), with the condition keys of the request (CONTEXTS) and the page that documents it."""

    actions: tuple[str, ...]
    resource: str
    doc: str
    context: str = "none"


JOB_DATA = (
    Need(("s3:GetObject",), "inputs", PROCESSING_ROLE),
    Need(("s3:PutObject",), "outputs", PROCESSING_ROLE),
    # Each input and output is a prefix, which the job lists.
    Need(("s3:ListBucket",), "prefixes", PROCESSING_ROLE),
    # Each bucket encrypts with its key by default (SSE-KMS): the project key, the data lake's.
    Need(("kms:Decrypt",), "input-keys", SSE_KMS),
    Need(("kms:GenerateDataKey",), "key", SSE_KMS),
)
PROCESSING = (
    Need(("sagemaker:CreateProcessingJob",), "job", PIPELINES_ACCESS, "request-tags"),
    Need(("sagemaker:AddTags",), "job", TAG_ON_CREATE, "request-tags"),
    Need(("sagemaker:DescribeProcessingJob",), "job", PIPELINES_ACCESS, "resource-tags"),
    Need(("sagemaker:StopProcessingJob",), "job", PIPELINES_ACCESS, "resource-tags"),
    Need(("iam:PassRole",), "role", PASS_ROLE, "passed-to-sagemaker"),
    *JOB_DATA,
    Need(("ecr:GetAuthorizationToken",), "*", PROCESSING_ROLE),
    Need(
        ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"),
        "image",
        PROCESSING_ROLE,
    ),
    Need(
        ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
        "processing-logs",
        PROCESSING_ROLE,
    ),
    Need(("cloudwatch:PutMetricData",), "*", PROCESSING_ROLE),
)
STEP_NEEDS: dict[str, tuple[Need, ...]] = {
    "Processing": PROCESSING,
    "Training": (
        Need(("sagemaker:CreateTrainingJob",), "job", PIPELINES_ACCESS, "request-tags"),
        Need(("sagemaker:AddTags",), "job", TAG_ON_CREATE, "request-tags"),
        Need(("sagemaker:DescribeTrainingJob",), "job", PIPELINES_ACCESS, "resource-tags"),
        Need(("sagemaker:StopTrainingJob",), "job", PIPELINES_ACCESS, "resource-tags"),
        Need(("iam:PassRole",), "role", PASS_ROLE, "passed-to-sagemaker"),
        *(Need(n.actions, n.resource, TRAINING_ROLE) for n in JOB_DATA),
        Need(("ecr:GetAuthorizationToken",), "*", TRAINING_ROLE),
        Need(
            ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"),
            "image",
            TRAINING_ROLE,
        ),
        Need(
            ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
            "training-logs",
            TRAINING_ROLE,
        ),
        # The metric definitions' values are published as the role.
        Need(("cloudwatch:PutMetricData",), "*", TRAINING_ROLE),
    ),
    "RegisterModel": (
        Need(("sagemaker:CreateModelPackage",), "model-package", REGISTER_MODEL, "request-tags"),
        Need(("sagemaker:AddTags",), "model-package", TAG_ON_CREATE, "request-tags"),
        Need(("sagemaker:DescribeModelPackageGroup",), "model-package-group", REGISTER_MODEL),
    ),
    # Pipelines reads a condition's property files (JsonGet) as the pipeline's role.
    "Condition": (
        Need(("s3:GetObject",), "property-files", PROPERTY_FILES),
        Need(("kms:Decrypt",), "key", SSE_KMS),
    ),
    "Fail": (
        Need(("s3:GetObject",), "property-files", PROPERTY_FILES),
        Need(("kms:Decrypt",), "key", SSE_KMS),
    ),
}


# --- the definition's values made concrete, as Pipelines would at run time --------------------


def parameter_defaults(definition: dict[str, Any]) -> dict[str, Any]:
    return {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}


def render(value: Any, definition: dict[str, Any], steps: dict[str, dict[str, Any]]) -> str:
    """A step argument's value in an execution: parameters at their defaults, the execution's
    ID, other steps' outputs where those steps put them."""
    if isinstance(value, str):
        return value
    if "Std:Join" in value:
        join = value["Std:Join"]
        return join["On"].join(render(v, definition, steps) for v in join["Values"])
    reference = value["Get"]
    if reference.startswith("Parameters."):
        return str(parameter_defaults(definition)[reference.removeprefix("Parameters.")])
    if reference == "Execution.PipelineExecutionId":
        return EXECUTION_ID
    output = re.fullmatch(
        r"Steps\.(\w+)\.ProcessingOutputConfig\.Outputs\['([\w-]+)'\]\.S3Output\.S3Uri", reference
    )
    if output:
        step, name = output.groups()
        (made,) = [
            o["S3Output"]["S3Uri"]
            for o in steps[step]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
            if o["OutputName"] == name
        ]
        return render(made, definition, steps)
    artifacts = re.fullmatch(r"Steps\.(\w+)\.ModelArtifacts\.S3ModelArtifacts", reference)
    if artifacts:
        (step,) = artifacts.groups()
        path = render(
            steps[step]["Arguments"]["OutputDataConfig"]["S3OutputPath"], definition, steps
        )
        return f"{path}/{job_name(step)}/output/model.tar.gz"
    raise AssertionError(f"no value for {reference}: teach render() where it comes from")


def job_name(step: str) -> str:
    """How Pipelines names what a step makes (no name is kept in the definition)."""
    return f"pipelines-{EXECUTION_ID}-{step}-x1y2z3"


def s3_arn(uri: str) -> str:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return f"arn:aws:s3:::{bucket}/{key}".rstrip("/") + "/part-0"


def image_repository(image: str) -> str:
    """The ECR repository ARN of an image URI (registry/name@digest or :tag)."""
    registry, _, rest = image.partition("/")
    account, region = registry.split(".")[0], registry.split(".")[3]
    name = re.split(r"[@:]", rest, maxsplit=1)[0]
    return f"arn:aws:ecr:{region}:{account}:repository/{name}"


def json_gets(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "Std:JsonGet" in node:
            yield node["Std:JsonGet"]
        for value in node.values():
            yield from json_gets(value)
    elif isinstance(node, list):
        for value in node:
            yield from json_gets(value)


def property_files(step: dict[str, Any], definition: dict[str, Any], steps: dict[str, Any]):
    """The S3 objects of the property files a step's JsonGet functions read."""
    for get in json_gets(step["Arguments"]):
        owner, _, name = (
            get["PropertyFile"]["Get"].removeprefix("Steps.").partition(".PropertyFiles.")
        )
        (file,) = [f for f in steps[owner]["PropertyFiles"] if f["PropertyFileName"] == name]
        output = {
            "Get": f"Steps.{owner}.ProcessingOutputConfig.Outputs['{file['OutputName']}']"
            ".S3Output.S3Uri"
        }
        uri = render(output, definition, steps)
        yield f"arn:aws:s3:::{uri.removeprefix('s3://')}/{file['FilePath']}"


def job_inputs(step: dict[str, Any]) -> list[Any]:
    arguments = step["Arguments"]
    if step["Type"] == "Training":
        return [c["DataSource"]["S3DataSource"]["S3Uri"] for c in arguments["InputDataConfig"]]
    inputs = [i["S3Input"]["S3Uri"] for i in arguments.get("ProcessingInputs", [])]
    # A job that reads S3 itself reads as the role too: the Spark job, its --input-url.
    container = arguments["AppSpecification"].get("ContainerArguments", [])
    inputs += [value for flag, value in itertools.pairwise(container) if flag == "--input-url"]
    return inputs


def job_outputs(step: dict[str, Any]) -> list[Any]:
    arguments = step["Arguments"]
    if step["Type"] == "Training":
        return [arguments["OutputDataConfig"]["S3OutputPath"]]
    return [o["S3Output"]["S3Uri"] for o in arguments["ProcessingOutputConfig"]["Outputs"]]


def step_image(step: dict[str, Any]) -> Any:
    arguments = step["Arguments"]
    if step["Type"] == "Training":
        return arguments["AlgorithmSpecification"]["TrainingImage"]
    return arguments["AppSpecification"]["ImageUri"]


# A resource a request names, or (resource, the condition keys this resource gives the request).
Named = str | tuple[str, dict[str, Any]]


def s3_key_context(object_arn: str) -> dict[str, Any]:
    """What S3 asks KMS with, as the caller, for an object of a bucket encrypted with a key."""
    bucket = object_arn.split("/", 1)[0]
    return {
        "kms:ViaService": f"s3.{REGION}.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": [bucket, object_arn],
    }


def prefix_of(object_arn: str) -> tuple[str, dict[str, Any]]:
    """The bucket that an object is listed in, with the prefix listed (s3:prefix)."""
    bucket, _, key = object_arn.partition("/")
    return bucket, {"s3:prefix": key.rsplit("/", 1)[0] + "/"}


def resources_of(
    step: dict[str, Any], definition: dict[str, Any], steps: dict[str, Any]
) -> dict[str, Callable[[], list[Named]]]:
    """Resource kind -> the ARNs of that kind a step's requests name."""
    name, kind = step["Name"], step["Type"]
    group = config.MODEL_PACKAGE_GROUP
    sagemaker_kind = {"Training": "training-job"}.get(kind, "processing-job")

    def rendered(values: list[Any]) -> list[str]:
        return [s3_arn(render(v, definition, steps)) for v in values]

    def input_keys() -> list[Named]:
        """The key of each input's bucket, as S3 uses it for the object."""
        stacks, keys = project_stacks(), []
        for arn in rendered(job_inputs(step)):
            key = stacks.bucket_key(arn.removeprefix(f"arn:{PARTITION}:s3:::").split("/")[0])
            keys.append((key, s3_key_context(arn)))
        return keys

    def image() -> list[str]:
        # The images the role pulls are the pipeline's parameters: the project's, or XGBoost's.
        return [image_repository(render(step_image(step), definition, steps))]

    return {
        "*": lambda: ["*"],
        "job": lambda: [f"{ARN}:{sagemaker_kind}/{job_name(name)}"],
        "role": lambda: [step["Arguments"].get("RoleArn") or step["Arguments"]["ExecutionRoleArn"]],
        "inputs": lambda: rendered(job_inputs(step)),
        "outputs": lambda: rendered(job_outputs(step)),
        "prefixes": lambda: [
            prefix_of(arn) for arn in rendered(job_inputs(step) + job_outputs(step))
        ],
        "input-keys": input_keys,
        "key": lambda: [
            project_stacks().stack("base.yaml", config.AWS_ACCOUNT_ID).attribute("Key", "Arn")
        ],
        "image": image,
        "processing-logs": lambda: [
            f"arn:aws:logs:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:log-group:"
            f"/aws/sagemaker/ProcessingJobs:log-stream:{job_name(name)}/algo-1"
        ],
        "training-logs": lambda: [
            f"arn:aws:logs:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:log-group:"
            f"/aws/sagemaker/TrainingJobs:log-stream:{job_name(name)}/algo-1"
        ],
        "model-package": lambda: [f"{ARN}:model-package/{group}/1"],
        "model-package-group": lambda: [f"{ARN}:model-package-group/{group}"],
        "property-files": lambda: list(property_files(step, definition, steps)),
    }


def context_of(step: dict[str, Any], kind: str) -> dict[str, str]:
    """The condition keys of a step's request: its tags as sent (on create) or as the resource
    carries them (after), or the service the role is passed to."""
    tags = {t["Key"]: t["Value"] for t in step["Arguments"].get("Tags", [])}
    return {
        "none": {},
        "request-tags": {f"aws:RequestTag/{k}": v for k, v in tags.items()},
        "resource-tags": {f"aws:ResourceTag/{k}": v for k, v in tags.items()},
        "passed-to-sagemaker": {"iam:PassedToService": SAGEMAKER},
    }[kind]


def requests(
    definition: dict[str, Any], steps: dict[str, dict[str, Any]]
) -> list[tuple[str, str, str, dict[str, str], str]]:
    """(step, action, resource, context, doc) of every request the steps make as the role."""
    made = []
    for step in steps.values():
        resolve = resources_of(step, definition, steps)
        for need in STEP_NEEDS[step["Type"]]:
            for named in resolve[need.resource]():
                resource, given = named if isinstance(named, tuple) else (named, {})
                for action in need.actions:
                    context = {**context_of(step, need.context), **given}
                    made.append((step["Name"], action, resource, context, need.doc))
    return made


@pytest.fixture(scope="module")
def execution_role() -> Role:
    stacks = project_stacks()
    base = stacks.stack("base.yaml", config.AWS_ACCOUNT_ID)
    return stacks.role(base.attribute("ExecutionRole", "Arn"))


@pytest.fixture(scope="module")
def role(execution_role: Role) -> list[dict[str, Any]]:
    return [
        {**s, "Action": as_list(s["Action"])}
        for document in execution_role.documents
        for s in as_list(document["Statement"])
    ]


def denied(execution_role: Role, role: list[dict[str, Any]], made: list[tuple]) -> list[str]:
    """The requests that the role with these statements may not make, by its policy and by the
    policies of what it acts on."""
    held = Role(execution_role.arn, execution_role.where, ({"Statement": role},))
    principal = {
        "aws:PrincipalArn": held.arn,
        "aws:PrincipalAccount": held.account,
        "aws:SecureTransport": "true",
    }
    return [
        f"{step}: {action} on {resource} ({doc})"
        for step, action, resource, context, doc in made
        if not evaluate(Request(held, action, resource, {**principal, **context})).allowed
    ]


def test_every_step_type_of_the_pipeline_has_its_needs_written_down(steps):
    assert {step["Type"] for step in steps.values()} <= set(STEP_NEEDS)


def test_the_role_holds_what_each_step_type_needs(definition, steps, execution_role, role):
    made = requests(definition, steps)
    assert {step for step, *_ in made} == set(steps) - {
        name for name, step in steps.items() if not STEP_NEEDS[step["Type"]]
    }
    assert denied(execution_role, role, made) == []


def test_each_action_the_steps_need_is_load_bearing(definition, steps, execution_role, role):
    """The check can fail: the role without any one of the actions the steps need is refused
    some request."""
    made = requests(definition, steps)
    for action in sorted({action for _, action, *_ in made}):
        without = [
            {**s, "Action": [a for a in s["Action"] if a != action]}
            for s in role
            if [a for a in s["Action"] if a != action]
        ]
        # Only the requests for that action can change (the statements lose that name only).
        of_action = [request for request in made if request[1] == action]
        assert denied(execution_role, without, of_action), f"nothing needs {action}"
