"""Project settings rendered once from the template answers; every other module reads them here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
# The answers that are free text (the project's name, description and owner), kept as data in
# project.json rather than written into this file as Python.
_PROJECT = json.loads((PACKAGE_DIR / "project.json").read_text(encoding="utf-8"))
PROJECT_NAME: str = _PROJECT["project_name"]
DESCRIPTION: str = _PROJECT["description"]
AUTHOR_NAME: str = _PROJECT["author_name"]
AUTHOR_EMAIL: str = _PROJECT["author_email"]

PROJECT_SLUG = {{ cookiecutter.project_slug | tojson }}
AWS_REGION = {{ cookiecutter.aws_region | tojson }}
AWS_ACCOUNT_ID = {{ cookiecutter.aws_account_id | tojson }}
MLOPS_SIZE = {{ cookiecutter.mlops_size | tojson }}

# Features chosen at generation time (see the template's variant table).
DATA_QUALITY_BASELINE = {{ cookiecutter.data_quality_baseline == "yes" }}
EXPLAINABILITY_REPORT = {{ cookiecutter.explainability_report == "yes" }}
STAGING_STAGE = {{ cookiecutter.staging_stage == "yes" }}
DEPLOYMENT_ACCOUNTS = {{ cookiecutter.deployment_accounts == "yes" }}
BATCH_TRANSFORM = {{ cookiecutter.batch_transform == "yes" }}
MODEL_MONITORING = {{ cookiecutter.model_monitoring == "yes" }}
DATA_LAKE_ACCOUNT = {{ cookiecutter.data_lake_account == "yes" }}
OPERATIONS_ACCOUNT = {{ cookiecutter.operations_account == "yes" }}
FEATURE_STORE = {{ cookiecutter.feature_store == "yes" }}
MODEL_CARD = {{ cookiecutter.model_card == "yes" }}
ARTIFACT_ACCOUNT = {{ cookiecutter.artifact_account == "yes" }}
BIAS_REPORT = {{ cookiecutter.bias_report == "yes" }}
SPARK_PROCESSING = {{ cookiecutter.spark_processing == "yes" }}
CI_SYSTEM = {{ cookiecutter.ci_system | tojson }}
MONTHLY_BUDGET_USD = {{ cookiecutter.monthly_budget_usd | int }}

# Where approved models are deployed, in order: each stage's settings are config/<stage>.json.
STAGES = {{ (["staging", "prod"] if cookiecutter.staging_stage == "yes" else ["prod"]) | tojson }}
# Stage -> the AWS account its endpoint runs in (the tooling account, AWS_ACCOUNT_ID, runs the
# pipeline, the registry and CI).
_ACCOUNTS = {
    "staging": {{ cookiecutter.staging_account_id | tojson }},
    "prod": {{ cookiecutter.prod_account_id | tojson }},
}
STAGE_ACCOUNTS = {stage: _ACCOUNTS[stage] for stage in STAGES}
# The account the CI/CD runs in: an operations account of its own (OPERATIONS_ACCOUNT), which
# reaches the tooling account through its OPERATIONS_ROLE, or the tooling account itself.
OPERATIONS_ACCOUNT_ID = {{ cookiecutter.operations_account_id | tojson }}
# With ARTIFACT_ACCOUNT: the shared-artifact account (infra/artifact-account.yaml), where each
# approved model's artifact, evaluation, monitor reference and images are copied and kept under
# S3 Object Lock; the stages deploy from it. Else the tooling account.
ARTIFACT_ACCOUNT_ID = {{ cookiecutter.artifact_account_id | tojson }}
ARTIFACT_RETENTION_DAYS = {{ cookiecutter.artifact_retention_days | int }}

# AWS names derived from the slug, so that every resource of this project is recognisable.
PIPELINE_NAME = f"{PROJECT_SLUG}-training"
MODEL_PACKAGE_GROUP = PROJECT_SLUG
# What the base stack (infra/base.yaml, `make base-stack`) creates, by the names it gives them.
BASE_STACK = f"{PROJECT_SLUG}-base"
DEFAULT_BUCKET = f"{PROJECT_SLUG}-{AWS_ACCOUNT_ID}-{AWS_REGION}"
# The shared-artifact account's bucket: the same name in its own account.
ARTIFACT_BUCKET = f"{PROJECT_SLUG}-{ARTIFACT_ACCOUNT_ID}-{AWS_REGION}"
# The execution role's and the base key's ARNs, in the region's partition: arns.py.
# The raw data: with a data lake (DATA_LAKE_ACCOUNT), the bucket of infra/data-lake.yaml in that
# account, which the pipeline only reads; else the base bucket. The pipeline's InputDataUrl, the
# retraining triggers and `make upload-data` take the data from DATA_PREFIX in it.
DATA_LAKE_ACCOUNT_ID = {{ cookiecutter.data_lake_account_id | tojson }}
DATA_BUCKET_OWNER = DATA_LAKE_ACCOUNT_ID if DATA_LAKE_ACCOUNT else AWS_ACCOUNT_ID
DATA_BUCKET = f"{PROJECT_SLUG}-{DATA_BUCKET_OWNER}-{AWS_REGION}"
DATA_PREFIX = f"{PROJECT_SLUG}/data/"
DATA_LAKE_STACK = f"{PROJECT_SLUG}-data-lake"
# The ECR repositories of the project's own images (containers/).
STEPS_IMAGE_REPOSITORY = f"{PROJECT_SLUG}/steps"
SERVE_IMAGE_REPOSITORY = f"{PROJECT_SLUG}/serve"
# The tooling account's role that the operations account's CI assumes
# (infra/operations-access.yaml).
OPERATIONS_ROLE = f"{PROJECT_SLUG}-operations-ci"


# How long a deployment may take, each bound inside the next (tests/test_deploy.py checks the
# chain): a rollout (the endpoint stack's MaximumExecutionTimeoutInSeconds, after which SageMaker
# rolls back; deploy/stage.py refuses a config/<stage>.json whose waits would not fit), the
# deploy helper's wait for all of a stage's stacks, and the CI job that runs it (240 minutes:
# infra/deploy-pipeline.yaml's TimeoutInMinutes, .github/workflows/deploy.yml's timeout-minutes).
MAX_ROLLOUT_MINUTES = 180
DEPLOY_WAIT_MINUTES = 215


# Tags on every job the pipeline starts, on the model package and on the pipeline: set here only.
# Organisations whose tag policies deny untagged CreateTrainingJob calls need them on every job.
# The pipeline adds the git commit it was built from (see lineage.py).
TAGS = {
    "project": PROJECT_SLUG,
    "mlops-size": MLOPS_SIZE,
    "owner": AUTHOR_EMAIL,
}

STEPS_DIR = PACKAGE_DIR / "steps"
PROJECT_DIR = PACKAGE_DIR.parent.parent
CONFIG_DIR = PROJECT_DIR / "config"  # each stage's settings: config/<stage>.json

# The data set the project trains on, by the name of its schema in schemas/: the one setting
# to change for your own data (`make schema DATA=your.csv TARGET=column` writes the schema and
# sets it here). The schema is the data contract preprocess enforces; it names the CSV file
# ("data", relative to the project) and the problem type, so everything else follows from it.
DATASET = {{ {"binary_classification": "breast_cancer", "regression": "diabetes"}[cookiecutter.problem_type] | tojson }}
SCHEMA = PACKAGE_DIR / "schemas" / f"{DATASET}.json"
# The Feature Store's feature group of the data set (infra/feature-store.yaml).
FEATURE_GROUP = f"{PROJECT_SLUG}-{DATASET.replace('_', '-')}"
_SCHEMA = json.loads(SCHEMA.read_text(encoding="utf-8"))
DATA = PROJECT_DIR / _SCHEMA["data"]
PROBLEM_TYPE: str = _SCHEMA["problem_type"]


@dataclass(frozen=True)
class QualityGate:
    """What a model must reach to be registered: an absolute floor, and the champion's metric plus
    a margin (evaluation.json's champion.required). evaluate scores the champion, the latest
    approved model, on the same test split; without one, the naive baseline stands in."""

    metric: str
    json_path: str  # path inside evaluation.json, as read by the pipeline's JsonGet
    higher_is_better: bool
    threshold: float  # the floor
    # How much the champion's metric must be exceeded (evaluate's --champion-margin).
    champion_margin: float

    @property
    def comparisons(self) -> tuple[str, str]:
        """How the metric must compare with champion.required, and with the floor."""
        return (">=", ">=") if self.higher_is_better else ("<=", "<=")

    @property
    def champion_json_path(self) -> str:
        """The champion's own value of the metric in evaluation.json."""
        return f"champion.{self.json_path}"

    @property
    def required_json_path(self) -> str:
        """What the metric must reach to beat the champion: its value and the margin."""
        return "champion.required"

    def meets(self, value: float, required: float) -> bool:
        return value >= required if self.higher_is_better else value <= required

    def reaches(self, value: float) -> bool:
        return value >= self.threshold if self.higher_is_better else value <= self.threshold

    def passes(self, value: float, required: float) -> bool:
        return self.meets(value, required) and self.reaches(value)


# Floors that mean something on any data: AUC (a naive model scores 0.5) and R^2, the share of
# the target's variance explained (the mean scores 0), rather than an RMSE in the target's units.
# The champion margin: retraining on the same data gives the same metric (or one a hair away);
# without a margin every such run would register a new version that is no better.
QUALITY_GATE = {
    "binary_classification": QualityGate(
        metric="auc",
        json_path="binary_classification_metrics.auc.value",
        higher_is_better=True,
        threshold=0.7,
        champion_margin=0.005,
    ),
    "regression": QualityGate(
        metric="r2",
        json_path="regression_metrics.r2.value",
        higher_is_better=True,
        threshold=0.1,
        champion_margin=0.005,
    ),
}[PROBLEM_TYPE]

# Preprocess refuses data below these counts: with fewer, the 15% validation and test splits hold
# a handful of rows (or miss a class), so the quality gate would judge the model on noise.
MIN_ROWS = 100
MIN_CLASS_COUNT = 10
