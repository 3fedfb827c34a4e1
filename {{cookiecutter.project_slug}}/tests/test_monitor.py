"""The monitor (monitor/, `make local-monitor`, `make local-drift`, the scheduled job's
steps/monitor.py) on traffic made from the configured data set's training split, whatever its
columns: unchanged traffic gives no violation; the same traffic with one feature shifted is
reported on that feature by its schema name; captured requests are read in every format
data capture writes (CSV and JSON, base64, several rows a request) and joined with ground truth
row by row; input it cannot read is refused in one line; the metrics reach CloudWatch."""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import contract, local
from {{ cookiecutter.package_name }}.deploy import monitoring
from {{ cookiecutter.package_name }}.monitor import checks, cli, cloudwatch, report
from {{ cookiecutter.package_name }}.monitor.capture import (
    join_labels,
    read_capture,
    read_ground_truth,
)
from {{ cookiecutter.package_name }}.monitor.reference import (
    load_reference,
    write_reference,
)

# Requests of 1, 2 and 3 rows in turn, cycling through the ways data capture stores a payload.
ROWS_PER_REQUEST = (1, 2, 3)
FORMATS = ("CSV", "JSON", "BASE64-CSV", "BASE64-JSON")
# The only namespace the monitor job's role may publish in (infra/deployment-account.yaml).
NAMESPACE = monitoring.METRICS_NAMESPACE


@pytest.fixture(scope="module")
def reference_dir(local_run) -> Path:
    folder = local_run.output_dir / local.REFERENCE_FOLDER
    assert (folder / "profile.json").is_file(), local_run.out
    return folder


@pytest.fixture(scope="module")
def train(configured) -> tuple[pd.DataFrame, pd.Series, contract.Schema]:
    """The train split: features (categories as text), the target as the model learns it, and
    the schema beside it."""
    split = configured.splits / "train"
    features, target = contract.read_split(split)
    return features, target, contract.load_schema(split / contract.SCHEMA_FILE)


def payload(rows: pd.DataFrame, kind: str) -> dict[str, str]:
    """endpointInput as data capture writes it."""
    if kind.endswith("JSON"):
        records = [
            {name: value for name, value in row.items() if not pd.isna(value)}
            for row in rows.to_dict("records")
        ]
        text, content_type = json.dumps({"instances": records}), "application/json"
    else:
        text, content_type = rows.to_csv(header=False, index=False), "text/csv"
    if kind.startswith("BASE64"):
        return {
            "observedContentType": content_type,
            "mode": "INPUT",
            "data": base64.b64encode(text.encode()).decode(),
            "encoding": "BASE64",
        }
    return {"observedContentType": content_type, "mode": "INPUT", "data": text, "encoding": kind}


def answer(scores: np.ndarray, ids: pd.Series | None) -> str:
    """endpointOutput's CSV as the server writes it: a prediction a line, led by the row's id
    when the request sent it."""
    if ids is None:
        return "".join(f"{float(score)!r}\n" for score in scores)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [i, repr(float(s))] for i, s in zip(ids, scores, strict=True)
    )
    return out.getvalue()


def write_traffic(
    folder: Path,
    rows: pd.DataFrame,
    scores: np.ndarray,
    labels: list[str] | None = None,
    ids: pd.Series | None = None,
) -> tuple[Path, Path]:
    """rows captured as requests of ROWS_PER_REQUEST rows in every format (two files in nested
    hourly folders), and the ground truth of each event: one label a row. With ids (the rows'
    first column), each answer line repeats its row's id, as the server answers."""
    captured, truth = [], []
    start, number = 0, 0
    while start < len(rows):
        size = ROWS_PER_REQUEST[number % len(ROWS_PER_REQUEST)]
        chunk, event = rows.iloc[start : start + size], f"event-{number}"
        part = None if ids is None else ids.iloc[start : start + size]
        output = answer(scores[start : start + size], part)
        record = {
            "captureData": {
                "endpointInput": payload(chunk, FORMATS[number % len(FORMATS)]),
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "mode": "OUTPUT",
                    "data": output,
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": event, "inferenceTime": "2026-01-01T00:00:00Z"},
            "eventVersion": "0",
        }
        captured.append(json.dumps(record))
        if labels is not None:
            data = "\n".join(labels[start : start + size])
            truth.append(
                json.dumps(
                    {
                        "groundTruthData": {"data": data, "encoding": "CSV"},
                        "eventMetadata": {"eventId": event},
                        "eventVersion": "0",
                    }
                )
            )
        start, number = start + size, number + 1
    capture, ground_truth = folder / "capture", folder / "ground-truth"
    half = len(captured) // 2
    for index, part in enumerate((captured[:half], captured[half:])):
        path = capture / "2026" / "01" / f"{index:02d}" / "capture.jsonl"
        path.parent.mkdir(parents=True)
        path.write_text("".join(line + "\n" for line in part), encoding="utf-8")
    ground_truth.mkdir(parents=True)
    (ground_truth / "labels.jsonl").write_text("\n".join(truth) + "\n", encoding="utf-8")
    return capture, ground_truth


def shifted(features: pd.DataFrame, schema: contract.Schema) -> tuple[str, pd.DataFrame]:
    """A copy with one feature moved: the first number (by three standard deviations, whole
    ones for an integer), else the first category (every row the rarest one, or a new one)."""
    data = features.copy()
    numbers = [name for name in schema.features if name not in schema.categories]
    if numbers:
        name = numbers[0]
        values = pd.to_numeric(data[name])
        step = 3 * float(values.std()) if values.std() > 0 else 1.0
        if schema.column(name).type == "integer":
            step = max(1.0, float(np.ceil(step)))
        data[name] = values + step
        return name, data
    name = schema.categories[0]
    counts = data[name].value_counts()
    data[name] = counts.index[-1] if len(counts) > 1 else f"{counts.index[0]}-shifted"
    return name, data


def label_text(target: pd.Series, schema: contract.Schema) -> list[str]:
    """The target as ground truth carries it: the schema's labels for a text target."""
    if schema.labels is not None:
        negative, positive = schema.labels
        return [positive if value == 1 else negative for value in target]
    return [repr(float(value)) for value in target]


@pytest.fixture(scope="module")
def unchanged(reference_dir, train, tmp_path_factory):
    """The training rows captured unchanged, scored perfectly, with their ground truth."""
    features, target, schema = train
    folder = tmp_path_factory.mktemp("unchanged")
    capture, truth = write_traffic(
        folder, features, target.to_numpy(dtype=float), label_text(target, schema)
    )
    violations, summary = cli.run(
        reference_dir, folder / "out", capture, ground_truth_dir=truth, quality_floor=0.5
    )
    return folder, violations, summary


def test_unchanged_traffic_gives_no_violation_in_any_capture_format(
    unchanged, train, reference_dir
):
    folder, violations, summary = unchanged
    assert violations == []
    assert summary["rows"] == len(train[0])
    # Every check of this reference (bias drift too, with the bias report's baseline).
    assert summary["checks"] == dict.fromkeys(checks.checks_of(load_reference(reference_dir)), 0)
    # Every row joined with its own label, across multi-row requests.
    assert summary["model_quality"]["labelled_rows"] == len(train[0])
    written = json.loads((folder / "out" / report.VIOLATIONS_FILE).read_text(encoding="utf-8"))
    assert written["violations"] == []
    assert {d["feature_name"] for d in written["drift"]} <= set(train[2].features)
    page = (folder / "out" / report.REPORT_FILE).read_text(encoding="utf-8")
    assert "No violation" in page
    assert (folder / "out" / report.DRIFT_REPORT_FILE).stat().st_size > 0


def test_one_shifted_feature_is_reported_by_its_schema_name(reference_dir, train, tmp_path):
    features, _, schema = train
    name, moved = shifted(features, schema)
    capture, _ = write_traffic(tmp_path, moved, np.zeros(len(moved)))
    violations, summary = cli.run(reference_dir, tmp_path / "out", capture)
    # Scores of 0 predict nothing positive, which may move the facet's bias too (bias drift).
    violations = [v for v in violations if v.check != "bias_drift"]
    assert {v.feature_name for v in violations} == {name}
    assert checks.DATA_DRIFT in {v.check for v in violations}
    assert summary["checks"][checks.DATA_DRIFT] == 1
    written = json.loads((tmp_path / "out" / report.VIOLATIONS_FILE).read_text(encoding="utf-8"))
    reported = [v for v in written["violations"] if v["check"] != "bias_drift"]
    assert {v["feature_name"] for v in reported} == {name}
    assert set(written["violations"][0]) == {"feature_name", "check", "description"}
    assert name in (tmp_path / "out" / report.REPORT_FILE).read_text(encoding="utf-8")


def test_model_quality_below_the_floor_is_reported_on_the_target(reference_dir, train, tmp_path):
    """Ground truth joined by event: scores that invert every label fall below any floor."""
    features, target, schema = train
    rows = features.iloc[:60]
    labels = target.iloc[:60]
    if labels.nunique() < 2:
        labels = labels.copy()
        labels.iloc[0] = 1 - labels.iloc[0] if schema.labels else labels.iloc[0] + 1
    inverted = -labels.to_numpy(dtype=float)
    capture, truth = write_traffic(tmp_path, rows, inverted, label_text(labels, schema))
    reference = load_reference(reference_dir)
    positions, joined = join_labels(
        read_capture(capture, reference.features, reference.categories), read_ground_truth(truth)
    )
    assert list(positions) == list(range(len(rows)))
    assert list(joined) == label_text(labels, schema)
    summary, found = checks.model_quality(joined, inverted[positions], reference, 0.5)
    assert [(v.feature_name, v.check) for v in found] == [(schema.target, checks.MODEL_QUALITY)]
    assert summary["labelled_rows"] == len(rows)
    # One labelled row: no metric to judge (R² and AUC are undefined), no violation, and a
    # summary that violations.json can hold (no NaN).
    summary, found = checks.model_quality(joined[:1], inverted[positions][:1], reference, 0.5)
    assert found == [] and summary["labelled_rows"] == 1 and "note" in summary
    json.dumps(summary, allow_nan=False)


def test_a_csv_file_with_a_shifted_feature_is_reported_as_local_drift_reports_it(
    make_dataset, tmp_path, capsys
):
    """`make local-drift DATA=new.csv`, on a small generated data set: its own reference from
    its train split, then a copy with one feature shifted."""
    frame, schema = make_dataset("regression")
    train = tmp_path / "train"
    train.mkdir()
    frame.to_csv(train / "train.csv", index=False)
    (train / contract.SCHEMA_FILE).write_text(json.dumps(schema), encoding="utf-8")
    write_reference(train, tmp_path / "reference")
    features = frame.drop(columns=[schema["target"]])
    name, moved = shifted(features, contract.parse_schema(schema))
    moved.to_csv(tmp_path / "new.csv", index=False)
    argv = ["--data", str(tmp_path / "new.csv"), "--reference", str(tmp_path / "reference")]
    assert cli.main([*argv, "--output", str(tmp_path / "out")]) == 0
    *lines, last = capsys.readouterr().out.splitlines()
    assert lines and all(f" {name}: " in line for line in lines), lines
    assert " in 1 feature: " in last
    written = json.loads((tmp_path / "out" / report.VIOLATIONS_FILE).read_text(encoding="utf-8"))
    assert {v["feature_name"] for v in written["violations"]} == {name}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 1 is not JSON"),
        ('{"captureData": {}}', "endpointInput has no 'data' text"),
        (
            json.dumps(
                {
                    "captureData": {
                        "endpointInput": {"data": "@@", "encoding": "BASE64"},
                        "endpointOutput": {"data": "1", "encoding": "CSV"},
                    }
                }
            ),
            "is not base64 of UTF-8 text",
        ),
    ],
)
def test_unreadable_capture_is_refused_in_one_line(reference_dir, tmp_path, capsys, line, message):
    (tmp_path / "capture").mkdir()
    (tmp_path / "capture" / "bad.jsonl").write_text(line + "\n", encoding="utf-8")
    argv = ["--capture", str(tmp_path / "capture"), "--reference", str(reference_dir)]
    assert cli.main([*argv, "--output", str(tmp_path / "out")]) == cli.EXIT_REFUSED
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and message in err[0], err


def test_no_capture_or_no_reference_is_refused_in_one_line(reference_dir, tmp_path, capsys):
    argv = ["--capture", str(tmp_path), "--reference", str(reference_dir), "--output", "out"]
    assert cli.main(argv) == cli.EXIT_REFUSED
    assert capsys.readouterr().err.strip() == f"monitor: no *.jsonl file under {tmp_path}"
    argv = ["--capture", str(tmp_path), "--reference", str(tmp_path), "--output", "out"]
    assert cli.main(argv) == cli.EXIT_REFUSED
    assert "make local-run" in capsys.readouterr().err


def test_requests_sent_with_ids_are_read_as_the_same_requests_without(
    reference_dir, train, tmp_path
):
    """Rows sent with the schema's id columns (leading each CSV line, or in each JSON instance)
    are answered with their ids before the prediction (serve/scoring.py): the monitor reads the
    same rows and predictions as without them, and an id is no undeclared column."""
    features, target, _ = train
    rows, scores = features.iloc[:24], target.to_numpy(dtype=float)[:24]
    tickets = pd.Series([f"T,{n}" for n in range(len(rows))], index=rows.index, name="ticket")
    plain, _ = write_traffic(tmp_path / "plain", rows, scores)
    led, _ = write_traffic(
        tmp_path / "led", pd.concat([tickets, rows], axis=1), scores, ids=tickets
    )
    reference = load_reference(reference_dir)
    raw = {**reference.schema.raw}
    raw["columns"] = [*raw["columns"], {"name": "ticket", "type": "category", "role": "id"}]
    with_ids = dataclasses.replace(
        reference, schema=contract.parse_schema(raw, reference.schema.source)
    )
    names = reference.features, reference.categories
    expected = read_capture(plain, *names)
    captured = read_capture(led, *names, ["ticket"])
    np.testing.assert_array_equal(captured.scores, expected.scores)
    pd.testing.assert_frame_equal(
        captured.rows[reference.features].astype(str), expected.rows.astype(str)
    )
    # The same findings as without the ids (a small window may break a missing-value rule).
    found = checks.data_quality(captured.rows, with_ids)[1]
    assert found == checks.data_quality(expected.rows, reference)[1]
    assert "ticket" not in {violation.feature_name for violation in found}


def test_data_quality_uses_the_contracts_rules_and_names_each_feature(reference_dir, train):
    """A missing feature, an undeclared column, a wrong type and an unseen category, each on its
    column in the contract's words."""
    features, _, schema = train
    reference = load_reference(reference_dir)
    rows = features.iloc[:20].astype(object).copy()
    missing = schema.features[-1]
    rows = rows.drop(columns=[missing])
    rows["not_a_feature"] = 1
    found = {
        (v.feature_name, v.description.split(":")[0])
        for v in checks.data_quality(rows, reference)[1]
    }
    assert (missing, f"column '{missing}' breaks rule 'required'") in found
    assert ("not_a_feature", "column 'not_a_feature' breaks rule 'declared'") in found
    first = schema.features[0]
    if first != missing:
        rows[first] = "not-a-value"
        lines = {
            v.description
            for v in checks.data_quality(rows, reference)[1]
            if v.feature_name == first
        }
        column = schema.column(first)
        expected = "type"
        if column.type == "category":
            expected = "allowed values" if column.allowed_values else "category seen in training"
        assert any(f"column '{first}' breaks rule '{expected}" in line for line in lines), lines


@pytest.mark.principal("MonitorJobRole")
def test_every_check_is_published_to_cloudwatch_every_run(unchanged, aws, monkeypatch, tmp_path):
    """The command line publishes a datum per check, 0 included (the unchanged traffic's
    result stands in for a second run of the checks)."""
    _, violations, summary = unchanged
    monkeypatch.setattr(cli, "run", lambda *args: (violations, summary))
    argv = ["--capture", str(tmp_path), "--reference", str(tmp_path), "--output", str(tmp_path)]
    assert cli.main([*argv, "--metrics-namespace", NAMESPACE, "--endpoint-name", "ep"]) == 0
    listed = boto3.client("cloudwatch").list_metrics(Namespace=NAMESPACE)["Metrics"]
    published = {
        (m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
        for m in listed
    }
    assert published == {
        (cloudwatch.METRIC, (("Check", check), ("Endpoint", "ep"))) for check in summary["checks"]
    }
