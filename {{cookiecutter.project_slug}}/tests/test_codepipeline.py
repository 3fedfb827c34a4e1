"""The CI/CD stack, infra/cicd.yaml (CodePipeline and CodeBuild), against the buildspecs it
runs and the base stack's names."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import load_cloudformation, resources

from {{ cookiecutter.package_name }} import config


@pytest.fixture(scope="module")
def cicd() -> dict[str, Any]:
    return load_cloudformation("cicd.yaml")


def buildspec(path: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((config.PROJECT_DIR / path).read_text(encoding="utf-8"))


def test_every_build_runs_a_buildspec_of_this_repository(cicd):
    import botocore.session

    projects = resources(cicd, "AWS::CodeBuild::Project")
    assert {p["Source"]["BuildSpec"] for p in projects.values()} == {
        f"buildspecs/{name}.yml" for name in ("test", "build-images", "run-pipeline")
    }
    for project in projects.values():
        assert buildspec(project["Source"]["BuildSpec"])["version"] == 0.2
    # cfn-lint does not know CodeBuild's machine sizes: botocore's model does.
    model = botocore.session.get_session().get_service_model("codebuild")
    compute_types = set(model.shape_for("ComputeType").enum)
    allowed = cicd["Parameters"]["ComputeType"]["AllowedValues"]
    assert set(allowed) <= compute_types
    assert cicd["Parameters"]["ComputeType"]["Default"] in allowed


def test_the_stages_run_test_then_images_then_the_training_pipeline(cicd):
    (pipeline,) = resources(cicd, "AWS::CodePipeline::Pipeline").values()
    stages = [stage["Name"] for stage in pipeline["Stages"]]
    assert stages == ["Source", "Test", "BuildImages", "RunPipeline"]
    (source,) = pipeline["Stages"][0]["Actions"]
    assert source["Configuration"]["DetectChanges"] == {"Ref": "RetrainOnPush"}
    # A git clone, so that the model package records the commit (lineage.git_state).
    assert source["Configuration"]["OutputArtifactFormat"] == "CODEBUILD_CLONE_REF"
    (build,) = pipeline["Stages"][2]["Actions"]
    (run,) = pipeline["Stages"][3]["Actions"]
    (images,) = build["OutputArtifacts"]
    assert images in run["InputArtifacts"]
    # run-pipeline.yml reads the secondary input by its artifact name.
    spec = (config.PROJECT_DIR / "buildspecs" / "run-pipeline.yml").read_text(encoding="utf-8")
    assert f"CODEBUILD_SRC_DIR_{images['Name']}" in spec
    assert run["Configuration"]["PrimarySource"] == source["OutputArtifacts"][0]["Name"]


def test_the_image_build_gets_the_repositories_the_base_stack_makes(cicd):
    project = resources(cicd, "AWS::CodeBuild::Project")["BuildImagesProject"]
    variables = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    assert variables["STEPS_IMAGE_REPOSITORY"] == config.STEPS_IMAGE_REPOSITORY
    assert variables["SERVE_IMAGE_REPOSITORY"] == config.SERVE_IMAGE_REPOSITORY
    assert project["Environment"]["PrivilegedMode"] is True  # docker needs its daemon
    spec = buildspec("buildspecs/build-images.yml")
    assert set(variables) <= set(spec["env"]["variables"])


def test_the_roles_may_use_the_artifacts_where_codepipeline_keeps_them(cicd):
    """CodePipeline keeps a pipeline's artifacts under the first 20 characters of its name:
    a permission on the whole name fails for a long project name."""
    (pipeline,) = resources(cicd, "AWS::CodePipeline::Pipeline").values()
    folder = pipeline["Name"][:20]
    statements = [
        statement
        for role in resources(cicd, "AWS::IAM::Role").values()
        for policy in role.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "PipelineArtifacts"
    ] + [
        statement
        for policy in resources(cicd, "AWS::IAM::ManagedPolicy").values()
        for statement in policy["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "PipelineArtifacts"
    ]
    assert statements
    for statement in statements:
        (arn, _) = statement["Resource"]["Fn::Sub"]
        assert arn == "arn:${AWS::Partition}:s3:::${Bucket}/" + folder + "/*"
