"""What the pipeline puts in place in AWS while it is built, so that a pipeline version runs
exactly what it was built from: code and configuration under keys named after their content
(Stager), images by digest (pinned_image), the data under a prefix named after its content
(upload_data); every write encrypted with KMS, into a bucket of this project's account."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from sagemaker.core import image_uris
from sagemaker.core.workflow.pipeline_context import PipelineSession

from .. import config, contract

# Every job runs the project's own images (containers/: the lock's libraries, built by CI) when
# they are given, else the built-in SageMaker XGBoost framework container: the version that
# matches the local xgboost pin, so that a model trained in one loads in the other, and whose
# Python also has pandas, scikit-learn and matplotlib. Either runs by the digest its tag had when
# the pipeline was upserted (StepsImageUri, ServeImageUri), recorded on the model package.
XGBOOST_FRAMEWORK_VERSION = "3.2-0"
# Everything the pipeline uploads itself (step code, schema), under content-addressed keys.
CODE_PREFIX = f"{config.PIPELINE_NAME}/code"
# Every S3 call names the bucket's owner: S3 refuses it when another account owns the bucket.
BUCKET_OWNER = {"ExpectedBucketOwner": config.AWS_ACCOUNT_ID}


def owner_of(bucket: str) -> dict[str, str]:
    """ExpectedBucketOwner of a bucket: the data lake's account for its raw-data bucket, else
    this project's account."""
    if config.DATA_LAKE_ACCOUNT and bucket == config.DATA_BUCKET:
        return {"ExpectedBucketOwner": config.DATA_BUCKET_OWNER}
    return BUCKET_OWNER


def data_bucket(bucket: str) -> str:
    """The bucket of the raw data: the data lake's when the project has one (the pipeline only
    reads it), else `bucket`, the pipeline's."""
    return config.DATA_BUCKET if config.DATA_LAKE_ACCOUNT else bucket


class SetupError(RuntimeError):
    """AWS lacks what the pipeline needs (its bucket, its image); the message says what to do."""


def default_session(bucket: str = config.DEFAULT_BUCKET) -> PipelineSession:
    """A pipeline session in the project's region that stages everything in `bucket`."""
    return PipelineSession(
        boto_session=boto3.Session(region_name=config.AWS_REGION), default_bucket=bucket
    )


def key_arn(session: boto3.Session, key_id: str | None) -> str | None:
    """The ARN of the KMS key that key_id names (key ID, key ARN, alias name or alias ARN), or
    None. The jobs take it where SageMaker's API takes no alias: a training job's
    ResourceConfig.VolumeKmsKeyId is a key ID or key ARN only, and a processing job's documents
    no alias either (an alias ARN there fails the job in AWS)."""
    if not key_id:
        return None
    try:
        return session.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    except ClientError as error:
        raise SetupError(
            f"cannot read the KMS key {key_id} ({error.response['Error']['Code']}): deploy the "
            "base stack first (make base-stack), or pass another --kms-key-id"
        ) from error


def s3_client(session: boto3.Session | None = None) -> Any:
    """The S3 client of every call this package makes (each names the bucket's owner)."""
    return (session or boto3.Session(region_name=config.AWS_REGION)).client("s3")


def encryption(kms_key_id: str | None, owner: dict[str, str] = BUCKET_OWNER) -> dict[str, str]:
    """S3 upload arguments: SSE-KMS (the given key, else the account's aws/s3 key), and the
    bucket must belong to this project's account (`owner`), or S3 refuses the write."""
    arguments = {"ServerSideEncryption": "aws:kms", **owner}
    if kms_key_id:
        arguments["SSEKMSKeyId"] = kms_key_id
    return arguments


def bucket_location() -> dict[str, Any]:
    """CreateBucket's arguments for the project's region (us-east-1 takes no location)."""
    if config.AWS_REGION == "us-east-1":
        return {}
    return {"CreateBucketConfiguration": {"LocationConstraint": config.AWS_REGION}}


def check_bucket(s3: Any, bucket: str) -> None:
    """Refuse a bucket that does not exist or that another account owns (a look-alike bucket
    would otherwise receive the data)."""
    owner = owner_of(bucket)
    try:
        s3.head_bucket(Bucket=bucket, **owner)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("404", "NoSuchBucket"):
            location = (
                f" --create-bucket-configuration LocationConstraint={config.AWS_REGION}"
                if bucket_location()
                else ""
            )
            raise SetupError(
                f"bucket {bucket} does not exist: create it with `aws s3api create-bucket "
                f"--bucket {bucket} --region {config.AWS_REGION}{location}`, or pass --bucket"
            ) from error
        if code in ("403", "AccessDenied"):
            raise SetupError(
                f"bucket {bucket} is not owned by account {owner['ExpectedBucketOwner']}, or these "
                "credentials may not read it: pass --bucket with a bucket of that account"
            ) from error
        raise


def default_input_data_url(
    bucket: str = config.DATA_BUCKET, data: os.PathLike[str] | str = config.DATA
) -> str:
    """The S3 prefix that `upload-data` copies `data` to, named after its content: the pipeline
    reads the configured data set from here unless InputDataUrl is overridden."""
    digest = contract.data_manifest(data)["sha256"][:16]
    return f"s3://{bucket}/{config.DATA_PREFIX}{digest}/"


def upload_data(
    data: str | os.PathLike[str], bucket: str, kms_key_id: str | None = None, s3: Any = None
) -> str:
    """Copy a CSV file to the InputDataUrl named after its content, encrypted with KMS, into a
    bucket of this project's account; return the object's S3 URI."""
    s3 = s3 or s3_client()
    check_bucket(s3, bucket)
    prefix = default_input_data_url(bucket, data)
    key = prefix.removeprefix(f"s3://{bucket}/") + Path(data).name
    s3.upload_file(str(data), bucket, key, ExtraArgs=encryption(kms_key_id, owner_of(bucket)))
    return f"{prefix}{Path(data).name}"


class Stager:
    """Uploads local files to keys named after their content (CODE_PREFIX/<sha256>/<name>), so
    that a pipeline version's code never changes under it and an unchanged step keeps the same
    arguments, which is what lets SageMaker serve it from cache."""

    def __init__(self, s3: Any, bucket: str, kms_key_id: str | None) -> None:
        self.s3, self.bucket, self.kms_key_id = s3, bucket, kms_key_id

    def folder(self, path: os.PathLike[str] | str) -> str:
        """The S3 prefix (ending in /) that holds exactly this file."""
        content = Path(path).read_bytes()
        key = self._put(hashlib.sha256(content).hexdigest(), Path(path).name, content)
        return f"s3://{self.bucket}/{key.rsplit('/', 1)[0]}/"

    def file(self, path: os.PathLike[str] | str) -> str:
        return self.folder(path) + Path(path).name

    def files(self, files: dict[str, Path]) -> str:
        """The S3 prefix (ending in /) that holds exactly these files, each under its relative
        path; the hash is over the paths and contents."""
        contents = {name: Path(path).read_bytes() for name, path in sorted(files.items())}
        digest = hashlib.sha256()
        for name, content in contents.items():
            digest.update(f"{name}\0{hashlib.sha256(content).hexdigest()}\n".encode())
        for name, content in contents.items():
            self._put(digest.hexdigest(), name, content)
        return f"s3://{self.bucket}/{CODE_PREFIX}/{digest.hexdigest()[:16]}/"

    def move_object(self, uri: str, name: str) -> str:
        """Move an object of this bucket to CODE_PREFIX/<sha256>/<name>; return its new URI."""
        key = self._key(uri)
        content = self._get(key)
        target = self._put(hashlib.sha256(content).hexdigest(), name, content)
        self.s3.delete_object(Bucket=self.bucket, Key=key, **BUCKET_OWNER)
        return f"s3://{self.bucket}/{target}"

    def move_prefix(self, uri: str, name: str) -> str:
        """Move the objects under an S3 prefix of this bucket to CODE_PREFIX/<sha256>/<name>/,
        the hash over their relative keys and contents; return the new prefix."""
        prefix = self._key(uri).rstrip("/") + "/"
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, **BUCKET_OWNER
        )
        keys = sorted(item["Key"] for page in pages for item in page.get("Contents", []))
        files = {key.removeprefix(prefix): self._get(key) for key in keys}
        digest = hashlib.sha256()
        for relative, content in files.items():
            digest.update(f"{relative}\0{hashlib.sha256(content).hexdigest()}\n".encode())
        for relative, content in files.items():
            self._put(digest.hexdigest(), f"{name}/{relative}", content)
        for key in keys:
            self.s3.delete_object(Bucket=self.bucket, Key=key, **BUCKET_OWNER)
        return f"s3://{self.bucket}/{CODE_PREFIX}/{digest.hexdigest()[:16]}/{name}"

    def _key(self, uri: str) -> str:
        return uri.removeprefix(f"s3://{self.bucket}/")

    def _get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key, **BUCKET_OWNER)["Body"].read()

    def _put(self, sha256: str, name: str, content: bytes) -> str:
        """Store `content` at CODE_PREFIX/<sha256, shortened>/<name>; return its key."""
        key = f"{CODE_PREFIX}/{sha256[:16]}/{name}"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=content, **encryption(self.kms_key_id))
        return key


def xgboost_image(region: str, scope: str) -> str:
    """The built-in XGBoost image of XGBOOST_FRAMEWORK_VERSION for `scope` (training or
    inference), by tag."""
    return image_uris.retrieve(
        framework="xgboost", region=region, version=XGBOOST_FRAMEWORK_VERSION, image_scope=scope
    )


def pinned_image(uri: str, session: boto3.Session) -> str:
    """The image by digest (registry/repository@sha256:...): as given, or the one its tag points
    at now in ECR. Jobs run exactly that image, and the model package records it."""
    if "@sha256:" in uri:
        return uri
    registry, _, repository_tag = uri.partition("/")
    repository, _, tag = repository_tag.partition(":")
    try:
        images = session.client("ecr").batch_get_image(
            registryId=registry.split(".")[0],
            repositoryName=repository,
            imageIds=[{"imageTag": tag}],
        )["images"]
    except ClientError as error:
        raise SetupError(
            f"cannot read the digest of {uri}: {error}; the caller needs ecr:BatchGetImage on "
            "that repository (see infra/base.yaml, PipelineOperatorPolicy)"
        ) from error
    if not images:
        raise SetupError(f"no image {uri} in ECR")
    return f"{registry}/{repository}@{images[0]['imageId']['imageDigest']}"
