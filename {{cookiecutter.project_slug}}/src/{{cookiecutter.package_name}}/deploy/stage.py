"""A stage's settings, from config/<stage>.json, and the parameters of its endpoint stack.

The file is checked key by key before anything reaches AWS: a missing, unknown or ill-typed key
is refused in one line naming the file and the key (`config/prod.json: rollout.type: ...`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import arns, config

ENDPOINT_TYPES = ("realtime", "serverless")
ROLLOUT_TYPES = ("canary", "linear", "all_at_once")
# Serverless endpoints take these memory sizes only (MB).
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)

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
        except json.JSONDecodeError as error:
            raise ConfigError(f"{shown}: not valid JSON ({error})") from None
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


def _integer(value: Any, key: str, source: str, low: int, high: int | None = None) -> int:
    # bool is an int in Python; true is no instance count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{source}: {key}: expected a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{source}: {key}: expected a whole number {bounds}, got {value}")
    return value


def _choice(value: Any, key: str, source: str, choices: tuple[Any, ...]) -> Any:
    if value not in choices:
        names = ", ".join(str(choice) for choice in choices)
        raise ConfigError(f"{source}: {key}: expected one of {names}, got {value!r}")
    return value


def _keys(raw: Any, expected: tuple[str, ...], where: str, source: str) -> None:
    """The exact keys of a section: none missing, none unknown (a typo would be ignored)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {where or 'the file'}: expected an object, got {raw!r}")
    prefix = f"{where}." if where else ""
    for key in raw:
        if key not in expected:
            raise ConfigError(
                f"{source}: unknown key '{prefix}{key}' (expected {', '.join(expected)})"
            )
    for key in expected:
        if key not in raw:
            raise ConfigError(f"{source}: missing key '{prefix}{key}'")


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
    realtime, serverless, rollout = raw["realtime"], raw["serverless"], raw["rollout"]
    alarms, smoke = raw["alarms"], raw["smoke_test"]
    instance_type = realtime["instance_type"]
    if not (isinstance(instance_type, str) and instance_type.startswith("ml.")):
        raise ConfigError(
            f"{source}: realtime.instance_type: expected an instance type such as ml.m5.large, "
            f"got {instance_type!r}"
        )
    # The bounds infra/endpoint.yaml's parameters declare: refused here, before any AWS call.
    minimum = _integer(realtime["min_instances"], "realtime.min_instances", source, 1, 100)
    maximum = _integer(realtime["max_instances"], "realtime.max_instances", source, 1, 100)
    if maximum < minimum:
        raise ConfigError(
            f"{source}: realtime.max_instances: {maximum} is below min_instances {minimum}"
        )
    capture = None
    if config.MODEL_MONITORING:
        _keys(raw[CAPTURE_SECTION], ("sampling_percentage",), CAPTURE_SECTION, source)
        capture = _integer(
            raw[CAPTURE_SECTION]["sampling_percentage"],
            "data_capture.sampling_percentage",
            source,
            0,
            100,
        )
    rollout_type = _choice(rollout["type"], "rollout.type", source, ROLLOUT_TYPES)
    # SageMaker's bounds: a canary is at most half the traffic, a linear step 10 to 50%.
    step = _integer(rollout["step_percent"], "rollout.step_percent", source, 10, 50)
    wait = _integer(rollout["wait_minutes"], "rollout.wait_minutes", source, 1, 40)
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
    batch = raw.get(BATCH_SECTION)
    if config.BATCH_TRANSFORM and not isinstance(batch, dict):
        raise ConfigError(f"{source}: {BATCH_SECTION}: expected an object, got {batch!r}")
    return {
        "endpoint_type": _choice(raw["endpoint_type"], "endpoint_type", source, ENDPOINT_TYPES),
        "instance_type": instance_type,
        "min_instances": minimum,
        "max_instances": maximum,
        "target_invocations_per_instance": _integer(
            realtime["target_invocations_per_instance"],
            "realtime.target_invocations_per_instance",
            source,
            1,
            100_000,
        ),
        "serverless_memory_mb": _choice(
            serverless["memory_mb"], "serverless.memory_mb", source, SERVERLESS_MEMORY_MB
        ),
        # SageMaker's limit of one serverless endpoint's concurrency.
        "serverless_max_concurrency": _integer(
            serverless["max_concurrency"], "serverless.max_concurrency", source, 1, 200
        ),
        "rollout_type": rollout_type,
        "rollout_step_percent": step,
        "wait_minutes": wait,
        "max_5xx_errors": _integer(
            alarms["max_5xx_errors"], "alarms.max_5xx_errors", source, 0, 100_000
        ),
        "max_model_latency_ms": _integer(
            alarms["max_model_latency_ms"], "alarms.max_model_latency_ms", source, 1, 60_000
        ),
        "smoke_test_requests": _integer(smoke["requests"], "smoke_test.requests", source, 1),
        "smoke_test_max_p99_latency_ms": _integer(
            smoke["max_p99_latency_ms"], "smoke_test.max_p99_latency_ms", source, 1
        ),
        "batch_transform": batch,
        "capture_sampling_percentage": capture,
    }
