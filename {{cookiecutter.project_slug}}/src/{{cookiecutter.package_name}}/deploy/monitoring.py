"""The monitoring stack of a stage (infra/monitoring.yaml): its parameters from monitoring/
monitoring.json and the served package's DriftCheckBaselines.

Every key of monitoring.json is checked before anything reaches AWS; a package without the
baselines the monitors compare with is refused in one line naming what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.regions

from .. import config
from .stage import ConfigError, Stage

TEMPLATE = config.PROJECT_DIR / "infra" / "monitoring.yaml"
SETTINGS = config.PROJECT_DIR / "monitoring" / "monitoring.json"
# The data-quality alarm watches this many features' drift metrics (infra/monitoring.yaml).
ALARM_FEATURES = 8
# The registered package's baselines the stack takes: (parameter, path in DriftCheckBaselines).
BASELINES = {
    "DataQualityStatisticsUri": ("ModelDataQuality", "Statistics"),
    "DataQualityConstraintsUri": ("ModelDataQuality", "Constraints"),
    "ModelQualityConstraintsUri": ("ModelQuality", "Constraints"),
}
PROBLEM_TYPES = {"binary_classification": "BinaryClassification", "regression": "Regression"}
# Model Monitor's analyzer image: the account that publishes it in each region, as the pinned
# SageMaker SDK lists them (sagemaker/core/image_uri_config/model-monitor.json). A copy, because
# the deploy step's environment has boto3 only (the SDK would add some fifty distributions to it);
# tests/test_monitoring_stack.py holds every region against the SDK's answer.
MONITOR_IMAGE_REPOSITORY = "sagemaker-model-monitor-analyzer"
MONITOR_IMAGE_ACCOUNTS = {
    "af-south-1": "875698925577",
    "ap-east-1": "001633400207",
    "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524",
    "ap-northeast-3": "990339680094",
    "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ap-southeast-3": "669540362728",
    "ca-central-1": "536280801234",
    "cn-north-1": "453000072557",
    "cn-northwest-1": "453252182341",
    "eu-central-1": "048819808253",
    "eu-central-2": "590183933784",
    "eu-north-1": "895015795356",
    "eu-south-1": "933208885752",
    "eu-south-2": "437450045455",
    "eu-west-1": "468650794304",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "il-central-1": "843974653677",
    "me-central-1": "588750061953",
    "me-south-1": "607024016150",
    "sa-east-1": "539772159869",
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-isof-east-1": "853188333426",
    "us-isof-south-1": "467912361380",
    "us-west-1": "890145073186",
    "us-west-2": "159807026194",
}
# Model Monitor's model-metrics an alarm may watch: errors alarm above their limit, scores below.
ERROR_METRICS = ("rmse", "mae")
SCORE_METRICS = ("accuracy", "precision", "recall", "f1", "auc", "r2")
_KEYS = {
    "": (
        "instance_type",
        "max_runtime_seconds",
        "stages",
        "data_quality",
        "model_quality",
        "retraining",
    ),
    "data_quality": ("max_baseline_drift", "alarm_features"),
    "model_quality": (
        "metric",
        "threshold",
        "ground_truth_start_offset",
        "ground_truth_end_offset",
    ),
    "retraining": ("cooldown_hours",),
    "stage": ("data_quality_schedule", "model_quality_schedule"),
}


class MissingBaseline(ConfigError):
    """A model package without a DriftCheckBaselines entry the monitors need."""


def _keys(raw: Any, expected: tuple[str, ...], where: str, source: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {where or 'the file'}: expected an object, got {raw!r}")
    prefix = f"{where}." if where else ""
    for key in raw:
        if key not in expected:
            raise ConfigError(f"{source}: unknown key '{prefix}{key}'")
    for key in expected:
        if key not in raw:
            raise ConfigError(f"{source}: missing key '{prefix}{key}'")
    return raw


def load_settings(path: Path = SETTINGS) -> dict[str, Any]:
    """monitoring.json, every key checked; ConfigError naming the first bad one."""
    source = f"monitoring/{path.name}" if path == SETTINGS else str(path)
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{source}: not valid JSON ({error})") from None
    _keys(raw, _KEYS[""], "", source)
    for section in ("data_quality", "model_quality", "retraining"):
        _keys(raw[section], _KEYS[section], section, source)
    _keys(raw["stages"], tuple(config.STAGES), "stages", source)
    for stage in config.STAGES:
        for key in _keys(raw["stages"][stage], _KEYS["stage"], f"stages.{stage}", source).values():
            if not (isinstance(key, str) and key.startswith("cron(") and key.endswith(")")):
                raise ConfigError(f"{source}: stages.{stage}: expected cron(...), got {key!r}")
    metric = raw["model_quality"]["metric"]
    if metric not in ERROR_METRICS + SCORE_METRICS:
        raise ConfigError(f"{source}: model_quality.metric: unknown metric {metric!r}")
    hours = raw["retraining"]["cooldown_hours"]
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 0:
        raise ConfigError(f"{source}: retraining.cooldown_hours: expected hours, got {hours!r}")
    return raw


def features() -> list[str]:
    """The schema's feature columns, in order (every column but the target)."""
    schema = json.loads(config.SCHEMA.read_text(encoding="utf-8"))
    return [column["name"] for column in schema["columns"] if column["name"] != schema["target"]]


def analyzer_name(feature: str) -> str:
    """A feature's name in the registered baseline and in Model Monitor's metrics: the analyzer
    reads header-less rows (as the endpoint captures them) and names the columns _c0, _c1, ...
    by position (steps/baseline.py)."""
    return f"_c{features().index(feature)}"


def drift_features(chosen: list[str], source: str = "monitoring/monitoring.json") -> list[str]:
    """Exactly ALARM_FEATURES names of Model Monitor's drift metrics for the alarm: the chosen
    features (or the schema's first), by their analyzer names, repeated to fill the list."""
    known = features()
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise ConfigError(
            f"{source}: data_quality.alarm_features: not in the schema: {', '.join(unknown)}"
        )
    if len(chosen) > ALARM_FEATURES:
        raise ConfigError(
            f"{source}: data_quality.alarm_features: at most {ALARM_FEATURES}, got {len(chosen)}"
        )
    names = [analyzer_name(name) for name in list(chosen) or known[:ALARM_FEATURES]]
    return [names[index % len(names)] for index in range(ALARM_FEATURES)]


def baselines(package: Mapping[str, Any]) -> dict[str, str]:
    """The baseline parameters from describe_model_package's answer; MissingBaseline names the
    first missing entry."""
    drift = package.get("DriftCheckBaselines") or {}
    found = {}
    for parameter, (group, kind) in BASELINES.items():
        uri = ((drift.get(group) or {}).get(kind) or {}).get("S3Uri")
        if not uri:
            raise MissingBaseline(
                f"model package {package.get('ModelPackageArn', '?')} has no "
                f"DriftCheckBaselines.{group}.{kind}.S3Uri: register it with the pipeline's "
                "baselines to monitor it"
            )
        found[parameter] = uri
    return found


def monitor_image_uri(region: str = config.AWS_REGION) -> str:
    """Model Monitor's analyzer image of the region (offline), built as the SDK builds it: the
    publishing account's registry at the region's ECR endpoint (botocore's endpoint data)."""
    if region not in MONITOR_IMAGE_ACCOUNTS:
        raise ConfigError(f"Model Monitor publishes no analyzer image in {region}")
    resolver = botocore.regions.EndpointResolver(
        botocore.loaders.create_loader().load_data("endpoints")
    )
    endpoint = resolver.construct_endpoint("ecr", region) or {}
    # The SDK's own fallback for a region botocore's data lists without ECR.
    hostname = endpoint.get("hostname", f"ecr.{region}.amazonaws.com")
    return f"{MONITOR_IMAGE_ACCOUNTS[region]}.dkr.{hostname}/{MONITOR_IMAGE_REPOSITORY}"


def stack_parameters(
    stage: Stage,
    package: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
    image_uri: str | None = None,
) -> dict[str, str]:
    """The monitoring stack's parameters for the stage and the package it serves (the answer of
    describe_model_package)."""
    settings = settings if settings is not None else load_settings()
    schedules = settings["stages"][stage.name]
    model_quality = settings["model_quality"]
    metric = model_quality["metric"]
    return {
        "Stage": stage.name,
        "EndpointType": stage.endpoint_type,
        "ToolingAccountId": config.AWS_ACCOUNT_ID,
        **baselines(package),
        "MonitorImageUri": image_uri or monitor_image_uri(),
        "InstanceType": str(settings["instance_type"]),
        "MaxRuntimeSeconds": str(settings["max_runtime_seconds"]),
        "DataQualityScheduleExpression": schedules["data_quality_schedule"],
        "ModelQualityScheduleExpression": schedules["model_quality_schedule"],
        "GroundTruthStartOffset": model_quality["ground_truth_start_offset"],
        "GroundTruthEndOffset": model_quality["ground_truth_end_offset"],
        "ProblemType": PROBLEM_TYPES[config.PROBLEM_TYPE],
        "DriftFeatures": ",".join(drift_features(settings["data_quality"]["alarm_features"])),
        "MaxBaselineDrift": str(settings["data_quality"]["max_baseline_drift"]),
        "ModelQualityMetric": metric,
        "ModelQualityThreshold": str(model_quality["threshold"]),
        "ModelQualityComparison": (
            "GreaterThanThreshold" if metric in ERROR_METRICS else "LessThanThreshold"
        ),
    }
