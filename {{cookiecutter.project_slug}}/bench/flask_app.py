"""The reference server of `make bench`: Flask on gunicorn, the stack AWS's framework containers
long served models with, around the very same scoring code as the project's server (Scorer), so
that the benchmark compares the serving stacks and nothing else.

    gunicorn --workers 2 --bind 127.0.0.1:8081 --chdir bench "flask_app:create_app()"

The model and schema come from the environment variables the project's server uses
(serve.app.MODEL_DIR_ENV, serve.app.SCHEMA_ENV).
"""

from __future__ import annotations

import os

from flask import Flask, Response, request

from {{ cookiecutter.package_name }}.serve.app import MODEL_DIR_ENV, SCHEMA_ENV
from {{ cookiecutter.package_name }}.serve.request import MAX_BODY_BYTES, RequestError
from {{ cookiecutter.package_name }}.serve.scoring import Scorer


def create_app() -> Flask:
    scorer = Scorer.load(os.environ[MODEL_DIR_ENV], os.environ[SCHEMA_ENV])
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.get("/ping")
    def ping() -> Response:
        return Response(status=200)

    @app.post("/invocations")
    def invocations() -> Response:
        headers = request.headers
        try:
            body, media = scorer.invoke(
                headers.get("Content-Type"), headers.get("Accept"), request.get_data()
            )
        except RequestError as error:
            return Response(f"{error}\n", status=error.status, mimetype="text/plain")
        return Response(body, mimetype=media)

    return app
