"""The data_dependent plugin (plugins/data_dependent.py) selects the tests that read the data set,
however their code reaches it, and no other: the data shapes' runs prove only what it selects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import PLUGINS

CONFIG = 'DATA = "data/sample.csv"\nSCHEMA = "schema.json"\nDATA_BUCKET = "bucket"\n'
TESTS = """
import pytest

import config

ROWS = config.DATA
COLUMNS = ROWS.split(",")


def helper():
    return config.SCHEMA


def uses_helper():
    return helper()


@pytest.fixture
def rows():
    return ROWS


def test_reads_it_itself():
    assert config.DATA


def test_through_helpers():
    assert uses_helper()


def test_through_a_constant():
    assert COLUMNS


@pytest.mark.parametrize("column", COLUMNS)
def test_parametrized_by_it(column):
    assert column


def test_through_a_fixture_of_the_module(rows):
    assert rows


def test_through_a_fixture_of_the_project(local_run):
    assert local_run


def test_reads_a_bucket_name_only():
    assert config.DATA_BUCKET


def test_reads_nothing():
    assert sorted([2, 1]) == [1, 2]


class TestGrouped:
    def test_in_a_class_that_reads_nothing(self):
        assert True
"""
CONFTEST = """
import pytest


@pytest.fixture
def local_run():
    return "run"
"""


def test_the_plugin_selects_the_tests_that_reach_the_data_set(tmp_path: Path) -> None:
    (tmp_path / "config.py").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (tmp_path / "tests" / "test_example.py").write_text(TESTS, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{PLUGINS}"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "data_dependent"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    selected = {
        line.split("::", 1)[1].split("[")[0] for line in result.stdout.splitlines() if "::" in line
    }
    assert selected == {
        "test_reads_it_itself",
        "test_through_helpers",
        "test_through_a_constant",
        "test_parametrized_by_it",
        "test_through_a_fixture_of_the_module",
        "test_through_a_fixture_of_the_project",
    }, result.stdout + result.stderr
