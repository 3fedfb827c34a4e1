"""The GitHub Actions workflows against what they call: the OIDC role of infra/github-oidc.yaml,
the make targets, the pipeline's command line, and the same uv pin as the buildspecs. (actionlint
runs on them in the template's own tests.)"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from conftest import help_of, load_cloudformation, resources

from {{ cookiecutter.package_name }} import config

WORKFLOWS = config.PROJECT_DIR / ".github" / "workflows"


def workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def commands(flow: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for job in flow["jobs"].values() for step in job["steps"])


@pytest.fixture(scope="module")
def oidc() -> dict[str, Any]:
    return load_cloudformation("github-oidc.yaml")


def test_checks_run_on_pull_requests_and_pushes_with_read_only_access():
    flow = workflow("ci.yml")
    # PyYAML reads the key `on` as True.
    assert set(flow[True]) == {"pull_request", "push"}
    assert flow["permissions"] == {"contents": "read"}
    run = commands(flow)
    assert "uv sync --locked" in run and "make lint" in run and "make test" in run


def test_training_assumes_the_oidc_role_for_pushes_to_the_branch_it_trusts(oidc):
    flow = workflow("train.yml")
    assert flow["permissions"] == {"contents": "read", "id-token": "write"}
    assert set(flow[True]) == {"push", "workflow_dispatch"}
    (role,) = resources(oidc, "AWS::IAM::Role").values()
    name = role["RoleName"]
    # In the account the CI/CD runs in (operations, or tooling).
    account = config.OPERATIONS_ACCOUNT_ID
    assert flow["env"]["AWS_ROLE_ARN"] == f"arn:aws:iam::{account}:role/{name}"
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    subject = trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
    branch = oidc["Parameters"]["BranchName"]["Default"]
    assert subject == {"Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/${BranchName}"}
    assert flow[True]["push"]["branches"] == [branch]
    assert flow["env"]["STEPS_IMAGE_REPOSITORY"] == config.STEPS_IMAGE_REPOSITORY
    assert flow["env"]["SERVE_IMAGE_REPOSITORY"] == config.SERVE_IMAGE_REPOSITORY
    assert flow["env"]["AWS_REGION"] == config.AWS_REGION


def test_the_workflows_call_what_exists():
    makefile = (config.PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    buildspecs = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (config.PROJECT_DIR / "buildspecs").glob("*.yml")
    )
    uv_pins = set(re.findall(r"uv==([0-9.]+)", buildspecs))
    assert len(uv_pins) == 1
    runs = {name: commands(workflow(name)) for name in ("ci.yml", "train.yml")}
    for name, run in runs.items():
        for target in re.findall(r"\bmake ([a-z-]+)", run):
            assert re.search(rf"^{target}:", makefile, re.MULTILINE), (name, target)
        assert set(re.findall(r"uv==([0-9.]+)", run)) == uv_pins, name
    # The pipeline's command line takes every option the training workflow passes.
    options = set(re.findall(r"(--[a-z][a-z-]+)", runs["train.yml"]))
    assert {"--steps-image", "--serve-image"} <= options
    from {{ cookiecutter.package_name }}.pipeline import cli as pipeline_cli

    cli = help_of(pipeline_cli.main)
    uv_options = {
        "--locked",
        "--no-default-groups",
        "--group",
        "--no-sync",
        "--disable-pip-version-check",
    }
    docker_options = {"--platform", "--file", "--target", "--build-arg", "--tag", "--push"}
    docker_options |= {"--provenance", "--sbom"}
    docker_options |= {"--repository-name", "--image-ids", "--query", "--output"}
    for option in options - uv_options - docker_options:
        assert option in cli, option
    # Both images are targets of one Dockerfile.
    assert '--file containers/Dockerfile --target "$image"' in runs["train.yml"]
    dockerfile = (config.PROJECT_DIR / "containers" / "Dockerfile").read_text(encoding="utf-8")
    for image in ("steps", "serve"):
        assert re.search(rf"^FROM \S+ AS {image}$", dockerfile, re.MULTILINE), image
