"""Checks of the features' answers against each other: a feature that cannot work without others
(variants.Feature.requires) has them on."""

from __future__ import annotations

from collections.abc import Mapping

from mlops_template import variants
from mlops_template.checks import Check


def needs(feature: str, required: tuple[str, ...]) -> Check:
    def check(value: str, context: Mapping) -> str | None:
        for name in required:
            if value == variants.YES and context.get(name) != variants.YES:
                return f"needs {name}=yes; answer {name}=yes too, or {feature}=no"
        return None

    return check
