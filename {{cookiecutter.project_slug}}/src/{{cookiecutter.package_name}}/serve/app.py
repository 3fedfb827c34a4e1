"""The ASGI app: Starlette on uvicorn (httptools parses HTTP in C, uvloop runs the event loop on
libuv), both maintained by the Encode team and the stack FastAPI runs on. Against a threaded WSGI
stack it keeps connections alive and spends no thread per request; `make bench` measures it
against Flask on gunicorn.

Each worker process builds the app with create_app(), which loads the model once: /ping answers
200 only from a worker that holds the model. The protocol (protocol.py) bounds a request's head;
the app bounds its body, in bytes (MAX_BODY_BYTES) and in time (the client timeout).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import config
from .protocol import client_timeout
from .request import MAX_BODY_BYTES, RequestError
from .scoring import Scorer

# How the command line hands its settings to the worker processes uvicorn starts.
MODEL_DIR_ENV = "SM_MODEL_DIR"
SCHEMA_ENV = "SERVE_SCHEMA"
DEFAULT_MODEL_DIR = "/opt/ml/model"

log = logging.getLogger(__name__)


def refuse(error: RequestError) -> Response:
    # A client too slow to send its body may still be sending it: its connection closes.
    headers = {"connection": "close"} if error.status == 408 else None
    return Response(f"{error}\n", error.status, headers, media_type="text/plain")


async def read_body(request: Request) -> bytes:
    """The body, refused with 413 past MAX_BODY_BYTES before it is all read."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise RequestError(413, f"the body has {length} bytes; the limit is {MAX_BODY_BYTES}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestError(413, f"the body exceeds the limit of {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(model_dir: str | Path | None = None, schema: str | Path | None = None) -> Starlette:
    """The app serving the model in model_dir (default: $SM_MODEL_DIR, else /opt/ml/model) with
    the rules of the schema file (default: $SERVE_SCHEMA, else config.SCHEMA)."""
    scorer = Scorer.load(
        model_dir or os.environ.get(MODEL_DIR_ENV, DEFAULT_MODEL_DIR),
        schema or os.environ.get(SCHEMA_ENV, str(config.SCHEMA)),
    )
    timeout = client_timeout()

    async def ping(request: Request) -> Response:
        return Response(status_code=200)

    async def invocations(request: Request) -> Response:
        headers = request.headers
        try:
            try:
                async with asyncio.timeout(timeout):
                    body = await read_body(request)
            except TimeoutError:
                raise RequestError(
                    408, f"the request's body did not arrive within {timeout:g} s"
                ) from None
            # Scored on the event loop, not in a thread: the work is CPU-bound and each worker
            # is one process a core, so a thread would only add a hand-off.
            answer, media = scorer.invoke(headers.get("content-type"), headers.get("accept"), body)
        except RequestError as error:
            return refuse(error)
        except Exception:
            log.exception("scoring failed")
            return Response("scoring failed: see the server's log\n", 500, media_type="text/plain")
        return Response(answer, media_type=media)

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
        ]
    )
