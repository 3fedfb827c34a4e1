"""The schema: the data contract's JSON form, parsed into the rules every check enforces.

A schema names the target and declares every column (type number, integer or category; min, max,
allowed_values, max_missing_fraction), the problem type and, for a text target, the positive
class. A column with a "role" other than "feature" is no feature: "id" (a key such as a row
number or customer ID, passed through by `make predict` so predictions can be joined back) or
"ignored" (a column the file has that the model must not use: a leak, a constant, DROP=). Such a
column needs no type and has no rule: it may be absent, and its values are never checked.
One feature may be the facet of the bias report (`"facet": true`): the sensitive column, with
its group as Clarify's `facet_values_or_threshold` defines it, `"facet_values"` (the rows whose
value is one of these) or `"facet_threshold"` (the rows whose value is above it); a regression
schema then names `"positive_threshold"`, above which an outcome counts as positive for the
bias metrics (Clarify's `label_values_or_threshold`). parse_schema refuses anything the rules
could not enforce, with one line naming the key.
Standard library only: the server, the steps and the tools all read the schema through it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROBLEM_TYPES = ("binary_classification", "regression")
# The schema's name beside each split the steps hand on (splits.py).
SCHEMA_FILE = "schema.json"
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
        "positive_threshold",
        "drop_rows_with_missing_target",
        "columns",
    }
)
COLUMN_KEYS = frozenset(
    {"name", "type", "role", "description", "min", "max", "allowed_values", "max_missing_fraction"}
    | {"facet", "facet_values", "facet_threshold"}
)
FACET_KEYS = ("facet", "facet_values", "facet_threshold")
# "feature" (the default) is what the model learns from; the others are carried, never learned.
# "event_time": when the row's values were observed (the Feature Store's event time).
ROLES = ("feature", "id", "ignored", "event_time")
RULE_KEYS = ("min", "max", "allowed_values", "max_missing_fraction")


class SchemaError(ValueError):
    """The schema file itself is malformed."""


@dataclass(frozen=True)
class Column:
    """One declared column: the rules its values must meet."""

    name: str
    type: str | None
    min: float | None = None
    max: float | None = None
    allowed_values: tuple[float, ...] | tuple[str, ...] | None = None
    max_missing_fraction: float = 0.0
    role: str = "feature"


@dataclass(frozen=True)
class Facet:
    """The sensitive column of the bias report and its group (Clarify's facet d): the rows
    whose value is among `values`, or above `threshold`; the other rows are group a."""

    name: str
    values: tuple[float, ...] | tuple[str, ...] | None = None
    threshold: float | None = None

    @property
    def group(self) -> str:
        """The group as one line says it."""
        if self.threshold is not None:
            return f"{self.name} > {self.threshold:g}"
        return f"{self.name} in {list(self.values or ())}"


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
    facet: Facet | None = None
    # Regression: an outcome above it is positive for the bias metrics.
    positive_threshold: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def names(self) -> list[str]:
        """Every declared column, ids and ignored ones included: what data may have."""
        return [column.name for column in self.columns]

    @property
    def features(self) -> list[str]:
        """The columns the model learns from, in the order it takes them."""
        return [c.name for c in self.columns if c.role == "feature" and c.name != self.target]

    @property
    def model_columns(self) -> list[str]:
        """The target and the features: the columns of a split, target first."""
        return [self.target, *self.features]

    @property
    def ids(self) -> list[str]:
        """The columns with "role": "id", passed through beside the predictions."""
        return [c.name for c in self.columns if c.role == "id"]

    @property
    def record_columns(self) -> list[str]:
        """The "id" and "event_time" columns: what a Feature Store record needs beside the model
        columns, carried into the validated rows by both preprocess engines."""
        return [c.name for c in self.columns if c.role in ("id", "event_time")]

    @property
    def categories(self) -> list[str]:
        """The feature columns of type category."""
        return [name for name in self.features if self.column(name).type == "category"]

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


def _parse_facet(raw: dict, column: Column, where: str) -> Facet | None:
    """The column's facet keys: none, or `"facet": true` with exactly one way to its group."""
    if not any(key in raw for key in FACET_KEYS):
        return None
    if raw.get("facet") is not True:
        raise SchemaError(
            f'{where}: facet_values and facet_threshold belong to the facet column ("facet": true)'
        )
    if column.role != "feature":
        raise SchemaError(
            f"{where}: the facet must be a feature (the bias report reads it from the splits); "
            "remove its role, or mark another column"
        )
    has_values, has_threshold = "facet_values" in raw, "facet_threshold" in raw
    if has_values == has_threshold:
        raise SchemaError(
            f'{where}: a facet needs exactly one of "facet_values" (its group\'s values) or '
            '"facet_threshold" (its group: values above it)'
        )
    if has_threshold:
        if column.type == "category":
            raise SchemaError(f'{where}: a category facet takes "facet_values", not a threshold')
        return Facet(column.name, threshold=_number(raw["facet_threshold"], f"{where}: threshold"))
    values = raw["facet_values"]
    if not isinstance(values, list) or not values:
        raise SchemaError(f"{where}: facet_values must be a non-empty list")
    if column.type == "category":
        if not all(isinstance(value, str) for value in values):
            raise SchemaError(f"{where}: facet_values of a category must be text")
        values = [value.strip() for value in values]
    else:
        values = [_number(value, f"{where}: facet value") for value in values]
    if column.allowed_values is not None:
        unknown = [value for value in values if value not in column.allowed_values]
        if unknown or len(set(values)) >= len(column.allowed_values):
            raise SchemaError(
                f"{where}: facet_values must be some, not all, of its allowed_values "
                f"{list(column.allowed_values)}, got {values}"
            )
    return Facet(column.name, values=tuple(values))


def _parse_column(raw: Any, source: str) -> Column:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise SchemaError(f"{source}: every column must be an object with a 'name', got {raw!r}")
    name = raw["name"]
    where = f"{source}: column '{name}'"
    unknown = sorted(set(raw) - COLUMN_KEYS)
    if unknown:
        raise SchemaError(f"{where} has unknown keys {unknown}; allowed: {sorted(COLUMN_KEYS)}")
    role = raw.get("role", "feature")
    if role not in ROLES:
        raise SchemaError(f"{where}: role must be one of {list(ROLES)}, got {role!r}")
    if role != "feature":
        ruled = [key for key in RULE_KEYS if key in raw]
        if ruled:
            raise SchemaError(
                f"{where}: a column with role {role!r} is not checked, so it takes no {ruled}; "
                "remove them, or the role to make it a feature"
            )
        if raw.get("type") not in (None, *COLUMN_TYPES):
            raise SchemaError(f"{where}: type must be one of {list(COLUMN_TYPES)} or absent")
        return Column(name, raw.get("type"), role=role)
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
    facets = [
        facet
        for column, entry in zip(columns, raw["columns"], strict=True)
        if (facet := _parse_facet(entry, column, f"{source}: column '{column.name}'"))
    ]
    if len(facets) > 1:
        names = [facet.name for facet in facets]
        raise SchemaError(f'{source}: one column may be the facet ("facet": true), got {names}')
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
    if label.role != "feature":
        raise SchemaError(f"{source}: the target '{target}' cannot have a role; remove it")
    if not any(c.role == "feature" and c.name != target for c in columns):
        raise SchemaError(f"{source}: declare at least one feature besides the target")
    # A model cannot learn from a row without a label: such rows are refused or dropped.
    if label.max_missing_fraction:
        raise SchemaError(
            f"{source}: the target '{target}' cannot allow missing values; set "
            '"drop_rows_with_missing_target": true to drop such rows instead'
        )
    positive = _positive_class(raw, label, problem_type, source)
    if facets and facets[0].name == target:
        raise SchemaError(f"{source}: the target '{target}' cannot be the facet")
    threshold = raw.get("positive_threshold")
    if threshold is not None:
        threshold = _number(threshold, f"{source}: positive_threshold")
        if problem_type != "regression":
            raise SchemaError(
                f"{source}: positive_threshold applies to regression; a classifier's positive "
                "outcome is its positive class"
            )
    # The target goes first: the convention every later step relies on.
    ordered = [label] + [c for c in columns if c.name != target]
    facet = facets[0] if facets else None
    return Schema(
        target, tuple(ordered), problem_type, source, positive, drop, facet, threshold, raw
    )


def require_facet(schema: Schema) -> Facet:
    """The facet of a project with the bias report; SchemaError, in one line naming the fix,
    when the schema marks none (or, for regression, names no positive_threshold)."""
    if schema.facet is None:
        raise SchemaError(
            f'{schema.source}: the bias report needs a sensitive column: add "facet": true and '
            '"facet_values": [...] (or "facet_threshold": x) to it, or `make schema ... FACET=col`'
        )
    if schema.problem_type == "regression" and schema.positive_threshold is None:
        raise SchemaError(
            f'{schema.source}: the bias report of a regression needs "positive_threshold": x '
            "(an outcome above it counts as positive)"
        )
    return schema.facet


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
