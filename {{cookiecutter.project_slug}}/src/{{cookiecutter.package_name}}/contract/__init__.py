"""The data contract: one set of rules and messages for the steps, the server, predict, the monitor.

    schema.py      the schema JSON parsed into columns and their rules (SchemaError)
    rules.py       each rule's name, remedy and one-line message (DataValidationError)
    validate.py    rows of a DataFrame checked against the schema, typed, target first
    csv_reader.py  CSV files checked for encoding, delimiter, quoting and shape, then read as text
    manifest.py    which data this was: every file's size and SHA-256, S3 version IDs
    splits.py      the split files the steps hand on, and the schema.json beside them
    sampling.py    which rows go to train, validation and test (a rule of row number and seed)

No scikit-learn here: the serving image leaves it out.

The rules are hand-written, not declared in pandera: measured (bench/contract_bench.py, 100k rows
x 31 columns) pandera 0.35 validated in 1.0-1.5 s against 0.6-0.9 s here, reports a JSON report
of failure cases instead of one line a rule with its count, first row and remedy, and would add
about 11 MB (pydantic, typeguard...) and 0.4 s of import to every image and server worker.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .csv_reader import data_files, read_data
    from .manifest import MANIFEST_DIR, MANIFEST_FILE, data_manifest
    from .rules import DataValidationError
    from .schema import PROBLEM_TYPES, Column, Schema, SchemaError, load_schema, parse_schema
    from .splits import SCHEMA_FILE, SPLITS, category_columns, read_split, write_splits
    from .validate import check_column, check_rows, encode_target, validate

# Each name's module, imported on first use: a user of rules.py and schema.py alone (the
# Spark job's driver) imports no pandas. The imports above are for type checkers and for the
# jobs' code (jobcode.py reads them: every job gets the whole contract).
_MODULES = {
    "data_files": "csv_reader",
    "read_data": "csv_reader",
    "MANIFEST_DIR": "manifest",
    "MANIFEST_FILE": "manifest",
    "data_manifest": "manifest",
    "DataValidationError": "rules",
    "PROBLEM_TYPES": "schema",
    "Column": "schema",
    "Schema": "schema",
    "SchemaError": "schema",
    "load_schema": "schema",
    "parse_schema": "schema",
    "SCHEMA_FILE": "splits",
    "SPLITS": "splits",
    "category_columns": "splits",
    "read_split": "splits",
    "write_splits": "splits",
    "check_column": "validate",
    "check_rows": "validate",
    "encode_target": "validate",
    "validate": "validate",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULES[name]}", __name__), name)
    globals()[name] = value
    return value


class _Contract(types.ModuleType):
    """Keeps `validate` the function: importing the submodule validate.py binds the module to
    its package's attribute of that name, which the eager import used to overwrite."""

    def __setattr__(self, name: str, value: Any) -> None:
        if not (name in _MODULES and isinstance(value, types.ModuleType)):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Contract


__all__ = [
    "MANIFEST_DIR",
    "MANIFEST_FILE",
    "PROBLEM_TYPES",
    "SCHEMA_FILE",
    "SPLITS",
    "Column",
    "DataValidationError",
    "Schema",
    "SchemaError",
    "category_columns",
    "check_column",
    "check_rows",
    "data_files",
    "data_manifest",
    "encode_target",
    "load_schema",
    "parse_schema",
    "read_data",
    "read_split",
    "validate",
    "write_splits",
]
