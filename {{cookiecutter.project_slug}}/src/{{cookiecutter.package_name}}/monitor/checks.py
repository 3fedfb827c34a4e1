"""The data-quality and model-quality checks; each finding is a Violation naming its feature by
the schema's name.

Data quality applies the data contract's own rules and messages (contract/): a feature absent
from the traffic (`required`), a column the schema does not declare (`declared`), values of the
wrong type, outside min/max or the allowed values, more missing values than the schema's
max_missing_fraction; and one rule of its own in the contract's form, categories the model never
saw in training (it treats them as missing). Model quality scores the model's captured
predictions against ground truth with the metrics evaluate uses (metrics.py), and flags the
quality gate's metric below its floor. Bias drift, when the reference has the model's bias
(bias.json, a project with the bias report), computes the post-training bias of the captured
predictions (DPPL, DI: bias.py, as Clarify defines them) and flags a metric that moved by more
than its tolerance from the reference's baseline (the same metrics of the training labels); it
needs no ground truth.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import metrics
from ..contract import check_column, encode_target, rules
from .reference import Reference

DATA_DRIFT, DATA_QUALITY, MODEL_QUALITY = "data_drift", "data_quality", "model_quality"
CHECKS = (DATA_DRIFT, DATA_QUALITY, MODEL_QUALITY)
BIAS_DRIFT = "bias_drift"
# How far a post-training bias metric of the traffic may move from the model's own (on the test
# split) before it is a violation: a tenth of the positive rate's difference between the
# groups, a fifth of their ratio (the four-fifths rule's margin around parity).
BIAS_DRIFT_TOLERANCE = {"DPPL": 0.1, "DI": 0.2}
# Fewer rows than this in either group make a share too noisy to judge: no verdict.
MIN_GROUP_ROWS = 30


@dataclass(frozen=True)
class Violation:
    feature_name: str
    check: str
    description: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def unseen_rule(source: str) -> rules.Rule:
    remedy = "the model treats them as missing; retrain on data that has them"
    return rules.Rule("unseen", "category seen in training", remedy)


def data_quality(rows: pd.DataFrame, reference: Reference) -> tuple[pd.DataFrame, list[Violation]]:
    """The traffic's feature columns typed as validate types them (a value breaking its type
    becomes missing), and every broken rule as a violation."""
    schema = reference.schema
    source = schema.source
    # Traffic is rows scored by a trained model: the remedies fix the requests, not the schema.
    found = [
        Violation(name, DATA_QUALITY, rules.required(name, source, scoring=True))
        for name in schema.features
        if name not in rows.columns
    ]
    found += [
        Violation(str(name), DATA_QUALITY, rules.declared(str(name), source, scoring=True))
        for name in rows.columns
        # The target, ids and ignored columns may ride along in a request: the server takes
        # them (it repeats the ids), so does the monitor.
        if name not in schema.names
    ]
    typed: dict[str, pd.Series] = {}
    for name in schema.features:
        if name not in rows.columns:
            typed[name] = pd.Series(np.nan, index=rows.index, dtype=float)
            continue
        values, problems = check_column(rows[name], schema.column(name), source)
        found += [Violation(name, DATA_QUALITY, line) for line in problems]
        seen = reference.profile["features"].get(name, {}).get("categories")
        if seen is not None and schema.column(name).allowed_values is None:
            unseen = values.notna() & ~values.isin(seen)
            if unseen.any():
                first = int(np.flatnonzero(unseen.to_numpy())[0])
                line = unseen_rule(source).line(
                    name, int(unseen.sum()), len(unseen), first + 1, values.iloc[first]
                )
                found.append(Violation(name, DATA_QUALITY, line))
        typed[name] = values
    return pd.DataFrame(typed, index=rows.index), found


def encode_labels(labels: pd.Series, reference: Reference) -> pd.Series:
    """Ground-truth labels as the model learns the target: numbers, or 1 for the positive class
    of a text target."""
    schema = reference.schema
    if schema.column(schema.target).type == "category":
        return encode_target(labels.astype(str).str.strip(), schema).astype(float)
    return pd.to_numeric(labels, errors="coerce").astype(float)


def model_quality(
    labels: pd.Series, scores: np.ndarray, reference: Reference, floor: float | None
) -> tuple[dict[str, Any], list[Violation]]:
    """The metrics of the scores against the labels (rows with a label), and a violation when
    the headline metric is below the floor."""
    problem_type = reference.problem_type
    y_true = encode_labels(labels, reference).to_numpy()
    known = ~np.isnan(y_true)
    y_true, y_score = y_true[known], np.asarray(scores, dtype=float)[known]
    summary: dict[str, Any] = {"labelled_rows": int(known.sum())}
    if problem_type is None or not len(y_true):
        return summary, []
    # The quality gate's metric; higher is better for both.
    name = metrics.HEADLINE_METRICS[problem_type]
    try:
        report = metrics.scalar_metrics(metrics.metrics_report(y_true, y_score, problem_type))
    except ValueError as error:
        # e.g. AUC of labels of one class: nothing to judge yet.
        summary["note"] = f"no {name}: {error}"
        return summary, []
    values = next(iter(report.values()))
    # A metric of too few labelled rows is undefined (R² of one row): left out, not judged.
    summary["metrics"] = {
        key: float(entry["value"])
        for key, entry in values.items()
        if np.isfinite(float(entry["value"]))
    }
    if name not in summary["metrics"]:
        summary["note"] = f"no {name} on {len(y_true)} labelled rows"
        return summary, []
    value = summary["metrics"][name]
    summary.update(metric=name, value=value, floor=floor)
    if floor is None or value >= floor:
        return summary, []
    description = (
        f"{name} {value:.4f} on {len(y_true)} labelled rows is below the floor {floor} "
        "the model had to reach to be registered"
    )
    return summary, [Violation(reference.schema.target, MODEL_QUALITY, description)]


def checks_of(reference: Reference) -> tuple[str, ...]:
    """The checks a run makes, each published every run: bias drift too when the reference has
    the model's bias."""
    return (*CHECKS, BIAS_DRIFT) if reference.bias is not None else CHECKS


def bias_drift(
    features: pd.DataFrame, scores: np.ndarray, reference: Reference
) -> tuple[dict[str, Any], list[Violation]]:
    """The post-training bias of the predictions against the reference's, and a violation a
    metric that moved beyond its tolerance."""
    # Imported here: projects generated without the bias report have no bias.py.
    from .. import bias

    schema, recorded = reference.schema, reference.bias or {}
    facet = schema.facet
    summary: dict[str, Any] = {"facet": recorded.get("group")}
    if facet is None or "baseline" not in recorded:
        summary["note"] = "the reference's schema marks no facet"
        return summary, []
    sensitive, kept = bias.rows_of(features[facet.name], facet)
    groups = {"d": int(sensitive.sum()), "a": int(len(sensitive) - sensitive.sum())}
    summary["rows"] = groups
    if min(groups.values()) < MIN_GROUP_ROWS:
        summary["note"] = f"fewer than {MIN_GROUP_ROWS} rows in a group of {facet.group}"
        return summary, []
    predicted = bias.positive_predictions(np.asarray(scores, dtype=float)[kept], schema)
    window = bias.post_training(sensitive, predicted)
    before = bias.read_metrics(recorded["baseline"])
    summary["window"] = {name: bias.json_number(value) for name, value in window.items()}
    summary["baseline"] = recorded["baseline"]
    found = []
    for name, tolerance in BIAS_DRIFT_TOLERANCE.items():
        now, then = window[name], before[name]
        if now == then or abs(now - then) <= tolerance:
            continue
        description = (
            f"{name} {now:.3f} on {len(sensitive)} rows, {then:.3f} in the training labels: "
            f"moved more than {tolerance} for the group {facet.group}"
        )
        found.append(Violation(facet.name, BIAS_DRIFT, description))
    return summary, found
