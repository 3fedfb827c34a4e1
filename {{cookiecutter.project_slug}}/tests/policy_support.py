"""IAM policies of the rendered CloudFormation templates, resolved: a policy's intrinsic
functions resolved as CloudFormation would with the names config.py gives the resources.
Requests on them are decided by iam_evaluation.py."""

from __future__ import annotations

from typing import Any

from {{ cookiecutter.package_name }} import arns, config

PARTITION = "aws"
KEY_ARN = f"arn:{PARTITION}:kms:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:key/0123-abcd"
ECR = f"arn:{PARTITION}:ecr:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:repository"


def known_names(template: dict[str, Any]) -> dict[str, str]:
    """What a template's ${...} and Ref/GetAtt resolve to: the pseudo parameters, the default
    parameters, the names config.py gives the base stack's resources, and a made-up key ID."""
    parameters = {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }
    return {
        "AWS::Partition": PARTITION,
        "AWS::Region": config.AWS_REGION,
        "AWS::AccountId": config.AWS_ACCOUNT_ID,
        "Bucket.Arn": f"arn:{PARTITION}:s3:::{config.DEFAULT_BUCKET}",
        "Key.Arn": KEY_ARN,
        "StepsRepository.Arn": f"{ECR}/{config.STEPS_IMAGE_REPOSITORY}",
        "ServeRepository.Arn": f"{ECR}/{config.SERVE_IMAGE_REPOSITORY}",
        "ExecutionRole.Arn": arns.EXECUTION_ROLE_ARN,
        **parameters,
    }


def substitute(value: Any, template: dict[str, Any]) -> Any:
    """A value as CloudFormation resolves it (Fn::Sub, Ref, Fn::GetAtt), in lists and maps."""
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list):
        return [substitute(item, template) for item in value]
    known = known_names(template)
    if "Fn::Sub" in value:
        text = value["Fn::Sub"]
        for name, replacement in known.items():
            text = text.replace("${" + name + "}", replacement)
        assert "${" not in text, text
        return text
    if "Ref" in value:
        return known[value["Ref"]]
    if "Fn::GetAtt" in value:
        return known[value["Fn::GetAtt"]]
    assert not any(key.startswith("Fn::") for key in value), f"unexpected intrinsic {value}"
    return {key: substitute(item, template) for key, item in value.items()}


def statements(template: dict[str, Any], policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy's statements, resolved, with Action and Resource as lists."""
    found = []
    for statement in policy["Statement"]:
        resolved = substitute(statement, template)
        for element in ("Action", "Resource"):
            if isinstance(resolved.get(element), str):
                resolved[element] = [resolved[element]]
        found.append(resolved)
    return found


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every statement of a role's inline policies, resolved."""
    policies = template["Resources"][role]["Properties"]["Policies"]
    return [s for p in policies for s in statements(template, p["PolicyDocument"])]
