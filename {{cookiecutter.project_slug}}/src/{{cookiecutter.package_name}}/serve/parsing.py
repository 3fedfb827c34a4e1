"""A request's body as rows of feature values in the model's order, with the ids each row sent:
CSV lines (with or without a header) or JSON instances. What the rows hold is checked later
(checking.py); here, the body's shape."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from ..contract import rules
from .request import NAMES_SHOWN, RequestError, brief

# The cells that mean a missing value, as contract.read_data reads a file (a set: one lookup a
# cell).
NA_TEXT = frozenset(rules.MISSING_TEXT)


@dataclass(frozen=True)
class RowReader:
    """How a request's rows are laid out: the model's features in its order, the schema's id
    columns, every name the schema declares (source: the schema file's name), and the row cap."""

    features: list[str]
    ids: list[str]
    names: frozenset[str]
    source: str
    max_rows: int

    def from_csv(self, body: bytes) -> tuple[list[list[str]], list[list[str]] | None]:
        """CSV rows of feature values in the model's order, without a header (or with one that
        names the features in that order), and their ids: each line may start with the schema's
        id columns (all lines or none), which the answer repeats."""
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise RequestError(400, f"the body is not UTF-8 text (byte {error.start})") from None
        width = len(self.features)
        widths = {width, width + len(self.ids)}
        rows: list[list[str]] = []
        reader = csv.reader(io.StringIO(text), strict=True, skipinitialspace=True)
        header = [*self.ids, *self.features]
        start = 1  # the line the record being read starts at
        blank = 0  # blank lines, which pandas skips too, but which count against the row cap
        try:
            for row in reader:
                line, start = start, reader.line_num + 1
                if not row:
                    blank += 1
                    if blank + len(rows) > self.max_rows:
                        raise RequestError(413, f"more than {self.max_rows} rows in one request")
                    continue
                if not rows and [value.strip() for value in row] in (self.features, header):
                    continue  # the header row
                if len(row) not in widths or (rows and len(row) != len(rows[0])):
                    raise RequestError(400, self._width_problem(line, len(row)))
                rows.append(row)
                if len(rows) + blank > self.max_rows:
                    raise RequestError(413, f"more than {self.max_rows} rows in one request")
        except csv.Error as error:
            raise RequestError(400, f"line {start} is not valid CSV ({error})") from None
        if not rows or len(rows[0]) == width:
            return rows, None
        cut = len(self.ids)
        return [row[cut:] for row in rows], [row[:cut] for row in rows]

    def _width_problem(self, line: int, values: int) -> str:
        order = ", ".join(self.features)
        if not self.ids:
            return (
                f"line {line} has {values} values but the model takes "
                f"{len(self.features)} features, in this order: {order}"
            )
        return (
            f"line {line} has {values} values but each line holds the {len(self.features)} "
            f"features in this order: {order}, every line led by the ids "
            f"({', '.join(self.ids)}) or none"
        )

    def from_json(self, body: bytes) -> tuple[list[list[Any]], list[dict[str, Any]] | None]:
        """Rows from {"instances": [{feature: value, ...}, ...]} or a plain list of such objects,
        and the id columns each instance holds (None when the schema declares none).

        An instance may lack a feature (a missing value) and may hold the target (ignored) and its
        ids (repeated in its answer), but a feature absent from every instance, or a name the
        schema does not declare, is refused.
        """
        try:
            data = json.loads(body, parse_constant=_no_constant)
        except (ValueError, RecursionError) as error:
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise RequestError(400, f"the body is not valid JSON: {first}") from None
        instances = data.get("instances") if isinstance(data, dict) else data
        if not isinstance(instances, list):
            raise RequestError(
                400, 'expected {"instances": [{"feature": value, ...}, ...]} or a list of objects'
            )
        if len(instances) > self.max_rows:
            raise RequestError(413, f"more than {self.max_rows} rows in one request")
        if not instances:
            raise RequestError(400, "the request has no rows")
        seen: set[str] = set()
        for number, instance in enumerate(instances, 1):
            if not isinstance(instance, dict):
                raise RequestError(
                    400, f"instance {number} is not an object of feature names and values"
                )
            for name, value in instance.items():
                if isinstance(value, list | dict):
                    raise RequestError(
                        400,
                        f"instance {number}: '{brief(name)}' holds a list or object, not a value",
                    )
            seen.update(instance)
        absent = [name for name in self.features if name not in seen]
        # A request is rows for a trained model: the remedies fix the rows, not the schema.
        problems = [rules.required(name, self.source, True) for name in absent[:NAMES_SHOWN]]
        if len(absent) > NAMES_SHOWN:
            problems.append(
                f"and {len(absent) - NAMES_SHOWN} more features of {self.source} absent"
            )
        unknown = sorted(seen - self.names)
        problems += [
            rules.declared(brief(name), self.source, True) for name in unknown[:NAMES_SHOWN]
        ]
        if len(unknown) > NAMES_SHOWN:
            problems.append(f"and {len(unknown) - NAMES_SHOWN} more names not in {self.source}")
        if problems:
            raise RequestError(400, " | ".join(problems))
        rows = [[instance.get(name) for name in self.features] for instance in instances]
        if not self.ids:
            return rows, None
        ids = [{name: i[name] for name in self.ids if name in i} for i in instances]
        return rows, ids if any(ids) else None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows; send null for a missing value")
