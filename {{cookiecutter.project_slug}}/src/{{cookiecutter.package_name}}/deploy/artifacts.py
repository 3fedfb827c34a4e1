"""The shared-artifact account (infra/artifact-account.yaml): an approved package's files copied
there, and where the stage stacks find them.

    python -m {{ cookiecutter.package_name }}.deploy publish [--model-package-arn ARN]

CI runs `publish` as the tooling account's deployer before the stage stacks: the package's model
artifact, its evaluation, and the monitor's reference and code are copied from the pipeline's
outputs into the artifact bucket under `<slug>/<version>/<name>/`, where S3 Object Lock keeps
them (config.ARTIFACT_RETENTION_DAYS, governance mode). ECR replicates the images there on push
(infra/base.yaml). The stage stacks then take those copies and the replicated images, so that no
stage account reads from the tooling account. A copy already there is kept as it is: the bucket's
versions are locked, and staging and production deploy the same copy.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from boto3.s3.transfer import TransferConfig

from .. import config
from .stage import ConfigError

# Every copy is under the project's prefix (the bucket policy lets the deployer write there only).
PREFIX = config.PROJECT_SLUG
# Where the pipeline writes what the deployer may read (its role's ReadTheApprovedFiles).
SOURCE_PREFIX = f"{config.PIPELINE_NAME}/"
# One transfer at a time, in this thread: the calls are the deployer's, in order.
TRANSFER = TransferConfig(use_threads=False)
# Files up to this size are copied in memory, larger ones through a temporary file.
IN_MEMORY_BYTES = 64 * 1024 * 1024
IMAGE_RE = re.compile(
    r"(?P<account>[0-9]{12})(?P<host>\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?)/"
    r"(?P<repository>[^:@]+)(?::[\w.-]+)?(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
)


class NotPublishable(ConfigError):
    """A package whose files or images the shared-artifact account cannot hold."""


@dataclass(frozen=True)
class Source:
    """One file or folder of a package: its name under the version's prefix, and its S3 URI."""

    name: str
    uri: str
    folder: bool


def version(package: Mapping[str, Any]) -> str:
    return package["ModelPackageArn"].rsplit("/", 1)[1]


def split(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def sources(package: Mapping[str, Any]) -> list[Source]:
    """What of the package is copied: the model, its evaluation (ModelQuality's statistics) and,
    where the pipeline recorded them, the monitor's reference and code. NotPublishable names a
    file outside the pipeline's outputs in the project bucket (the deployer may read no other)."""
    arn = package.get("ModelPackageArn", "?")
    container = package["InferenceSpecification"]["Containers"][0]
    found = [Source("model", container["ModelDataUrl"], folder=False)]
    quality = package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {})
    if quality.get("S3Uri"):
        found.append(Source("evaluation", quality["S3Uri"], folder=False))
    recorded = package.get("CustomerMetadataProperties") or {}
    for name, key in (("reference", "monitor_reference"), ("monitor-code", "monitor_code")):
        if recorded.get(key):
            found.append(Source(name, recorded[key], folder=True))
    for source in found:
        bucket, key = split(source.uri)
        if bucket != config.DEFAULT_BUCKET or not key.startswith(SOURCE_PREFIX):
            raise NotPublishable(
                f"model package {arn}: its {source.name} {source.uri} is not a pipeline output "
                f"(s3://{config.DEFAULT_BUCKET}/{SOURCE_PREFIX}...): only those are copied to "
                "the shared-artifact account"
            )
    return found


def location(package: Mapping[str, Any], name: str) -> str:
    """The S3 URI of a copied file's folder (ending in /) in the artifact bucket."""
    return f"s3://{config.ARTIFACT_BUCKET}/{PREFIX}/{version(package)}/{name}/"


def destination(package: Mapping[str, Any], source: Source) -> str:
    """Where a file (the file itself) or a folder (its prefix, ending in /) is copied."""
    folder = location(package, source.name)
    return folder if source.folder else folder + posixpath.basename(split(source.uri)[1])


def replicated_image(image: str, repository: str, digest: str | None = None) -> str:
    """The replica in the shared-artifact account of one of the project's images, by digest;
    NotPublishable for an image of another account or repository, or without a digest."""
    found = IMAGE_RE.fullmatch(image)
    if not found or found["account"] != config.AWS_ACCOUNT_ID or found["repository"] != repository:
        raise NotPublishable(
            f"{image} is not the project's {repository} image of account "
            f"{config.AWS_ACCOUNT_ID}: only the project's images are replicated to the "
            "shared-artifact account; train with them (CI builds them) to deploy"
        )
    digest = found["digest"] or digest
    if not digest:
        raise NotPublishable(f"{image} names no digest: the replica is pulled by digest")
    return f"{config.ARTIFACT_ACCOUNT_ID}{found['host']}/{repository}@{digest}"


def model_parameters(package: Mapping[str, Any]) -> dict[str, str]:
    """The stage stacks' ModelDataUrl and ImageUri: the copy of the model, the replica of the
    inference image."""
    container = package["InferenceSpecification"]["Containers"][0]
    model = next(source for source in sources(package) if source.name == "model")
    image = replicated_image(
        container["Image"], config.SERVE_IMAGE_REPOSITORY, container.get("ImageDigest")
    )
    return {"ModelDataUrl": destination(package, model), "ImageUri": image}


def endpoint_parameters(
    live: Mapping[str, Any], shadow: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The endpoint stack's copies of the live package, and of the shadow one (empty for none)."""
    parameters = model_parameters(live)
    shadowed = model_parameters(shadow) if shadow else {"ModelDataUrl": "", "ImageUri": ""}
    parameters["ShadowModelDataUrl"] = shadowed["ModelDataUrl"]
    parameters["ShadowImageUri"] = shadowed["ImageUri"]
    return parameters


def monitor_inputs(package: Mapping[str, Any], recorded: Mapping[str, str]) -> dict[str, str]:
    """The monitoring stack's reference, code and steps image (`recorded`, as the package names
    them in the tooling account) as the shared-artifact account holds them."""
    return {
        "ReferenceUri": location(package, "reference"),
        "CodeUri": location(package, "monitor-code"),
        "StepsImageUri": replicated_image(recorded["StepsImageUri"], config.STEPS_IMAGE_REPOSITORY),
    }


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def transfer(s3: Any, bucket: str, key: str, target: str) -> None:
    """One object from the tooling bucket to the artifact bucket, through this process: an
    upload carries the checksum that S3 asks of a write under Object Lock's default retention
    (a CopyObject carries none), and is encrypted with the artifact bucket's own key."""
    with tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES) as buffer:
        s3.download_fileobj(bucket, key, buffer, Config=TRANSFER)
        buffer.seek(0)
        s3.upload_fileobj(buffer, config.ARTIFACT_BUCKET, target, Config=TRANSFER)


def publish(package: Mapping[str, Any], s3: Any) -> list[str]:
    """Copy the package's files to the artifact bucket with `s3`, a client of the tooling
    account's deployer; the URIs copied now (none when every copy is there already)."""
    found = sources(package)
    model_parameters(package)  # refuses a package whose image the stages could not pull
    copied_before = set(_keys(s3, config.ARTIFACT_BUCKET, f"{PREFIX}/{version(package)}/"))
    copied = []
    for source in found:
        bucket, key = split(source.uri)
        target = split(destination(package, source))[1]
        if source.folder:
            folder = key.rstrip("/") + "/"
            keys = _keys(s3, bucket, folder)
            pairs = [(item, target + item.removeprefix(folder)) for item in keys]
            if not pairs:
                raise NotPublishable(f"{source.name} {source.uri} holds no file to copy")
        else:
            pairs = [(key, target)]
        for item, copy in pairs:
            if copy in copied_before:
                continue
            transfer(s3, bucket, item, copy)
            copied.append(f"s3://{config.ARTIFACT_BUCKET}/{copy}")
    return copied
