"""get_pipeline(): the pipeline's definition, composed from one builder a step."""

from __future__ import annotations

from sagemaker.core.workflow.parameters import Parameter
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep, Step

from .. import arns, config, lineage
from . import registration, staging, training
from .jobs import Build
from .parameters import pipeline_parameters


def get_pipeline(
    role_arn: str = arns.EXECUTION_ROLE_ARN,
    bucket: str = config.DEFAULT_BUCKET,
    session: PipelineSession | None = None,
    *,
    kms_key_id: str | None = None,
    git: lineage.GitState | None = None,
    steps_image: str | None = None,
    serve_image: str | None = None,
) -> Pipeline:
    """Build the training pipeline of this project.

    Uploads the step code and the schema to the bucket under content-addressed keys, and reads
    the digests of the images from ECR.

    Args:
        role_arn: the execution role of every job the pipeline starts.
        bucket: where step code, intermediate data and models are staged.
        session: a PipelineSession; by default one in config.AWS_REGION staging in `bucket`.
        kms_key_id: KMS key for job volumes, outputs and the uploaded code, by any of its
            names (an alias too: it is resolved to the key's ARN, which every job field takes);
            None keeps the account defaults.
        git: the commit the code comes from, recorded on the jobs and the model package; by
            default the project's checkout.
        steps_image, serve_image: the project's own images (containers/, built by CI from the
            lock), by tag or digest: the defaults of the StepsImageUri and ServeImageUri
            parameters. Without them, the AWS XGBoost image (other library versions than the
            lock's, and CSV-only serving by its own server).
    """
    session = session or staging.default_session(bucket)
    git = git or lineage.git_state()
    kms_key_id = staging.key_arn(session.boto_session, kms_key_id)
    build = Build(
        role_arn=role_arn,
        bucket=bucket,
        session=session,
        kms_key_id=kms_key_id,
        tags=lineage.tags(git),
        stage=staging.Stager(staging.s3_client(session.boto_session), bucket, kms_key_id),
        parameters=pipeline_parameters(session, bucket, steps_image, serve_image),
    )

    preprocess, splits, data_steps, parameters = _data_steps(build)
    steps: list[Step] = list(data_steps)
    train = training.train_step(build, splits)
    evaluate = training.evaluate_step(build, splits, train)
    steps += [train, evaluate]
    record = registration.Record.from_evaluation(evaluate)
    if config.DATA_QUALITY_BASELINE:
        # Imported here: projects generated without the monitor's reference have no reference.py.
        from .reference import reference_step

        steps.append(reference_step(build, splits, record))
    if config.BIAS_REPORT:
        # Imported here: projects generated without the bias report have no bias.py.
        from .bias import bias_step

        steps.append(bias_step(build, splits, train, record))
    if config.EXPLAINABILITY_REPORT:
        # Imported here: projects generated without the explanation have no explainability.py.
        from .explainability import explain_step

        steps.append(explain_step(build, splits, train, record))
    if config.MODEL_CARD:
        # Imported here: projects generated without the model card have no model_card.py. Last
        # before Register: it reads every report the steps above add to the record.
        from .model_card import model_card_step

        steps.append(model_card_step(build, git, preprocess, train, evaluate, record))
    register = registration.register_step(
        build, git, preprocess, train, record, own_serve_image=bool(serve_image)
    )
    steps.append(registration.quality_gate_step(build, evaluate, register))

    return Pipeline(
        name=config.PIPELINE_NAME,
        parameters=parameters,
        steps=steps,
        sagemaker_session=session,
    )


def _data_steps(
    build: Build,
) -> tuple[ProcessingStep, ProcessingStep, list[Step], list[Parameter]]:
    """Preprocess (pandas, or the Spark job), then with the Feature Store Ingest and Snapshot:
    Preprocess, the step whose outputs are the splits, the steps, and the pipeline's
    parameters."""
    if config.SPARK_PROCESSING:
        # Imported here: projects generated without Spark have no spark.py.
        from .spark import preprocess_step

        preprocess = preprocess_step(build)
    else:
        preprocess = training.preprocess_step(build)
    parameters: list[Parameter] = list(build.parameters.all())
    if not config.FEATURE_STORE:
        return preprocess, preprocess, [preprocess], parameters
    # Imported here: projects generated without the Feature Store have no feature_store.py.
    from .feature_store import AS_OF, feature_store_steps

    ingest, snapshot = feature_store_steps(build, preprocess)
    return preprocess, snapshot, [preprocess, ingest, snapshot], [*parameters, AS_OF]
