"""Checks of the names the project is made of: the slug (a distribution's name) and the package
(a Python module's name), against what the generated project installs and imports."""

from __future__ import annotations

import keyword
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

from mlops_template import PROJECT_TEMPLATE

SLUG_RE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", re.ASCII)
PACKAGE_RE = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
# Generated files use the package in lines such as `python -m <package>.local [--data CSV] ...`,
# which must stay within ruff's 100 columns.
PACKAGE_MAX = 36
# Top-level modules the generated project's environment can import: a package of one of these
# names would shadow it.
IMPORTED_BY_THE_PROJECT = frozenset(
    tomllib.loads(
        (Path(__file__).parent.parent / "project_environment.toml").read_text(encoding="utf-8")
    )["modules"]
)
# The generated project's test modules: pytest puts tests/ first on sys.path.
TEST_MODULES = frozenset({"tests", "test"} | {p.stem for p in PROJECT_TEMPLATE.glob("tests/*.py")})
# Distributions in the generated lock: a project (slug) with one of these names would depend on
# itself.
LOCKED_DISTRIBUTIONS = frozenset(
    package["name"]
    for package in tomllib.loads((PROJECT_TEMPLATE / "uv.lock").read_text())["package"]
    if "{" not in package["name"]
)


def not_a_locked_distribution(slug: str, _: Mapping) -> str | None:
    if slug in LOCKED_DISTRIBUTIONS:
        return "is the name of a dependency of the project, which would then depend on itself"
    return None


def importable_name(package: str, _: Mapping) -> str | None:
    if keyword.iskeyword(package):
        return "is a Python keyword"
    if package in sys.stdlib_module_names:
        return "would shadow the standard-library module of that name"
    if package in IMPORTED_BY_THE_PROJECT:
        return "would shadow a module of the same name that the project's dependencies install"
    if package in TEST_MODULES:
        return "would shadow one of the project's test modules"
    return None
