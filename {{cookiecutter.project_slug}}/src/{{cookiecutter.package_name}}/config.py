"""Project settings rendered once from the template answers; every other module reads them here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROJECT_NAME = {{ cookiecutter.project_name | tojson }}
PROJECT_SLUG = {{ cookiecutter.project_slug | tojson }}
AWS_REGION = {{ cookiecutter.aws_region | tojson }}
AWS_ACCOUNT_ID = {{ cookiecutter.aws_account_id | tojson }}
MLOPS_SIZE = {{ cookiecutter.mlops_size | tojson }}
PROBLEM_TYPE = {{ cookiecutter.problem_type | tojson }}

# Features chosen at generation time (see the template's variant table).
DATA_QUALITY_BASELINE = {{ cookiecutter.data_quality_baseline == "yes" }}
EXPLAINABILITY_REPORT = {{ cookiecutter.explainability_report == "yes" }}

# AWS names derived from the slug, so that every resource of this project is recognisable.
PIPELINE_NAME = f"{PROJECT_SLUG}-training"
MODEL_PACKAGE_GROUP = PROJECT_SLUG
DEFAULT_BUCKET = f"sagemaker-{AWS_REGION}-{AWS_ACCOUNT_ID}"
EXECUTION_ROLE_ARN = f"arn:aws:iam::{AWS_ACCOUNT_ID}:role/{PROJECT_SLUG}-sagemaker-execution"

PACKAGE_DIR = Path(__file__).parent
STEPS_DIR = PACKAGE_DIR / "steps"
PROJECT_DIR = PACKAGE_DIR.parent.parent

# The bundled sample data set and its schema (the data contract checked by preprocess).
DATASET = {"binary_classification": "breast_cancer", "regression": "diabetes"}[PROBLEM_TYPE]
SAMPLE_DATA = PROJECT_DIR / "data" / "sample" / f"{DATASET}.csv"
SCHEMA = PACKAGE_DIR / "schemas" / f"{DATASET}.json"


@dataclass(frozen=True)
class QualityGate:
    """The metric a model must reach to be registered."""

    metric: str
    json_path: str  # path inside evaluation.json, as read by the pipeline's JsonGet
    higher_is_better: bool
    threshold: float

    def passes(self, value: float) -> bool:
        return value >= self.threshold if self.higher_is_better else value <= self.threshold


QUALITY_GATE = {
    "binary_classification": QualityGate(
        metric="auc",
        json_path="binary_classification_metrics.auc.value",
        higher_is_better=True,
        threshold=0.9,
    ),
    "regression": QualityGate(
        metric="rmse",
        json_path="regression_metrics.rmse.value",
        higher_is_better=False,
        threshold=70.0,
    ),
}[PROBLEM_TYPE]

# Preprocess refuses data below these counts: with fewer, the 15% validation and test splits hold
# a handful of rows (or miss a class), so the quality gate would judge the model on noise.
MIN_ROWS = 100
MIN_CLASS_COUNT = 10
