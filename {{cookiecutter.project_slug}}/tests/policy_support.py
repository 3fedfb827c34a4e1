"""IAM policies of the rendered CloudFormation templates, resolved and evaluated: a policy's
intrinsic functions resolved as CloudFormation would with the names config.py gives the
resources, and `allows`, IAM's decision for one request on one identity policy.

The decision is moto's policy evaluator (moto.iam.access_control), statement by statement, with
two of its departures from IAM corrected: moto takes a condition whose key the request lacks as
met (IAM: not met), and an Allow whose condition fails as a Deny (IAM: the statement does not
apply). moto compares StringEquals conditions only, so a policy with any other condition
operator is refused here rather than judged wrongly.
"""

from __future__ import annotations

from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

from {{ cookiecutter.package_name }} import arns, config

PARTITION = "aws"
KEY_ARN = f"arn:{PARTITION}:kms:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:key/0123-abcd"
ECR = f"arn:{PARTITION}:ecr:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:repository"
# The condition operators moto's evaluator compares (moto.iam.policy_conditions).
EVALUATED_OPERATORS = {"StringEquals"}
# What a request lacking a condition key compares as: equal to nothing a policy names.
ABSENT = "\x00absent"


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


def _applies(
    statement: dict[str, Any], action: str, resource: str, context: dict[str, str]
) -> bool:
    conditions = statement.get("Condition", {})
    unevaluated = set(conditions) - EVALUATED_OPERATORS
    assert not unevaluated, f"{statement.get('Sid')}: moto cannot evaluate {unevaluated}"
    assert "NotResource" not in statement, f"{statement.get('Sid')}: NotResource"
    keys = {key for block in conditions.values() for key in block}
    request = {key: context.get(key, ABSENT) for key in keys}
    # Action and resource, then conditions, each as moto matches them, on an Allow copy.
    unconditional = {k: v for k, v in statement.items() if k != "Condition"} | {"Effect": "Allow"}
    matches = IAMPolicyStatement(unconditional).is_action_permitted(action, resource)
    condition = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": conditions}
    met = IAMPolicyStatement(condition).is_action_permitted(action, "*", None, request)
    return matches is PermissionResult.PERMITTED and met is PermissionResult.PERMITTED


def allows(
    found: list[dict[str, Any]],
    action: str,
    resource: str = "*",
    context: dict[str, str] | None = None,
) -> bool:
    """Whether the statements allow the request: no Deny applies and an Allow does. `context`
    holds the request's condition keys (aws:RequestTag/..., iam:PassedToService, ...); without
    it, as IAM's policy simulator without context, no condition is met."""
    applying = [s for s in found if _applies(s, action, resource, context or {})]
    return any(s["Effect"] == "Allow" for s in applying) and not any(
        s["Effect"] == "Deny" for s in applying
    )
