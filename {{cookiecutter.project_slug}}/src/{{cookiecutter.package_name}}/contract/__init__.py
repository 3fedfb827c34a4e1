"""The data contract: one set of rules and messages for the steps, the server, predict, the monitor.

    schema.py      the schema JSON parsed into columns and their rules (SchemaError)
    rules.py       each rule's name, remedy and one-line message (DataValidationError)
    frames.py      rows of a DataFrame checked against the schema, typed, target first
    csv_reader.py  CSV files checked for encoding, delimiter, quoting and shape, then read as text
    manifest.py    which data this was: every file's size and SHA-256, S3 version IDs
    splits.py      the split files the steps hand on (read; steps/preprocess.py writes them)
    sampling.py    which rows go to train, validation and test (a rule of row number and seed)
    spark.py       the rules and the split as Spark expressions, with the Spark job (pyspark)

No scikit-learn here: the serving image leaves it out.

The rules are hand-written, not declared in pandera: measured (bench/contract_bench.py, 100k rows
x 31 columns) pandera 0.35 validated in 1.0-1.5 s against 0.6-0.9 s here, reports a JSON report
of failure cases instead of one line a rule with its count, first row and remedy, and would add
about 11 MB (pydantic, typeguard...) and 0.4 s of import to every image and server worker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .csv_reader import data_files, read_data
    from .frames import check_column, check_rows, encode_target, validate
    from .manifest import MANIFEST_DIR, MANIFEST_FILE, data_manifest
    from .rules import DataValidationError
    from .schema import (
        PROBLEM_TYPES,
        Column,
        Facet,
        Schema,
        SchemaError,
        load_schema,
        parse_schema,
        require_facet,
    )
    from .splits import SCHEMA_FILE, SPLITS, category_columns, read_split

# Each name's module, imported on first use (PEP 562): a user of rules.py, schema.py and
# sampling.py alone (the Spark job's driver) imports no pandas. The imports above are for type
# checkers and for the jobs' code (jobcode.py reads them: every job gets the whole contract).
_MODULES = {
    "csv_reader": ("data_files", "read_data"),
    "frames": ("check_column", "check_rows", "encode_target", "validate"),
    "manifest": ("MANIFEST_DIR", "MANIFEST_FILE", "data_manifest"),
    "rules": ("DataValidationError",),
    "schema": (
        "PROBLEM_TYPES",
        "Column",
        "Facet",
        "Schema",
        "SchemaError",
        "load_schema",
        "parse_schema",
        "require_facet",
    ),
    "splits": ("SCHEMA_FILE", "SPLITS", "category_columns", "read_split"),
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "MANIFEST_DIR",
    "MANIFEST_FILE",
    "PROBLEM_TYPES",
    "SCHEMA_FILE",
    "SPLITS",
    "Column",
    "DataValidationError",
    "Facet",
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
    "require_facet",
    "validate",
]
