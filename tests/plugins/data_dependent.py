"""A pytest plugin for a baked project's own suite (`-p data_dependent`, this folder on
PYTHONPATH): only the tests that read the configured data set run, those with one of its
fixtures among theirs, or whose code reads it from config: the test function (its decorators
too), or a name of its module that it uses, a helper, fixture or constant that reads it, at any
depth. The others do not change with the data; the suite variants run them."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

DATA_FIXTURES = frozenset({"local_run", "configured", "configured_schema", "configured_data"})
READS_CONFIG = re.compile(r"\bconfig\.(DATA|SCHEMA|DATASET|PROBLEM_TYPE)\b")


def _defined(node: ast.stmt) -> list[str]:
    """The names a top-level statement of a module defines."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else []
    if isinstance(node, ast.AnnAssign):
        targets = [node.target]
    names = [name for target in targets for name in ast.walk(target)]
    return [name.id for name in names if isinstance(name, ast.Name)]


@functools.cache
def _data_names(module: Path) -> frozenset[str]:
    """The module's top-level names whose code reads the data set from config, or uses such a
    name."""
    uses: dict[str, set[str]] = {}
    reading: set[str] = set()
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        used = {name.id for name in ast.walk(node) if isinstance(name, ast.Name)}
        for name in _defined(node):
            uses[name] = used
            if READS_CONFIG.search(ast.unparse(node)):
                reading.add(name)
    grown = True
    while grown:
        found = {name for name, used in uses.items() if used & reading} - reading
        reading |= found
        grown = bool(found)
    return frozenset(reading)


def _reads_data(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    if DATA_FIXTURES & fixtures:
        return True
    names = _data_names(item.path)
    function = getattr(item, "originalname", item.name)
    return bool(names & fixtures) or function in names or getattr(item.cls, "__name__", "") in names


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep = [item for item in items if _reads_data(item)]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep
