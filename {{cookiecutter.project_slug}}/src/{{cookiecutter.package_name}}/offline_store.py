"""The data set as Feature Store records: the same code locally and in AWS.

A record is a row preprocess validated (contract/frames.py: typed, target first and encoded)
with two more features:
- its record identifier: the schema's first "role": "id" column when it has one, else RECORD_ID,
  a hash of the row's values and of its occurrence among identical rows (two identical rows stay
  two records, so a snapshot holds every row preprocess validated);
- its event time: the schema's "role": "event_time" column (a timestamp pandas reads, UTC where
  it names no zone), else the pipeline run's start; seconds since the epoch (Feature Store's
  Fractional event time: no time-zone format to get wrong).

The offline store (AWS Glue table format) keeps every record ever put, as Parquet files under
<creation folder>/data/year=/month=/day=/hour=/, with the columns Feature Store adds: write_time,
api_invocation_time and is_deleted. The local store (`make local-run`, build/feature-store/) has
the same layout and columns, so one reader serves both.

snapshot() is the point-in-time-correct training set: for each record identifier its latest
record with an event time at or before the as-of time (ties broken by api_invocation_time, then
write_time, the order of AWS's own time-travel query); an identifier whose latest record is a
deletion is left out.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .contract import Schema, SchemaError

RECORD_ID = "record_id"
EVENT_TIME = "event_time"
# The columns Feature Store adds to every record of the offline store.
WRITE_TIME = "write_time"
API_INVOCATION_TIME = "api_invocation_time"
IS_DELETED = "is_deleted"
RESERVED = (WRITE_TIME, API_INVOCATION_TIME, IS_DELETED)
# Feature Store's feature names (CreateFeatureGroup's FeatureDefinition.FeatureName).
FEATURE_NAME = re.compile(r"[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}")
FEATURE_TYPES = {"number": "Fractional", "integer": "Integral", "category": "String"}
# The folder of a feature group's records in its offline store (and the local store).
DATA_FOLDER = "data"
DEFINITIONS_FILE = "feature_group.json"


@dataclass(frozen=True)
class FeatureGroup:
    """What the schema makes of a feature group: its features, in the schema's order (target
    first), and which of them are the record identifier and the event time."""

    features: tuple[tuple[str, str], ...]  # (name, Feature Store type)
    record_identifier: str
    event_time: str
    # The columns of the data that are no model column but a record's identifier or event time.
    id_column: str | None
    event_time_column: str | None

    def definitions(self) -> list[dict[str, str]]:
        """FeatureDefinitions as CreateFeatureGroup and AWS::SageMaker::FeatureGroup take them."""
        return [{"FeatureName": name, "FeatureType": kind} for name, kind in self.features]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.features]


def feature_group(schema: Schema, problem_type: str | None = None) -> FeatureGroup:
    """The feature group of the data set the schema describes.

    Raises SchemaError, in one line naming the fix, for a column Feature Store cannot hold."""
    ids = schema.ids
    times = [c.name for c in schema.columns if c.role == "event_time"]
    if len(times) > 1:
        raise SchemaError(
            f'{schema.source}: more than one column has "role": "event_time": {times}; keep one'
        )
    problem_type = problem_type or schema.problem_type
    features: list[tuple[str, str]] = []
    for name in schema.model_columns:
        kind = FEATURE_TYPES[schema.column(name).type or "category"]
        if name == schema.target:
            # The target as the model learns it: 0/1 for a classification, a number else.
            kind = "Integral" if problem_type == "binary_classification" else "Fractional"
        features.append((name, kind))
    id_column = ids[0] if ids else None
    features.append((id_column or RECORD_ID, "String"))
    features.append((EVENT_TIME, "Fractional"))
    names = [name.lower() for name, _ in features]
    for name, _ in features:
        if not FEATURE_NAME.fullmatch(name):
            raise SchemaError(
                f"{schema.source}: column '{name}' is no Feature Store feature name (letters, "
                "digits, - and _ between them, at most 64); rename it in the data and the schema"
            )
        if name.lower() in RESERVED or names.count(name.lower()) > 1:
            raise SchemaError(
                f"{schema.source}: column '{name}' clashes with a column of the feature group "
                f"({', '.join(RESERVED)}, {RECORD_ID}, {EVENT_TIME}, or another in other case); "
                "rename it in the data and the schema"
            )
    return FeatureGroup(
        tuple(features), id_column or RECORD_ID, EVENT_TIME, id_column, times[0] if times else None
    )


def carried_columns(group: FeatureGroup) -> list[str]:
    """The columns of the data beside the model columns that the records need."""
    return [c for c in (group.id_column, group.event_time_column) if c is not None]


def seconds(time: str | datetime | pd.Timestamp) -> float:
    """A timestamp as seconds since the epoch, UTC where it names no zone."""
    stamp = pd.Timestamp(time)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.timestamp()


def records(
    validated: pd.DataFrame, group: FeatureGroup, run_start: str | datetime
) -> pd.DataFrame:
    """The validated rows (model columns and the carried ones) as the feature group's records."""
    frame = validated.copy()
    model = [name for name in group.names if name not in (group.record_identifier, EVENT_TIME)]
    if group.id_column is None:
        frame[RECORD_ID] = _row_ids(frame[model])
    else:
        frame[group.id_column] = frame[group.id_column].astype("string")
        if frame[group.id_column].isna().any():
            raise ValueError(f"column '{group.id_column}' (the record identifier) has no value")
    if group.event_time_column is None:
        frame[EVENT_TIME] = seconds(run_start)
    else:
        frame[EVENT_TIME] = frame[group.event_time_column].map(seconds)
    return frame[group.names]


def _row_ids(frame: pd.DataFrame) -> list[str]:
    """A hash of each row's values (their CSV text: the same in every process) and of its
    occurrence among identical rows."""
    text = frame.to_csv(index=False, header=False, lineterminator="\n").splitlines()
    seen: dict[str, int] = {}
    ids = []
    for line in text:
        seen[line] = seen.get(line, 0) + 1
        ids.append(hashlib.sha256(f"{line}\n{seen[line]}".encode()).hexdigest()[:32])
    return ids


def snapshot(
    store: pd.DataFrame, group: FeatureGroup, as_of: str | datetime | float
) -> pd.DataFrame:
    """The point-in-time-correct records of the offline store's rows as of `as_of`, sorted by
    record identifier (a snapshot of the same rows is the same frame)."""
    as_of = as_of if isinstance(as_of, float) else seconds(as_of)
    visible = store[store[EVENT_TIME].astype(float) <= as_of]
    order = [group.record_identifier, EVENT_TIME, API_INVOCATION_TIME, WRITE_TIME]
    latest = visible.sort_values(order, kind="stable").groupby(group.record_identifier).tail(1)
    kept = latest[~latest[IS_DELETED].astype(bool)]
    return kept.sort_values(group.record_identifier).reset_index(drop=True)


def model_rows(snapshot_rows: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """A snapshot as preprocess hands rows on: the model columns, typed as validate types them."""
    frame = snapshot_rows[schema.model_columns].copy()
    for name in schema.model_columns:
        kind = schema.column(name).type
        if kind == "integer" or (name == schema.target and schema.labels is not None):
            frame[name] = frame[name].astype("Int64")
        elif kind == "category":
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
        else:
            frame[name] = frame[name].astype(float)
    return frame


# --- the offline store's files -------------------------------------------------------------


def read_store(root: str | Path, name: str, group: FeatureGroup) -> pd.DataFrame:
    """Every record in the offline store's Parquet files under root (a local store, or the
    offline store's prefix as a processing job gets it) of feature group `name`'s newest
    creation: its folder is <name>-<creation time> (or <creation time> under a prefix that ends
    with `<name>-`), and a group made again after a schema change has a folder of its own.
    Columns are matched to the features case-insensitively (the Glue table's are lower case)."""
    creation_folder = re.compile(rf"(?:{re.escape(name)}-)?\d+")
    by_creation: dict[Path, list[Path]] = {}
    for file in sorted(Path(root).rglob("*.parquet")):
        parts = file.relative_to(root).parts
        if DATA_FOLDER in parts:
            creation = Path(root, *parts[: parts.index(DATA_FOLDER)])
            if creation_folder.fullmatch(creation.name):
                by_creation.setdefault(creation, []).append(file)
    columns = [*group.names, *RESERVED]
    if not by_creation:
        raise FileNotFoundError(f"no records of the feature group {name} in {root}")
    newest = max(by_creation, key=_creation_time)
    names = {name.lower(): name for name in columns}
    frames = []
    for file in by_creation[newest]:
        frame = pd.read_parquet(file)
        frame = frame.rename(columns=lambda name: names.get(name.lower(), name))
        frames.append(frame[[name for name in columns if name in frame.columns]])
    store = pd.concat(frames, ignore_index=True)
    missing = [name for name in columns if name not in store.columns]
    if missing:
        raise ValueError(f"the offline store in {newest} has no column {missing[0]!r}")
    return store


def _creation_time(folder: Path) -> int:
    """The creation time an offline store's folder ends with (<group>-<seconds>)."""
    found = re.search(r"(\d+)$", folder.name)
    return int(found.group(1)) if found else 0


def offline_rows(rows: pd.DataFrame, written: datetime, deleted: bool = False) -> pd.DataFrame:
    """Records as the offline store keeps them: with the columns Feature Store adds."""
    frame = rows.copy()
    stamp = pd.Timestamp(written).tz_convert("UTC") if written.tzinfo else pd.Timestamp(written)
    frame[WRITE_TIME] = stamp
    frame[API_INVOCATION_TIME] = stamp
    frame[IS_DELETED] = deleted
    return frame


def write_local(
    store: str | Path,
    name: str,
    group: FeatureGroup,
    rows: pd.DataFrame,
    written: datetime | None = None,
    deleted: bool = False,
) -> list[Path]:
    """Put records into the local offline store of feature group `name`, as Feature Store's
    offline store writes them: a Parquet file a partition (the event time's hour). A group
    whose features changed gets a new creation folder, as a feature group made again would."""
    written = written or datetime.now(UTC)
    folder = _local_creation(Path(store), name, group, written)
    frame = offline_rows(rows, written, deleted)
    hours = pd.to_datetime(frame[EVENT_TIME], unit="s", utc=True).dt.floor("h")
    paths = []
    for hour, part in frame.groupby(hours):
        partition = folder / DATA_FOLDER / hour.strftime("year=%Y/month=%m/day=%d/hour=%H")
        partition.mkdir(parents=True, exist_ok=True)
        path = partition / f"{written:%Y%m%dT%H%M%S%fZ}_{secrets.token_hex(8)}.parquet"
        part.to_parquet(path, index=False)
        paths.append(path)
    return paths


def _local_creation(store: Path, name: str, group: FeatureGroup, written: datetime) -> Path:
    definitions = json.dumps(group.definitions(), indent=2) + "\n"
    folders = sorted(store.glob(f"{name}-*"), key=_creation_time)
    if folders and (folders[-1] / DEFINITIONS_FILE).read_text(encoding="utf-8") == definitions:
        return folders[-1]
    folder = store / f"{name}-{int(written.timestamp())}"
    if folder in folders:
        # The group changed within the second: the next second's folder.
        folder = store / f"{name}-{_creation_time(folders[-1]) + 1}"
    folder.mkdir(parents=True)
    (folder / DEFINITIONS_FILE).write_text(definitions, encoding="utf-8")
    return folder
