"""ARNs of the project's own roles and key, in the partition of its region (aws, aws-cn,
aws-us-gov...), as botocore's endpoint data has it: never a written `arn:aws:`. Apart from
config.py, which the serving image imports, and which has no boto3 to ask."""

from __future__ import annotations

import functools

import boto3

from . import config


def partition(region: str | None = None) -> str:
    """The partition of the region, by default the project's (config.AWS_REGION)."""
    return _partition(region or config.AWS_REGION)


@functools.cache
def _partition(region: str) -> str:
    return boto3.session.Session().get_partition_for_region(region)


def role_arn(account: str, name: str) -> str:
    return f"arn:{partition()}:iam::{account}:role/{name}"


def execution_role_arn() -> str:
    """The SageMaker execution role of the base stack (infra/base.yaml)."""
    return role_arn(config.AWS_ACCOUNT_ID, f"{config.PROJECT_SLUG}-sagemaker-execution")


EXECUTION_ROLE_ARN = execution_role_arn()

# The base key by its alias: S3 and the jobs' outputs take it so; building the pipeline
# resolves it to the key's ARN for the fields that take no alias (pipeline/staging.key_arn).
KMS_KEY_ID = (
    f"arn:{partition()}:kms:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}:alias/{config.PROJECT_SLUG}"
)

# The raw data's key, by its alias: the data lake's (infra/data-lake.yaml) in that account, where
# `make upload-data` writes with the lake's credentials; else the base key.
DATA_KMS_KEY_ID = (
    f"arn:{partition()}:kms:{config.AWS_REGION}:{config.DATA_LAKE_ACCOUNT_ID}:alias/"
    f"{config.DATA_LAKE_STACK}"
    if config.DATA_LAKE_ACCOUNT
    else KMS_KEY_ID
)
