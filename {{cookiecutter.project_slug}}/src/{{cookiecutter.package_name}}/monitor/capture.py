"""SageMaker data capture and ground truth, read into rows.

Data capture writes JSON Lines, one record a request (the "Capture data" format of the SageMaker
developer guide):
    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                        "data": "...", "encoding": "CSV" | "JSON" | "BASE64"},
                     "endpointOutput": {...}},
     "eventMetadata": {"eventId": "...", "inferenceTime": "..."}, "eventVersion": "0"}
A request holds one row or several: CSV lines without a header (or with the header row the server
also accepts), or JSON {"instances": [{feature: value}, ...]} (or a bare list of such objects); the
output holds one prediction a row: CSV `probability,label` or `prediction`, JSON
{"predictions": [{"probability": p, ...} | {"prediction": p}]}. BASE64 data is decoded first and
read by its observedContentType.

Ground truth (SageMaker's merge format, one record an event, what a labelling job writes under
the ground-truth prefix):
    {"groundTruthData": {"data": "1", "encoding": "CSV" | "JSON"},
     "eventMetadata": {"eventId": "..."}, "eventVersion": "0"}
with one label for each row of the captured request: CSV lines, or JSON (a label or a list).

Speed: a record is parsed with json.loads and nothing else; the CSV rows of all records are joined
into one text and read by pandas' C parser in one call, which makes reading a million single-row
records a few times slower than pandas.read_json alone, not hundreds (bench/monitor_bench.py).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

CSV, JSON, BASE64 = "CSV", "JSON", "BASE64"
# The name of the spare column that catches CSV rows with too many values.
EXTRA = "\x00extra"


class CaptureError(ValueError):
    """Input the monitor cannot read; the message is the one line it prints."""


@dataclass
class Capture:
    """Captured rows: raw feature values (text for categories, numbers as read), the model's
    score of each row, the event each row came from, and the rows that could not be read."""

    rows: pd.DataFrame
    scores: np.ndarray
    event_ids: np.ndarray
    records: int = 0
    unreadable_rows: int = 0
    problems: list[str] = field(default_factory=list)


def capture_files(folder: Path) -> list[Path]:
    """Every *.jsonl under the folder, recursively, in path order (capture's hourly prefixes)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CaptureError(f"{folder} is not a folder of captured *.jsonl files")
    return sorted(path for path in folder.rglob("*.jsonl") if path.is_file())


def _lines(path: Path):
    try:
        with path.open(encoding="utf-8") as handle:
            yield from enumerate(handle, 1)
    except UnicodeDecodeError as error:
        raise CaptureError(f"{path} is not UTF-8 text (byte {error.start})") from None


def _record(path: Path, number: int, line: str) -> dict:
    try:
        record = json.loads(line)
    except ValueError as error:
        raise CaptureError(f"{path} line {number} is not JSON: {error}") from None
    if not isinstance(record, dict):
        raise CaptureError(f"{path} line {number} is not a JSON object")
    return record


def _payload(part: object, where: str, side: str) -> tuple[str, str]:
    """(format, text) of an endpointInput/endpointOutput or groundTruthData: CSV or JSON."""
    if not isinstance(part, dict) or not isinstance(part.get("data"), str):
        raise CaptureError(f"{where} {side} has no 'data' text")
    text = part["data"]
    encoding = part.get("encoding", CSV)
    if encoding in (CSV, JSON):
        # The common case first: a million records pass here.
        return encoding, text
    encoding = str(encoding).upper()
    where = f"{where} {side}"
    if encoding == BASE64:
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise CaptureError(f"{where} is not base64 of UTF-8 text") from None
        kind = str(part.get("observedContentType", "")).lower()
        encoding = JSON if "json" in kind else CSV
    if encoding not in (CSV, JSON):
        raise CaptureError(
            f"{where} has encoding {part.get('encoding')!r}, not CSV, JSON or BASE64"
        )
    return encoding, text


def _csv_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _json(text: str, where: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        raise CaptureError(f"{where} is not valid JSON") from None


def _instances(text: str, where: str) -> list[dict]:
    data = _json(text, where)
    instances = data.get("instances") if isinstance(data, dict) else data
    if not isinstance(instances, list) or not all(isinstance(i, dict) for i in instances):
        raise CaptureError(f"{where} is not " + 'a list of instances: {"instances": [...]}')
    return instances


def _output_scores(encoding: str, text: str, where: str, ids: int = 0) -> list[float]:
    """The predictions of a response; a CSV line answering a row sent with its ids repeats the
    `ids` id values before its prediction (serve/scoring.py)."""
    if encoding == CSV:
        if ids:
            return [_number(row[ids], where) for row in csv.reader(_csv_lines(text))]
        return [_number(line.split(",", 1)[0], where) for line in _csv_lines(text)]
    data = _json(text, where)
    predictions = data.get("predictions") if isinstance(data, dict) else data
    if not isinstance(predictions, list):
        raise CaptureError(f"{where} is not " + 'a list of predictions: {"predictions": [...]}')
    scores = []
    for item in predictions:
        value = item.get("probability", item.get("prediction")) if isinstance(item, dict) else item
        scores.append(_number(value, where))
    return scores


def _number(value: object, where: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CaptureError(f"{where} holds {value!r} where a prediction should be") from None


@dataclass
class _Parsed:
    """One file's records, split by input format; each row carries its record's number, so that
    CSV and JSON rows, read apart, go back into the order they were captured."""

    csv_chunks: list[str] = field(default_factory=list)
    csv_counts: list[int] = field(default_factory=list)
    csv_events: list[str] = field(default_factory=list)
    csv_records: list[int] = field(default_factory=list)
    csv_scores: list[float] = field(default_factory=list)
    json_rows: list[dict] = field(default_factory=list)
    json_events: list[str] = field(default_factory=list)
    json_records: list[int] = field(default_factory=list)
    json_scores: list[float] = field(default_factory=list)
    records: int = 0


def _without_ids(text: str, ids: int) -> str:
    """CSV lines without their first `ids` values."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        row[ids:] for row in csv.reader(text.split("\n"))
    )
    return out.getvalue().rstrip("\n")


def _parse_file(path: Path, header: str, ids: list[str], width: int) -> _Parsed:
    """`header`: the features' header row, which a request may start with; `ids` and `width`:
    the schema's id columns, which may lead each line of a request, and the features' count."""
    parsed = _Parsed()
    id_header = ",".join([*ids, header]) if ids else None
    name = str(path)
    for number, line in _lines(path):
        if not line.strip():
            continue
        record = _record(path, number, line)
        where = f"{name} line {number}"
        data = record.get("captureData")
        if not isinstance(data, dict):
            raise CaptureError(f"{where} has no captureData: not a data-capture record")
        event = str((record.get("eventMetadata") or {}).get("eventId", f"{path}:{number}"))
        encoding, text = _payload(data.get("endpointInput"), where, "endpointInput")
        output_encoding, output = _payload(data.get("endpointOutput"), where, "endpointOutput")
        index = parsed.records
        if encoding == CSV:
            # Sent with its ids (all lines or none): the answer's lines repeat them first.
            led = bool(ids) and _led_by_ids(text, id_header, len(ids) + width)
            for known in (header, id_header):
                if known and text.startswith(known):
                    text = text[len(known) :].lstrip("\r\n")
            text = text.rstrip("\n")
            if led:
                text = _without_ids(text, len(ids))
            count = 1
            if "\n" in text:
                # A multi-row request: blank lines are not rows (pandas skips them too).
                lines = _csv_lines(text)
                count, text = len(lines), "\n".join(lines)
        else:
            instances = _instances(text, f"{where} endpointInput")
            count = len(instances)
            # An instance's ids lead its CSV answer line when any instance sent one.
            led = any(name in instance for instance in instances for name in ids)
        if output_encoding == CSV and "\n" not in output.rstrip("\n") and not led:
            # One prediction: the common case, read without splitting lines.
            scores = [_number(output.split(",", 1)[0], where)]
        else:
            scores = _output_scores(output_encoding, output, where, len(ids) if led else 0)
        if encoding == CSV:
            parsed.csv_chunks.append(text)
            parsed.csv_counts.append(count)
            parsed.csv_events.append(event)
            parsed.csv_records.append(index)
            parsed.csv_scores += scores
        else:
            parsed.json_rows += instances
            parsed.json_events += [event] * count
            parsed.json_records += [index] * count
            parsed.json_scores += scores
        if len(scores) != count:
            raise CaptureError(
                f"{where}: {count} rows in the request but {len(scores)} predictions"
            )
        parsed.records += 1
    return parsed


def _led_by_ids(text: str, id_header: str | None, width: int) -> bool:
    """Whether a CSV request's lines start with the id columns: its header names them, or its
    first line has as many values as ids and features together."""
    if id_header and text.startswith(id_header):
        return True
    first = text.lstrip("\r\n").split("\n", 1)[0]
    return len(next(csv.reader([first]), [])) == width


def read_capture(
    folder: Path, features: list[str], categories: list[str], ids: list[str] | tuple = ()
) -> Capture:
    """Every captured request under the folder, one row a captured row, features in order (the
    ids that lead a request's CSV lines left out)."""
    files = capture_files(folder)
    if not files:
        raise CaptureError(f"no *.jsonl file under {folder}")
    merged = _Parsed()
    header = ",".join(features)
    # One process: measured, two processes over the files were slower on 2 busy cores (the
    # parsed records cross between processes by pickling).
    for parsed in (_parse_file(path, header, list(ids), len(features)) for path in files):
        offset = merged.records
        for name in ("csv_chunks", "csv_counts", "csv_events", "csv_scores"):
            getattr(merged, name).extend(getattr(parsed, name))
        for name in ("json_rows", "json_events", "json_scores"):
            getattr(merged, name).extend(getattr(parsed, name))
        merged.csv_records += [offset + index for index in parsed.csv_records]
        merged.json_records += [offset + index for index in parsed.json_records]
        merged.records += parsed.records
    frames, events, unreadable = [], [], 0
    if merged.csv_chunks:
        frame = _read_csv_rows("\n".join(merged.csv_chunks), features, categories)
        expected = sum(merged.csv_counts)
        if len(frame) != expected:
            raise CaptureError(
                f"the CSV requests under {folder} hold {len(frame)} rows by pandas' count and "
                f"{expected} by their lines: a quoted value with a line break is not supported"
            )
        unreadable = int(frame.attrs.get("unreadable", 0))
        frames.append(frame)
        events.append(np.repeat(np.array(merged.csv_events, dtype=object), merged.csv_counts))
    if merged.json_rows:
        frame = pd.DataFrame.from_records(merged.json_rows)
        for name in categories:
            if name in frame.columns:
                frame[name] = (
                    frame[name].astype("string").astype(object).where(frame[name].notna(), None)
                )
        frames.append(frame)
        events.append(np.array(merged.json_events, dtype=object))
    scores = np.array(merged.csv_scores + merged.json_scores, dtype=float)
    event_ids = np.concatenate(events)
    if len(frames) == 1:
        rows = frames[0]
    else:
        numbers = [np.repeat(merged.csv_records, merged.csv_counts), merged.json_records]
        order = np.argsort(np.concatenate(numbers), kind="stable")
        rows = pd.concat(frames, ignore_index=True).iloc[order].reset_index(drop=True)
        scores, event_ids = scores[order], event_ids[order]
    return Capture(rows, scores, event_ids, merged.records, unreadable)


def _read_csv_rows(text: str, features: list[str], categories: list[str]) -> pd.DataFrame:
    """Rows of feature values without a header, by position. A row with more values than
    features becomes a row of missing values (counted in attrs["unreadable"]), so that every row
    keeps its place beside its prediction and event; one with fewer has its last features
    missing, which the data-quality check reports on them."""
    frame = pd.read_csv(
        io.StringIO(text),
        header=None,
        # One spare column catches rows with too many values.
        names=[*features, EXTRA],
        dtype=dict.fromkeys(categories, str),
        skipinitialspace=True,
        engine="c",
    )
    extra = frame.pop(EXTRA).notna()
    if extra.any():
        frame.loc[extra, :] = np.nan
    frame.attrs["unreadable"] = int(extra.sum())
    return frame


def read_ground_truth(folder: Path) -> dict[str, list[str]]:
    """eventId -> the labels of the event's rows, in order, as text."""
    files = capture_files(folder)
    if not files:
        raise CaptureError(f"no *.jsonl file under {folder}")
    labels: dict[str, list[str]] = {}
    for path in files:
        for number, line in _lines(path):
            if not line.strip():
                continue
            record = _record(path, number, line)
            where = f"{path} line {number}"
            event = (record.get("eventMetadata") or {}).get("eventId")
            if event is None:
                raise CaptureError(f"{where} has no eventMetadata.eventId to join on")
            encoding, text = _payload(record.get("groundTruthData"), where, "groundTruthData")
            if encoding == CSV:
                values = [line.strip() for line in _csv_lines(text)]
            else:
                data = _json(text, f"{where} groundTruthData")
                values = [str(v) for v in (data if isinstance(data, list) else [data])]
            labels[str(event)] = values
    return labels


def join_labels(capture: Capture, labels: dict[str, list[str]]) -> tuple[np.ndarray, pd.Series]:
    """(row positions, labels) of the captured rows whose event has ground truth with one label
    a row; an event whose label count differs from its row count is left out."""
    positions: list[int] = []
    values: list[str] = []
    events = capture.event_ids
    # Rows of one event are adjacent: their run starts where the event ID changes.
    starts = np.flatnonzero(np.r_[True, events[1:] != events[:-1]]) if len(events) else []
    ends = [*starts[1:], len(events)]
    for start, end in zip(starts, ends, strict=True):
        found = labels.get(events[start])
        if found is not None and len(found) == end - start:
            positions += range(start, end)
            values += found
    return np.array(positions, dtype=int), pd.Series(values, dtype=object)
