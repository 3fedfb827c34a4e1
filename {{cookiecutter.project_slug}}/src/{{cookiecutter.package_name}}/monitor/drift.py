"""Data drift per feature with Evidently: each feature of the schema against the reference,
with a test that suits its type (DRIFT_METHODS), and Evidently's interactive report of it.

Distances rather than p-values: a p-value test flags ever smaller differences as traffic grows
and, over dozens of features at 5 % each, flags some feature on most runs of unchanged traffic;
a distance above its threshold means the same size of change at any volume. Above
SAMPLE_ROWS rows of traffic the tests run on a fixed random sample of that many: the distances'
sampling error there is a few thousandths, far below the thresholds, while every further row
costs time in each test and chart (bench/monitor_bench.py). Evidently is imported here only: its
import takes seconds, which nothing else pays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .checks import DATA_DRIFT, Violation
from .reference import Reference

# Schema type -> (Evidently's method, threshold): the Wasserstein distance normed by the
# reference's standard deviation for numbers (0.1: a tenth of a standard deviation of shift),
# the Jensen-Shannon distance of the value frequencies for categories.
DRIFT_METHODS = {
    "number": ("wasserstein", 0.1),
    "integer": ("wasserstein", 0.1),
    "category": ("jensenshannon", 0.1),
}

SAMPLE_ROWS = 50_000
SEED = 0


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    method: str
    score: float
    threshold: float
    drifted: bool


def _evidently() -> Any:
    """The evidently module, importable under pandas 3.

    Evidently 0.7.23 imports pandas.core.dtypes.common.infer_dtype_from_object, which pandas 3
    removed, for one legacy test (TestColumnsType) that this module never runs; a stand-in that
    refuses to be called lets the rest of it import.
    """
    from pandas.core.dtypes import common

    if not hasattr(common, "infer_dtype_from_object"):

        def removed(dtype: object) -> type:
            raise NotImplementedError("infer_dtype_from_object was removed in pandas 3")

        common.infer_dtype_from_object = removed
    import evidently

    return evidently


def data_drift(
    current: pd.DataFrame, reference: Reference, html: Path | None = None
) -> tuple[list[FeatureDrift], list[Violation]]:
    """Each feature's drift (features without a present value on either side are left out: the
    data-quality check reports them), and Evidently's report written to html."""
    evidently = _evidently()
    from evidently.metrics import ValueDrift

    schema = reference.schema
    if len(current) > SAMPLE_ROWS:
        current = current.sample(SAMPLE_ROWS, random_state=SEED)
    compared = [
        name
        for name in schema.features
        if current[name].notna().any() and reference.rows[name].notna().any()
    ]
    if not compared:
        return [], []
    numbers = [name for name in compared if schema.column(name).type != "category"]
    categories = [name for name in compared if name not in numbers]
    definition = evidently.DataDefinition(numerical_columns=numbers, categorical_columns=categories)
    metrics = [
        ValueDrift(
            column=name,
            method=DRIFT_METHODS[schema.column(name).type][0],
            threshold=DRIFT_METHODS[schema.column(name).type][1],
        )
        for name in compared
    ]
    snapshot = evidently.Report(metrics, include_tests=True).run(
        evidently.Dataset.from_pandas(current[compared], data_definition=definition),
        evidently.Dataset.from_pandas(reference.rows[compared], data_definition=definition),
    )
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save_html(str(html))
    content = snapshot.dict()
    scores = {
        entry["config"]["column"]: float(entry["value"])
        for entry in content["metrics"]
        if "column" in entry.get("config", {})
    }
    failed = {
        test["metric_config"]["params"]["column"]
        for test in content["tests"]
        if str(test["status"]).endswith("FAIL")
    }
    drifts = []
    for name in compared:
        method, threshold = DRIFT_METHODS[schema.column(name).type]
        drifts.append(FeatureDrift(name, method, scores[name], threshold, name in failed))
    violations = [
        Violation(
            drift.feature,
            DATA_DRIFT,
            f"column '{drift.feature}' drifted from the training data: {drift.method} distance "
            f"{drift.score:.3g} exceeds {drift.threshold}",
        )
        for drift in drifts
        if drift.drifted
    ]
    return drifts, violations
