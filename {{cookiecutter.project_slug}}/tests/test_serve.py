"""The inference server, started for real as `python -m <package>.serve serve` on a free port of
127.0.0.1 and called over HTTP: it answers what `make predict` (predict.score) answers for the
same rows, in CSV and JSON, and refuses malformed requests with a 4xx and one line, naming the
column and the rule when a value breaks the schema (preprocess's own message)."""

from __future__ import annotations

import contextlib
import csv
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import contract, predict, registry
from {{ cookiecutter.package_name }}.serve import app, scoring
from {{ cookiecutter.package_name }}.serve.parsing import NA_TEXT
from {{ cookiecutter.package_name }}.serve.request import (
    CSV,
    JSON,
    MAX_BODY_BYTES,
    MAX_ROWS,
    MAX_ROWS_ENV,
    NAMES_SHOWN,
    RequestError,
    negotiate,
)

PACKAGE = "{{ cookiecutter.package_name }}"
PROBLEM_TYPES = ["binary_classification", "regression"]
# A loaded CI machine takes seconds to import xgboost and pandas in a fresh process.
START_TIMEOUT = 120
# The servers' client timeout here: long enough for any request these tests send at once, short
# enough that the test of slow clients waits little.
CLIENT_TIMEOUT = 2
Call = Callable[..., tuple[int, str, str]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(model_dir: Path, schema: Path, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        f"{PACKAGE}.serve",
        "serve",  # as SageMaker runs the image: `docker run <image> serve`
        "--model-dir",
        str(model_dir),
        "--schema",
        str(schema),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--client-timeout",
        str(CLIENT_TIMEOUT),
    ]


def wait_for_ping(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"no 200 from {url}/ping within {START_TIMEOUT} s")


@pytest.fixture(scope="module")
def server() -> Iterator[Callable[[Path, Path], str]]:
    """server(model_dir, schema) -> base URL of a server started for that model (once each)."""
    started: dict[tuple[Path, Path], tuple[subprocess.Popen, str]] = {}

    def start(model_dir: Path, schema: Path) -> str:
        if (model_dir, schema) not in started:
            port = free_port()
            process = subprocess.Popen(
                serve_command(model_dir, schema, port),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            url = f"http://127.0.0.1:{port}"
            started[model_dir, schema] = process, url
            wait_for_ping(process, url)
        return started[model_dir, schema][1]

    yield start
    for process, _ in started.values():
        process.terminate()
        process.wait(timeout=30)


def call(url: str, body: bytes, content_type: str, accept: str | None = None) -> tuple:
    """POST /invocations: (status, media type, text)."""
    headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
    request = urllib.request.Request(f"{url}/invocations", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, media, data = response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        status, media, data = error.code, error.headers["Content-Type"], error.read()
    return status, media.split(";")[0], data.decode("utf-8")


def csv_body(rows: pd.DataFrame, header: bool = False) -> bytes:
    """Rows as a client sends them: no header (unless asked), a missing value empty."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    if header:
        writer.writerow(rows.columns)
    writer.writerows(rows.astype(object).where(rows.notna(), "").itertuples(index=False))
    return text.getvalue().encode()


def json_body(rows: pd.DataFrame) -> list[dict]:
    return [
        {name: (None if pd.isna(value) else value) for name, value in record.items()}
        for record in rows.astype(object).to_dict(orient="records")
    ]


def expected_scores(model_dir: Path, rows: pd.DataFrame, schema: contract.Schema) -> list:
    """What `make predict` gives: [(probability, label)] or [prediction] for each row."""
    scored, _ = predict.score(predict.load(model_dir), rows, schema)
    if schema.problem_type == "binary_classification":
        pairs = zip(scored["probability"], scored["predicted_label"], strict=True)
        return [(float(p), label) for p, label in pairs]
    return [float(p) for p in scored["prediction"]]


def from_csv(text: str, problem_type: str) -> list:
    lines = [line.split(",") for line in text.splitlines()]
    if problem_type == "binary_classification":
        return [(float(p), label) for p, label in lines]
    return [float(p) for (p,) in lines]


def from_json(text: str, problem_type: str) -> list:
    predictions = json.loads(text)["predictions"]
    if problem_type == "binary_classification":
        return [(p["probability"], p["predicted_label"]) for p in predictions]
    return [p["prediction"] for p in predictions]


def as_text(scores: list) -> list:
    """Labels as a CSV answer spells them (1, yes)."""
    if scores and isinstance(scores[0], tuple):
        return [(p, str(label)) for p, label in scores]
    return scores


def schema_of(path: Path) -> contract.Schema:
    return contract.load_schema(path)


@pytest.fixture(scope="module")
def configured_url(server, configured) -> str:
    return server(configured.model, configured.schema)


def test_ping_answers_200_once_the_model_is_loaded(configured_url):
    with urllib.request.urlopen(f"{configured_url}/ping", timeout=10) as response:
        assert response.status == 200


def test_csv_rows_score_as_make_predict_does(configured_url, configured, make_rows):
    schema = schema_of(configured.schema)
    rows = make_rows(schema, rows=60, seed=5, with_target=False)
    expected = expected_scores(configured.model, rows, schema)
    status, media, text = call(configured_url, csv_body(rows), "text/csv")
    assert (status, media) == (200, "text/csv")
    assert from_csv(text, schema.problem_type) == as_text(expected)
    # A header row naming the features in the model's order is accepted, and changes nothing.
    assert call(configured_url, csv_body(rows, header=True), "text/csv") == (200, media, text)


def test_json_in_and_out_and_across(configured_url, configured, make_rows):
    schema = schema_of(configured.schema)
    rows = make_rows(schema, rows=30, seed=6, with_target=False)
    expected = expected_scores(configured.model, rows, schema)
    instances = json_body(rows)
    for body in ({"instances": instances}, instances):
        status, media, text = call(configured_url, json.dumps(body).encode(), "application/json")
        assert (status, media) == (200, "application/json")
        assert from_json(text, schema.problem_type) == expected
    # The Accept header chooses the answer's type.
    status, media, text = call(configured_url, csv_body(rows), "text/csv", "application/json")
    assert (status, media) == (200, "application/json")
    assert from_json(text, schema.problem_type) == expected
    body = json.dumps({"instances": instances}).encode()
    status, media, text = call(configured_url, body, "application/json", "text/csv")
    assert (status, media) == (200, "text/csv")
    assert from_csv(text, schema.problem_type) == as_text(expected)


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_category_columns_and_missing_values_score_as_make_predict_does(
    problem_type, server, mixed_project, make_rows
):
    project = mixed_project(problem_type)
    schema = schema_of(project.schema)
    url = server(project.model, project.schema)
    rows = make_rows(schema, rows=40, seed=7, with_target=False)
    # Seen, unseen (scored as missing) and missing categories; a missing number.
    rows.loc[:3, "region"] = ["north", "atlantis", None, "south"]
    rows.loc[4, "usage"] = None
    expected = expected_scores(project.model, rows, schema)
    status, _, text = call(url, csv_body(rows), "text/csv")
    assert status == 200, text
    assert from_csv(text, problem_type) == as_text(expected)
    body = json.dumps({"instances": json_body(rows)}).encode()
    status, _, text = call(url, body, "application/json")
    assert status == 200, text
    assert from_json(text, problem_type) == expected


def test_ids_sent_with_the_rows_come_back_with_their_predictions(mixed_project, make_rows):
    """A schema's "role": "id" columns may lead each CSV line (all lines or none) or sit in each
    JSON instance: the answer repeats them beside the row's prediction, which is the one the row
    gets without them, so that predictions join back (batch transform's output lines too)."""
    project = mixed_project("binary_classification")
    raw = json.loads(project.schema.read_text(encoding="utf-8"))
    raw["columns"].insert(2, {"name": "ticket", "type": "category", "role": "id"})
    scorer = scoring.Scorer(predict.load(project.model), raw, "mixed.json")
    rows = make_rows(schema_of(project.schema), rows=6, seed=3, with_target=False)
    features = rows[scorer.features]
    tickets = [f"T,{n}" for n in range(6)]  # a comma: quoted in the answer's CSV
    plain, _ = scorer.invoke(CSV, CSV, csv_body(features))
    with_ids = pd.concat([pd.Series(tickets, name="ticket"), features], axis=1)
    for header in (False, True):
        answer, _ = scorer.invoke(CSV, CSV, csv_body(with_ids, header))
        lines = list(csv.reader(io.StringIO(answer.decode())))
        assert [line[0] for line in lines] == tickets
        assert [",".join(line[1:]) for line in lines] == plain.decode().splitlines()
    instances = json_body(with_ids)
    del instances[1]["ticket"]  # an instance without its id is answered without one
    answer, _ = scorer.invoke(JSON, JSON, json.dumps(instances).encode())
    predictions = json.loads(answer)["predictions"]
    assert [p.get("ticket") for p in predictions] == [tickets[0], None, *tickets[2:]]
    assert from_json(answer.decode(), "binary_classification") == from_csv(
        plain.decode(), "binary_classification"
    )
    mixed = csv_body(with_ids).splitlines(keepends=True)[:2] + csv_body(features).splitlines()[2:]
    with pytest.raises(RequestError, match="every line led by the ids \\(ticket\\) or none"):
        scorer.invoke(CSV, CSV, b"".join(mixed[:2]) + b"\n".join(mixed[2:]))


def breakable(schema: contract.Schema) -> tuple[str, str]:
    """A feature and a value that breaks one of its rules, whatever the schema."""
    for name in schema.features:
        column = schema.column(name)
        if column.type != "category":
            return name, "not a number"
        if column.allowed_values is not None:
            return name, "not-an-allowed-value"
    pytest.skip("every feature is a category without allowed_values: no value breaks a rule")


def validation_message(rows: pd.DataFrame, schema: contract.Schema) -> str:
    with pytest.raises(contract.DataValidationError) as refused:
        contract.validate(rows, schema, schema.problem_type, with_target=False)
    return " | ".join(str(refused.value).splitlines())


def test_a_value_that_breaks_the_schema_is_refused_with_preprocess_message(
    configured_url, configured, make_rows
):
    schema = schema_of(configured.schema)
    rows = make_rows(schema, rows=5, seed=8, with_target=False)
    name, value = breakable(schema)
    rows.loc[2, name] = value
    expected = validation_message(rows, schema)
    assert f"column '{name}'" in expected and "first at row 3" in expected
    for body, content_type in [
        (csv_body(rows), "text/csv"),
        (json.dumps({"instances": json_body(rows)}).encode(), "application/json"),
    ]:
        assert call(configured_url, body, content_type) == (400, "text/plain", expected + "\n")


def test_every_rule_of_every_column_type_gives_preprocess_message(server, mixed_project, make_rows):
    project = mixed_project("binary_classification")
    schema = schema_of(project.schema)
    url = server(project.model, project.schema)
    rows = make_rows(schema, rows=6, seed=9, with_target=False)
    rows.loc[1, "plan"] = "gold"  # allowed values of a category
    rows.loc[2, "usage"] = "-1"  # min
    rows.loc[3, "tenure"] = "2.5"  # type integer
    rows.loc[4, "tenure"] = "101"  # max
    rows.loc[5, "usage"] = "lots"  # type number
    expected = validation_message(rows, schema)
    assert expected.count(" | ") == 4
    assert call(url, csv_body(rows), "text/csv") == (400, "text/plain", expected + "\n")
    # A number written for people gets the same remedy as in predict: write it plainly.
    rows = make_rows(schema, rows=2, seed=9, with_target=False).assign(usage=["$1,234.50", "7"])
    expected = validation_message(rows, schema)
    assert "write the numbers plainly" in expected
    assert call(url, csv_body(rows), "text/csv") == (400, "text/plain", expected + "\n")


def one_line_refusal(status: int, media: str, text: str, expected_status: int) -> None:
    assert (status, media) == (expected_status, "text/plain"), text
    assert len(text.strip().splitlines()) == 1 and "Traceback" not in text


def malformed(good: bytes) -> dict[str, tuple[bytes, str, str | None, int]]:
    """Requests to refuse, made from a good CSV body: (body, content type, accept, status)."""
    first = good.splitlines()[0]
    return {
        "unclosed quote": (b'"' + good, "text/csv", None, 400),
        "a value too many": (good + first + b",1\n", "text/csv", None, 400),
        # One feature: a line with none left is blank, which is no row.
        "a value too few": (
            first.rsplit(b",", 1)[0] * (b"," in first) + b"\n",
            "text/csv",
            None,
            400,
        ),
        "not UTF-8": (b"\xff\xfe" + good, "text/csv", None, 400),
        "no rows": (b"", "text/csv", None, 400),
        "not JSON": (b"{", "application/json", None, 400),
        "not instances": (b'{"rows": 1}', "application/json", None, 400),
        "unknown name": (b'[{"no such feature": 1}]', "application/json", None, 400),
        "unsupported type": (good, "text/plain", None, 415),
        "no type": (good, "", None, 415),
        "unsupported accept": (good, "text/csv", "text/html", 406),
    }


@pytest.mark.parametrize("case", list(malformed(b"1,2\n")))
def test_malformed_requests_get_a_4xx_and_one_line(case, configured_url, configured, make_rows):
    schema = schema_of(configured.schema)
    rows = make_rows(schema, rows=3, seed=10, with_target=False)
    body, content_type, accept, status = malformed(csv_body(rows))[case]
    one_line_refusal(*call(configured_url, body, content_type, accept), status)


def test_a_row_of_the_wrong_width_is_named_by_its_line(configured_url, configured, make_rows):
    schema = schema_of(configured.schema)
    good = csv_body(make_rows(schema, rows=3, seed=10, with_target=False))
    status, _, text = call(configured_url, good + good.splitlines()[0] + b",1\n", "text/csv")
    assert status == 400
    assert text.startswith(f"line 4 has {len(schema.features) + 1} values")
    assert f"the model takes {len(schema.features)} features" in text


def test_requests_over_the_limits_get_413(configured_url, configured, make_rows):
    schema = schema_of(configured.schema)
    rows = make_rows(schema, rows=1, seed=11, with_target=False)
    too_many = csv_body(rows) * (MAX_ROWS + 1)
    if len(too_many) <= MAX_BODY_BYTES:
        one_line_refusal(*call(configured_url, too_many, "text/csv"), 413)
    # A body announced over the byte limit is refused before it is sent.
    host, port = configured_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/invocations")
    connection.putheader("Content-Type", "text/csv")
    connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    connection.endheaders()
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    one_line_refusal(response.status, response.headers["Content-Type"].split(";")[0], text, 413)


def test_a_refusal_stays_short_whatever_the_request_holds(server, mixed_project):
    project = mixed_project("binary_classification")
    url = server(project.model, project.schema)
    # 20,000 names the schema does not declare, one of them a megabyte long.
    instance = {f"unknown_{i}": 1 for i in range(20_000)} | {"x" * 1_000_000: 1}
    status, media, text = call(url, json.dumps([instance]).encode(), "application/json")
    one_line_refusal(status, media, text, 400)
    assert len(text) < 2000, len(text)
    assert text.count("breaks rule 'declared'") == NAMES_SHOWN
    assert f"and {20_001 - NAMES_SHOWN} more names not in" in text
    # A value of a megabyte that breaks a rule is shown cut short.
    rows = "\n".join(["x" * 1_000_000 + ",1,2,south"])
    status, media, text = call(url, f"usage,tenure,plan,region\n{rows}\n".encode(), "text/csv")
    one_line_refusal(status, media, text, 400)
    assert len(text) < 2000, len(text)


def test_json_values_that_are_no_numbers_break_the_type_rule(server, mixed_project, make_rows):
    """true is no number (numpy would take it for 1), nor an integer beyond a float's range."""
    project = mixed_project("regression")
    schema = schema_of(project.schema)
    url = server(project.model, project.schema)
    for value in (True, False, 10**400, -(10**400)):
        instances = json_body(make_rows(schema, rows=3, seed=13, with_target=False))
        instances[1]["usage"] = value
        status, media, text = call(url, json.dumps(instances).encode(), "application/json")
        one_line_refusal(status, media, text, 400)
        assert text.startswith(
            "column 'usage' breaks rule 'type number': 1 of 3 rows, first at row 2"
        )


def test_blank_lines_count_against_the_row_cap(configured_url, configured, make_rows):
    schema = schema_of(configured.schema)
    row = csv_body(make_rows(schema, rows=1, seed=14, with_target=False))
    body = b"\n" * MAX_ROWS + row
    one_line_refusal(*call(configured_url, body, "text/csv"), 413)
    status, _, text = call(configured_url, b"\n" * 10 + row, "text/csv")
    assert status == 200, text


@pytest.mark.parametrize(
    "accept, request_type, answer",
    [
        ("text/csv;q=0, application/json", "text/csv", "application/json"),
        ("application/json;q=0.5, text/csv;q=0.9", "application/json", "text/csv"),
        ("*/*;q=0.1, application/json;q=0", "application/json", "text/csv"),
        ("text/*, application/json", "application/json", "text/csv"),
        ("application/json, text/csv", "text/csv", "application/json"),
        ("*/*", "application/json", "application/json"),
        ("text/csv;q=0", "text/csv", None),
        ("*/*;q=0", "application/json", None),
        ("text/html, application/*;q=0", "application/json", None),
    ],
)
def test_accept_weighs_each_type_by_its_q(accept, request_type, answer):
    if answer is None:
        with pytest.raises(RequestError) as refused:
            negotiate(accept, request_type)
        assert refused.value.status == 406
    else:
        assert negotiate(accept, request_type) == answer


def test_q_0_is_honoured_over_http(configured_url, configured, make_rows):
    schema = schema_of(configured.schema)
    body = csv_body(make_rows(schema, rows=2, seed=15, with_target=False))
    status, media, _ = call(configured_url, body, "text/csv", "text/csv;q=0, application/json")
    assert (status, media) == (200, "application/json")
    one_line_refusal(*call(configured_url, body, "text/csv", "text/csv;q=0"), 406)


def test_a_head_past_its_limit_gets_431(configured_url):
    from {{ cookiecutter.package_name }}.serve import protocol

    host, port = configured_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("POST", "/invocations", b"1", {"X-Filler": "x" * protocol.MAX_HEAD_BYTES})
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    one_line_refusal(response.status, response.headers["Content-Type"].split(";")[0], text, 431)
    # One that never ends is refused as soon as it passes the limit, not read to the end.
    host, port = configured_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(b"GET /ping HTTP/1.1\r\nX-Filler: ")
        with contextlib.suppress(OSError):  # the server may close before all is sent
            for _ in range(1000):
                connection.sendall(b"y" * 65536)
        assert connection.recv(65536).startswith(b"HTTP/1.1 431 ")


def test_idle_and_slow_clients_are_cut_off(configured_url):
    """A connection that sends nothing, a head that stops half way, a body that stops half way:
    each is closed after the client timeout, the two requests with a 408 and one line."""
    host, port = configured_url.removeprefix("http://").split(":")
    started = time.monotonic()
    sockets = [socket.create_connection((host, int(port)), timeout=30) for _ in range(3)]
    _, slow_head, slow_body = sockets
    slow_head.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\n")
    slow_body.sendall(
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        b"Content-Length: 100\r\n\r\n1,2,3"
    )
    answers = []
    for connection in sockets:
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
        answers.append(answer)
        connection.close()
    assert time.monotonic() - started >= CLIENT_TIMEOUT * 0.9
    assert answers[0] == b""
    for answer, part in zip(answers[1:], ("head", "body"), strict=True):
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        text = answer.split(b"\r\n\r\n", 1)[1].decode()
        assert text == f"the request's {part} did not arrive within {CLIENT_TIMEOUT} s\n"


def test_missing_values_are_those_preprocess_reads_as_missing():
    for value in NA_TEXT:
        frame = pd.read_csv(io.StringIO(f"a,b\n{value},1\n"), dtype=str)
        assert frame["a"].isna().all(), value


# Run in a fresh interpreter where the steps', pipeline's and bench's packages cannot be imported,
# as in the serving image: xgboost still imports scikit-learn when it is installed, so the test
# hides them rather than looking for them afterwards.
WITHOUT_OTHER_GROUPS = """
import importlib, importlib.abc, json, sys

ABSENT = set(sys.argv[1].split(","))


class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ABSENT:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, Absent())
package = sys.argv[2]
importlib.import_module(f"{package}.serve.__main__")
importlib.import_module(f"{package}.serve.app")
scoring = importlib.import_module(f"{package}.serve.scoring")
scorer = scoring.Scorer.load(sys.argv[3], sys.argv[4])
answer, media = scorer.invoke("application/json", None, sys.argv[5].encode())
print(json.dumps(dict(modules=sorted(sys.modules), media=media)))
"""
OTHER_GROUPS = {"sklearn", "matplotlib", "boto3", "botocore", "sagemaker", "flask", "gunicorn"}


def test_the_server_needs_nothing_from_the_steps_or_pipeline_groups(configured, make_rows):
    schema = schema_of(configured.schema)
    rows = make_rows(schema, rows=2, seed=12, with_target=False)
    argv = [",".join(OTHER_GROUPS), PACKAGE, str(configured.model), str(configured.schema)]
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_OTHER_GROUPS, *argv, json.dumps(json_body(rows))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["media"] == "application/json"
    imported = {name.split(".")[0] for name in answer["modules"]}
    assert {"starlette", "uvicorn", "xgboost"} <= imported
    assert imported & OTHER_GROUPS == set()


def start_failure(model_dir: Path, schema: Path) -> tuple[int, list[str]]:
    """The entry point's exit code and error lines when it cannot start (in this process: it
    stops before uvicorn starts)."""
    from {{ cookiecutter.package_name }}.serve.__main__ import main

    error = io.StringIO()
    with contextlib.redirect_stderr(error):
        code = main(["serve", "--model-dir", str(model_dir), "--schema", str(schema)])
    return code, error.getvalue().strip().splitlines()


def test_a_missing_model_stops_the_server_with_one_line(tmp_path, configured):
    assert start_failure(tmp_path, configured.schema) == (
        1,
        [f"serve failed: no model file xgboost-model in {tmp_path}"],
    )


def test_a_bad_row_cap_stops_the_server_with_one_line(configured, monkeypatch):
    monkeypatch.setenv(MAX_ROWS_ENV, "lots")
    assert start_failure(configured.model, configured.schema) == (
        1,
        [f"serve failed: {MAX_ROWS_ENV}='lots': expected a positive whole number of rows"],
    )


def test_make_serve_serves_the_registrys_last_passing_run_and_says_which(
    configured, tmp_path, monkeypatch
):
    """`make serve` (--registry-dir) picks the model as `make predict` does and names it in one
    line; without a passing run it stops with one line."""
    from {{ cookiecutter.package_name }}.serve import __main__ as entry

    folder = tmp_path / "registry"
    argv = ["--registry-dir", str(folder), "--schema", str(configured.schema)]
    error = io.StringIO()
    with contextlib.redirect_stderr(error):
        assert entry.main(argv) == 1
    assert error.getvalue() == (
        f"serve failed: no model in {folder} has passed the quality gate: "
        "run `make local-run` first\n"
    )
    registry.register(folder, configured.model, 0.5)
    started = []
    monkeypatch.setattr(entry.uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    monkeypatch.setenv(app.MODEL_DIR_ENV, "")  # main sets it for the workers
    error = io.StringIO()
    with contextlib.redirect_stderr(error):
        assert entry.main(argv) == 0
    assert error.getvalue() == (
        f"serve: model v0001 of {folder} (PendingManualApproval, the last run that passed the "
        "gate)\n"
    )
    assert os.environ[app.MODEL_DIR_ENV] == str((folder / "v0001").resolve())
    assert started and started[0]["host"] == "127.0.0.1"
