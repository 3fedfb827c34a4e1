"""The inference server: SageMaker's contract (GET /ping, POST /invocations on port 8080) for the
model train writes, with the project's schema applied to every request.

    python -m {{ cookiecutter.package_name }}.serve [serve] [--model-dir DIR] [--port N]

Imports only the core dependencies and the `serve` group (the serving image has nothing else).
"""
