"""Reference: the training split's profile that the monitor compares traffic with.

    python3 {{ cookiecutter.package_name }}/steps/reference.py --train DIR --output DIR
        [--problem-type binary_classification|regression] [--bias]

Reads the train split as preprocess writes it (*.csv with a header row, schema.json beside) and
writes the reference folder (monitor/reference.py): schema.json, reference.csv, profile.json.
The pipeline runs it after preprocess and records the folder with the model package; `make
local-run` writes build/local-run/reference/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.contract import PROBLEM_TYPES
from {{ cookiecutter.package_name }}.monitor.reference import ReferenceError, write_reference


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True, help="the train split's folder")
    parser.add_argument("--output", type=Path, required=True, help="the reference folder")
    parser.add_argument("--problem-type", choices=PROBLEM_TYPES, help="default: the schema's")
    parser.add_argument(
        "--bias", action="store_true", help="write bias.json: the facet's bias-drift baseline"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        reference = write_reference(args.train, args.output, args.problem_type, args.bias)
    except (ReferenceError, FileNotFoundError, ValueError) as error:
        print(f"reference: {error}", file=sys.stderr)
        return 1
    print(
        f"reference: {len(reference.features)} features, {len(reference.rows)} of "
        f"{reference.profile['rows']} training rows -> {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
