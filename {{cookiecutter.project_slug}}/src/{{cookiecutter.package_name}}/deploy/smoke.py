"""The smoke and load test of a deployed endpoint: real `invoke_endpoint` calls with rows that
meet the schema, in CSV as the inference server takes them (serve/), one prediction a row back.

Standard library and boto3 only: CI runs it with the `deploy` dependency group.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .. import config

CSV = "text/csv"
ROWS_PER_REQUEST = 5
# No retries: a retried error would pass as a slow success and hide what the test is for.
CLIENT_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60)


def sample_rows(schema: dict[str, Any], rows: int, seed: int = 0) -> list[list[str]]:
    """Rows of feature values (the target left out, the schema's column order, which is the
    model's) that meet the schema's rules, as CSV text: a declared value, or a number drawn
    within min and max (an integer for an integer column); categories without declared values
    get made-up labels, which the model scores as unseen."""
    rng = random.Random(seed)
    columns = [
        column
        for column in schema["columns"]
        if column["name"] != schema["target"] and column.get("role", "feature") == "feature"
    ]
    table = []
    for _ in range(rows):
        row = []
        for column in columns:
            allowed = column.get("allowed_values")
            integer = column["type"] == "integer"
            if allowed:
                value: Any = rng.choice(allowed)
            elif column["type"] == "category":
                value = f"label {rng.randrange(3)}"
            else:
                low, high = column.get("min"), column.get("max")
                low = (
                    float(low) if low is not None else (float(high) - 10 if high is not None else 0)
                )
                high = float(high) if high is not None else low + 10
                if integer:
                    value = rng.randint(math.ceil(low), math.floor(high))
                else:
                    value = rng.uniform(low, high)
            if column["type"] == "category":
                row.append(str(value))
            elif integer:
                row.append(str(int(value)))
            else:
                row.append(repr(float(value)))
        table.append(row)
    return table


def csv_body(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode()


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with `share` of the values at or below."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


@dataclass
class Result:
    endpoint: str
    requests: int
    rows_per_request: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else math.nan

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 0.99) if self.latencies_ms else math.nan

    def passed(self, max_p99_ms: float) -> bool:
        return (
            not self.errors and len(self.latencies_ms) == self.requests and self.p99 <= max_p99_ms
        )

    def summary(self, max_p99_ms: float) -> str:
        first = f"; first error: {self.errors[0]}" if self.errors else ""
        verdict = "passed" if self.passed(max_p99_ms) else "FAILED"
        return (
            f"smoke-test {self.endpoint}: {verdict}: {self.requests} requests of "
            f"{self.rows_per_request} rows, p50 {self.p50:.1f} ms, p99 {self.p99:.1f} ms "
            f"(limit {max_p99_ms:g} ms), {len(self.errors)} errors{first}"
        )


def check_answer(body: str, rows: int) -> str | None:
    """Why an answer is not one prediction a row (a number first on each line), or None."""
    lines = [line for line in body.splitlines() if line.strip()]
    if len(lines) != rows:
        return f"{len(lines)} predictions for {rows} rows"
    for number, line in enumerate(lines, 1):
        first = line.split(",", 1)[0]
        try:
            float(first)
        except ValueError:
            return f"prediction {number} is not a number: {line[:80]!r}"
    return None


def run(
    runtime: Any,
    endpoint: str,
    requests: int,
    schema_path: Path = config.SCHEMA,
    rows_per_request: int = ROWS_PER_REQUEST,
) -> Result:
    """`requests` calls of invoke_endpoint, each with its own rows; every failure recorded."""
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    result = Result(endpoint, requests, rows_per_request)
    for request in range(requests):
        rows = sample_rows(schema, rows_per_request, seed=request)
        start = time.perf_counter()
        try:
            response = runtime.invoke_endpoint(
                EndpointName=endpoint, ContentType=CSV, Accept=CSV, Body=csv_body(rows)
            )
            body = response["Body"].read().decode("utf-8")
        except (ClientError, BotoCoreError) as error:
            result.errors.append(f"request {request + 1}: {' '.join(str(error).split())}")
            continue
        result.latencies_ms.append((time.perf_counter() - start) * 1000)
        problem = check_answer(body, len(rows))
        if problem:
            result.errors.append(f"request {request + 1}: {problem}")
    return result
