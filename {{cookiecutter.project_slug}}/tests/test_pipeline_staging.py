"""What the SageMaker pipeline puts in AWS while it is built (pipeline/staging.py): images
pinned by digest, code under content-addressed keys (the same code, the same cache key), every
upload encrypted with the project's key into a bucket of the project's account."""

from __future__ import annotations

import contextlib
import json
import shutil
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_calls import DATA_WRITER, acting_as
from pipeline_support import (
    SDK_WARNINGS,
    all_steps,
    inputs_by_path,
    processing_steps,
    script_steps,
)

from {{ cookiecutter.package_name }} import config, jobcode

# The pipeline is built, upserted and started by CI's operator role (tests/aws_calls.py).
pytestmark = [*SDK_WARNINGS, pytest.mark.principal("operator")]


@pytest.fixture(scope="module")
def staging(emulated_aws: None) -> ModuleType:
    from {{ cookiecutter.package_name }}.pipeline import staging

    return staging


def job_images(steps: dict[str, dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """The images of the step scripts' jobs and of the registered model (a Spark job runs AWS's
    Spark image, pinned by its tag: test_pipeline_definition.py)."""
    images = [step["Arguments"]["AppSpecification"]["ImageUri"] for step in script_steps(steps)]
    images.append(steps["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"])
    containers = steps["Register"]["Arguments"]["InferenceSpecification"]["Containers"]
    return images, [container["Image"] for container in containers]


def ecr_digest(uri: str) -> str:
    registry, _, repository_tag = uri.partition("/")
    repository, _, tag = repository_tag.partition(":")
    found = boto3.client("ecr", region_name=config.AWS_REGION).batch_get_image(
        registryId=registry.split(".")[0], repositoryName=repository, imageIds=[{"imageTag": tag}]
    )
    return found["images"][0]["imageId"]["imageDigest"]


def test_without_own_images_every_job_runs_the_xgboost_image_by_digest(staging, definition):
    """The image version that matches the local xgboost, pinned by the digest ECR gives for its
    tag while the pipeline is built (a re-pushed tag cannot change what a pipeline version runs)."""
    import xgboost

    steps = all_steps(definition)
    jobs, served = job_images(steps)
    assert jobs == [{"Get": "Parameters.StepsImageUri"}] * len(jobs)
    assert served == [{"Get": "Parameters.ServeImageUri"}]
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    version = staging.XGBOOST_FRAMEWORK_VERSION
    registry = f"{image_uris_account()}.dkr.ecr.{config.AWS_REGION}.amazonaws.com"
    tagged = f"{registry}/sagemaker-xgboost:{version}"
    pinned = f"{registry}/sagemaker-xgboost@{ecr_digest(tagged)}"
    assert defaults["StepsImageUri"] == defaults["ServeImageUri"] == pinned
    assert xgboost.__version__.startswith(f"{version.split('-')[0]}.")
    # That image's own server takes CSV only.
    specification = steps["Register"]["Arguments"]["InferenceSpecification"]
    assert specification["SupportedContentTypes"] == ["text/csv"]
    recorded = steps["Register"]["Arguments"]["CustomerMetadataProperties"]
    assert recorded["steps_image"] == {"Get": "Parameters.StepsImageUri"}
    assert recorded["serve_image"] == {"Get": "Parameters.ServeImageUri"}


def image_uris_account() -> str:
    from sagemaker.core import image_uris

    uri = image_uris.retrieve("xgboost", region=config.AWS_REGION, version="3.2-0")
    return uri.split(".")[0]


def test_own_images_are_the_parameters_defaults_by_digest(emulated_aws):
    """CI passes the images it built (by tag): jobs and the model package run them by digest."""
    from {{ cookiecutter.package_name }}.pipeline import get_pipeline

    registry = f"{config.AWS_ACCOUNT_ID}.dkr.ecr.{config.AWS_REGION}.amazonaws.com"
    ecr = boto3.client("ecr", region_name=config.AWS_REGION)
    built = {}
    for image, repository in (
        ("steps", config.STEPS_IMAGE_REPOSITORY),
        ("serve", config.SERVE_IMAGE_REPOSITORY),
    ):
        with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
            ecr.create_repository(repositoryName=repository)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "layers": [{"digest": image}],
            }
        )
        ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag="abc1234")
        built[image] = f"{registry}/{repository}:abc1234"
    definition = json.loads(
        get_pipeline(steps_image=built["steps"], serve_image=built["serve"]).definition()
    )
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    for image, parameter in (("steps", "StepsImageUri"), ("serve", "ServeImageUri")):
        repository = built[image].rpartition(":")[0]
        assert defaults[parameter] == f"{repository}@{ecr_digest(built[image])}"
    assert defaults["StepsImageUri"] != defaults["ServeImageUri"]
    register = all_steps(definition)["Register"]["Arguments"]["InferenceSpecification"]
    assert register["SupportedContentTypes"] == ["text/csv", "application/json"]


# A key of the test's, not the project's: the operator's policy does not let it use it.
@pytest.mark.denied("kms:DescribeKey", "kms:GenerateDataKey")
def test_kms_key_reaches_every_job(pipeline_cli, capsys):
    """Named by an alias, the key reaches every job and upload by its ARN (a training job's
    volume key takes no alias)."""
    kms = boto3.client("kms", region_name=config.AWS_REGION)
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/test-key", TargetKeyId=key_arn)
    assert pipeline_cli.main(["definition", "--kms-key-id", "alias/test-key"]) == 0
    printed = json.loads(capsys.readouterr().out)
    steps = all_steps(printed)
    assert [s["Name"] for s in printed["Steps"]][-1] == "CheckQuality"
    for step in processing_steps(steps):
        arguments = step["Arguments"]
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == key_arn
        assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key_arn
    train = steps["Train"]["Arguments"]
    assert train["OutputDataConfig"]["KmsKeyId"] == key_arn
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == key_arn
    # The code and schema the pipeline uploads, and the SDK's driver scripts, use the key too.
    uploaded = [uri for step in processing_steps(steps) for uri in inputs_by_path(step).values()]
    uploaded += [
        channel["DataSource"]["S3DataSource"]["S3Uri"] for channel in train["InputDataConfig"]
    ]
    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    # The Feature Store's offline store is Feature Store's to write, not an upload of the build.
    staged = [u for u in uploaded if isinstance(u, str) and "/offline-store/" not in u]
    assert len(staged) >= 4
    for uri in staged:
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
            head = s3.head_object(Bucket=bucket, Key=item["Key"])
            assert head["ServerSideEncryption"] == "aws:kms", item["Key"]
            assert head["SSEKMSKeyId"] == key_arn, item["Key"]


def test_an_unchanged_step_keeps_its_cache_key(steps, tmp_path, monkeypatch):
    """SageMaker serves a step from cache when the attributes of its key are those of an earlier
    run (a processing job's AppSpecification, Environment and ProcessingInputs; a training job's
    AlgorithmSpecification, HyperParameters and InputDataConfig...). Built again, the definition
    is the same; with evaluate.py edited, only the steps that run it change."""
    from {{ cookiecutter.package_name }}.pipeline import get_pipeline

    def build() -> dict[str, dict[str, Any]]:
        return all_steps(json.loads(get_pipeline().definition()))

    first = steps
    assert build() == first
    source = tmp_path / "src"
    shutil.copytree(config.PACKAGE_DIR, source / config.__package__)
    edited = source / config.__package__ / "steps" / "evaluate.py"
    edited.write_text(edited.read_text() + "\n# an edit\n")
    monkeypatch.setattr(jobcode, "SOURCE_DIR", source)
    changed = build()
    keys = {
        "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
        "Training": ("AlgorithmSpecification", "HyperParameters", "InputDataConfig"),
    }
    for name, step in first.items():
        if step["Type"] not in keys:
            continue
        before = {key: step["Arguments"].get(key) for key in keys[step["Type"]]}
        after = {key: changed[name]["Arguments"].get(key) for key in keys[step["Type"]]}
        if name == "Evaluate":
            assert before != after
        else:
            assert before == after, name


def record_s3_calls(staging: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Every S3 call the pipeline package's client (staging.s3_client) makes, with the
    parameters it sends."""
    calls: list[tuple] = []
    make_client = staging.s3_client

    def recording_client(session: Any = None) -> Any:
        client = make_client(session)

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            calls.append((model.name, params))

        client.meta.events.register("provide-client-params.s3.*", record)
        return client

    monkeypatch.setattr(staging, "s3_client", recording_client)
    return calls


def test_every_s3_call_names_the_bucket_owner(staging, pipeline_cli, monkeypatch, capsys):
    from {{ cookiecutter.package_name }}.pipeline import get_pipeline

    calls = record_s3_calls(staging, monkeypatch)
    get_pipeline()
    with acting_as(DATA_WRITER):
        assert pipeline_cli.main(["upload-data"]) == 0
    assert {name for name, _ in calls} >= {"PutObject", "HeadBucket"}
    for name, params in calls:
        # The raw data's bucket is the data lake's, in that account, when there is one.
        owner = config.DATA_BUCKET_OWNER if params["Bucket"] == config.DATA_BUCKET else None
        assert params.get("ExpectedBucketOwner") == (owner or config.AWS_ACCOUNT_ID), name


# Not a key of the project's: the operator may not use it (nor does it exist).
@pytest.mark.denied("kms:DescribeKey")
def test_a_kms_key_that_cannot_be_read_is_refused_with_what_to_do(pipeline_cli, capsys):
    assert pipeline_cli.main(["definition", "--kms-key-id", "alias/no-such-key"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("definition failed: cannot read the KMS key alias/no-such-key")
    assert "make base-stack" in error


# Not the project's bucket: the operator may not list it (or it does not exist).
@pytest.mark.denied("s3:ListBucket")
def test_upload_data_refuses_a_missing_bucket_and_says_how_to_create_it(pipeline_cli, capsys):
    assert pipeline_cli.main(["upload-data", "--bucket", "no-such-bucket-for-this-test"]) == 1
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "no-such-bucket-for-this-test does not exist" in error
    assert "aws s3api create-bucket --bucket no-such-bucket-for-this-test" in error


@pytest.mark.denied("s3:ListBucket")
def test_upload_data_refuses_a_bucket_of_another_account(staging):
    """S3 answers 403 to a HeadBucket whose ExpectedBucketOwner is not the owner (moto does not
    check the owner, so the answer is S3's, given here)."""
    from botocore.stub import Stubber

    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    with Stubber(s3) as stub:
        stub.add_client_error(
            "head_bucket",
            service_error_code="403",
            http_status_code=403,
            expected_params={
                "Bucket": "look-alike-bucket",
                "ExpectedBucketOwner": config.AWS_ACCOUNT_ID,
            },
        )
        with pytest.raises(staging.SetupError, match="not owned by account"):
            staging.upload_data(config.DATA, "look-alike-bucket", s3=s3)
