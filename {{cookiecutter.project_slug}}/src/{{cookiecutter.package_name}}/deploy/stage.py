"""A stage's settings, from config/<stage>.json, and the parameters of its endpoint stack.

The file is checked key by key before anything reaches AWS: a missing, unknown or ill-typed key,
or a value outside what its stack's template allows (STACK_PARAMETERS: the bounds its
Parameters declare), is refused in one line naming the file and the key
(`config/prod.json: rollout.type: ...`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import arns, config
from . import templates

ENDPOINT_TEMPLATE = "endpoint.yaml"
BATCH_TEMPLATE = "batch-transform.yaml"
# Each setting that becomes a stack parameter: (template, parameter). Its value must meet the
# constraints that parameter declares (templates.problem), as the file writes it.
STACK_PARAMETERS = {
    "endpoint_type": (ENDPOINT_TEMPLATE, "EndpointType"),
    "realtime.instance_type": (ENDPOINT_TEMPLATE, "InstanceType"),
    "realtime.min_instances": (ENDPOINT_TEMPLATE, "MinInstances"),
    "realtime.max_instances": (ENDPOINT_TEMPLATE, "MaxInstances"),
    "realtime.target_invocations_per_instance": (ENDPOINT_TEMPLATE, "TargetInvocationsPerInstance"),
    "serverless.memory_mb": (ENDPOINT_TEMPLATE, "ServerlessMemoryMB"),
    "serverless.max_concurrency": (ENDPOINT_TEMPLATE, "ServerlessMaxConcurrency"),
    "rollout.type": (ENDPOINT_TEMPLATE, "RolloutType"),
    "rollout.step_percent": (ENDPOINT_TEMPLATE, "RolloutStepPercent"),
    "rollout.wait_minutes": (ENDPOINT_TEMPLATE, "WaitMinutes"),
    "alarms.max_5xx_errors": (ENDPOINT_TEMPLATE, "Max5xxErrors"),
    "alarms.max_model_latency_ms": (ENDPOINT_TEMPLATE, "MaxModelLatencyMs"),
    "data_capture.sampling_percentage": (ENDPOINT_TEMPLATE, "CaptureSamplingPercentage"),
    "batch_transform.instance_type": (BATCH_TEMPLATE, "InstanceType"),
    "batch_transform.instance_count": (BATCH_TEMPLATE, "InstanceCount"),
    "batch_transform.input_prefix": (BATCH_TEMPLATE, "InputPrefix"),
    "batch_transform.output_prefix": (BATCH_TEMPLATE, "OutputPrefix"),
}


def allowed_values(key: str) -> tuple[Any, ...]:
    """The values a choice of the config accepts, as its stack's template lists them (lower
    case, as the file writes them)."""
    template, parameter = STACK_PARAMETERS[key]
    allowed = templates.parameters(template)[parameter]["AllowedValues"]
    return tuple(str(value).lower() if isinstance(value, str) else value for value in allowed)


ENDPOINT_TYPES = allowed_values("endpoint_type")
ROLLOUT_TYPES = allowed_values("rollout.type")

# The new fleet's start, which a rollout's timeout must leave room for (minutes).
FLEET_START_MINUTES = 30


def rollout_waits(rollout_type: str, step_percent: int) -> int:
    """How many times a rollout waits wait_minutes with the alarms watching: after each shift of
    traffic, and with the whole traffic on the new fleet before the old one goes."""
    if rollout_type == "linear":
        return math.ceil(100 / step_percent) + 1
    return {"canary": 3, "all_at_once": 2}[rollout_type]


def longest_rollout_minutes(rollout_type: str, step_percent: int, wait_minutes: int) -> int:
    """The longest a rollout of these settings takes: its waits and the new fleet's start."""
    return rollout_waits(rollout_type, step_percent) * wait_minutes + FLEET_START_MINUTES


# Every key of config/<stage>.json, section by section (None: a value, not a section).
_SECTIONS: dict[str, tuple[str, ...] | None] = {
    "endpoint_type": None,
    "realtime": (
        "instance_type",
        "min_instances",
        "max_instances",
        "target_invocations_per_instance",
    ),
    "serverless": ("memory_mb", "max_concurrency"),
    "rollout": ("type", "step_percent", "wait_minutes"),
    "alarms": ("max_5xx_errors", "max_model_latency_ms"),
    "smoke_test": ("requests", "max_p99_latency_ms"),
}
# The batch transform's own section (deploy/batch.py reads and checks its keys).
BATCH_SECTION = "batch_transform"
# With model monitoring: the share of a realtime endpoint's requests captured for the monitors.
CAPTURE_SECTION = "data_capture"


class ConfigError(ValueError):
    """A stage or its config file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Stage:
    """One stage: where its endpoint runs, and how (config/<stage>.json)."""

    name: str
    endpoint_type: str
    instance_type: str
    min_instances: int
    max_instances: int
    target_invocations_per_instance: int
    serverless_memory_mb: int
    serverless_max_concurrency: int
    rollout_type: str
    rollout_step_percent: int
    wait_minutes: int
    max_5xx_errors: int
    max_model_latency_ms: int
    smoke_test_requests: int
    smoke_test_max_p99_latency_ms: int
    # The batch_transform section as written, when this project has batch transform.
    batch_transform: dict[str, Any] | None = None
    # data_capture.sampling_percentage, when this project has model monitoring.
    capture_sampling_percentage: int | None = None

    @property
    def endpoint_name(self) -> str:
        return f"{config.PROJECT_SLUG}-{self.name}"

    @property
    def stack_name(self) -> str:
        return f"{config.PROJECT_SLUG}-endpoint-{self.name}"

    @property
    def batch_stack_name(self) -> str:
        return f"{config.PROJECT_SLUG}-batch-{self.name}"

    @property
    def monitoring_stack_name(self) -> str:
        return f"{config.PROJECT_SLUG}-monitoring-{self.name}"

    @property
    def account(self) -> str:
        return config.STAGE_ACCOUNTS[self.name]

    @property
    def deployment_role_arn(self) -> str:
        """The role CI assumes in the stage's account (infra/deployment-account.yaml)."""
        return arns.role_arn(self.account, f"{config.PROJECT_SLUG}-deployment")

    @property
    def cloudformation_role_arn(self) -> str:
        """The service role CloudFormation creates the stage's stacks with."""
        return arns.role_arn(self.account, f"{config.PROJECT_SLUG}-cloudformation")

    @classmethod
    def load(cls, name: str, config_dir: Path = config.CONFIG_DIR) -> Stage:
        """The stage `name` from config_dir/<name>.json, every key checked."""
        if name not in config.STAGES:
            raise ConfigError(
                f"unknown stage {name!r}: this project has {', '.join(config.STAGES)}"
            )
        path = Path(config_dir) / f"{name}.json"
        shown = f"config/{path.name}" if Path(config_dir) == config.CONFIG_DIR else str(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{shown}: no such file") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{shown}: not valid JSON ({error})") from None
        except RecursionError:
            raise ConfigError(f"{shown}: not valid JSON (nested too deeply)") from None
        return cls.from_dict(name, raw, shown)

    @classmethod
    def from_dict(cls, name: str, raw: Any, source: str) -> Stage:
        values = _checked(raw, source)
        return cls(name=name, **values)

    def stack_parameters(
        self,
        model_package_arn: str,
        shadow_model_package_arn: str = "",
        retain_variant_properties: bool = False,
    ) -> dict[str, str]:
        """The parameters of infra/endpoint.yaml for this stage, as CloudFormation takes them
        (text). A shadow package runs beside the live one and gets a copy of its requests
        (instances only: Serverless Inference has one variant). retain_variant_properties: an
        update of a realtime endpoint, whose new fleet starts as large as auto scaling has made
        the live one (stacks.endpoint_parameters decides)."""
        if shadow_model_package_arn and self.endpoint_type != "realtime":
            raise ConfigError(
                f"{self.name} is a {self.endpoint_type} endpoint, which takes no shadow "
                "variant (SageMaker Serverless Inference serves one production variant): "
                "deploy without --shadow, or make the stage realtime"
            )
        parameters = {
            "Stage": self.name,
            "ModelPackageArn": model_package_arn,
            "ShadowModelPackageArn": shadow_model_package_arn,
            "EndpointType": self.endpoint_type,
            "InstanceType": self.instance_type,
            "MinInstances": str(self.min_instances),
            "MaxInstances": str(self.max_instances),
            "TargetInvocationsPerInstance": str(self.target_invocations_per_instance),
            "ServerlessMemoryMB": str(self.serverless_memory_mb),
            "ServerlessMaxConcurrency": str(self.serverless_max_concurrency),
            "RolloutType": self.rollout_type.upper(),
            "RolloutStepPercent": str(self.rollout_step_percent),
            "WaitMinutes": str(self.wait_minutes),
            "Max5xxErrors": str(self.max_5xx_errors),
            "MaxModelLatencyMs": str(self.max_model_latency_ms),
            "RetainVariantProperties": "true" if retain_variant_properties else "false",
        }
        if self.capture_sampling_percentage is not None:
            parameters["CaptureSamplingPercentage"] = str(self.capture_sampling_percentage)
        return parameters


def _integer(value: Any, key: str, source: str, low: int) -> int:
    # bool is an int in Python; true is no count.
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(
            f"{source}: {key}: expected a whole number at least {low}, got {templates.shown(value)}"
        )
    return value


def _keys(raw: Any, expected: tuple[str, ...], where: str, source: str) -> None:
    """The exact keys of a section: none missing, none unknown (a typo would be ignored)."""
    if not isinstance(raw, dict):
        shown = templates.shown(raw)
        raise ConfigError(f"{source}: {where or 'the file'}: expected an object, got {shown}")
    prefix = f"{where}." if where else ""
    for key in raw:
        if key not in expected:
            name = key if len(key) <= 60 else f"{key[:57]}..."
            raise ConfigError(
                f"{source}: unknown key '{prefix}{name}' (expected {', '.join(expected)})"
            )
    for key in expected:
        if key not in raw:
            raise ConfigError(f"{source}: missing key '{prefix}{key}'")


def _values(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """Every setting of STACK_PARAMETERS the file has, by its dotted key, each checked against
    its parameter's constraints in the template."""
    values = {}
    for key, (template, parameter) in STACK_PARAMETERS.items():
        section, _, name = key.rpartition(".")
        holder = raw.get(section) if section else raw
        if not isinstance(holder, dict) or name not in holder:
            continue  # a section this variant does not have, or an optional setting
        problem = templates.problem(holder[name], templates.parameters(template)[parameter])
        if problem:
            raise ConfigError(f"{source}: {key}: {problem} (infra/{template}, {parameter})")
        values[key] = holder[name]
    return values


def _checked(raw: Any, source: str) -> dict[str, Any]:
    """The Stage fields of a parsed config file; ConfigError naming the first bad key."""
    top = (
        tuple(_SECTIONS)
        + ((BATCH_SECTION,) if config.BATCH_TRANSFORM else ())
        + ((CAPTURE_SECTION,) if config.MODEL_MONITORING else ())
    )
    _keys(raw, top, "", source)
    for section, keys in _SECTIONS.items():
        if keys is not None:
            _keys(raw[section], keys, section, source)
    if config.MODEL_MONITORING:
        _keys(raw[CAPTURE_SECTION], ("sampling_percentage",), CAPTURE_SECTION, source)
    batch = raw.get(BATCH_SECTION)
    if config.BATCH_TRANSFORM and not isinstance(batch, dict):
        shown = templates.shown(batch)
        raise ConfigError(f"{source}: {BATCH_SECTION}: expected an object, got {shown}")
    values = _values(raw, source)
    minimum, maximum = values["realtime.min_instances"], values["realtime.max_instances"]
    if maximum < minimum:
        raise ConfigError(
            f"{source}: realtime.max_instances: {maximum} is below min_instances {minimum}"
        )
    rollout_type = values["rollout.type"]
    step, wait = values["rollout.step_percent"], values["rollout.wait_minutes"]
    # Within the endpoint stack's timeout, the deploy helper's wait and the CI job's
    # (config.MAX_ROLLOUT_MINUTES): a longer one would be rolled back by SageMaker every time.
    longest = longest_rollout_minutes(rollout_type, step, wait)
    if longest > config.MAX_ROLLOUT_MINUTES:
        waits = rollout_waits(rollout_type, step)
        most = (config.MAX_ROLLOUT_MINUTES - FLEET_START_MINUTES) // waits
        raise ConfigError(
            f"{source}: rollout.wait_minutes: {wait} minutes at each of the {waits} waits of "
            f"this rollout, with {FLEET_START_MINUTES} for the new fleet to start, take "
            f"{longest} minutes, more than the {config.MAX_ROLLOUT_MINUTES} a rollout may take: "
            f"at most {most} (or larger steps)"
        )
    smoke = raw["smoke_test"]
    return {
        "endpoint_type": values["endpoint_type"],
        "instance_type": values["realtime.instance_type"],
        "min_instances": minimum,
        "max_instances": maximum,
        "target_invocations_per_instance": values["realtime.target_invocations_per_instance"],
        "serverless_memory_mb": values["serverless.memory_mb"],
        "serverless_max_concurrency": values["serverless.max_concurrency"],
        "rollout_type": rollout_type,
        "rollout_step_percent": step,
        "wait_minutes": wait,
        "max_5xx_errors": values["alarms.max_5xx_errors"],
        "max_model_latency_ms": values["alarms.max_model_latency_ms"],
        "smoke_test_requests": _integer(smoke["requests"], "smoke_test.requests", source, 1),
        "smoke_test_max_p99_latency_ms": _integer(
            smoke["max_p99_latency_ms"], "smoke_test.max_p99_latency_ms", source, 1
        ),
        "batch_transform": batch,
        "capture_sampling_percentage": values.get("data_capture.sampling_percentage"),
    }
