"""The CloudFormation templates of infra/ as data, and the constraints their parameters declare.

A setting of config/<stage>.json that becomes a stack parameter is held against what the template
itself allows (AllowedValues, AllowedPattern, MinValue, MaxValue, MinLength, MaxLength), before
any AWS call: the template is the one place those bounds are written.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

from .. import config

INFRA_DIR = config.PROJECT_DIR / "infra"


# libyaml's parser where PyYAML was built with it (its wheels are): the tests parse the templates
# a hundred times, and the pure-Python parser takes a tenth of the suite's time to do it.
class CloudFormationLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML with CloudFormation's short tags (!Sub, !Ref, ...) read as {"Fn::Sub": ...}."""


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load(text: str) -> dict[str, Any]:
    """A template's text, parsed."""
    return yaml.load(text, Loader=CloudFormationLoader)


@functools.cache
def parameters(name: str) -> dict[str, dict[str, Any]]:
    """The Parameters section of infra/<name>."""
    return load((INFRA_DIR / name).read_text(encoding="utf-8"))["Parameters"]


def shown(value: Any) -> str:
    """A value of a config file as a refusal quotes it: its repr, cut short past 80 characters."""
    try:
        text = repr(value)
    except RecursionError:
        return "a value nested too deeply"
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


def problem(value: Any, spec: dict[str, Any]) -> str | None:
    """What is wrong with `value` (as JSON holds it) for a parameter of this spec, or None.

    A Number parameter takes a whole number (this project's are counts and sizes: 2048.0 would
    reach CloudFormation as "2048.0"); a String parameter, text. A choice is written in lower case
    (rollout.type canary for CANARY).
    """
    if spec["Type"] == "Number":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected a whole number, got {shown(value)}"
        low, high = spec.get("MinValue"), spec.get("MaxValue")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            return f"expected a whole number {bounds}, got {value}"
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in allowed:
            return f"expected one of {', '.join(map(str, allowed))}, got {value}"
        return None
    if not isinstance(value, str):
        return f"expected text, got {shown(value)}"
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(choice).lower() for choice in allowed]:
        choices = ", ".join(str(choice).lower() for choice in allowed)
        return f"expected one of {choices}, got {shown(value)}"
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(pattern, value):
        return f"expected text matching {pattern}, got {shown(value)}"
    shortest, longest = spec.get("MinLength", 0), spec.get("MaxLength", len(value))
    if not shortest <= len(value) <= longest:
        return f"expected {shortest} to {longest} characters, got {len(value)}"
    return None
