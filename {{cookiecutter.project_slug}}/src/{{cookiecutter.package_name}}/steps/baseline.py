"""Baseline data: the training features as Model Monitor's analyzer must profile them.

The pipeline's BaselineData step runs this before its Baseline step (a QualityCheckStep, which
runs SageMaker Model Monitor's own analyzer): it writes the train split's features the way the
endpoint receives and captures rows, CSV without a header row and without the target, cells as
written. The analyzer then names the columns _c0, _c1, ... as it names those of the captured
requests, so the monitor compares like with like; its statistics and constraints become the
model package's drift-check baselines. (`make local-run` profiles the features itself instead:
twins/data_quality.py.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

DATASET_FILE = "features.csv"


def read_split_cells(input_dir: Path) -> pd.DataFrame:
    """Every *.csv in the folder (header row, target first), every cell as written: nothing is
    read as missing or as a number."""
    files = sorted(Path(input_dir).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"baseline: no *.csv file in {input_dir}")
    frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in files]
    return pd.concat(frames, ignore_index=True)


def write_dataset(data: pd.DataFrame, dataset_dir: Path) -> Path:
    """The feature columns of a data set whose first column is the target, without header,
    cells as read: what the endpoint receives, for the analyzer to profile."""
    if data.shape[1] < 2:
        raise ValueError("baseline: need the target column and at least one feature column")
    dataset_dir = Path(dataset_dir)
    dataset_dir.mkdir(parents=True, exist_ok=True)
    path = dataset_dir / DATASET_FILE
    data.iloc[:, 1:].to_csv(path, header=False, index=False)
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--input-dir",
        type=Path,
        default=Path("/opt/ml/processing/input/train"),
        help="folder of CSV files with a header row, target first (the train split)",
    )
    parser.add_argument(
        "--dataset-dir",
        type=Path,
        default=Path("/opt/ml/processing/baseline-data"),
        help="where the features without header are written (the analyzer's input)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = read_split_cells(args.input_dir)
    path = write_dataset(data, args.dataset_dir)
    print(f"baseline: {len(data)} rows of {data.shape[1] - 1} features -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
