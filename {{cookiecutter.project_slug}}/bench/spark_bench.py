"""The Spark job against the pandas step on the same rows, side by side in one run.

    uv run python bench/spark_bench.py [--rows 1000000] [--master "local[2]"]

Writes --rows generated rows of the configured schema's shape (contract_bench.generate) as one
CSV file, then runs the whole preprocess on it with each engine: steps/preprocess.py (read,
validate, split, write the splits and the manifest) and steps/preprocess_spark.py in Spark's
local mode on --master's cores (the same, as the SageMaker job runs it). Prints each time, the
Spark session's start apart (a JVM's, paid once a job), and Spark's time over pandas'.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

from contract_bench import generate

from {{ cookiecutter.package_name }} import config, contract
from {{ cookiecutter.package_name }}.steps import preprocess, preprocess_spark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g", help="Spark's heap in local mode")
    args = parser.parse_args()
    schema = contract.load_schema(config.SCHEMA)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "data").mkdir()
        generate(schema, args.rows).to_csv(root / "data" / "rows.csv", index=False)
        size = (root / "data" / "rows.csv").stat().st_size
        print(f"{args.rows} rows x {len(schema.columns)} columns, {size / 1e6:.0f} MB of CSV")
        argv = ["--schema", str(config.SCHEMA), "--min-rows", str(config.MIN_ROWS)]

        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            status = preprocess.main(
                ["--input-dir", str(root / "data"), *argv, "--output-dir", str(root / "pandas")]
            )
        pandas_seconds = time.perf_counter() - start
        assert status == 0, "pandas refused the rows"

        start = time.perf_counter()
        spark = preprocess_spark.session(args.master, args.driver_memory)
        session_seconds = time.perf_counter() - start
        spark_args = preprocess_spark.parse_args(
            ["--input-url", str(root / "data"), *argv, "--output-dir", str(root / "spark")]
        )
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            preprocess_spark.run(spark, spark_args)
        spark_seconds = time.perf_counter() - start
        spark.stop()

    print(f"pandas (steps/preprocess.py): {pandas_seconds:.1f} s")
    print(f"Spark {args.master} (steps/preprocess_spark.py): {spark_seconds:.1f} s")
    print(f"Spark session start: {session_seconds:.1f} s")
    print(f"Spark / pandas: {spark_seconds / pandas_seconds:.2f}x")


if __name__ == "__main__":
    main()
