"""Run the inference server (see --help).

    python -m {{ cookiecutter.package_name }}.serve [serve] [--model-dir DIR] [--port N] ...

SageMaker starts a serving container as `docker run <image> serve`: the image's ENTRYPOINT is
this module with `--host 0.0.0.0`, every interface, as SageMaker's hosting contract requires, so
the leading word `serve` is accepted and changes nothing. Run anywhere else (`make serve` on a
laptop) it answers on 127.0.0.1 only, unless --host says otherwise. The other defaults follow
the contract: the model from $SM_MODEL_DIR (else /opt/ml/model), port 8080 (or
$SAGEMAKER_BIND_TO_PORT), one worker process a core. `make serve` serves a version of the local
registry instead (--registry-dir): the last run that passed the gate, or --version, named in one
line on standard error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn

from .. import config, registry
from . import app, protocol
from .scoring import Scorer

DEFAULT_PORT = 8080


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "command", nargs="?", choices=["serve"], help="accepted, as SageMaker runs it"
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get(app.MODEL_DIR_ENV, app.DEFAULT_MODEL_DIR)),
        help="the folder holding the xgboost-model file (default: $SM_MODEL_DIR, /opt/ml/model)",
    )
    parser.add_argument(
        "--registry-dir",
        type=Path,
        help="serve a version of this local registry instead of --model-dir: the last run that "
        "passed the quality gate, or --version",
    )
    parser.add_argument("--version", help="with --registry-dir: the version to serve, e.g. v0002")
    parser.add_argument(
        "--schema",
        type=Path,
        default=Path(os.environ.get(app.SCHEMA_ENV, config.SCHEMA)),
        help="the schema whose rules every request must meet (default: the project's, "
        "config.SCHEMA, installed with the package)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="default: 127.0.0.1, this machine only (the image passes 0.0.0.0, every interface)",
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", DEFAULT_PORT))
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS", os.cpu_count() or 1)),
        help="worker processes, each with the model loaded (default: one a core)",
    )
    parser.add_argument(
        "--client-timeout",
        type=positive_seconds,
        default=protocol.DEFAULT_CLIENT_TIMEOUT,
        help="seconds a client has to send a request's head, and again its body; an idle new "
        f"connection is closed after as long (default: {protocol.DEFAULT_CLIENT_TIMEOUT:g})",
    )
    return parser.parse_args(argv)


def positive_seconds(text: str) -> float:
    seconds = float(text)
    if not 0 < seconds < float("inf"):
        raise ValueError(text)
    return seconds


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        using = f"model in {args.model_dir}"
        if args.registry_dir is not None:
            package = registry.serving_version(args.registry_dir, args.version)
            args.model_dir = registry.model_dir(args.registry_dir, package["version"])
            using = registry.serving_line(args.registry_dir, package)
        # Once here, so that a missing or mismatched model stops the server with one line.
        Scorer.load(args.model_dir, args.schema)
    except (OSError, ValueError, KeyError) as error:
        print(f"serve failed: {error}", file=sys.stderr)
        return 1
    print(f"serve: {using}", file=sys.stderr)
    # The workers uvicorn starts read these in create_app().
    os.environ[app.MODEL_DIR_ENV] = str(args.model_dir.resolve())
    os.environ[app.SCHEMA_ENV] = str(args.schema.resolve())
    os.environ[protocol.CLIENT_TIMEOUT_ENV] = str(args.client_timeout)
    uvicorn.run(
        f"{__package__}.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        http=f"{__package__}.protocol:BoundedHttpToolsProtocol",
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        # A log line a request costs throughput; SageMaker counts invocations in CloudWatch.
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
