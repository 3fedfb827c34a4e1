"""The stacks deployed once, by hand, before CI can ship a model: which file, in which account,
in which order, with the exact `aws cloudformation deploy` command.

Read from the infra/ folder of this project, so that only the files of this variant appear; a
template's parameters without a default appear as `Name=<Name>` to fill in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .. import config

INFRA_DIR = config.PROJECT_DIR / "infra"
SLUG = config.PROJECT_SLUG
# The CI stacks of each CI system: training (tests, images, pipeline), then deployment.
CI_STACKS = {
    "codepipeline": (
        ("cicd.yaml", f"{SLUG}-cicd"),
        ("deploy-pipeline.yaml", f"{SLUG}-deploy-pipeline"),
    ),
    "github_actions": (
        ("github-oidc.yaml", f"{SLUG}-github"),
        ("github-deploy.yaml", f"{SLUG}-github-deploy"),
    ),
}
# Templates the project's code completes before they are deployed: file -> (the command that
# writes the completed template, where it writes it). The feature group takes its features from
# the current schema (deploy/feature_group.py).
RENDERED = {
    "feature-store.yaml": (
        f"uv run python -m {__name__.split('.')[0]}.deploy.feature_group "
        "--output build/feature-store.json",
        "build/feature-store.json",
    ),
}
# Parameters without a default whose value this project knows.
KNOWN_VALUES = {
    "ToolingAccountId": config.AWS_ACCOUNT_ID,
    "StagingAccountId": config.STAGE_ACCOUNTS.get("staging", ""),
    "ProdAccountId": config.STAGE_ACCOUNTS["prod"],
    "OperationsAccountId": config.OPERATIONS_ACCOUNT_ID,
}


@dataclass(frozen=True)
class StackStep:
    account: str
    template: str  # relative to the project: infra/<file>
    stack_name: str
    parameters: tuple[str, ...]  # NAME=VALUE

    def command(self) -> str:
        rendered = RENDERED.get(Path(self.template).name)
        parts = [
            "aws cloudformation deploy",
            f"--template-file {rendered[1] if rendered else self.template}",
            f"--stack-name {self.stack_name}",
            "--capabilities CAPABILITY_NAMED_IAM",
            f"--region {config.AWS_REGION}",
        ]
        if self.parameters:
            parts.append("--parameter-overrides " + " ".join(self.parameters))
        parts += [
            f"--tags project={SLUG} mlops-size={config.MLOPS_SIZE}",
            f"--profile {self.account}",
        ]
        # A completed template is written first.
        return " && ".join([*([rendered[0]] if rendered else []), " ".join(parts)])


def required_parameters(text: str) -> list[str]:
    """The parameters of a CloudFormation template (YAML, two-space indent) without a default."""
    section = re.search(r"^Parameters:\s*\n((?:[ #].*\n|\s*\n)*)", text, re.MULTILINE)
    if not section:
        return []
    names: list[str] = []
    defaults: set[str] = set()
    current = None
    for line in section.group(1).splitlines():
        declared = re.match(r"^  ([A-Za-z0-9]+):\s*$", line)
        if declared:
            current = declared.group(1)
            names.append(current)
        elif current and re.match(r"^    Default:", line):
            defaults.add(current)
    return [name for name in names if name not in defaults]


def _step(account: str, file: str, stack_name: str, infra_dir: Path) -> StackStep | None:
    path = infra_dir / file
    if not path.is_file():
        return None
    parameters = tuple(
        f"{name}={KNOWN_VALUES.get(name) or f'<{name}>'}"
        for name in required_parameters(path.read_text(encoding="utf-8"))
    )
    return StackStep(account, f"infra/{file}", stack_name, parameters)


def steps(infra_dir: Path = INFRA_DIR) -> list[StackStep]:
    """Every stack to deploy once, in order. The roles trust each other by ARN, not by reference,
    so no stack waits for another's resources: the order is the tooling account's base (and the
    role the operations account's CI assumes there), then the data lake's bucket (when the raw
    data has an account of its own), then each stage account's deployment roles, the
    shared-artifact account's stack (when this project has one), then CI (in the operations
    account, when it has one), which deploys into them."""
    tooling = config.AWS_ACCOUNT_ID
    operations = config.OPERATIONS_ACCOUNT_ID
    stage_accounts = list(dict.fromkeys(config.STAGE_ACCOUNTS.values()))
    planned: list[tuple[str, str, str]] = [
        (tooling, "base.yaml", f"{SLUG}-base"),
        # The feature group's offline store is in the base stack's bucket, under its key.
        (tooling, "feature-store.yaml", f"{SLUG}-feature-store"),
        (tooling, "operations-access.yaml", f"{SLUG}-operations-access"),
    ]
    if config.DATA_LAKE_ACCOUNT:
        # The raw data's bucket, which the pipeline reads from its first run.
        lake = config.DATA_LAKE_ACCOUNT_ID
        planned += [
            (lake, "data-lake.yaml", config.DATA_LAKE_STACK),
            (lake, "budget.yaml", f"{SLUG}-budget"),
        ]
    for account in stage_accounts:
        planned.append((account, "deployment-account.yaml", f"{SLUG}-deployment"))
        if account != tooling:
            planned.append((account, "budget.yaml", f"{SLUG}-budget"))
    # The shared-artifact account before CI: its registry policy must let the tooling account
    # replicate when CI pushes the first images (replication copies images as they are pushed).
    planned.append((config.ARTIFACT_ACCOUNT_ID, "artifact-account.yaml", f"{SLUG}-artifacts"))
    if config.ARTIFACT_ACCOUNT:
        # The copies it keeps for years cost storage: its own cost alarm.
        planned.append((config.ARTIFACT_ACCOUNT_ID, "budget.yaml", f"{SLUG}-budget"))
    planned.append((operations, "operations-account.yaml", f"{SLUG}-operations"))
    planned += [(operations, file, stack) for file, stack in CI_STACKS[config.CI_SYSTEM]]
    if operations != tooling:
        planned.append((operations, "budget.yaml", f"{SLUG}-budget"))
    planned += [
        (tooling, "triggers.yaml", f"{SLUG}-triggers"),
        (tooling, "budget.yaml", f"{SLUG}-budget"),
    ]
    found = [_step(account, file, stack, infra_dir) for account, file, stack in planned]
    return [step for step in found if step is not None]


def describe_account(account: str) -> str:
    roles = []
    if account == config.AWS_ACCOUNT_ID:
        ci = "" if config.OPERATIONS_ACCOUNT else ", CI"
        roles.append(f"tooling: pipeline, registry, images{ci}")
    if config.OPERATIONS_ACCOUNT and account == config.OPERATIONS_ACCOUNT_ID:
        roles.append("operations: CI/CD")
    roles += [f"{stage} endpoint" for stage, id_ in config.STAGE_ACCOUNTS.items() if id_ == account]
    if config.DATA_LAKE_ACCOUNT and account == config.DATA_LAKE_ACCOUNT_ID:
        roles.append("data lake: the raw data")
    if config.ARTIFACT_ACCOUNT and account == config.ARTIFACT_ACCOUNT_ID:
        roles.append("shared artifacts: approved models' copies under Object Lock, image replicas")
    return f"account {account} ({', '.join(roles)})"


def render(plan: list[StackStep]) -> str:
    """The commands, one block per account in turn, numbered in the order to run them."""
    lines: list[str] = []
    previous = None
    for number, step in enumerate(plan, 1):
        if step.account != previous:
            if lines:
                lines.append("")
            lines.append(f"# {describe_account(step.account)}, profile {step.account}")
            previous = step.account
        lines.append(f"# {number}. {step.template} -> stack {step.stack_name}")
        lines.append(step.command())
    return "\n".join(lines)
