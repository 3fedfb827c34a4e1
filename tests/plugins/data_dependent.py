"""A pytest plugin for a baked project's own suite (`-p data_dependent`, this folder on
PYTHONPATH): only the tests that read the configured data set run, those with one of its
fixtures among theirs or in a module that reads it from config. The others do not change with
the data; the suite variants run them."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

DATA_FIXTURES = frozenset({"local_run", "configured", "configured_schema", "configured_data"})
READS_CONFIG = re.compile(r"\bconfig\.(DATA|SCHEMA|DATASET|PROBLEM_TYPE)\b")


@functools.cache
def _reads_config(module: Path) -> bool:
    return bool(READS_CONFIG.search(module.read_text(encoding="utf-8")))


def _reads_data(item: pytest.Item) -> bool:
    if DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    return item.path.name != "conftest.py" and _reads_config(item.path)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep = [item for item in items if _reads_data(item)]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep
