"""The deploy helper's command line (see the package's docstring, or --help)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .. import config
from . import bootstrap, smoke, stacks
from .stage import ConfigError, Stage

COMMANDS = {
    "latest": "print the ARN of the newest Approved model package of the group",
    "parameters": "print the endpoint stack's parameters for the stage",
    "deploy": "create or update the stage's endpoint stack and print the deployed package ARN",
    "smoke-test": "call the stage's endpoint with rows that meet the schema; p50, p99, errors",
    "bootstrap": "print the stacks to deploy once, in order, with their commands",
}
if config.ARTIFACT_ACCOUNT:
    COMMANDS["publish"] = (
        "copy the package's model, evaluation and monitor files to the shared-artifact account"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=config.CONFIG_DIR,
        help="where the stages' <stage>.json files are (default: the project's config/)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, summary in COMMANDS.items():
        command = commands.add_parser(name, help=summary, description=summary)
        if name in ("parameters", "deploy", "smoke-test"):
            command.add_argument("--stage", required=True, choices=config.STAGES)
        if name == "publish":
            command.add_argument(
                "--model-package-arn", help="the package to copy (default: the newest Approved one)"
            )
        if name in ("parameters", "deploy"):
            command.add_argument(
                "--model-package-arn",
                help="the package to deploy (default: the newest Approved one; CI passes prod "
                "the one staging tested)",
            )
            command.add_argument(
                "--shadow",
                action="store_true",
                help="keep the package the endpoint serves now live and run this one as its "
                "shadow variant (a copy of the requests; answers only measured)",
            )
        if name == "smoke-test":
            command.add_argument(
                "--endpoint-url",
                help="call this sagemaker-runtime URL with the caller's own credentials, "
                "without assuming the deployment role (a local or test endpoint)",
            )
    return parser.parse_args(argv)


def _package(args: argparse.Namespace, session: boto3.Session) -> str:
    return args.model_package_arn or stacks.latest_approved(session)


def _parameters(args: argparse.Namespace, stage: Stage, session: boto3.Session) -> dict:
    arn = _package(args, session)
    stack = None
    if args.shadow:
        cloudformation = stacks.deployment_session(stage, session).client("cloudformation")
        stack = stacks.describe_stack(cloudformation, stage.stack_name)
    parameters = stacks.endpoint_parameters(stage, arn, args.shadow, stack)
    parameters.update(stacks.copies(session.client("sagemaker"), parameters))
    return parameters


def publish(args: argparse.Namespace, session: boto3.Session) -> None:
    """The package's files to the shared-artifact account, from the registry's account."""
    from . import artifacts  # only the projects with a shared-artifact account have it

    arn = _package(args, session)
    # In the registry's account: the deployer, or with an operations account the tooling role.
    registry = stacks.registry_session(session)
    package = registry.client("sagemaker").describe_model_package(ModelPackageName=arn)
    copied = artifacts.publish(package, registry.client("s3"))
    for uri in copied:
        print(f"publish: copied {uri}", file=sys.stderr)
    print(f"publish: {arn}: {len(copied)} copied, the rest were there already", file=sys.stderr)


def deploy(args: argparse.Namespace, stage: Stage, session: boto3.Session) -> str:
    """Deploy the stage's stacks in its account; the deployed package's ARN."""
    arn = _package(args, session)
    if config.MODEL_CARD:
        # Imported here: projects generated without the model card have no model_card.py. The
        # card is the package's, in the registry's account.
        from .model_card import approve

        registry = stacks.registry_session(session).client("sagemaker")
        print(f"deploy: model card: {approve(registry, arn)}", file=sys.stderr)
    # The stage account's deployment role reads the package it deploys (the group's policy
    # allows it): whichever account the caller is in.
    deployment = stacks.deployment_session(stage, session)
    outcomes = stacks.deploy(
        stage,
        arn,
        args.shadow,
        deployment.client("cloudformation"),
        sagemaker=deployment.client("sagemaker"),
    )
    for stack_name, outcome in outcomes.items():
        print(f"deploy: {stack_name}: {outcome}", file=sys.stderr)
    return arn


def smoke_test(args: argparse.Namespace, stage: Stage) -> int:
    session = stacks.tooling_session()
    if not args.endpoint_url:
        session = stacks.deployment_session(stage, session)
    runtime = session.client(
        "sagemaker-runtime", endpoint_url=args.endpoint_url, config=smoke.CLIENT_CONFIG
    )
    result = smoke.run(runtime, stage.endpoint_name, stage.smoke_test_requests)
    limit = stage.smoke_test_max_p99_latency_ms
    print(result.summary(limit))
    return 0 if result.passed(limit) else 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "bootstrap":
        print(bootstrap.render(bootstrap.steps()))
        return 0
    session = stacks.tooling_session()
    if args.command == "latest":
        print(stacks.latest_approved(session))
        return 0
    if args.command == "publish":
        publish(args, session)
        return 0
    stage = Stage.load(args.stage, args.config_dir)
    if args.command == "parameters":
        for key, value in _parameters(args, stage, session).items():
            print(f"{key}={value}")
        return 0
    if args.command == "deploy":
        # Last and alone on stdout: CI passes it on to the next stage.
        print(deploy(args, stage, session))
        return 0
    return smoke_test(args, stage)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return _run(args)
    except (ConfigError, stacks.DeployError) as error:
        print(f"{args.command} failed: {error}", file=sys.stderr)
    except ClientError as error:
        failure = error.response["Error"]
        print(f"{args.command} failed: {failure['Code']}: {failure['Message']}", file=sys.stderr)
    except BotoCoreError as error:
        print(f"{args.command} failed: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
