"""Benchmarks (not tests): bake time of every variant, and bake-to-green local run of the default.

Run with `make bench`. Bake times are medians of several bakes, reported with their ratio to the
default variant measured in the same run; the time to green is the path a new user walks: bake,
`make install` (uv sync from uv.lock), `make local-run`, once with the machine's uv cache and once
with an empty one (every wheel downloaded, as on a fresh machine).
Results are printed and written to bench/results/bench_bake.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TEMPLATE_DIR / "tests"))
sys.path.insert(0, str(TEMPLATE_DIR))

from conftest import VARIANTS, uv  # noqa: E402  (the test matrix: one source of variants)

REPEATS = 7


def bake_seconds(context: dict[str, str], output_dir: Path) -> float:
    start = time.perf_counter()
    cookiecutter(
        str(TEMPLATE_DIR),
        no_input=True,
        extra_context=context,
        output_dir=str(output_dir),
        overwrite_if_exists=True,
    )
    return time.perf_counter() - start


def time_to_green(workdir: Path, environment: dict[str, str]) -> dict[str, float]:
    """Seconds for each stage a new user runs, from an empty folder to a passing local run."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    project = Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(workdir)))
    timings["bake"] = time.perf_counter() - start
    for target in ("install", "local-run"):
        start = time.perf_counter()
        subprocess.run(
            ["make", target, f"UV={uv()}"],
            cwd=project,
            env=environment,
            check=True,
            capture_output=True,
        )
        timings[f"make {target}"] = time.perf_counter() - start
    timings["total"] = sum(timings.values())
    return timings


def main() -> int:
    results: dict[str, object] = {"repeats": REPEATS, "bake_seconds": {}}
    with tempfile.TemporaryDirectory() as tmp:
        contexts = {"default": {}} | {variant.id: variant.context for variant in VARIANTS}
        # Round-robin, so that warm-up and machine noise fall on every variant alike.
        samples: dict[str, list[float]] = {name: [] for name in contexts}
        for _ in range(REPEATS):
            for name, context in contexts.items():
                samples[name].append(bake_seconds(context, Path(tmp) / "bakes"))
        medians = {name: statistics.median(times) for name, times in samples.items()}
        baseline = medians["default"]
        print(f"bake time, median of {REPEATS} (ratio to the default variant):")
        for name, seconds in medians.items():
            print(f"  {name:80s} {seconds * 1000:7.1f} ms  x{seconds / baseline:.2f}")
        results["bake_seconds"] = medians
        caches = {
            "warm uv cache": dict(os.environ),
            "empty uv cache": os.environ | {"UV_CACHE_DIR": str(Path(tmp) / "uv-cache")},
        }
        green = {
            cache: time_to_green(Path(tmp) / f"green-{index}", environment)
            for index, (cache, environment) in enumerate(caches.items())
        }
        print("default variant, bake to green local run (seconds):")
        print(f"  {'stage':15s} " + " ".join(f"{cache:>15s}" for cache in green))
        for stage in green["warm uv cache"]:
            print(f"  {stage:15s} " + " ".join(f"{t[stage]:15.1f}" for t in green.values()))
        results["time_to_green_seconds"] = green
    out = TEMPLATE_DIR / "bench" / "results" / "bench_bake.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
