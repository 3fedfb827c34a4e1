"""Reference: the training split the monitor compares the endpoint's traffic with.

    python3 <package>/steps/reference.py --train <folder of *.csv> --output <folder>

Copies the rows of every *.csv of --train (header row, target first, as preprocess writes the
split) into --output/reference.csv. Exit 2 with one line when there is nothing to read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

REFERENCE_FILE = "reference.csv"


def write_reference(train: Path, output: Path) -> Path:
    files = sorted(Path(train).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"reference: no *.csv file in {train}")
    data = pd.concat([pd.read_csv(path) for path in files], ignore_index=True)
    output.mkdir(parents=True, exist_ok=True)
    path = output / REFERENCE_FILE
    data.to_csv(path, index=False)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        path = write_reference(args.train, args.output)
    except (FileNotFoundError, ValueError) as error:
        print(error, file=sys.stderr)
        return 2
    print(f"reference: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
