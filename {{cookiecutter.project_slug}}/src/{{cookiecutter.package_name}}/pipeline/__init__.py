"""The SageMaker pipeline: preprocess, train, evaluate, quality gate, register.

Preprocess -> Train -> Evaluate (plus Reference and Explain when this project has them) ->
CheckQuality, which registers the model in the model registry if it reaches the floor and beats
the champion (the group's latest Approved model, scored by Evaluate on the same test split; the
naive baseline while there is none) by the margin, and fails the execution with the metric, the
champion's value, the margin and the floor if not. Every model package records what made it
(code commit, data hash, image digests, hyperparameters, execution); every job carries the
project's tags, retries AWS's own faults and, but Evaluate, is served from cache when its inputs
are unchanged.

`get_pipeline()` builds it with the SageMaker Python SDK v3 from the same step scripts that
`local.py` runs on a laptop. The command line prints the definition, creates or updates the
pipeline in AWS, uploads the sample data to where the pipeline reads it, or starts an execution:

    python -m {{ cookiecutter.package_name }}.pipeline definition --offline  # no AWS needed
    python -m {{ cookiecutter.package_name }}.pipeline upload-data
    python -m {{ cookiecutter.package_name }}.pipeline upsert
    python -m {{ cookiecutter.package_name }}.pipeline start --parameter QualityThreshold=0.8

The modules, in the order a definition is built:

    definition.py     get_pipeline(): the parameters, one builder a step, the Pipeline
    parameters.py     what an execution may override, and the defaults this build gives them
    jobs.py           what every job shares: role, image, instances, inputs and outputs, the
                      code shipped to it, tags, cache and retries
    training.py       Preprocess, Train, Evaluate
{%- if cookiecutter.data_quality_baseline == "yes" %}
    reference.py      Reference: what the project's monitor compares the endpoint's traffic with
{%- endif %}
{%- if cookiecutter.explainability_report == "yes" %}
    explainability.py Explain: exact TreeSHAP of the trained model (steps/explain.py)
{%- endif %}
    registration.py   CheckQuality, the quality gate: Register, or QualityGateFailed
    staging.py        what is put in AWS while it is built: code under content-addressed keys,
                      images by digest, the data (upload-data), the bucket's checks
    cli.py            the command line (__main__.py runs it)
    offline.py        AWS emulated by moto for `definition --offline` and the tests; no part of
                      what upsert and start import
"""

import os

from .. import config

# SDK 3.27 creates a boto3 client while it is being imported, which fails without a region.
# This project lives in one region, so that is the default; an explicit setting still wins.
os.environ.setdefault("AWS_DEFAULT_REGION", config.AWS_REGION)

from .definition import get_pipeline

__all__ = ["get_pipeline"]
