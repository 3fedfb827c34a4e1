"""CI/CD and retraining triggers: infra/cicd.yaml against the buildspecs it runs, and the
function of infra/triggers.yaml run for real against moto's S3 and SageMaker."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import load_cloudformation

from {{ cookiecutter.package_name }} import config

PIPELINE_ARN_PREFIX = (
    f"arn:aws:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:pipeline/{config.PIPELINE_NAME}"
)


@pytest.fixture(scope="module")
def cicd() -> dict[str, Any]:
    return load_cloudformation("cicd.yaml")


@pytest.fixture(scope="module")
def triggers() -> dict[str, Any]:
    return load_cloudformation("triggers.yaml")


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


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


@pytest.fixture
def starter(triggers, monkeypatch) -> Iterator[types.ModuleType]:
    """The triggers' Lambda function, its inline code as a module, with AWS emulated by moto:
    the bucket, and the training pipeline as `make upsert` creates it."""
    from moto import mock_aws

    from {{ cookiecutter.package_name }} import pipeline

    function = resources(triggers, "AWS::Lambda::Function")["Starter"]
    environment = {
        "PIPELINE_NAME": function["Environment"]["Variables"]["PIPELINE_NAME"],
        "BUCKET": config.DEFAULT_BUCKET,
        "DATA_PREFIX": function["Environment"]["Variables"]["DATA_PREFIX"],
        "ACCOUNT_ID": config.AWS_ACCOUNT_ID,
    }
    for name, value in {**pipeline.OFFLINE_ENVIRONMENT, **environment}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", config.AWS_REGION)
    with mock_aws():
        s3 = boto3.client("s3", region_name=config.AWS_REGION)
        location = {"LocationConstraint": config.AWS_REGION}
        if config.AWS_REGION == "us-east-1":
            s3.create_bucket(Bucket=config.DEFAULT_BUCKET)
        else:
            s3.create_bucket(Bucket=config.DEFAULT_BUCKET, CreateBucketConfiguration=location)
        boto3.client("sagemaker", region_name=config.AWS_REGION).create_pipeline(
            PipelineName=config.PIPELINE_NAME,
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
            RoleArn=config.EXECUTION_ROLE_ARN,
        )
        module = types.ModuleType("starter")
        exec(compile(function["Code"]["ZipFile"], "index.py", "exec"), module.__dict__)
        yield module


def started_on(result: dict[str, Any]) -> str:
    """The InputDataUrl of the execution the function started."""
    assert result["started"].startswith(f"{PIPELINE_ARN_PREFIX}/execution/")
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    parameters = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=result["started"]
    )["PipelineParameters"]
    return {p["Name"]: p["Value"] for p in parameters}["InputDataUrl"]


def put(key: str) -> None:
    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    s3.put_object(Bucket=config.DEFAULT_BUCKET, Key=key, Body=b"a,b\n1,2\n")


def s3_event(key: str) -> dict[str, Any]:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "time": "2026-12-02T03:00:07Z",
        "detail": {"bucket": {"name": config.DEFAULT_BUCKET}, "object": {"key": key}},
    }


def test_new_data_starts_the_pipeline_on_its_folder(starter):
    key = f"{config.PROJECT_SLUG}/data/0123abcd/new.csv"
    put(key)
    result = starter.handler(s3_event(key))
    assert (
        started_on(result) == f"s3://{config.DEFAULT_BUCKET}/{config.PROJECT_SLUG}/data/0123abcd/"
    )


def test_the_schedule_retrains_on_the_newest_data_set(starter):
    import time

    put(f"{config.PROJECT_SLUG}/data/older/a.csv")
    time.sleep(1.1)  # S3 times objects to the second
    put(f"{config.PROJECT_SLUG}/data/newer/b.csv")
    put("elsewhere/c.csv")
    result = starter.handler({"source": "aws.events", "id": "a-schedule-event"})
    assert started_on(result) == f"s3://{config.DEFAULT_BUCKET}/{config.PROJECT_SLUG}/data/newer/"


def test_no_data_set_starts_nothing(starter):
    assert starter.handler({"source": "aws.events", "id": "another-event"}) == {"started": None}


def test_the_rules_match_what_the_function_handles(triggers):
    rules = resources(triggers, "AWS::Events::Rule")
    pattern = rules["NewData"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    (prefix,) = pattern["detail"]["object"]["key"]
    function = resources(triggers, "AWS::Lambda::Function")["Starter"]
    assert prefix == {"prefix": function["Environment"]["Variables"]["DATA_PREFIX"]}
    assert prefix["prefix"] == f"{config.PROJECT_SLUG}/data/"
    # upload-data writes under that prefix, into a folder named after the data's content.
    from {{ cookiecutter.package_name }} import pipeline

    data_url = pipeline.default_input_data_url()
    assert data_url.startswith(f"s3://{config.DEFAULT_BUCKET}/{prefix['prefix']}")
    assert rules["Schedule"]["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    for rule in rules.values():
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": "Starter.Arn"}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": "FailedStarts.Arn"}}
