"""The pipeline's command line: print the definition, upload the data, create or update the
pipeline in AWS, start an execution.

    python -m {{ cookiecutter.package_name }}.pipeline --help
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sagemaker.mlops.workflow.pipeline import Pipeline

from .. import arns, config, lineage
from . import staging
from .definition import get_pipeline


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not (sep and name):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}",
        description="Print, create or update, or start the SageMaker pipeline.",
    )
    parser.add_argument(
        "command",
        choices=list(COMMANDS),
        help="definition: print the JSON; upsert: create or update the pipeline in AWS; "
        "upload-data: copy --data to the default InputDataUrl (with a data lake, its bucket: "
        "run it with that account's credentials); "
        "start: start an execution and print its ARN",
    )
    parser.add_argument("--role-arn", default=arns.EXECUTION_ROLE_ARN)
    parser.add_argument("--bucket", default=config.DEFAULT_BUCKET)
    parser.add_argument(
        "--kms-key-id",
        default=arns.KMS_KEY_ID,
        help="KMS key for job volumes, outputs and uploaded code and data (default: the base "
        "stack's key, by its alias)",
    )
    for image in ("steps", "serve"):
        parser.add_argument(
            f"--{image}-image",
            help=f"with definition and upsert: the project's {image} image (containers/{image}), "
            "by tag or digest; default: the AWS XGBoost image",
        )
    parser.add_argument(
        "--data", default=config.DATA, help="with upload-data: the CSV file to upload"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="with definition: build it with AWS emulated in-process (moto) and fake "
        "credentials, as the tests do; no account needed",
    )
    parser.add_argument(
        "--no-validate-role",
        action="store_true",
        help="skip the SDK's check of the role's permissions while it builds the pipeline "
        "(SAGEMAKER_VALIDATE_ROLE=false): for callers without iam:SimulatePrincipalPolicy",
    )
    parser.add_argument(
        "--parameter",
        type=_parameter,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with start: override a pipeline parameter (repeatable)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser()
    args = arguments.parse_args(argv)
    if args.parameter and args.command != "start":
        arguments.error("--parameter only applies to start")
    if args.offline and args.command != "definition":
        arguments.error("--offline only applies to definition")
    if args.no_validate_role:
        os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"

    try:
        return COMMANDS[args.command](args)
    except staging.SetupError as error:
        print(f"{args.command} failed: {error}", file=sys.stderr)
        return 1


def _build_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "kms_key_id": args.kms_key_id,
        "steps_image": args.steps_image,
        "serve_image": args.serve_image,
    }


def definition(args: argparse.Namespace) -> int:
    if args.offline:
        # Only here: the offline harness (moto) is no part of upserting or starting.
        from .offline import offline_aws

        aws: contextlib.AbstractContextManager[Any] = offline_aws(args.bucket)
    else:
        aws = contextlib.nullcontext()
    with aws:
        pipeline = get_pipeline(args.role_arn, args.bucket, **_build_options(args))
        print(json.dumps(json.loads(pipeline.definition()), indent=2))
    return 0


def upload_data(args: argparse.Namespace) -> int:
    bucket, key = args.bucket, args.kms_key_id
    if config.DATA_LAKE_ACCOUNT and bucket == config.DEFAULT_BUCKET:
        # By default the raw data goes to the data lake's bucket, under the lake's own key.
        bucket = config.DATA_BUCKET
        key = arns.DATA_KMS_KEY_ID if key == arns.KMS_KEY_ID else key
    print(staging.upload_data(args.data, bucket, key))
    return 0


def upsert(args: argparse.Namespace) -> int:
    git = lineage.git_state()
    staging.check_bucket(staging.s3_client(), args.bucket)
    pipeline = get_pipeline(args.role_arn, args.bucket, git=git, **_build_options(args))
    response = pipeline.upsert(
        role_arn=args.role_arn,
        description=f"{config.PROJECT_NAME}: training pipeline",
        tags=lineage.tags(git),
    )
    print(response["PipelineArn"])
    return 0


def start(args: argparse.Namespace) -> int:
    # Starting needs only the name of the pipeline that upsert stored in AWS.
    execution = Pipeline(
        name=config.PIPELINE_NAME, sagemaker_session=staging.default_session(args.bucket)
    ).start(parameters=dict(args.parameter) or None)
    print(execution.arn)
    return 0


# The commands, in the order --help lists them.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "definition": definition,
    "upsert": upsert,
    "upload-data": upload_data,
    "start": start,
}
