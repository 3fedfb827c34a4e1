"""ARNs of the project's own roles, in the partition of its region (aws, aws-cn, aws-us-gov...),
as botocore's endpoint data has it: never a written `arn:aws:`. Apart from config.py, which the
serving image imports, and which has no boto3 to ask."""

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
