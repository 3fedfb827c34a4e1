"""Every action that a policy of infra/*.yaml names exists: a misspelt action is no error to
IAM, which accepts the policy and denies the call at run time. The actions are held against the
service authorization reference that cfn-lint ships (cfnlint/data/AdditionalSpecs/Policies.json,
the data of its rule W3037). That rule reads only the IAM policies' statements; this test reads
every policy document of every template: roles' trust policies, key, bucket, queue, topic,
repository and model package group policies, and a Lambda permission's action."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from importlib import resources as package_data
from typing import Any

import pytest
from conftest import load_cloudformation

from {{ cookiecutter.package_name }} import config

TEMPLATES = sorted(path.name for path in (config.PROJECT_DIR / "infra").glob("*.yaml"))


@pytest.fixture(scope="module")
def service_actions() -> dict[str, set[str]]:
    """Service prefix -> its actions, lower case (IAM compares action names so)."""
    text = (package_data.files("cfnlint.data.AdditionalSpecs") / "Policies.json").read_text(
        encoding="utf-8"
    )
    return {
        service: {action.lower() for action in data.get("Actions", {})}
        for service, data in json.loads(text).items()
    }


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def named_actions(node: Any, where: str) -> Iterator[tuple[str, str]]:
    """(where, action) of every Action and NotAction of every policy document under `node`,
    and of every AWS::Lambda::Permission."""
    if isinstance(node, dict):
        if node.get("Type") == "AWS::Lambda::Permission":
            yield where, node["Properties"]["Action"]
        statements = node.get("Statement")
        if statements is not None:
            for index, statement in enumerate(as_list(statements)):
                label = f"{where} statement {statement.get('Sid', index)}"
                for key in ("Action", "NotAction"):
                    for action in as_list(statement.get(key, [])):
                        yield label, action
        for key, value in node.items():
            yield from named_actions(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from named_actions(value, f"{where}/{index}")


def unknown(action: Any, service_actions: dict[str, set[str]]) -> str | None:
    """Why `action` names nothing, or None when it names at least one action."""
    if action == "*":
        return None
    if not isinstance(action, str) or action.count(":") != 1:
        return "not of the form service:action"
    service, name = action.lower().split(":")
    if service not in service_actions:
        return f"no service {service!r}"
    if not fnmatch.filter(service_actions[service], name):
        return f"no action of {service} matches {name!r}"
    return None


def test_every_action_a_policy_names_exists(service_actions) -> None:
    found = [
        named
        for template in TEMPLATES
        for named in named_actions(load_cloudformation(template)["Resources"], template)
    ]
    # The walk reads the documents where the templates keep them: every variant has roles.
    assert any(where.startswith("deployment-account.yaml") for where, _ in found)
    problems = [
        f"{where}: {action!r}: {reason}"
        for where, action in found
        if (reason := unknown(action, service_actions)) is not None
    ]
    assert problems == []


def test_a_misspelt_action_is_found(service_actions) -> None:
    """The check can fail: a known action passes, a misspelt one and an unknown service do not,
    wherever the document is."""
    policy = {
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "KeyPolicy": {
                    "Statement": [
                        {"Action": ["kms:Decrypt", "kms:GenerateDataKey*"]},
                        {"Action": "kms:DescribeKeys"},
                        {"NotAction": "sagemakr:CreateModel"},
                    ]
                }
            },
        }
    }
    reasons = [unknown(action, service_actions) for _, action in named_actions(policy, "t")]
    assert reasons[:2] == [None, None]
    assert reasons[2] == "no action of kms matches 'describekeys'"
    assert reasons[3] == "no service 'sagemakr'"
