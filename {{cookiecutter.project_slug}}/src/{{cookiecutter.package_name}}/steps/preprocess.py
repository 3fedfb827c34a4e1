"""Preprocess: check the raw data against its schema, then split it into train, validation and test.

Reads every CSV file (with a header row) in --input-dir, checks it against the data contract in
--schema (required and undeclared columns, type, min, max, allowed values, missing values; a
target with two classes for classification) and writes train/train.csv, validation/validation.csv
and test/test.csv under --output-dir, with the target as the first column, encoded as 1 for the
schema's positive class and 0 for the other. Category columns stay text: train.py encodes them
from the train split and saves the encoding in the model. Each split folder also gets the schema
(schema.json), so that the steps downstream know which columns are categories. Classification
splits are stratified on the target, so that every split has the class balance of the whole
data set. manifest/data_manifest.json records which data this was: each file's size and SHA-256,
one hash of them all, and the S3 version IDs when --input-data-url names a versioned bucket.

A broken rule fails the step with one line a rule, naming the column and the rule, e.g.
`column 'mean_radius' breaks rule 'min >= 0': 3 of 569 rows, first at row 17 (value -1.0)`.
Rows are numbered from 1 after the header, counting on across files in name order.

A file it cannot read as UTF-8, comma-separated CSV with one value a column on every row fails
the step first, with one line naming the file, the problem (the encoding, the delimiter found,
an unclosed quote, a ragged row...) and the line: lines are the file's own, the header being
line 1. So does data too small or too uniform to learn from (--min-rows, --min-class-count, a
regression target with one value).

Self-contained (SageMaker uploads it as a lone script): stdlib, numpy, pandas, scikit-learn.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

PROBLEM_TYPES = ("binary_classification", "regression")
# "category": text labels (or codes) with no order; train.py gives XGBoost their categories.
COLUMN_TYPES = ("number", "integer", "category")
SCHEMA_KEYS = frozenset(
    {
        "dataset",
        "description",
        "source",
        "data",
        "problem_type",
        "target",
        "positive_class",
        "drop_rows_with_missing_target",
        "columns",
    }
)
COLUMN_KEYS = frozenset(
    {"name", "type", "description", "min", "max", "allowed_values", "max_missing_fraction"}
)
SPLITS = ("train", "validation", "test")
BINARY_CLASSES = (0.0, 1.0)
SCHEMA_FILE = "schema.json"
# The record of which data a model was trained on: every input file's size and SHA-256, one hash
# of them all, and the S3 version IDs where the bucket is versioned. The model package shows it.
MANIFEST_DIR = "manifest"
MANIFEST_FILE = "data_manifest.json"

# How much of a file's start is read to tell text from binary data.
SNIFF_BYTES = 8192
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Files that are often uploaded in place of a CSV, by their first bytes.
BINARY_SIGNATURES = {
    b"\x1f\x8b": "a gzip archive",
    b"PK\x03\x04": "a zip archive (an Excel .xlsx workbook is one)",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook",
    b"PAR1": "a Parquet file",
    b"%PDF": "a PDF document",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ\x00": "an xz archive",
}
EXPORT_AS_CSV = "export the data as comma-separated CSV text (UTF-8)"
TEXT_CONTROL_BYTES = frozenset(b"\t\n\r\x0c")
LINE_BREAK = re.compile(rb"\r\n|\r|\n")
# Delimiters that exports use instead of the comma, as messages name them.
OTHER_DELIMITERS = {";": "semicolons (';')", "\t": "tabs", "|": "pipes ('|')"}


class SchemaError(ValueError):
    """The schema file itself is malformed."""


class DataValidationError(ValueError):
    """The data does not meet the schema; the message has one line for each broken rule."""


@dataclass(frozen=True)
class Column:
    """One declared column: the rules its values must meet."""

    name: str
    type: str
    min: float | None = None
    max: float | None = None
    allowed_values: tuple[float, ...] | tuple[str, ...] | None = None
    max_missing_fraction: float = 0.0


@dataclass(frozen=True)
class Schema:
    """The data contract: the target and every column, in the order the splits are written."""

    target: str
    columns: tuple[Column, ...]
    problem_type: str | None = None
    source: str = "the schema"
    # The target label that becomes 1 (binary classification); None for a 0/1 target.
    positive_class: str | None = None
    # Drop rows whose target is missing (and say how many) instead of refusing the data.
    drop_rows_with_missing_target: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def features(self) -> list[str]:
        return [name for name in self.names if name != self.target]

    @property
    def categories(self) -> list[str]:
        """The feature columns of type category."""
        return [c.name for c in self.columns if c.type == "category" and c.name != self.target]

    def column(self, name: str) -> Column:
        return self.columns[self.names.index(name)]

    @property
    def labels(self) -> tuple[str, str] | None:
        """(negative, positive) labels of a text binary target; None for a 0/1 target."""
        target = self.column(self.target)
        if self.positive_class is None or target.allowed_values is None:
            return None
        negative = next(str(v) for v in target.allowed_values if v != self.positive_class)
        return negative, self.positive_class


def _schema_file(path: Path) -> Path:
    """The schema JSON: the path itself, or the one JSON file in a folder (a processing input)."""
    if path.is_dir():
        candidates = sorted(path.glob("*.json"))
        if len(candidates) != 1:
            found = len(candidates)
            raise SchemaError(f"expected exactly one JSON schema in {path}, found {found}")
        return candidates[0]
    if not path.is_file():
        raise SchemaError(f"schema {path} does not exist")
    return path


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(f"{what} must be a number, got {value!r}")
    return value


def _parse_column(raw: Any, source: str) -> Column:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise SchemaError(f"{source}: every column must be an object with a 'name', got {raw!r}")
    name = raw["name"]
    where = f"{source}: column '{name}'"
    unknown = sorted(set(raw) - COLUMN_KEYS)
    if unknown:
        raise SchemaError(f"{where} has unknown keys {unknown}; allowed: {sorted(COLUMN_KEYS)}")
    kind = raw.get("type")
    if kind not in COLUMN_TYPES:
        raise SchemaError(
            f"{where}: type must be one of {list(COLUMN_TYPES)}, got {kind!r} "
            '(text labels are "category")'
        )
    if kind == "category" and ("min" in raw or "max" in raw):
        raise SchemaError(f"{where}: a category has no min or max; list allowed_values instead")
    low = _number(raw["min"], f"{where}: min") if "min" in raw else None
    high = _number(raw["max"], f"{where}: max") if "max" in raw else None
    if low is not None and high is not None and low > high:
        raise SchemaError(f"{where}: min {low} is greater than max {high}")
    allowed = raw.get("allowed_values")
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed:
            raise SchemaError(f"{where}: allowed_values must be a non-empty list")
        if kind == "category":
            if not all(isinstance(value, str) and value.strip() for value in allowed):
                raise SchemaError(f"{where}: allowed_values of a category must be non-empty text")
            allowed = tuple(value.strip() for value in allowed)
        else:
            allowed = tuple(_number(value, f"{where}: allowed value") for value in allowed)
    missing = _number(raw.get("max_missing_fraction", 0), f"{where}: max_missing_fraction")
    if not 0 <= missing <= 1:
        raise SchemaError(f"{where}: max_missing_fraction must be between 0 and 1")
    return Column(name, raw["type"], low, high, allowed, missing)


def parse_schema(raw: Any, source: str = "the schema") -> Schema:
    """Build a Schema from its JSON form, rejecting anything the rules cannot enforce."""
    if not isinstance(raw, dict):
        raise SchemaError(f"{source}: the schema must be a JSON object")
    unknown = sorted(set(raw) - SCHEMA_KEYS)
    if unknown:
        raise SchemaError(f"{source} has unknown keys {unknown}; allowed: {sorted(SCHEMA_KEYS)}")
    if not isinstance(raw.get("columns"), list) or not raw["columns"]:
        raise SchemaError(f"{source}: 'columns' must be a non-empty list")
    columns = [_parse_column(column, source) for column in raw["columns"]]
    names = [column.name for column in columns]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SchemaError(f"{source}: columns declared twice: {duplicates}")
    target = raw.get("target")
    if target not in names:
        raise SchemaError(f"{source}: the target {target!r} is not a declared column")
    if len(columns) < 2:
        raise SchemaError(f"{source}: declare at least one feature besides the target")
    problem_type = raw.get("problem_type")
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise SchemaError(f"{source}: problem_type must be one of {list(PROBLEM_TYPES)}")
    drop = raw.get("drop_rows_with_missing_target", False)
    if not isinstance(drop, bool):
        raise SchemaError(f"{source}: drop_rows_with_missing_target must be true or false")
    label = columns[names.index(target)]
    # A model cannot learn from a row without a label: such rows are refused or dropped.
    if label.max_missing_fraction:
        raise SchemaError(
            f"{source}: the target '{target}' cannot allow missing values; set "
            '"drop_rows_with_missing_target": true to drop such rows instead'
        )
    positive = _positive_class(raw, label, problem_type, source)
    # The target goes first: the convention every later step relies on.
    ordered = [label] + [c for c in columns if c.name != target]
    return Schema(target, tuple(ordered), problem_type, source, positive, drop, raw)


def _positive_class(raw: dict, label: Column, problem_type: str | None, source: str) -> str | None:
    """The label that becomes 1: required for a category target of binary classification."""
    positive = raw.get("positive_class")
    if label.type != "category":
        if positive is not None:
            raise SchemaError(
                f"{source}: positive_class applies to a category target only; "
                f"'{label.name}' is {label.type} (1 is the positive class)"
            )
        return None
    if problem_type == "regression":
        raise SchemaError(
            f"{source}: a regression target must be a number; '{label.name}' is a category"
        )
    labels = label.allowed_values or ()
    if len(labels) != 2 or positive not in labels:
        raise SchemaError(
            f"{source}: the category target '{label.name}' needs allowed_values with exactly two "
            f"labels and a positive_class among them, got {list(labels)} and {positive!r}"
        )
    return positive


def load_schema(path: str | Path) -> Schema:
    """Read the schema from a JSON file, or from a folder that holds exactly one."""
    schema_file = _schema_file(Path(path))
    try:
        raw = json.loads(schema_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SchemaError(f"{schema_file.name} is not valid JSON: {error}") from error
    return parse_schema(raw, schema_file.name)


def _not_text(file: Path) -> str | None:
    """Why the file is not CSV text, judged from its first bytes; None when it looks like text."""
    with file.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(UTF16_BOMS):
        return f"{file.name} is encoded as UTF-16, not UTF-8: save it as UTF-8 CSV"
    for signature, what in BINARY_SIGNATURES.items():
        if head.startswith(signature):
            return f"{file.name} is {what}, not a CSV text file: {EXPORT_AS_CSV}"
    if b"\x00" in head:
        # UTF-16 without a byte-order mark puts a NUL beside every ASCII character.
        if head[1::2].count(0) > len(head) // 4 or head[::2].count(0) > len(head) // 4:
            return f"{file.name} looks encoded as UTF-16, not UTF-8: save it as UTF-8 CSV"
        offset = head.index(b"\x00")
        return (
            f"{file.name} holds binary data, not CSV text (a NUL byte at byte {offset}): "
            f"{EXPORT_AS_CSV}"
        )
    control = sum(byte < 32 and byte not in TEXT_CONTROL_BYTES for byte in head)
    if control > len(head) * 0.05:
        return (
            f"{file.name} holds binary data, not CSV text ({control} control bytes in its "
            f"first {len(head)}): {EXPORT_AS_CSV}"
        )
    return None


def _not_utf8(file: Path) -> str:
    """Where the first byte that is not UTF-8 is, and what it would be in the likely encoding."""
    data = file.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = len(LINE_BREAK.findall(data, 0, error.start)) + 1
        byte = data[error.start]
        try:
            # Windows-1252 (a superset of Latin-1's letters) is what spreadsheets write by default.
            shown = data[error.start : error.start + 1].decode("cp1252")
            data.decode("cp1252")
            guess = f", which is {shown!r} in Windows-1252 / Latin-1, the likely encoding"
        except UnicodeDecodeError:
            guess = ""
        return (
            f"{file.name} is not UTF-8 encoded: line {line} has the byte 0x{byte:02X}{guess}; "
            "save the file as UTF-8 (in Excel: 'CSV UTF-8')"
        )
    return f"{file.name} is not UTF-8 encoded: save the file as UTF-8"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _header_problem(name: str, header: list[str], line: int) -> str | None:
    """What is wrong with a file's header row (its first line that is not blank), if anything."""
    if len(header) == 1:
        found = {d: header[0].count(d) for d in OTHER_DELIMITERS if d in header[0]}
        if found:
            delimiter = max(found, key=found.__getitem__)
            return (
                f"{name} is separated by {OTHER_DELIMITERS[delimiter]}, not commas "
                f"({found[delimiter] + 1} names in the header, split by {delimiter!r}): "
                "save it as comma-separated CSV"
            )
        return (
            f"{name} line {line} has a single column name {header[0]!r}: "
            "expected the header's column names separated by commas"
        )
    unnamed = [index for index, column in enumerate(header, 1) if not column.strip()]
    if unnamed == [len(header)]:
        return (
            f"{name} line {line} ends with a comma, so its last column has no name: "
            "remove the trailing comma from the end of every line"
        )
    if unnamed and unnamed[0] == 1:
        return (
            f"{name} line {line}: the first column has no name, as when pandas writes its index "
            "(to_csv without index=False): remove that column"
        )
    if unnamed:
        return (
            f"{name} line {line}: column {unnamed[0]} has no name: "
            "name it in the header or remove it"
        )
    seen: dict[str, int] = {}
    for index, column in enumerate(header, 1):
        if column in seen:
            return (
                f"{name} line {line} names column {column!r} twice (columns {seen[column]} and "
                f"{index}): every column needs its own name"
            )
        seen[column] = index
    if all(_is_number(column) for column in header):
        return (
            f"{name} line {line} holds numbers, not column names: the file has no header row; "
            "add one with the schema's column names"
        )
    return None


def _ragged_problem(name: str, line: int, row: list[str], width: int, count: int, rows: int) -> str:
    """One line for the rows whose number of values differs from the header's."""
    values = f"{len(row)} value{'s' if len(row) != 1 else ''}"
    where = (
        f"{name} line {line} has {values} but the header has {width} columns "
        f"({count} of {rows} data rows have another number of values than the header)"
    )
    if len(row) > width and not any(value.strip() for value in row[width:]):
        return f"{where}: remove the trailing comma from the end of each data row"
    if len(row) > width:
        return f"{where}: quote a value that holds a comma, or remove the extra values"
    found = [d for d in OTHER_DELIMITERS if d in "".join(row)]
    if found:
        return f"{where}: the row is separated by {OTHER_DELIMITERS[found[0]]}; use commas"
    return f"{where}: add the missing values (an empty value is two commas in a row)"


def _check_structure(file: Path) -> int:
    """Check that a file is CSV with one header and one value a column on every row.

    Returns the number of data rows. Streams the file: nothing but counts is kept in memory.
    Lines are the file's own line numbers, as an editor shows them (the header is line 1).
    """
    header: list[str] | None = None
    rows = ragged = 0
    first_ragged: tuple[int, list[str]] | None = None
    start = 1
    # utf-8-sig: a UTF-8 byte-order mark (as Excel writes) is fine and not part of the header.
    with file.open(encoding="utf-8-sig", newline="") as handle:
        last = [""]  # the line the reader read last: a record's own text when it is one line

        def lines() -> Iterator[str]:
            for text in handle:
                last[0] = text
                yield text

        reader = csv.reader(lines(), strict=True, skipinitialspace=True)
        try:
            for row in reader:
                line, start = start, reader.line_num + 1
                if len(row) <= 1 and not last[0].strip():
                    continue  # a blank line, which pandas skips too (unlike a line "")
                if header is None:
                    problem = _header_problem(file.name, row, line)
                    if problem:
                        raise DataValidationError(problem)
                    header = row
                    continue
                rows += 1
                if len(row) != len(header):
                    ragged += 1
                    first_ragged = first_ragged or (line, row)
        except csv.Error as error:
            raise DataValidationError(_csv_problem(file.name, start, str(error))) from None
    if header is None:
        raise DataValidationError(f"{file.name} is empty: expected a header row and data rows")
    if first_ragged:
        line, row = first_ragged
        problem = _ragged_problem(file.name, line, row, len(header), ragged, rows)
        raise DataValidationError(problem)
    return rows


def _csv_problem(name: str, line: int, error: str) -> str:
    """A CSV syntax error of the record that starts at line, as one line a user can act on."""
    if "unexpected end of data" in error or "field larger than field limit" in error:
        return (
            f"{name} line {line} opens a quote that is never closed, so the rest of the file "
            'became one value: close the quote (a quote inside a quoted value is written "")'
        )
    if "expected after" in error:
        return (
            f"{name} line {line} has text right after a closing quote: quote the whole value, "
            'and write a quote inside it as ""'
        )
    return f"{name} line {line} is not valid CSV ({error}): fix that line"


def _read_file(file: Path) -> pd.DataFrame:
    """One CSV file, checked for encoding and structure first, with every value as text."""
    try:
        problem = _not_text(file)
        if problem:
            raise DataValidationError(problem)
        try:
            rows = _check_structure(file)
        except UnicodeDecodeError:
            raise DataValidationError(_not_utf8(file)) from None
        # Text, not inferred types: the type rule then sees exactly what the file holds.
        # index_col=False: never take a column as the index, whatever the row lengths.
        frame = pd.read_csv(
            file, dtype=str, skipinitialspace=True, encoding="utf-8-sig", index_col=False
        )
    except DataValidationError:
        raise
    except OSError as error:
        raise DataValidationError(f"cannot read {file}: {error.strerror or error}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        # The checks above should leave pandas nothing to refuse; one line all the same.
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataValidationError(f"{file.name} cannot be read as CSV: {first}") from None
    if len(frame) != rows:
        raise DataValidationError(
            f"{file.name}: pandas read {len(frame)} data rows where the CSV check counted {rows}; "
            "check the file's quoting and line endings"
        )
    return frame


def data_files(path: str | Path) -> list[Path]:
    """The CSV file, or every *.csv in a folder in name order: the files read_data reads."""
    path = Path(path)
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise DataValidationError(f"no CSV files found at {path}")
    return files


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def s3_versions(url: str) -> dict[str, str]:
    """File name -> S3 version ID of the current version of each object under an S3 prefix, for
    a versioned bucket (empty for an unversioned one). boto3 is imported here: only the pipeline
    passes an S3 URL, and the SageMaker image has boto3."""
    import boto3

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    versions = {}
    pages = boto3.client("s3").get_paginator("list_object_versions")
    for page in pages.paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            if version["IsLatest"] and version["VersionId"] != "null":
                versions[version["Key"].removeprefix(prefix).lstrip("/")] = version["VersionId"]
    return versions


def data_manifest(path: str | Path, input_data_url: str | None = None) -> dict[str, Any]:
    """What the data was, by content: each file's name, size and SHA-256, and one SHA-256 of the
    list (the same files give the same hash wherever they are). With input_data_url, also each
    file's S3 version ID when the bucket is versioned; a listing the role may not make is noted,
    not fatal, since the content hashes already identify the data."""
    root = Path(path) if Path(path).is_dir() else Path(path).parent
    files = [
        {
            "name": file.relative_to(root).as_posix(),
            "bytes": file.stat().st_size,
            "sha256": _sha256(file),
        }
        for file in data_files(path)
    ]
    listing = "".join(f"{entry['name']}\0{entry['sha256']}\n" for entry in files)
    manifest: dict[str, Any] = {
        "sha256": hashlib.sha256(listing.encode("utf-8")).hexdigest(),
        "files": files,
    }
    if input_data_url:
        manifest["source"] = input_data_url
        try:
            versions = s3_versions(input_data_url)
        except Exception as error:  # botocore's errors; boto3 may be missing outside SageMaker
            manifest["s3_versions_error"] = f"{type(error).__name__}: {error}"
        else:
            for entry in files:
                if entry["name"] in versions:
                    entry["s3_version_id"] = versions[entry["name"]]
    return manifest


def read_data(path: str | Path) -> pd.DataFrame:
    """Read a CSV file, or every *.csv in a folder, keeping each value's raw text for the checks.

    Refuses, with one line naming the file, the line and what to do: a file that is empty,
    binary, not UTF-8 (a UTF-8 byte-order mark is fine), separated by another delimiter than the
    comma, with an unclosed quote, a header without names, twice the same name or no header, or
    rows whose number of values differs from the header's (a trailing comma included).
    """
    files = data_files(path)
    frames = []
    for file in files:
        frame = _read_file(file)
        if frames and list(frame.columns) != list(frames[0].columns):
            raise DataValidationError(
                f"{file.name} has other columns than {files[0].name}: every file needs one header"
            )
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    if data.empty:
        names = ", ".join(file.name for file in files)
        raise DataValidationError(f"{names}: a header but no data rows; add the data rows")
    return data


def _fmt(value: float) -> str:
    """A schema bound as written in the JSON (0, not 0.0)."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _broken(column: str, rule: str, mask: pd.Series, shown: pd.Series, remedy: str = "") -> str:
    """One message line: which column, which rule, how many rows, where the first one is, and
    what to do about it."""
    positions = np.flatnonzero(mask.to_numpy())
    first = positions[0]
    value = shown.iloc[first]
    # The row's number in the data (from 1), also when rows before it were dropped.
    row = mask.index[first] + 1 if pd.api.types.is_integer_dtype(mask.index) else first + 1
    # numpy scalars print as np.float64(...); show the plain Python value instead.
    text = "missing" if pd.isna(value) else repr(value.item() if hasattr(value, "item") else value)
    return (
        f"column '{column}' breaks rule '{rule}': {len(positions)} of {len(mask)} rows, "
        f"first at row {row} (value {text})" + (f"; {remedy}" if remedy else "")
    )


def _check_column(
    raw: pd.Series, column: Column, source: str, is_target: bool = False
) -> tuple[pd.Series, list[str]]:
    """The column typed (numbers, or stripped text for a category), and a message for each
    rule the raw values break."""
    problems = []
    missing = raw.isna()
    if column.type == "category":
        values = raw.astype("string").str.strip().astype(object).where(~missing, None)
        wrong_type = pd.Series(False, index=raw.index)
    else:
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        wrong_type = ~missing & ~np.isfinite(values)
        if column.type == "integer":
            wrong_type |= ~missing & (values != values.round())
    if wrong_type.any():
        # Shown as the file has it: text such as 'abc' is the usual culprit.
        remedy = f'fix the values, or declare the column "type": "category" in {source}'
        problems.append(_broken(column.name, f"type {column.type}", wrong_type, raw, remedy))
    present = ~missing & ~wrong_type
    # Each value rule: its name in messages, which values break it, and the remedy.
    value_rules = []
    if column.min is not None:
        remedy = f'fix the values, or lower "min" in {source}'
        value_rules.append((f"min >= {_fmt(column.min)}", values < column.min, remedy))
    if column.max is not None:
        remedy = f'fix the values, or raise "max" in {source}'
        value_rules.append((f"max <= {_fmt(column.max)}", values > column.max, remedy))
    if column.allowed_values is not None:
        shown = [v if column.type == "category" else _fmt(v) for v in column.allowed_values]
        remedy = f'fix the values, or add them to "allowed_values" in {source}'
        breaks = ~values.isin(column.allowed_values)
        value_rules.append((f"allowed values [{', '.join(shown)}]", breaks, remedy))
    for rule, breaks, remedy in value_rules:
        if (present & breaks).any():
            problems.append(_broken(column.name, rule, present & breaks, values, remedy))
    if is_target:
        if missing.any():
            remedy = (
                'fill them in, or set "drop_rows_with_missing_target": true in '
                f"{source} to drop those rows"
            )
            problems.append(_broken(column.name, "target not missing", missing, raw, remedy))
    elif missing.mean() > column.max_missing_fraction:
        rule = f"missing fraction <= {_fmt(column.max_missing_fraction)}"
        remedy = f'fill the values in, or raise "max_missing_fraction" in {source}'
        problems.append(_broken(column.name, rule, missing, raw, remedy))
    return values, problems


def _check_target(target: pd.Series, schema: Schema, problem_type: str) -> list[str]:
    labels = target.dropna()
    name = schema.target
    if problem_type != "binary_classification" or labels.empty:
        return []
    if schema.column(name).type == "category":
        # Its two labels are checked by allowed_values; the schema names the positive one.
        return []
    not_binary = target.notna() & ~target.isin(BINARY_CLASSES)
    if not_binary.any():
        remedy = (
            "map the labels to 0 and 1, or declare the target a category with its two labels "
            "as allowed_values and a positive_class"
        )
        return [_broken(name, "binary target in {0, 1}", not_binary, target, remedy)]
    if labels.nunique() < 2:
        return [
            f"column '{name}' breaks rule 'at least 2 classes': "
            f"all {len(labels)} rows are {_fmt(labels.iloc[0])}; a classifier needs both"
        ]
    return []


def encode_target(target: pd.Series, schema: Schema) -> pd.Series:
    """The target as the model learns it: 1 for the positive class, 0 for the other label."""
    if schema.labels is None:
        return target
    return (target == schema.positive_class).astype("Int64").where(target.notna())


def validate(
    data: pd.DataFrame, schema: Schema, problem_type: str, with_target: bool = True
) -> pd.DataFrame:
    """Check raw data against the schema; return it typed, target first, in schema order.

    The target is encoded as the model learns it (see encode_target). Rows without a target are
    dropped when the schema says so (their count is in `frame.attrs["dropped_rows"]`). With
    with_target=False (rows to score) the target is neither required nor returned.

    Raises DataValidationError with one line for every broken rule, so that one run shows
    everything to fix.
    """
    names = schema.names if with_target else schema.features
    dropped = 0
    if with_target and schema.drop_rows_with_missing_target and schema.target in data.columns:
        keep = data[schema.target].notna()
        dropped = int((~keep).sum())
        # The index keeps each row's number in the file, so messages still point at it.
        data = data[keep]
    problems = [
        f"column '{name}' breaks rule 'required': it is declared in {schema.source} "
        "but absent from the data; add it to the data or remove it from the schema"
        for name in names
        if name not in data.columns
    ]
    problems += [
        f"column '{name}' breaks rule 'declared': it is in the data but not in {schema.source}; "
        "declare it in the schema or remove it from the data"
        for name in data.columns
        if name not in schema.names
    ]
    typed = {}
    target_broken = False
    for column in schema.columns:
        if column.name in data.columns and column.name in names:
            is_target = column.name == schema.target
            if not with_target:
                # The share of missing values is a rule for a data set; one row to score may
                # lack a value, which the model handles.
                column = replace(column, max_missing_fraction=1.0)
            typed[column.name], column_problems = _check_column(
                data[column.name], column, schema.source, is_target
            )
            problems += column_problems
            target_broken = target_broken or (is_target and bool(column_problems))
    # The class rules only say something new about a target whose values meet the schema.
    if schema.target in typed and not target_broken:
        problems += _check_target(typed[schema.target], schema, problem_type)
    if problems:
        raise DataValidationError("\n".join(problems))
    frame = pd.DataFrame(typed, index=data.index)[names]
    for column in schema.columns:
        if column.type == "integer" and column.name in names:
            frame[column.name] = frame[column.name].astype("Int64")
    if with_target:
        frame[schema.target] = encode_target(frame[schema.target], schema)
    frame = frame.reset_index(drop=True)
    frame.attrs["dropped_rows"] = dropped
    return frame


def check_rows(
    frame: pd.DataFrame,
    schema: Schema,
    problem_type: str,
    min_rows: int | None = None,
    min_class_count: int | None = None,
) -> None:
    """Refuse valid data that is too little or too uniform to train on.

    Rules: at least min_rows rows; a regression target that varies; for classification, at least
    min_class_count rows of every class. A minimum left at None is not checked. Raises
    DataValidationError with one line for every broken rule, except that too few rows is reported
    alone: class counts follow from it, and it is the first thing to fix.
    """
    if min_rows is not None and len(frame) < min_rows:
        raise DataValidationError(
            f"the data breaks rule 'at least {min_rows} rows': it has {len(frame)}; "
            "add rows, or lower --min-rows (MIN_ROWS in config.py)"
        )
    problems = []
    labels = frame[schema.target].dropna()
    if problem_type == "regression" and len(labels) and labels.nunique() == 1:
        problems.append(
            f"column '{schema.target}' breaks rule 'target varies': all {len(labels)} rows are "
            f"{_fmt(labels.iloc[0])}, so a model learns nothing; check that it is the right "
            "column and the export kept its values"
        )
    if problem_type == "binary_classification" and min_class_count is not None:
        for label, count in sorted(labels.value_counts().items()):
            if count < min_class_count:
                problems.append(
                    f"column '{schema.target}' breaks rule 'at least {min_class_count} rows of "
                    f"each class': class {_fmt(label)} has {count} of {len(labels)} rows; add rows "
                    "of that class, or lower --min-class-count (MIN_CLASS_COUNT in config.py)"
                )
    if problems:
        raise DataValidationError("\n".join(problems))


def split(
    frame: pd.DataFrame,
    target: str,
    problem_type: str,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
) -> dict[str, pd.DataFrame]:
    """Split rows into train, validation and test; stratified on the target for classification."""
    if not (0 < validation_fraction < 1 and 0 < test_fraction < 1) or (
        validation_fraction + test_fraction >= 1
    ):
        raise ValueError("validation and test fractions must be in (0, 1) and sum to less than 1")
    stratify = problem_type == "binary_classification"
    try:
        rest, test = train_test_split(
            frame,
            test_size=test_fraction,
            random_state=seed,
            stratify=frame[target] if stratify else None,
        )
        train, validation = train_test_split(
            rest,
            # The fraction of the whole data set, taken from what is left after the test split.
            test_size=validation_fraction / (1 - test_fraction),
            random_state=seed,
            stratify=rest[target] if stratify else None,
        )
    except ValueError as error:
        raise DataValidationError(
            f"cannot split {len(frame)} rows into train, validation and test: {error}"
        ) from error
    parts = {"train": train, "validation": validation, "test": test}
    return {name: part.reset_index(drop=True) for name, part in parts.items()}


def write_splits(
    splits: dict[str, pd.DataFrame], output_dir: str | Path, schema: Schema | None = None
) -> dict[str, Path]:
    """Write <output_dir>/<split>/<split>.csv with a header row, and the schema beside it (so
    that train, evaluate and explain know the category columns); one folder per pipeline output."""
    paths = {}
    for name, frame in splits.items():
        path = Path(output_dir) / name / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        if schema is not None:
            (path.parent / SCHEMA_FILE).write_text(json.dumps(schema.raw, indent=2) + "\n")
        paths[name] = path
    return paths


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, default=Path("/opt/ml/processing/input/data"))
    parser.add_argument(
        "--schema",
        type=Path,
        default=Path("/opt/ml/processing/input/schema"),
        help="the schema JSON file, or a folder holding exactly one",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument(
        "--input-data-url",
        "--input_data_url",
        help="the S3 prefix the input came from: the data manifest records its version IDs",
    )
    parser.add_argument(
        "--problem-type",
        "--problem_type",
        choices=PROBLEM_TYPES,
        help="defaults to the schema's problem_type",
    )
    parser.add_argument("--validation-fraction", "--validation_fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", "--test_fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--min-rows",
        "--min_rows",
        type=int,
        help="refuse data with fewer rows (local.py and the pipeline pass MIN_ROWS from config.py)",
    )
    parser.add_argument(
        "--min-class-count",
        "--min_class_count",
        type=int,
        help="classification: refuse data with fewer rows of a class (MIN_CLASS_COUNT, config.py)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        schema = load_schema(args.schema)
        problem_type = args.problem_type or schema.problem_type
        if problem_type is None:
            raise SchemaError(f"{schema.source} has no problem_type; pass --problem-type")
        frame = validate(read_data(args.input_dir), schema, problem_type)
        check_rows(frame, schema, problem_type, args.min_rows, args.min_class_count)
        splits = split(
            frame,
            schema.target,
            problem_type,
            args.validation_fraction,
            args.test_fraction,
            args.seed,
        )
    except (SchemaError, DataValidationError) as error:
        print(f"preprocess failed: {error}", file=sys.stderr)
        return 1
    paths = write_splits(splits, args.output_dir, schema)
    manifest = data_manifest(args.input_dir, args.input_data_url)
    paths["manifest"] = args.output_dir / MANIFEST_DIR / MANIFEST_FILE
    paths["manifest"].parent.mkdir(parents=True, exist_ok=True)
    paths["manifest"].write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if "s3_versions_error" in manifest:
        print(f"preprocess: no S3 version IDs recorded: {manifest['s3_versions_error']}")
    sizes = ", ".join(f"{name} {len(part)}" for name, part in splits.items())
    print(f"preprocess: {len(frame)} rows valid against {schema.source}; {sizes} rows")
    if frame.attrs["dropped_rows"]:
        print(f"preprocess: dropped {frame.attrs['dropped_rows']} rows without a target")
    print(f"preprocess: wrote {', '.join(str(path) for path in paths.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
