"""The variant model: which features each MLOps size turns on, and which files each option owns.

This is the one place that maps a size to feature defaults. cookiecutter reads it through the
template's Jinja extension (prompt defaults), the answer rules and the post-generation hook read it
(validation, files to remove), the tests read it (test matrix, expected manifest) and
`python -m mlops_template.variants` prints the README table. Templates test feature flags, never
the size.

To add a feature: one `Feature` row here, its whole files in the project template, and its prompt
in cookiecutter.json (`"{{ cookiecutter.mlops_size | feature_default('<name>') }}"`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Size -> the maturity name the AWS architecture talk gives it.
SIZES: dict[str, str] = {"small": "Repeatable", "medium": "Reliable", "large": "Scalable"}

YES, NO = "yes", "no"


@dataclass(frozen=True)
class Feature:
    name: str
    summary: str
    defaults: Mapping[str, bool]  # size -> on by default
    # Files and folders (relative to the project, "{package}" is the package name) that exist
    # only when the feature is on.
    paths: tuple[str, ...]
    # Features this one cannot work without (the hook refuses the contradiction).
    requires: tuple[str, ...] = ()


FEATURES: tuple[Feature, ...] = (
    Feature(
        name="data_quality_baseline",
        summary="The monitor's reference in the pipeline: a processing step profiles "
        "the training split (`make local-run` writes the same), recorded with the model package",
        defaults={"small": False, "medium": True, "large": True},
        paths=(
            "src/{package}/monitor/__init__.py",
            "src/{package}/monitor/reference.py",
            "src/{package}/steps/reference.py",
            "src/{package}/pipeline/reference.py",
        ),
    ),
    Feature(
        name="explainability_report",
        summary="SHAP explanations of the model: exact TreeSHAP in a pipeline step of the "
        "project's own image (`make local-run` runs the same), registered with the model",
        defaults={"small": False, "medium": False, "large": True},
        paths=(
            "src/{package}/explain.py",
            "src/{package}/steps/explain.py",
            "src/{package}/pipeline/explainability.py",
            "tests/test_explain.py",
        ),
    ),
    Feature(
        name="staging_stage",
        summary="Deploy an approved model to a staging endpoint first: smoke and load test, "
        "manual approval, then production",
        defaults={"small": False, "medium": True, "large": True},
        paths=("config/staging.json",),
    ),
    Feature(
        name="deployment_accounts",
        summary="Staging and production endpoints in accounts of their own, deployed by a "
        "role only the tooling account's CI may assume",
        defaults={"small": False, "medium": True, "large": True},
        paths=(),
        requires=("staging_stage",),
    ),
    Feature(
        name="batch_transform",
        summary="Batch transform of the approved model over an S3 prefix, on a schedule or "
        "on demand, as an alternative to the endpoint for offline scoring",
        defaults={"small": False, "medium": False, "large": True},
        paths=(
            "infra/batch-transform.yaml",
            "src/{package}/deploy/batch.py",
            "tests/test_batch_transform.py",
        ),
    ),
    Feature(
        name="model_monitoring",
        summary="Data capture on the endpoints and the project's own monitor on a schedule in "
        "each stage (drift per feature with Evidently, data quality by the data contract, model "
        "quality on ground truth; an HTML report, CloudWatch metrics), alarms that notify and "
        "start retraining; `make local-monitor` and `make local-drift` run the same code locally",
        defaults={"small": False, "medium": True, "large": True},
        paths=(
            "infra/monitoring.yaml",
            "monitoring",
            "src/{package}/deploy/monitoring.py",
            "src/{package}/monitor/__main__.py",
            "src/{package}/monitor/capture.py",
            "src/{package}/monitor/checks.py",
            "src/{package}/monitor/cli.py",
            "src/{package}/monitor/cloudwatch.py",
            "src/{package}/monitor/drift.py",
            "src/{package}/monitor/report.py",
            "src/{package}/steps/monitor.py",
            "bench/monitor_bench.py",
            "tests/test_monitor.py",
            "tests/test_monitoring_stack.py",
        ),
        requires=("data_quality_baseline",),
    ),
    Feature(
        name="data_lake_account",
        summary="The raw-data bucket in a data-lake account of its own: the pipeline reads it "
        "through a bucket policy and key grant scoped to its execution role and data prefix, "
        "and the bucket's new objects start retraining through EventBridge across accounts",
        defaults={"small": False, "medium": False, "large": True},
        paths=("infra/data-lake.yaml", "tests/test_data_lake.py"),
    ),
    Feature(
        name="artifact_account",
        summary="On approval the model's artifact, evaluation, monitor reference and images are "
        "copied to a shared-artifact account (an S3 Object Lock bucket, governance mode for "
        "`artifact_retention_days`; ECR replication) that the stage accounts deploy from: "
        "production never reads from the tooling account",
        defaults={"small": False, "medium": False, "large": True},
        paths=(
            "infra/artifact-account.yaml",
            "src/{package}/deploy/artifacts.py",
            "tests/test_artifact_account.py",
        ),
        requires=("deployment_accounts",),
    ),
    Feature(
        name="operations_account",
        summary="The CI/CD in an operations account of its own: it builds, trains and reads the "
        "registry through one tooling role it alone may assume, deploys to the stage accounts "
        "(which trust its deployer), and hears of approvals through EventBridge",
        defaults={"small": False, "medium": False, "large": True},
        paths=(
            "infra/operations-account.yaml",
            "infra/operations-access.yaml",
            "tests/test_operations_account.py",
        ),
    ),
    Feature(
        name="feature_store",
        summary="SageMaker Feature Store: a feature group of the data set (offline store in the "
        "project bucket, encrypted with its key; online store optional), an ingestion step that "
        "puts the validated rows with an event time and a record ID, and training on a "
        "point-in-time-correct snapshot of the offline store; `make local-run` runs the same code "
        "against a local offline store (files)",
        defaults={"small": False, "medium": False, "large": True},
        paths=(
            "infra/feature-store.yaml",
            "src/{package}/offline_store.py",
            "src/{package}/steps/ingest.py",
            "src/{package}/steps/snapshot.py",
            "src/{package}/pipeline/feature_store.py",
            "src/{package}/deploy/feature_group.py",
            "tests/test_feature_store.py",
        ),
    ),
    Feature(
        name="bias_report",
        summary="Bias of the data and the model for the schema's facet column (class imbalance, "
        "difference in positive proportions, disparate impact, as Clarify defines them) by the "
        "project's own code in a pipeline step, registered with the model; bias drift in the "
        "monitor when it is on",
        defaults={"small": False, "medium": False, "large": True},
        paths=(
            "src/{package}/bias.py",
            "src/{package}/steps/bias.py",
            "src/{package}/pipeline/bias.py",
            "tests/test_bias.py",
        ),
    ),
    Feature(
        name="model_card",
        summary="A SageMaker model card on each registered model package, built by the "
        "pipeline from what it already knows (intended use, metrics, data hash, SHAP and bias "
        "reports, lineage) and approved with the package; `make local-run` writes it as "
        "Markdown",
        defaults={"small": False, "medium": False, "large": True},
        paths=(
            "src/{package}/steps/model_card.py",
            "src/{package}/pipeline/model_card.py",
            "src/{package}/deploy/model_card.py",
            "tests/test_model_card.py",
        ),
    ),
    Feature(
        name="spark_processing",
        summary="Preprocessing and validation as a PySpark job in SageMaker's Spark processing "
        "container, over several instances, for data that outgrows one machine: the same "
        "contract rules, messages and split as the pandas step, tested equal in Spark local mode "
        "(`make test-spark`)",
        defaults={"small": False, "medium": False, "large": True},
        paths=(
            "src/{package}/steps/preprocess_spark.py",
            "src/{package}/contract/spark.py",
            "src/{package}/pipeline/spark.py",
            "tests/test_preprocess_spark.py",
            "bench/spark_bench.py",
        ),
    ),
)

FEATURES_BY_NAME: dict[str, Feature] = {feature.name: feature for feature in FEATURES}

# Choice options whose values own files: option -> value -> paths kept only for that value.
CHOICE_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "problem_type": {
        "binary_classification": (
            "data/sample/breast_cancer.csv",
            "src/{package}/schemas/breast_cancer.json",
        ),
        "regression": (
            "data/sample/diabetes.csv",
            "src/{package}/schemas/diabetes.json",
        ),
    },
    # Exactly one CI/CD system runs the buildspecs' jobs: test, build the images, run the pipeline,
    # and deploy an approved model.
    "ci_system": {
        "codepipeline": (
            "infra/cicd.yaml",
            "infra/deploy-pipeline.yaml",
            "tests/test_codepipeline.py",
            "tests/test_deploy_pipeline.py",
        ),
        "github_actions": (
            ".github",
            "infra/github-deploy.yaml",
            "infra/github-oidc.yaml",
            "tests/test_github_actions.py",
            "tests/test_github_deploy.py",
        ),
    },
}


# Choice options that only change values inside files: every value is baked somewhere in the test
# matrix (cycled over the variants), none owns files. The first value is the default.
VALUE_CHOICES: dict[str, tuple[str, ...]] = {
    "endpoint_type": ("realtime", "serverless"),
    "rollout": ("canary", "linear", "all_at_once"),
}


def feature_default(size: str, feature: str) -> str:
    """The prompt default ("yes"/"no") of `feature` for `size`."""
    return YES if FEATURES_BY_NAME[feature].defaults[size] else NO


def enabled_features(context: Mapping[str, str]) -> set[str]:
    return {feature.name for feature in FEATURES if context[feature.name] == YES}


def _owned_paths(context: Mapping[str, str]) -> dict[str, bool]:
    """Every path that an option owns -> whether this variant keeps it."""
    owned: dict[str, bool] = {}
    enabled = enabled_features(context)
    for feature in FEATURES:
        for path in feature.paths:
            owned[path] = feature.name in enabled
    for option, by_value in CHOICE_PATHS.items():
        for value, paths in by_value.items():
            for path in paths:
                owned[path] = owned.get(path, False) or context[option] == value
    return {path.format(package=context["package_name"]): keep for path, keep in owned.items()}


def paths_to_remove(context: Mapping[str, str]) -> list[str]:
    """Files and folders of the baked project that this variant does not use."""
    return sorted(path for path, keep in _owned_paths(context).items() if not keep)


def paths_to_keep(context: Mapping[str, str]) -> list[str]:
    """Option-owned files and folders that this variant uses."""
    return sorted(path for path, keep in _owned_paths(context).items() if keep)


def markdown_table() -> str:
    """The size -> feature defaults table shown in the README."""
    header = "| Feature | " + " | ".join(f"{size} ({name})" for size, name in SIZES.items()) + " |"
    rule = "|---" * (len(SIZES) + 1) + "|"
    rows = [
        f"| `{f.name}`: {f.summary} | "
        + " | ".join("on" if f.defaults[size] else "off" for size in SIZES)
        + " |"
        for f in FEATURES
    ]
    return "\n".join([header, rule, *rows])


if __name__ == "__main__":
    print(markdown_table())
