"""AWS emulated in-process by moto, for `definition --offline` and the tests: what building the
definition reads and writes, with no account.

moto and unittest.mock are development dependencies: of this package only this module imports
them, and only `definition --offline` and the tests import this module, so building, upserting
and starting the pipeline in AWS never load them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator
from unittest import mock

import boto3
import botocore.loaders
import botocore.session
from moto import mock_aws

from .. import arns, config
from .staging import bucket_location, xgboost_image

# What building the definition needs from AWS, faked: credentials, and no IAM role validation
# (the SDK otherwise asks IAM to simulate the role's policies, which moto cannot).
OFFLINE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "SAGEMAKER_VALIDATE_ROLE": "false",
    # moto's account is the project's, so that every ExpectedBucketOwner holds.
    "MOTO_ACCOUNT_ID": config.AWS_ACCOUNT_ID,
}
# The XGBoost images the definition runs without the project's own: training and serving.
SCOPES = ("training", "inference")
# A stand-in for the XGBoost image in moto's ECR (moto ignores the registry ID): its digest.
OFFLINE_IMAGE_MANIFEST = json.dumps(
    {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
)

# The SDK opens a new boto3 session for most of the clients it makes, and each session parses
# botocore's service models anew (half the time of a build), and it makes a loader of its own for
# every image lookup, which parses botocore's endpoints anew: offline, all of them share one
# loader, so that a model is parsed once a process.
SHARED_LOADER = functools.cache(botocore.loaders.create_loader)


@contextlib.contextmanager
def offline_aws(bucket: str = config.DEFAULT_BUCKET) -> Iterator[None]:
    """AWS emulated in-process by moto, with fake credentials, the bucket made, the base
    stack's key and the XGBoost images in ECR: what building the definition reads and writes."""
    environment = {**OFFLINE_ENVIRONMENT, "AWS_DEFAULT_REGION": config.AWS_REGION}
    with (
        mock.patch.dict(os.environ, environment),
        mock.patch.object(botocore.session, "create_loader", SHARED_LOADER),
        mock.patch.object(botocore.loaders, "create_loader", SHARED_LOADER),
        mock_aws(),
    ):
        os.environ.pop("AWS_PROFILE", None)
        boto3.client("s3", region_name=config.AWS_REGION).create_bucket(
            Bucket=bucket, **bucket_location()
        )
        # The base stack's key by its alias (arns.KMS_KEY_ID), which the build resolves.
        kms = boto3.client("kms", region_name=config.AWS_REGION)
        alias = arns.KMS_KEY_ID.rsplit(":", 1)[1]
        if not any(a["AliasName"] == alias for a in kms.list_aliases()["Aliases"]):
            kms.create_alias(AliasName=alias, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
        ecr = boto3.client("ecr", region_name=config.AWS_REGION)
        for image in {xgboost_image(config.AWS_REGION, scope) for scope in SCOPES}:
            repository, _, tag = image.partition("/")[2].partition(":")
            # Already there when offline_aws is nested in another (moto shares its state).
            with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
                ecr.create_repository(repositoryName=repository)
            with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):
                ecr.put_image(
                    repositoryName=repository, imageManifest=OFFLINE_IMAGE_MANIFEST, imageTag=tag
                )
        yield
