"""The splits as the steps hand them on: <split>/<split>.csv with a header row and the target
first (encoded as the model learns it), and the schema beside each as schema.json, which names
the category columns for train, evaluate and explain. Read here, by every step that reads a
split (in any image); written by steps/preprocess.py (and the Spark job), in the steps image.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .sampling import SPLITS
from .schema import SCHEMA_FILE

__all__ = ["SCHEMA_FILE", "SPLITS", "category_columns", "read_split"]


def category_columns(split: Path) -> list[str]:
    """The category feature columns named by the schema.json that preprocess wrote beside the
    split (a folder, or a CSV file in it)."""
    path = (split if split.is_dir() else split.parent) / SCHEMA_FILE
    if not path.is_file():
        return []
    schema = json.loads(path.read_text(encoding="utf-8"))
    return [
        column["name"]
        for column in schema["columns"]
        if column.get("type") == "category"
        and column["name"] != schema.get("target")
        and column.get("role", "feature") == "feature"
    ]


def read_split(path: str | Path) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target of a split: a CSV file, or every *.csv in a folder (a channel).

    Category columns are read as text (a code such as 0042 stays "0042") and returned as text.
    """
    path = Path(path)
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise FileNotFoundError(f"no CSV files found at {path}")
    text = dict.fromkeys(category_columns(files[0]), str)
    data = pd.concat([pd.read_csv(file, dtype=text) for file in files], ignore_index=True)
    if data.empty or data.shape[1] < 2:
        raise ValueError(f"{path}: need rows with a target and at least one feature")
    return data.iloc[:, 1:], data.iloc[:, 0]
