"""How fast the data contract checks rows, and how a validation library would compare.

    uv run python bench/contract_bench.py [--rows 100000]
    uv run --with pandera python bench/contract_bench.py   # adds pandera's numbers (needs PyPI)

Checks --rows generated rows of the configured schema's shape (its columns, types and bounds)
with contract.validate, once on valid rows and once with one value out of range, and prints the
time and the refusal. With pandera importable, it builds the same rules as a pandera
DataFrameSchema and prints the same for `schema.validate(frame, lazy=True)`, and the time of
`import pandera.pandas` in a fresh interpreter, so the choice in contract/__init__.py can be
measured again on other data or a newer pandera.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }} import config, contract


def generate(schema: contract.Schema, rows: int, seed: int = 0) -> pd.DataFrame:
    """Rows as read_data returns them (every value text) that meet the schema's rules."""
    rng = np.random.default_rng(seed)
    columns = {}
    for column in schema.columns:
        if column.allowed_values is not None:
            values = rng.choice(np.array(column.allowed_values, dtype=object), rows)
        else:
            low = 0.0 if column.min is None else column.min
            high = low + 100.0 if column.max is None else column.max
            values = rng.uniform(low, high, rows)
            if column.type == "integer":
                values = np.floor(values)
        columns[column.name] = pd.Series(values).astype(str)
    return pd.DataFrame(columns)


def timed(check: Callable[[], Any], repeat: int = 3) -> tuple[float, str]:
    """The best of `repeat` runs in seconds, and the start of what it raised, on one line."""
    best, message = float("inf"), ""
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            check()
        except Exception as error:
            message = " ".join(str(error).split())[:400]
        best = min(best, time.perf_counter() - start)
    return best, message


def broken(frame: pd.DataFrame, schema: contract.Schema) -> pd.DataFrame:
    """The frame with one value of the first bounded number column below its min."""
    column = next(c for c in schema.columns if c.min is not None and c.type != "category")
    frame = frame.copy()
    frame.loc[16, column.name] = str(column.min - 1)
    return frame


def pandera_schema(schema: contract.Schema) -> Any:
    """The contract's column rules as a pandera DataFrameSchema (types coerced from text)."""
    import pandera.pandas as pa

    columns = {}
    for column in schema.columns:
        checks = []
        if column.min is not None:
            checks.append(pa.Check.ge(column.min))
        if column.max is not None:
            checks.append(pa.Check.le(column.max))
        if column.allowed_values is not None:
            checks.append(pa.Check.isin(list(column.allowed_values)))
        dtype = str if column.type == "category" else float
        columns[column.name] = pa.Column(dtype, checks=checks, nullable=True, coerce=True)
    return pa.DataFrameSchema(columns, strict=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    schema = contract.load_schema(config.SCHEMA)
    frame = generate(schema, args.rows)
    bad = broken(frame, schema)
    print(f"{args.rows} rows x {len(schema.columns)} columns of {schema.source}")
    for name, data in (("valid", frame), ("one value out of range", bad)):
        seconds, message = timed(lambda data=data: contract.validate(data, schema, "regression"))
        print(f"contract.validate, {name}: {seconds:.3f} s")
        if message:
            print(f"  {message}")
    try:
        declared = pandera_schema(schema)
    except ImportError:
        print("pandera is not installed: `uv run --with pandera python bench/contract_bench.py`")
        return 0
    for name, data in (("valid", frame), ("one value out of range", bad)):
        seconds, message = timed(lambda data=data: declared.validate(data, lazy=True))
        print(f"pandera DataFrameSchema.validate(lazy=True), {name}: {seconds:.3f} s")
        if message:
            print(f"  {message}")
    # pandera's own import time, pandas already imported: the best of five fresh interpreters.
    code = "import pandas, time; s = time.perf_counter(); import pandera.pandas; "
    code += "print(time.perf_counter() - s)"
    run = [sys.executable, "-c", code]
    seconds = min(
        float(subprocess.run(run, capture_output=True, text=True, check=True).stdout)
        for _ in range(5)
    )
    print(f"import pandera.pandas after pandas: {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
