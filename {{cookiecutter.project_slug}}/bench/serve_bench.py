"""Throughput and latency of the inference server against Flask on gunicorn (`make bench`).

    python bench/serve_bench.py [--model-dir build/local-run/model] [--workers 2] [--duration 5]

Starts both servers side by side, each in its own processes on its own port with the same number
of workers and the same scoring code (bench/flask_app.py), then, for 1-row and 100-row text/csv
requests (rows of the local run's test split), runs a load generator in a process of its own
against one server at a time: `--connections` clients each sending a request as soon as the
previous answer arrived, a warm-up, then a measured interval, in rounds that alternate the
servers. Latency is from the moment a
request is sent (or its connection opened: gunicorn's sync workers close every connection) to
the last byte of its answer. Prints a table, the throughput ratio and the p99s.

Not a test: it asserts nothing about speed. The load generator shares the machine's cores with
the servers, so run it on an otherwise idle machine and read the ratio more than the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from itertools import cycle, islice
from pathlib import Path

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.serve.app import MODEL_DIR_ENV, SCHEMA_ENV

BENCH_DIR = Path(__file__).resolve().parent
PACKAGE = "{{ cookiecutter.package_name }}"
ROWS_PER_REQUEST = (1, 100)
CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)
START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_ping(process: subprocess.Popen, port: int, name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"bench: {name} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"bench: {name} did not answer /ping within {START_TIMEOUT} s")


def request_bytes(body: bytes) -> bytes:
    head = (
        "POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\n"
        f"Accept: text/csv\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def client(port: int, request: bytes, record_from: float, stop_at: float) -> dict:
    """Requests one after the other on one connection (a new one when the server closes it)."""
    latencies: list[float] = []
    errors = 0
    writer = None
    while time.perf_counter() < stop_at:
        start = time.perf_counter()
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = CONTENT_LENGTH.search(head)
        await reader.readexactly(int(length.group(1)) if length else 0)
        end = time.perf_counter()
        if start >= record_from:
            latencies.append(end - start)
            errors += head[9:12] != b"200"
        if b"connection: close" in head.lower():
            writer.close()
            writer = None
    if writer is not None:
        writer.close()
    return {"latencies": latencies, "errors": errors}


async def generate_load(port: int, body: bytes, connections: int, warmup: float, duration: float):
    request = request_bytes(body)
    record_from = time.perf_counter() + warmup
    stop_at = record_from + duration
    results = await asyncio.gather(
        *(client(port, request, record_from, stop_at) for _ in range(connections))
    )
    return {
        "latencies": [latency for result in results for latency in result["latencies"]],
        "errors": sum(result["errors"] for result in results),
        "seconds": duration,
    }


def summary(runs: list[dict]) -> dict:
    """The rounds of one server and payload together: requests a second, p50 and p99."""
    latencies = sorted(latency for run in runs for latency in run["latencies"])
    if not latencies:
        sys.exit("bench: no request completed")
    return {
        "rate": len(latencies) / sum(run["seconds"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99)],
    }


def load_main(argv: list[str]) -> int:
    """The load generator's own process: writes its measurement as JSON to result_file."""
    port, body_file, connections, warmup, duration, result_file = argv
    try:
        import uvloop

        run = uvloop.run
    except ImportError:  # Windows: the standard event loop
        run = asyncio.run
    body = Path(body_file).read_bytes()
    result = run(generate_load(int(port), body, int(connections), float(warmup), float(duration)))
    Path(result_file).write_text(json.dumps(result), encoding="utf-8")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("build/local-run/model"))
    parser.add_argument("--schema", type=Path, default=config.SCHEMA)
    parser.add_argument(
        "--rows", type=Path, default=Path("build/local-run/processed/test/test.csv")
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each server")
    parser.add_argument("--connections", type=int, default=8, help="concurrent clients")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured a round")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds, alternating the servers: a burst of other work on the machine then "
        "falls on both",
    )
    return parser.parse_args(argv)


def csv_bodies(rows_file: Path) -> dict[int, bytes]:
    """Request bodies of 1 and 100 rows: the split's feature columns (the target is first)."""
    with rows_file.open(newline="", encoding="utf-8") as handle:
        rows = [row[1:] for row in islice(csv.reader(handle), 1, None)]
    bodies = {}
    for count in ROWS_PER_REQUEST:
        lines = (",".join(row) + "\n" for row in islice(cycle(rows), count))
        bodies[count] = "".join(lines).encode()
    return bodies


def start_servers(args: argparse.Namespace) -> dict[str, tuple[subprocess.Popen, int]]:
    env = {
        **os.environ,
        MODEL_DIR_ENV: str(args.model_dir.resolve()),
        SCHEMA_ENV: str(args.schema.resolve()),
    }
    ours, reference = free_port(), free_port()
    commands = {
        "starlette/uvicorn": (
            [
                *(sys.executable, "-m", f"{PACKAGE}.serve", "--workers", str(args.workers)),
                *("--host", "127.0.0.1", "--port", str(ours)),
                *("--model-dir", str(args.model_dir), "--schema", str(args.schema)),
            ],
            ours,
        ),
        # gunicorn's default sync workers, as AWS's framework containers ran Flask.
        "flask/gunicorn": (
            [
                *(sys.executable, "-m", "gunicorn", "--workers", str(args.workers)),
                *("--bind", f"127.0.0.1:{reference}", "--chdir", str(BENCH_DIR)),
                "flask_app:create_app()",
            ],
            reference,
        ),
    }
    servers = {}
    for name, (command, port) in commands.items():
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        servers[name] = process, port
    for name, (process, port) in servers.items():
        wait_for_ping(process, port, name)
    return servers


def same_answers(servers: dict[str, tuple[subprocess.Popen, int]], body: bytes) -> None:
    answers = set()
    for _, port in servers.values():
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=body, headers={"Content-Type": "text/csv"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answers.add(response.read())
    if len(answers) != 1:
        sys.exit("bench: the two servers answer the same rows differently")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["load"]:
        return load_main(argv[1:])
    args = parse_args(argv)
    if not (args.model_dir / "xgboost-model").is_file() or not args.rows.is_file():
        sys.exit(f"bench: no model in {args.model_dir} or rows in {args.rows}: `make local-run`")
    bodies = csv_bodies(args.rows)
    servers = start_servers(args)
    runs: dict[tuple[str, int], list[dict]] = {}
    try:
        same_answers(servers, bodies[max(ROWS_PER_REQUEST)])
        body_dir = Path("build/bench")
        body_dir.mkdir(parents=True, exist_ok=True)
        for count, body in bodies.items():
            body_file = body_dir / f"{count}-rows.csv"
            body_file.write_bytes(body)
            for _ in range(args.rounds):
                for name, (_, port) in servers.items():
                    result_file = body_dir / "result.json"
                    load = [str(port), str(body_file), str(args.connections)]
                    load += [str(args.warmup), str(args.duration), str(result_file)]
                    subprocess.run([sys.executable, __file__, "load", *load], check=True)
                    result = json.loads(result_file.read_text(encoding="utf-8"))
                    runs.setdefault((name, count), []).append(result)
    finally:
        for process, _ in servers.values():
            process.terminate()
        for process, _ in servers.values():
            process.wait(timeout=30)
    print_report({key: summary(value) for key, value in runs.items()}, args)
    return 0


def print_report(results: dict[tuple[str, int], dict], args: argparse.Namespace) -> None:
    print(
        f"{args.workers} workers a server, {os.cpu_count()} cores, {args.connections} "
        f"connections, {args.rounds} rounds of {args.warmup:g} s warm-up and {args.duration:g} s "
        "measured, text/csv"
    )
    print(f"{'server':<18} {'rows':>5} {'req/s':>9} {'rows/s':>10} {'p50 ms':>8} {'p99 ms':>8} err")
    for (name, count), result in results.items():
        rate = result["rate"]
        print(
            f"{name:<18} {count:>5} {rate:>9.0f} {rate * count:>10.0f} "
            f"{result['p50'] * 1e3:>8.2f} {result['p99'] * 1e3:>8.2f} {result['errors']}"
        )
    for count in ROWS_PER_REQUEST:
        ours, reference = results["starlette/uvicorn", count], results["flask/gunicorn", count]
        ratio = ours["rate"] / reference["rate"]
        print(
            f"{count} row(s): throughput {ratio:.1f}x Flask's; p99 {ours['p99'] * 1e3:.2f} ms "
            f"against {reference['p99'] * 1e3:.2f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
