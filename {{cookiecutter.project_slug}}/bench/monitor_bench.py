"""How fast the monitor reads captured traffic, against pandas reading the same records alone.

    make local-run   # the reference the monitor compares with (build/local-run/reference)
    uv run python bench/monitor_bench.py [--records 1000000] [--files 10]

Writes --records SageMaker data-capture records (one CSV row a request, rows drawn from the
reference, split over --files JSON Lines files as capture's hourly files are) under
build/bench-monitor/, then times, each in a fresh interpreter as `make local-monitor` runs:
- the whole monitor (`python -m {{ cookiecutter.package_name }}.monitor --capture ...`: import,
  reading, every check, the reports);
- its reading alone (monitor.capture.read_capture: the records into rows, predictions, events);
- pandas alone: pandas.read_json(lines=True) on each file, the records into a DataFrame of
  their nested fields, with no row of the requests read yet;
and prints the seconds of each and the ratio of the monitor's reading to pandas'. The issue's
bound: the whole monitor over a million records within 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from {{ cookiecutter.package_name }}.monitor.reference import load_reference

REFERENCE = Path("build/local-run/reference")
FOLDER = Path("build/bench-monitor")


def write_capture(folder: Path, records: int, files: int, seed: int = 0) -> int:
    """The capture files; returns their total size in bytes."""
    reference = load_reference(REFERENCE)
    rng = np.random.default_rng(seed)
    rows = reference.rows.iloc[rng.integers(0, len(reference.rows), records)]
    lines = rows.to_csv(header=False, index=False).splitlines()
    scores = rng.random(records).tolist()
    size = 0
    per_file = -(-records // files)
    for index in range(files):
        path = folder / "capture" / "2026" / "01" / f"{index:02d}" / "capture.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for number in range(index * per_file, min(records, (index + 1) * per_file)):
                record = {
                    "captureData": {
                        "endpointInput": {
                            "observedContentType": "text/csv",
                            "mode": "INPUT",
                            "data": lines[number] + "\n",
                            "encoding": "CSV",
                        },
                        "endpointOutput": {
                            "observedContentType": "text/csv; charset=utf-8",
                            "mode": "OUTPUT",
                            "data": f"{scores[number]!r},1\n",
                            "encoding": "CSV",
                        },
                    },
                    "eventMetadata": {
                        "eventId": f"{number:08d}-0000-4000-8000-000000000000",
                        "inferenceTime": "2026-01-01T00:00:00Z",
                    },
                    "eventVersion": "0",
                }
                handle.write(json.dumps(record) + "\n")
        size += path.stat().st_size
    return size


def timed(code: str) -> float:
    """Seconds of a fresh interpreter running the code (imports included)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=10)
    args = parser.parse_args(argv)
    if not (REFERENCE / "profile.json").is_file():
        print(f"no reference in {REFERENCE}: run `make local-run` first", file=sys.stderr)
        return 2
    capture = FOLDER / "capture"
    if not capture.is_dir() or sum(1 for _ in capture.rglob("*.jsonl")) != args.files:
        size = write_capture(FOLDER, args.records, args.files)
        print(f"wrote {args.records:,} records in {args.files} files ({size / 1e6:,.0f} MB)")
    package = load_reference.__module__.split(".")[0]
    monitor = (
        f"import sys; from {package}.monitor.cli import main; "
        f"sys.exit(main(['--capture', '{capture}', '--reference', '{REFERENCE}', "
        f"'--output', '{FOLDER / 'out'}']))"
    )
    reading = (
        f"from {package}.monitor.capture import read_capture; "
        f"from {package}.monitor.reference import load_reference; "
        f"r = load_reference('{REFERENCE}'); read_capture('{capture}', r.features, r.categories)"
    )
    pandas = (
        "import pandas as pd, pathlib; "
        f"pd.concat([pd.read_json(p, lines=True) for p in "
        f"sorted(pathlib.Path('{capture}').rglob('*.jsonl'))])"
    )
    whole, ours, theirs = timed(monitor), timed(reading), timed(pandas)
    print(f"make local-monitor over {args.records:,} records: {whole:.1f} s (bound: 60 s)")
    print(f"reading them, the monitor's reader: {ours:.1f} s")
    print(f"reading them, pandas.read_json(lines=True) alone: {theirs:.1f} s")
    print(f"ratio, the monitor's reader to pandas alone: {ours / theirs:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
