"""Slow tier: the generated suite's check of AWS calls against policies (its tests/aws_calls.py)
can fail. A baked project with one action taken out of a policy that the check reads fails the
generated test that makes the call, and the failure names the call and its principal.

The generated suites of every variant run the check (test_generated.py); here each case takes
an action away from one principal of the largest variant: the deployer, the stage's deployment
role (across accounts, on either side: its own policy and the tooling group's policy), the three
Lambda functions' roles, the pipeline's operator, the tooling role the operations account's CI
assumes (its trust), the execution role's read of the data lake's bucket and the shared-artifact
account's bucket policy (the copies there), each another account's policy. Removals of different
calls share one baked copy and one run of the generated tests that make them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_in_project

pytestmark = pytest.mark.slow

LARGE = {"mlops_size": "large", "ci_system": "github_actions"}


@dataclass(frozen=True)
class Removal:
    """In infra/<file>, `old` (which must occur once) becomes `new`: one action gone."""

    file: str
    old: str
    new: str
    test: str  # the generated test (pytest node or file with -k) that makes the call
    expected: tuple[str, ...]  # what the failure says, {slug} for the project's slug


CASES = {
    "deployer assumes the deployment role": Removal(
        "github-deploy.yaml",
        "DeployInTheStageAccounts\n"
        "                Effect: Allow\n"
        "                Action: sts:AssumeRole\n",
        "DeployInTheStageAccounts\n"
        "                Effect: Allow\n"
        "                Action: sts:TagSession\n",
        "tests/test_deploy_stacks.py -k assumes_the_stage_accounts_deployment_role",
        (
            # The operations account's deployer (operations_account is on in the large size).
            "sts.AssumeRole as arn:aws:iam::666666666666:role/{slug}-deployer",
            "sts:AssumeRole is denied: no statement of infra/github-deploy.yaml DeployerRole",
        ),
    ),
    "deployment role reads the tooling package": Removal(
        "deployment-account.yaml",
        "ReadTheDeployedPackage\n"
        "                Effect: Allow\n"
        "                Action: sagemaker:DescribeModelPackage\n",
        "ReadTheDeployedPackage\n"
        "                Effect: Allow\n"
        "                Action: sagemaker:DescribeModelPackageGroup\n",
        "tests/test_deploy_stacks.py -k creates_the_stages_stacks",
        (
            "sagemaker.DescribeModelPackage as arn:aws:iam::222222222222:role/{slug}-deployment",
            "no statement of infra/deployment-account.yaml DeploymentRole allows it",
        ),
    ),
    "the group's policy lets the deployment role read": Removal(
        "base.yaml",
        "            Action:\n"
        "              - sagemaker:DescribeModelPackage\n"
        "              - sagemaker:DescribeModelPackageGroup\n",
        "            Action:\n              - sagemaker:DescribeModelPackageGroup\n",
        "tests/test_deploy_stacks.py -k creates_the_stages_stacks",
        (
            "sagemaker.DescribeModelPackage as arn:aws:iam::222222222222:role/{slug}-deployment",
            "the resource policy does not allow it (infra/base.yaml ModelPackageGroup)",
        ),
    ),
    "triggers function starts the pipeline": Removal(
        "triggers.yaml",
        "                  - sagemaker:StartPipelineExecution\n",
        "",
        "tests/test_triggers.py -k new_data_starts_the_pipeline",
        (
            # Named by the stack in the largest variant: the data lake's bucket policy names it.
            "sagemaker.StartPipelineExecution as arn:aws:iam::111111111111:role/"
            "{slug}-start-training (from triggers.yaml#Starter:",
            "no statement of infra/triggers.yaml StarterRole allows it",
        ),
    ),
    "batch function starts the transform": Removal(
        "deployment-account.yaml",
        "                  - sagemaker:CreateTransformJob\n",
        "",
        "tests/test_batch_transform.py -k starts_a_transform_of_the_model",
        (
            "sagemaker.CreateTransformJob as arn:aws:iam::333333333333:role/{slug}-batch-starter",
            "no statement of infra/deployment-account.yaml BatchStarterRole allows it",
        ),
    ),
    "monitoring function starts the job": Removal(
        "deployment-account.yaml",
        "                  - sagemaker:CreateProcessingJob\n",
        "",
        "tests/test_monitoring_stack.py -k window_and_publishes",
        (
            "sagemaker.CreateProcessingJob as arn:aws:iam::333333333333:role/"
            "{slug}-monitor-starter (from monitoring.yaml#Starter:",
            "no statement of infra/deployment-account.yaml MonitorStarterRole allows it",
        ),
    ),
    "the data lake's bucket lets the pipeline list the versions it records": Removal(
        "data-lake.yaml",
        "              - s3:ListBucket\n              - s3:ListBucketVersions\n",
        "              - s3:ListBucket\n",
        "tests/test_preprocess.py -k manifest_records_each_files_s3_version",
        (
            "s3.ListObjectVersions as arn:aws:iam::111111111111:role/{slug}-sagemaker-execution",
            "s3:ListBucketVersions is denied: the resource policy does not allow it "
            "(infra/data-lake.yaml DataBucketPolicy)",
        ),
    ),
    # Across accounts, the artifact account's side: its bucket policy names the deployer.
    "the artifact bucket lets the deployer write the copies": Removal(
        "artifact-account.yaml",
        "          - Sid: ToolingDeployerWritesTheCopies\n"
        "            Effect: Allow\n"
        "            Principal:\n"
        "              AWS: !Sub arn:${AWS::Partition}:iam::${ToolingAccountId}:root\n"
        "            Action: s3:PutObject\n",
        "          - Sid: ToolingDeployerWritesTheCopies\n"
        "            Effect: Allow\n"
        "            Principal:\n"
        "              AWS: !Sub arn:${AWS::Partition}:iam::${ToolingAccountId}:root\n"
        "            Action: s3:PutObjectTagging\n",
        "tests/test_artifact_account.py -k publish_copies",
        (
            "s3.PutObject as arn:aws:iam::111111111111:role/{slug}-operations-ci",
            "the resource policy does not allow it (infra/artifact-account.yaml BucketPolicy)",
        ),
    ),
    "operator upserts the pipeline": Removal(
        "base.yaml",
        "              - sagemaker:CreatePipeline\n",
        "",
        "tests/test_pipeline_cli.py -k upsert",
        (
            # The tooling role that the operations account's CI assumes to run the pipeline.
            "sagemaker.CreatePipeline as arn:aws:iam::111111111111:role/{slug}-operations-ci",
            "no statement of infra/operations-access.yaml OperationsCiRole allows it",
        ),
    ),
    # Across accounts, the other side: the tooling role's trust without the operations
    # account's deployer, which reads the registry as that role.
    "the tooling role trusts the operations deployer": Removal(
        "operations-access.yaml",
        "-deployer\n      ManagedPolicyArns:\n",
        "-deployer-removed\n      ManagedPolicyArns:\n",
        "tests/test_operations_account.py -k reads_the_registry",
        (
            "sts:AssumeRole is denied: the resource policy does not allow it "
            "(infra/operations-access.yaml OperationsCiRole (trust)) "
            "(on arn:aws:iam::111111111111:role/{slug}-operations-ci)",
            "sts.AssumeRole as arn:aws:iam::666666666666:role/{slug}-deployer",
        ),
    ),
}


def _runs() -> list[tuple[str, ...]]:
    """The cases in as few runs of the generated suite as can share one baked copy: each run's
    removals take different calls away, so that each failure names its own call (a call's two
    removals, on either side of a cross-account read, run apart)."""
    runs: list[list[str]] = []
    for name, removal in CASES.items():
        for run in runs:
            if all(CASES[other].expected[0] != removal.expected[0] for other in run):
                run.append(name)
                break
        else:
            runs.append([name])
    return [tuple(run) for run in runs]


@pytest.mark.parametrize("cases", _runs(), ids=" & ".join)
def test_a_policy_without_an_action_fails_the_test_that_makes_the_call(
    cases: tuple[str, ...], bake, generated_venv: Path, tmp_path: Path
) -> None:
    shared = bake(**LARGE)
    project = type(shared)(tmp_path / shared.path.name, shared.context)
    shutil.copytree(shared.path, project.path, symlinks=True)
    tests, selections = [], []
    for case in cases:
        removal = CASES[case]
        template = project.path / "infra" / removal.file
        text = template.read_text(encoding="utf-8")
        assert text.count(removal.old) == 1, f"{case}: {removal.file}: {removal.old!r}"
        template.write_text(text.replace(removal.old, removal.new), encoding="utf-8")
        test, _, selection = removal.test.split(maxsplit=2)
        tests.append(test)
        selections.append(selection)

    result = run_in_project(
        project,
        generated_venv,
        *("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0"),
        *dict.fromkeys(tests),
        *("-k", " or ".join(selections)),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "AWS calls that their principal's policies do not allow" in output, output[-3000:]
    for case in cases:
        for expected in CASES[case].expected:
            line = expected.format(slug=project.context["project_slug"])
            assert line in output, f"{case}: {line}\n{output[-3000:]}"
