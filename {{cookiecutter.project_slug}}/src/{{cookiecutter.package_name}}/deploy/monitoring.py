"""The monitoring stack of a stage (infra/monitoring.yaml): its parameters from monitoring/
monitoring.json and the served package's CustomerMetadataProperties (where the pipeline that made
the model put the monitor's reference and code, and the steps image it ran).

Every key of monitoring.json is checked before anything reaches AWS, each value that becomes a
stack parameter against the constraints its template declares (deploy/templates.py); a package
without what the monitor needs is refused in one line naming what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import config
from . import templates
from .stage import ConfigError, Stage

TEMPLATE = config.PROJECT_DIR / "infra" / "monitoring.yaml"
SETTINGS = config.PROJECT_DIR / "monitoring" / "monitoring.json"
# Where the monitoring jobs publish the Violations metric; the job role may publish nowhere else
# (infra/deployment-account.yaml, MonitorJobRole).
METRICS_NAMESPACE = f"{config.PROJECT_SLUG}/monitoring"
# The package's CustomerMetadataProperties the stack takes: parameter -> key
# (pipeline/reference.py and pipeline/registration.py write them).
PACKAGE_METADATA = {
    "ReferenceUri": "monitor_reference",
    "CodeUri": "monitor_code",
    "StepsImageUri": "steps_image",
}
# monitoring.json's settings that become stack parameters, by key ("stage." for each stage's):
# (template, parameter), whose declared constraints the value must meet.
STACK_PARAMETERS = {
    "instance_type": ("monitoring.yaml", "InstanceType"),
    "max_runtime_seconds": ("monitoring.yaml", "MaxRuntimeSeconds"),
    "stage.schedule": ("monitoring.yaml", "ScheduleExpression"),
    "stage.window_hours": ("monitoring.yaml", "WindowHours"),
    "stage.delay_hours": ("monitoring.yaml", "DelayHours"),
    "retraining.cooldown_hours": ("triggers.yaml", "RetrainCooldownHours"),
}
# A run reads whole hours; its alarms evaluate one period of at most a day (CloudWatch's limit
# for a period of one evaluation).
MAX_ALARM_PERIOD_HOURS = 24
_KEYS = {
    "": ("instance_type", "max_runtime_seconds", "stages", "retraining"),
    "retraining": ("cooldown_hours",),
    "stage": ("schedule", "window_hours", "delay_hours"),
}


class MissingMonitorInput(ConfigError):
    """A model package without the reference, code or steps image the monitor runs on."""


def _keys(raw: Any, expected: tuple[str, ...], where: str, source: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        shown = templates.shown(raw)
        raise ConfigError(f"{source}: {where or 'the file'}: expected an object, got {shown}")
    prefix = f"{where}." if where else ""
    for key in raw:
        if key not in expected:
            raise ConfigError(f"{source}: unknown key '{prefix}{key}'")
    for key in expected:
        if key not in raw:
            raise ConfigError(f"{source}: missing key '{prefix}{key}'")
    return raw


def _check(value: Any, key: str, where: str, source: str) -> None:
    template, parameter = STACK_PARAMETERS[key]
    problem = templates.problem(value, templates.parameters(template)[parameter])
    if problem:
        raise ConfigError(f"{source}: {where}: {problem} (infra/{template}, {parameter})")


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
    _keys(raw["retraining"], _KEYS["retraining"], "retraining", source)
    _keys(raw["stages"], tuple(config.STAGES), "stages", source)
    for key in ("instance_type", "max_runtime_seconds"):
        _check(raw[key], key, key, source)
    cooldown = "retraining.cooldown_hours"
    _check(raw["retraining"]["cooldown_hours"], cooldown, cooldown, source)
    for stage in config.STAGES:
        where = f"stages.{stage}"
        settings = _keys(raw["stages"][stage], _KEYS["stage"], where, source)
        for name, value in settings.items():
            _check(value, f"stage.{name}", f"{where}.{name}", source)
    return raw


def package_inputs(package: Mapping[str, Any]) -> dict[str, str]:
    """The stack's parameters from describe_model_package's answer; MissingMonitorInput names the
    first missing property, or a steps image that is not the project's own."""
    arn = package.get("ModelPackageArn", "?")
    recorded = package.get("CustomerMetadataProperties") or {}
    found = {}
    for parameter, key in PACKAGE_METADATA.items():
        if not recorded.get(key):
            raise MissingMonitorInput(
                f"model package {arn} has no CustomerMetadataProperties.{key}: register it with "
                "a pipeline that writes the monitor's reference to monitor it"
            )
        found[parameter] = recorded[key]
    # The job pulls the image from the project's repository (its role may pull nothing else),
    # and only the project's steps image has the monitor's libraries.
    repository = (
        f"{config.AWS_ACCOUNT_ID}.dkr.ecr.{config.AWS_REGION}.amazonaws.com/"
        f"{config.STEPS_IMAGE_REPOSITORY}@sha256:"
    )
    if not found["StepsImageUri"].startswith(repository):
        raise MissingMonitorInput(
            f"model package {arn} ran the steps in {found['StepsImageUri']}, not the project's "
            f"steps image ({config.STEPS_IMAGE_REPOSITORY}): the monitor runs in that image; "
            "train with the project's images to monitor it"
        )
    return found


def stack_parameters(
    stage: Stage, package: Mapping[str, Any], settings: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The monitoring stack's parameters for the stage and the package it serves (the answer of
    describe_model_package)."""
    settings = settings if settings is not None else load_settings()
    schedule = settings["stages"][stage.name]
    window = schedule["window_hours"]
    inputs = package_inputs(package)
    if config.ARTIFACT_ACCOUNT:
        from . import artifacts  # the copies the stage reads instead of the tooling account's

        inputs = artifacts.monitor_inputs(package, inputs)
    return {
        "Stage": stage.name,
        "EndpointType": stage.endpoint_type,
        "ToolingAccountId": config.AWS_ACCOUNT_ID,
        **inputs,
        "InstanceType": str(settings["instance_type"]),
        "MaxRuntimeSeconds": str(settings["max_runtime_seconds"]),
        "ScheduleExpression": schedule["schedule"],
        "WindowHours": str(window),
        "DelayHours": str(schedule["delay_hours"]),
        "AlarmPeriodSeconds": str(min(window, MAX_ALARM_PERIOD_HOURS) * 3600),
        "MetricsNamespace": METRICS_NAMESPACE,
        # The job's code has no config.py: the floor the model was gated at comes with it.
        "QualityFloor": str(config.QUALITY_GATE.threshold),
    }
