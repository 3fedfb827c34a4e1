"""The smoke test, through the real boto3 `invoke_endpoint` call against the project's own
inference server."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import uvicorn
from deploy_support import (
    REGION,
    write_config,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from {{ cookiecutter.package_name }} import config, contract
from {{ cookiecutter.package_name }}.deploy import __main__ as cli
from {{ cookiecutter.package_name }}.deploy import smoke
from {{ cookiecutter.package_name }}.deploy.stage import (
    Stage,
)
from {{ cookiecutter.package_name }}.serve import app as serve_app

# CI runs `latest` as the tooling account's deployer, which assumes the stage's deployment
# role; `deploy` and `smoke-test` run as that role (tests/aws_calls.py).
pytestmark = pytest.mark.principal("deployer")


# --- the smoke test, through boto3's invoke_endpoint ---------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def runtime_api() -> Iterator[Callable[[Starlette], str]]:
    """runtime_api(app) -> the URL of a server on 127.0.0.1 running the ASGI app."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Starlette) -> str:
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def sagemaker_runtime(
    handler: Callable[[Request], Any],
) -> tuple[Starlette, list[str]]:
    """SageMaker Runtime's route, POST /endpoints/<name>/invocations (what botocore calls),
    answered by handler; the endpoint names called are recorded."""
    called: list[str] = []

    async def invocations(request: Request) -> Response:
        called.append(request.path_params["name"])
        return await handler(request)

    app = Starlette(routes=[Route("/endpoints/{name}/invocations", invocations, methods=["POST"])])
    return app, called


@pytest.fixture(scope="module")
def model_server(configured) -> Callable[[Request], Any]:
    """The project's own inference server (serve/) for the model of the local run: its
    /invocations handler."""
    served = serve_app.create_app(configured.model, config.SCHEMA)
    (route,) = [route for route in served.routes if route.path == "/invocations"]
    return route.endpoint


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def smoke_test(url: str, tmp_path: Path, requests: int = 20) -> int:
    """The smoke-test command against url, for the first stage, with `requests` calls."""
    stage = config.STAGES[0]
    folder = write_config(tmp_path, stage, **{"smoke_test.requests": requests})
    argv = ["--config-dir", str(folder), "smoke-test", "--stage", stage, "--endpoint-url", url]
    return cli.main(argv)


@pytest.mark.principal(f"deployment:{config.STAGES[0]}")
def test_the_smoke_test_passes_against_the_projects_inference_server(
    model_server, runtime_api, credentials, tmp_path: Path, capsys
):
    app, called = sagemaker_runtime(model_server)
    assert smoke_test(runtime_api(app), tmp_path) == 0
    out = capsys.readouterr().out
    stage = Stage.load(config.STAGES[0])
    assert out.startswith(
        f"smoke-test {stage.endpoint_name}: passed: 20 requests of {smoke.ROWS_PER_REQUEST} rows"
    )
    assert re.search(r"p50 [0-9.]+ ms, p99 [0-9.]+ ms \(limit \d+ ms\), 0 errors$", out.strip())
    assert called == [stage.endpoint_name] * 20


@pytest.mark.principal(f"deployment:{config.STAGES[0]}")
def test_the_smoke_test_fails_on_server_errors(runtime_api, credentials, tmp_path: Path, capsys):
    async def failing(request: Request) -> Response:
        return Response("scoring failed\n", 500, media_type="text/plain")

    app, called = sagemaker_runtime(failing)
    assert smoke_test(runtime_api(app), tmp_path, requests=3) == 1
    out = capsys.readouterr().out
    assert ": FAILED: 3 requests" in out
    assert "3 errors; first error: request 1:" in out
    assert len(called) == 3  # no retries: each error counts once


@pytest.mark.principal(f"deployment:{config.STAGES[0]}")
def test_the_smoke_test_fails_on_one_prediction_too_few(
    model_server, runtime_api, credentials, tmp_path: Path, capsys
):
    async def short(request: Request) -> Response:
        answer = await model_server(request)
        lines = answer.body.decode().splitlines(keepends=True)
        return Response("".join(lines[:-1]), media_type="text/csv")

    app, _ = sagemaker_runtime(short)
    assert smoke_test(runtime_api(app), tmp_path, requests=2) == 1
    out = capsys.readouterr().out
    rows = smoke.ROWS_PER_REQUEST
    assert f"first error: request 1: {rows - 1} predictions for {rows} rows" in out


def test_the_sample_rows_meet_the_schema(configured_schema):
    schema = json.loads(config.SCHEMA.read_text(encoding="utf-8"))
    rows = smoke.sample_rows(schema, 50, seed=1)
    features = configured_schema.features
    assert all(len(row) == len(features) for row in rows)
    # preprocess's own validation accepts them, as a file of these rows.
    frame = pd.DataFrame(rows, columns=features, dtype=object)
    contract.validate(frame, configured_schema, config.PROBLEM_TYPE, with_target=False)
