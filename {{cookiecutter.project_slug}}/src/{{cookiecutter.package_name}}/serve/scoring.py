"""Rows in, predictions out: the scoring code of the inference server, free of any web framework
(the benchmark's Flask server runs the very same code).

A request goes through request.py (its media type and limits), parsing.py (its body as rows of
CSV or JSON) and checking.py (its rows checked against the data contract's rules as
contract.validate(..., with_target=False) checks them: type, min, max, allowed values; a missing
value is allowed, the model handles it; each broken rule named by the contract's own message, and
encoded exactly as model_io.encode does: a category becomes its index in the categories saved in
the model, a category unseen in training becomes missing); here, the model's answer. The path
works on numpy arrays rather than a DataFrame: pandas costs tens of milliseconds a request here,
the whole request through this path well under one (see `make bench`); tests/test_serve.py holds
the two paths to the same predictions and messages.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from .. import model_io
from ..contract.schema import parse_schema
from .checking import RowChecker
from .parsing import NA_TEXT, RowReader
from .request import CSV, max_rows_setting, media_type, negotiate


class Scorer:
    """The model, the schema's rules for its features, and how to answer a request."""

    def __init__(
        self,
        booster: xgb.Booster,
        schema: dict[str, Any],
        source: str,
        max_rows: int | None = None,
    ) -> None:
        self.booster = booster
        self.source = source
        self.max_rows = max_rows_setting() if max_rows is None else max_rows
        contract = parse_schema(schema, source)
        metadata = model_io.read_metadata(booster)
        self.problem_type = metadata.get("problem_type") or contract.problem_type
        self.features: list[str] = list(booster.feature_names or metadata["feature_names"])
        if sorted(self.features) != sorted(contract.features):
            raise ValueError(
                f"{source} declares the features {sorted(contract.features)} but the model "
                f"was trained on {sorted(self.features)}: serve the schema it was trained with"
            )
        # Columns with "role": "id": a request may send them, and each answer row repeats them,
        # so that predictions join back to their rows (batch transform's output too).
        self.ids: list[str] = contract.ids
        self.reader = RowReader(
            self.features, self.ids, frozenset(contract.names), source, self.max_rows
        )
        self.checker = RowChecker(contract, self.features, model_io.categories(booster), source)
        self.labels: tuple[Any, Any] = contract.labels or (0, 1)

    @classmethod
    def load(cls, model_dir: str | Path, schema_path: str | Path) -> Scorer:
        """The model that train saved in model_dir, with the rules of the schema file."""
        model_dir, schema_path = Path(model_dir), Path(schema_path)
        if not (model_dir / model_io.MODEL_FILE).is_file():
            raise FileNotFoundError(f"no model file {model_io.MODEL_FILE} in {model_dir}")
        if not schema_path.is_file():
            raise FileNotFoundError(f"no schema file {schema_path}")
        booster, _ = model_io.load_model(model_dir)
        # One thread a prediction: the server runs one worker process a core.
        booster.set_param({"nthread": 1})
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        return cls(booster, schema, schema_path.name)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Probabilities of the positive class (classification) or predicted values."""
        # The booster's own feature types make its category columns categorical: the codes. The
        # columns are in the booster's order by construction: no per-call check of the names.
        return self.booster.inplace_predict(matrix, validate_features=False)

    def format(
        self, scores: np.ndarray, media_type: str, ids: Sequence[Any] | None = None
    ) -> bytes:
        """The answer rows, each led by its request row's ids when it sent them (CSV: the id
        values first; JSON: the id names and values in the prediction's object)."""
        values = scores.tolist()
        if self.problem_type == "binary_classification":
            negative, positive = self.labels
            labels = [positive if p > model_io.LABEL_THRESHOLD else negative for p in values]
            cells = [[repr(p), str(label)] for p, label in zip(values, labels, strict=True)]
            predictions = [
                {"probability": p, "predicted_label": label}
                for p, label in zip(values, labels, strict=True)
            ]
        else:
            cells = [[repr(p)] for p in values]
            predictions = [{"prediction": p} for p in values]
        if media_type == CSV:
            if ids is None:
                return "".join(",".join(row) + "\n" for row in cells).encode()
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            for row_ids, row in zip(ids, cells, strict=True):
                writer.writerow([*_id_values(row_ids, self.ids), *row])
            return out.getvalue().encode()
        if ids is not None:
            predictions = [
                {**_id_mapping(row_ids, self.ids), **prediction}
                for row_ids, prediction in zip(ids, predictions, strict=True)
            ]
        return json.dumps({"predictions": predictions}).encode()

    def invoke(
        self, content_type: str | None, accept: str | None, body: bytes
    ) -> tuple[bytes, str]:
        """The response to a request: its body and media type (the Accept header's choice).

        Raises RequestError for anything the client must change.
        """
        media = media_type(content_type)
        answer = negotiate(accept, media)
        if media == CSV:
            (rows, ids), missing = self.reader.from_csv(body), NA_TEXT
        else:
            (rows, ids), missing = self.reader.from_json(body), None
        matrix = self.checker.matrix(rows, missing)
        return self.format(self.predict(matrix), answer, ids), answer


def _id_values(ids: Sequence[Any] | Mapping[str, Any], names: Sequence[str]) -> list[Any]:
    """A row's ids as CSV cells: a CSV row's own, or a JSON instance's (empty when absent)."""
    if isinstance(ids, Mapping):
        return ["" if ids.get(name) is None else ids[name] for name in names]
    return list(ids)


def _id_mapping(ids: Sequence[Any] | Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """A row's ids as a JSON object: a JSON instance's own, or a CSV row's by name."""
    return dict(ids) if isinstance(ids, Mapping) else dict(zip(names, ids, strict=True))
