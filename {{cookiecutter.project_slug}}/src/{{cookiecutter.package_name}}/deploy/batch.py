"""Batch transform of a stage's approved model (infra/batch-transform.yaml): the stack's
parameters, and a transform of the input prefix now, on demand.

    python -m {{ cookiecutter.package_name }}.deploy.batch --stage STAGE \
        [--wait] [--role-arn ARN]

The transform job is started the one way the schedule starts it: by the stack's Lambda function,
invoked here with the caller's credentials for the stage's account (its AWS profile), or with
--role-arn assumed first (CI: the account's {{ cookiecutter.project_slug }}-deployment role).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import WaiterError

from .. import config

TEMPLATE = config.PROJECT_DIR / "infra" / "batch-transform.yaml"
# The settings of config/<stage>.json's "batch_transform" object stack_parameters needs.
SETTINGS = ("instance_type", "instance_count", "input_prefix", "output_prefix")


def stack_name(stage: str) -> str:
    return f"{config.PROJECT_SLUG}-batch-{stage}"


def function_name(stage: str) -> str:
    """The stack's Lambda function that starts a transform job."""
    return f"{config.PROJECT_SLUG}-batch-{stage}"


def stack_parameters(
    stage_name: str,
    settings: Mapping[str, Any],
    model_package_arn: str,
    copies: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The parameters of the stage's batch stack: settings is the "batch_transform" object of
    config/<stage>.json (schedule, instance_type, instance_count, input_prefix, output_prefix);
    a missing or empty schedule means on demand only. ValueError names any missing setting.
    copies: with a shared-artifact account, the package's ModelDataUrl and ImageUri there."""
    missing = [key for key in SETTINGS if key not in settings]
    if missing:
        raise ValueError(f"batch_transform of {stage_name}: missing {', '.join(missing)}")
    return {
        "Stage": stage_name,
        "ModelPackageArn": model_package_arn,
        "Schedule": settings.get("schedule") or "none",
        "InstanceType": str(settings["instance_type"]),
        "InstanceCount": str(int(settings["instance_count"])),
        "InputPrefix": str(settings["input_prefix"]),
        "OutputPrefix": str(settings["output_prefix"]),
        **{key: copies[key] for key in ("ModelDataUrl", "ImageUri") if copies},
    }


def invoke_request(stage: str) -> dict[str, Any]:
    """The Lambda Invoke request that starts a transform now: synchronously, to get the job's
    name (or the function's refusal) back."""
    return {
        "FunctionName": function_name(stage),
        "InvocationType": "RequestResponse",
        "Payload": json.dumps({"source": "on-demand"}).encode(),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=config.STAGES)
    parser.add_argument(
        "--wait", action="store_true", help="wait for the job to end; fail unless it completes"
    )
    parser.add_argument(
        "--role-arn", help="a role of the stage's account to assume first (default: none)"
    )
    parser.add_argument("--region", default=config.AWS_REGION)
    return parser.parse_args(argv)


def stage_session(args: argparse.Namespace, session: Any = None) -> Any:
    """A boto3 session in the stage's account, or SystemExit with one line if it is not."""
    session = session or boto3.Session(region_name=args.region)
    if args.role_arn:
        credentials = session.client("sts").assume_role(
            RoleArn=args.role_arn, RoleSessionName=f"batch-transform-{args.stage}"
        )["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=args.region,
        )
    account = session.client("sts", region_name=args.region).get_caller_identity()["Account"]
    expected = config.STAGE_ACCOUNTS[args.stage]
    if account != expected:
        raise SystemExit(
            f"batch transform failed: these credentials are for account {account}, the "
            f"{args.stage} stage runs in {expected}: use that account's profile (AWS_PROFILE)"
        )
    return session


def main(argv: list[str] | None = None, session: Any = None) -> int:
    args = parse_args(argv)
    session = stage_session(args, session)
    answer = session.client("lambda", region_name=args.region).invoke(**invoke_request(args.stage))
    result = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        message = result.get("errorMessage") if isinstance(result, dict) else result
        print(f"batch transform failed: {function_name(args.stage)}: {message}", file=sys.stderr)
        return 1
    if not result.get("started"):
        print(f"batch transform failed: {result.get('reason')}", file=sys.stderr)
        return 1
    name, output = result["started"], result["output"]
    print(f"started {name}: output to {output}")
    if not args.wait:
        return 0
    sagemaker = session.client("sagemaker", region_name=args.region)
    # Up to 4 hours; a failed job ends the wait too, and is reported below.
    with contextlib.suppress(WaiterError):
        sagemaker.get_waiter("transform_job_completed_or_stopped").wait(
            TransformJobName=name, WaiterConfig={"Delay": 30, "MaxAttempts": 480}
        )
    job = sagemaker.describe_transform_job(TransformJobName=name)
    if job["TransformJobStatus"] != "Completed":
        reason = job.get("FailureReason") or "no reason given"
        print(f"batch transform failed: {name} {job['TransformJobStatus']}: {reason}")
        return 1
    print(f"{name} completed: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
