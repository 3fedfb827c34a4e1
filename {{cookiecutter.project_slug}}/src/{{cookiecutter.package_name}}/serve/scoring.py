"""Rows in, predictions out: the scoring code of the inference server, free of any web framework
(the benchmark's Flask server runs the very same code).

A request's rows are checked against the data contract's rules as contract.validate(...,
with_target=False) checks them (type, min, max, allowed values; a missing value is allowed, the
model handles it), each broken rule named by the contract's own message (contract/rules.py), and
encoded exactly as model_io.encode does: a category becomes its index in the categories saved in
the model, a category unseen in training becomes missing. It works on numpy arrays rather than a
DataFrame: pandas costs tens of milliseconds a request here, the whole request through this path
well under one (see `make bench`); tests/test_serve.py holds the two paths to the same
predictions and messages.
"""

from __future__ import annotations

import csv
import io
import json
import operator
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from .. import model_io
from ..contract import rules
from ..contract.schema import Column, parse_schema

CSV = "text/csv"
JSON = "application/json"
CONTENT_TYPES = (CSV, JSON)
# Limits of one request, here only. SageMaker real-time endpoints take at most 6 MB a request;
# the row cap bounds how long one request holds a worker. The environment variable MAX_ROWS_ENV
# overrides the cap (default MAX_ROWS): batch transform sets it to the most rows its payload can
# hold (infra/batch-transform.yaml), since a MaxPayloadInMB payload of short rows is more than
# MAX_ROWS rows and no client waits behind a batch request.
MAX_BODY_BYTES = 6 * 1024 * 1024
MAX_ROWS = 10_000
MAX_ROWS_ENV = "SERVE_MAX_ROWS"
# A refusal names at most this many of a request's unknown names (and of the features it lacks),
# each cut to NAME_SHOWN characters: its size is the server's, not the request's.
NAMES_SHOWN = 3
NAME_SHOWN = 60
# The cells pandas.read_csv reads as missing (its default na_values), as contract.read_data reads a
# file.
NA_TEXT = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)
NUMBER_TYPES = (int, float)


class RequestError(ValueError):
    """A request the server refuses: its HTTP status and a one-line message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Feature:
    """One feature: its column in the schema, the contract's rules of that column, and its
    categories as the model saved them."""

    column: Column
    type_rule: rules.Rule
    value_rules: tuple[rules.Rule, ...]  # min, max, allowed values: those the schema declares
    codes: dict[str, int] | None  # category -> code; None for a number


def _to_float(value: Any) -> float:
    """A value as pandas.to_numeric reads it: NaN when it is no number (JSON's true and false
    are none; an integer beyond a float's range neither)."""
    if isinstance(value, bool):
        return np.nan
    if isinstance(value, str):
        # Python's float() also takes digit separators and non-ASCII digits; pandas does not.
        if "_" in value or not value.isascii():
            return np.nan
        try:
            return float(value)
        except ValueError:
            return np.nan
    if isinstance(value, NUMBER_TYPES):
        try:
            return float(value)
        except OverflowError:
            return np.nan
    return np.nan


def brief(name: str) -> str:
    """A name from a request as a refusal quotes it, cut to NAME_SHOWN characters."""
    return name if len(name) <= NAME_SHOWN else f"{name[: NAME_SHOWN - 3]}..."


def max_rows_setting(environ: Mapping[str, str] = os.environ) -> int:
    """The row cap of a request: $SERVE_MAX_ROWS when set, else MAX_ROWS.

    Raises ValueError, in one line, on a value that is not a positive whole number.
    """
    text = environ.get(MAX_ROWS_ENV, "").strip()
    if not text:
        return MAX_ROWS
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(f"{MAX_ROWS_ENV}={text!r}: expected a positive whole number of rows")
    return int(text)


class Scorer:
    """The model, the schema's rules for its features, and how to answer a request."""

    def __init__(
        self,
        booster: xgb.Booster,
        schema: dict[str, Any],
        source: str,
        max_rows: int | None = None,
    ) -> None:
        self.booster = booster
        self.source = source
        self.max_rows = max_rows_setting() if max_rows is None else max_rows
        contract = parse_schema(schema, source)
        metadata = model_io.read_metadata(booster)
        self.problem_type = metadata.get("problem_type") or contract.problem_type
        self.features: list[str] = list(booster.feature_names or metadata["feature_names"])
        if sorted(self.features) != sorted(contract.features):
            raise ValueError(
                f"{source} declares the features {sorted(contract.features)} but the model "
                f"was trained on {sorted(self.features)}: serve the schema it was trained with"
            )
        self.names = frozenset(contract.names)
        # Columns with "role": "id": a request may send them, and each answer row repeats them,
        # so that predictions join back to their rows (batch transform's output too).
        self.ids: list[str] = contract.ids
        known = model_io.categories(booster)
        self.specs = [
            Feature(
                column,
                rules.type_rule(column, source, scoring=True),
                tuple(rules.value_rules(column, source)),
                {value: code for code, value in enumerate(known[name])} if name in known else None,
            )
            for name in self.features
            for column in [contract.column(name)]
        ]
        self.numeric = [j for j, feature in enumerate(self.specs) if feature.codes is None]
        self.category = [j for j, feature in enumerate(self.specs) if feature.codes is not None]
        numeric = [self.specs[j].column for j in self.numeric]
        self.lows = np.array([-np.inf if c.min is None else c.min for c in numeric])
        self.highs = np.array([np.inf if c.max is None else c.max for c in numeric])
        self.integer = np.array([c.type == "integer" for c in numeric], dtype=bool)
        self.labels: tuple[Any, Any] = contract.labels or (0, 1)

    @classmethod
    def load(cls, model_dir: str | Path, schema_path: str | Path) -> Scorer:
        """The model that train saved in model_dir, with the rules of the schema file."""
        model_dir, schema_path = Path(model_dir), Path(schema_path)
        if not (model_dir / model_io.MODEL_FILE).is_file():
            raise FileNotFoundError(f"no model file {model_io.MODEL_FILE} in {model_dir}")
        if not schema_path.is_file():
            raise FileNotFoundError(f"no schema file {schema_path}")
        booster, _ = model_io.load_model(model_dir)
        # One thread a prediction: the server runs one worker process a core.
        booster.set_param({"nthread": 1})
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        return cls(booster, schema, schema_path.name)

    # --- parsing ---------------------------------------------------------------------------

    def rows_from_csv(self, body: bytes) -> tuple[list[list[str]], list[list[str]] | None]:
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

    def rows_from_json(self, body: bytes) -> tuple[list[list[Any]], list[dict[str, Any]] | None]:
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

    # --- checking and encoding ---------------------------------------------------------------

    def matrix(self, rows: Sequence[Sequence[Any]], missing: frozenset | None) -> np.ndarray:
        """The rows as the model takes them, after checking them against the schema.

        missing: the values that mean a missing value (NA_TEXT for CSV; None always does).
        Raises RequestError(400) naming the column and the rule for each rule a value breaks.
        """
        if not rows:
            raise RequestError(400, "the request has no rows")
        missing = missing or frozenset()
        matrix = np.empty((len(rows), len(self.features)))
        problems: list[tuple[int, str]] = []
        if self.numeric:
            problems += self._numbers(rows, missing, matrix)
        for j in self.category:
            problems += self._categories(rows, j, missing, matrix)
        if problems:
            # In the columns' order, as contract.validate reports them.
            ordered = sorted(problems, key=lambda problem: problem[0])
            raise RequestError(400, " | ".join(text for _, text in ordered))
        return matrix

    def _numbers(
        self, rows: Sequence[Sequence[Any]], missing: frozenset, out: np.ndarray
    ) -> list[tuple[int, str]]:
        if self.category:
            pick = operator.itemgetter(*self.numeric)
            one = len(self.numeric) == 1  # itemgetter of one index returns the value itself
            raw = [[pick(row)] for row in rows] if one else [pick(row) for row in rows]
        else:
            raw = rows
        try:
            values = np.array(raw, dtype=float)
            # numpy takes what float() takes; pandas refuses separators and non-ASCII digits.
            try:
                text, text_only = "".join(map("".join, raw)), True
            except TypeError:  # JSON numbers among the values
                text = "".join(value for row in raw for value in row if isinstance(value, str))
                text_only = False
            if "_" in text or not text.isascii():
                raise ValueError
            if text_only is False and any(type(v) is bool for row in raw for v in row):
                raise ValueError  # JSON's true and false, which numpy takes for 1 and 0
        except (ValueError, TypeError, OverflowError):
            values = np.array([[_to_float(value) for value in row] for row in raw], dtype=float)
        absent = np.zeros(values.shape, dtype=bool)
        unknown = ~np.isfinite(values)
        for i, k in zip(*np.nonzero(unknown), strict=True):
            value = raw[i][k]
            absent[i, k] = value is None or (isinstance(value, str) and value in missing)
        wrong = unknown & ~absent
        with np.errstate(invalid="ignore"):
            wrong |= ~absent & self.integer & (values != np.round(values))
            present = ~absent & ~wrong
            below = present & (values < self.lows)
            above = present & (values > self.highs)
        outside = np.zeros(values.shape, dtype=bool)
        for k, j in enumerate(self.numeric):
            allowed = self.specs[j].column.allowed_values
            if allowed is not None:
                outside[:, k] = present[:, k] & ~np.isin(values[:, k], allowed)
        values[absent] = np.nan
        out[:, self.numeric] = values
        if not (wrong.any() or below.any() or above.any() or outside.any()):
            return []
        problems = []
        for k, j in enumerate(self.numeric):
            feature = self.specs[j]
            # As sent: text such as 'abc' is the usual culprit of the type rule, or "1,234".
            sent = [row[k] for row in raw]
            type_rule = feature.type_rule
            if all(rules.formatted_number(sent[i]) for i in np.flatnonzero(wrong[:, k])):
                type_rule = rules.formatted_rule(feature.column)
            checks = [(type_rule, wrong[:, k], sent)]
            breaking = {"min": below[:, k], "max": above[:, k], "allowed": outside[:, k]}
            checks += [(rule, breaking[rule.kind], values[:, k]) for rule in feature.value_rules]
            problems += [
                (j, _line(feature.column.name, rule, mask, shown))
                for rule, mask, shown in checks
                if mask.any()
            ]
        return problems

    def _categories(
        self, rows: Sequence[Sequence[Any]], j: int, missing: frozenset, out: np.ndarray
    ) -> list[tuple[int, str]]:
        feature = self.specs[j]
        codes = feature.codes or {}
        texts = [
            None
            if value is None or (isinstance(value, str) and value in missing)
            # astype("string") in model_io.encode: True -> "True", 1.5 -> "1.5".
            else str(value).strip()
            for value in (row[j] for row in rows)
        ]
        out[:, j] = [np.nan if text is None else codes.get(text, np.nan) for text in texts]
        allowed = feature.column.allowed_values
        if allowed is None:
            return []
        outside = np.array([text is not None and text not in allowed for text in texts])
        if not outside.any():
            return []
        (rule,) = (rule for rule in feature.value_rules if rule.kind == "allowed")
        return [(j, _line(feature.column.name, rule, outside, texts))]

    # --- answering -----------------------------------------------------------------------------

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Probabilities of the positive class (classification) or predicted values."""
        # The booster's own feature types make its category columns categorical: the codes. The
        # columns are in the booster's order by construction: no per-call check of the names.
        return self.booster.inplace_predict(matrix, validate_features=False)

    def format(
        self, scores: np.ndarray, media_type: str, ids: Sequence[Any] | None = None
    ) -> bytes:
        """The answer rows, each led by its request row's ids when it sent them (CSV: the id
        values first; JSON: the id names and values in the prediction's object)."""
        values = scores.tolist()
        if self.problem_type == "binary_classification":
            negative, positive = self.labels
            labels = [positive if p > model_io.LABEL_THRESHOLD else negative for p in values]
            cells = [[repr(p), str(label)] for p, label in zip(values, labels, strict=True)]
            predictions = [
                {"probability": p, "predicted_label": label}
                for p, label in zip(values, labels, strict=True)
            ]
        else:
            cells = [[repr(p)] for p in values]
            predictions = [{"prediction": p} for p in values]
        if media_type == CSV:
            if ids is None:
                return "".join(",".join(row) + "\n" for row in cells).encode()
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            for row_ids, row in zip(ids, cells, strict=True):
                writer.writerow([*_id_values(row_ids, self.ids), *row])
            return out.getvalue().encode()
        if ids is not None:
            predictions = [
                {**_id_mapping(row_ids, self.ids), **prediction}
                for row_ids, prediction in zip(ids, predictions, strict=True)
            ]
        return json.dumps({"predictions": predictions}).encode()

    def invoke(
        self, content_type: str | None, accept: str | None, body: bytes
    ) -> tuple[bytes, str]:
        """The response to a request: its body and media type (the Accept header's choice).

        Raises RequestError for anything the client must change.
        """
        media = media_type(content_type)
        answer = negotiate(accept, media)
        if media == CSV:
            (rows, ids), missing = self.rows_from_csv(body), NA_TEXT
        else:
            (rows, ids), missing = self.rows_from_json(body), None
        return self.format(self.predict(self.matrix(rows, missing)), answer, ids), answer


def _id_values(ids: Sequence[Any] | Mapping[str, Any], names: Sequence[str]) -> list[Any]:
    """A row's ids as CSV cells: a CSV row's own, or a JSON instance's (empty when absent)."""
    if isinstance(ids, Mapping):
        return ["" if ids.get(name) is None else ids[name] for name in names]
    return list(ids)


def _id_mapping(ids: Sequence[Any] | Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """A row's ids as a JSON object: a JSON instance's own, or a CSV row's by name."""
    return dict(ids) if isinstance(ids, Mapping) else dict(zip(names, ids, strict=True))


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows; send null for a missing value")


def _line(column: str, rule: rules.Rule, mask: np.ndarray, shown: Sequence[Any]) -> str:
    """The contract's message for the rows in mask, showing the first one's value."""
    positions = np.flatnonzero(mask)
    first = int(positions[0])
    return rule.line(column, len(positions), len(mask), first + 1, shown[first])


def media_type(content_type: str | None) -> str:
    """The request's media type, without parameters such as charset; RequestError(415) unless
    CSV or JSON."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in CONTENT_TYPES:
        given = f"'{brief(media)}'" if media else "no Content-Type"
        raise RequestError(415, f"{given} is not supported: send {CSV} or {JSON}")
    return media


def negotiate(accept: str | None, default: str) -> str:
    """The response's media type: of the types the server writes, the one the Accept header gives
    the highest quality (q, 1 unless given; q=0 refuses a type), each type taking the q of the
    most specific range that names it; on a tie the type named first, then the request's. No
    header, or a blank one: the request's type. RequestError(406) when it accepts neither."""
    if not accept or not accept.strip():
        return default
    if accept in CONTENT_TYPES:  # the usual header, one type: nothing to weigh
        return accept
    # type -> (specificity of the range that names it, q, the range's position)
    best: dict[str, tuple[int, float, int]] = {}
    for position, part in enumerate(accept.split(",")):
        media, *parameters = (item.strip().lower() for item in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        for candidate in CONTENT_TYPES:
            specificity = _specificity(media, candidate)
            if specificity > best.get(candidate, (-1, 0.0, 0))[0]:
                best[candidate] = (specificity, quality, position)
    # The highest q; on a tie the type named first, then the request's.
    weighed = {t: (q, -position, t == default) for t, (_, q, position) in best.items()}
    choice = max(weighed, key=weighed.__getitem__, default=None)
    if choice is not None and weighed[choice][0] > 0:
        return choice
    shown = brief(accept.strip())
    raise RequestError(406, f"cannot answer in '{shown}': accept {CSV} or {JSON}")


def _specificity(media_range: str, media: str) -> int:
    """How closely a media range of an Accept header names `media`: 2 exactly, 1 as type/*, 0 as
    */*, -1 not at all."""
    if media_range == media:
        return 2
    if media_range == f"{media.split('/')[0]}/*":
        return 1
    return 0 if media_range == "*/*" else -1
