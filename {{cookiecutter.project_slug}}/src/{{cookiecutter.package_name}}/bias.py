"""Bias metrics of the schema's facet, as SageMaker Clarify defines them (its open-source
library smclarify, `smclarify.bias.metrics`), computed by the project's own code: in the
pipeline's Bias step (steps/bias.py), in `make local-run`, and on live traffic by the monitor.

The facet (contract.Facet) splits the rows in two: group d, the sensitive group (its values, or
above its threshold), and group a, every other row. An outcome is positive when the label is 1
(binary classification) or above the schema's positive_threshold (regression); a prediction when
the score is above model_io.LABEL_THRESHOLD (the served label's rule, Clarify's default
probability_threshold) or, for regression, above positive_threshold. With n the rows of a group
and q the share of them with a positive outcome (label) or prediction (q^):

    CI   = (n_a - n_d) / (n_a + n_d)     class imbalance                   (pre-training)
    DPL  = q_a - q_d                      difference in positive labels     (pre-training)
    DPPL = q^_a - q^_d                    difference in positive predictions (post-training)
    DI   = q^_d / q^_a                    disparate impact                  (post-training)

DI divides as smclarify's `divide` does: 0 when both shares are 0, infinity when only q^_a is
(written as the string "Infinity", which JSON has no number for). A row whose facet value is
missing belongs to neither group and is left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .contract import Facet, Schema
from .model_io import LABEL_THRESHOLD

PRE_TRAINING = ("CI", "DPL")
POST_TRAINING = ("DPPL", "DI")
# Clarify's descriptions of the metrics, as its reports name them.
DESCRIPTIONS = {
    "CI": "Class Imbalance (CI)",
    "DPL": "Difference in Positive Proportions in Labels (DPL)",
    "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
    "DI": "Disparate Impact (DI)",
}
REPORT_VERSION = "1.0"


class BiasError(ValueError):
    """The metrics are undefined on these rows (a group is empty); one line."""


def facet_index(values: pd.Series, facet: Facet) -> tuple[pd.Series, pd.Series]:
    """(in group d, facet value known) per row: Clarify's sensitive_facet_index, and which rows
    take part at all."""
    known = values.notna()
    if facet.threshold is not None:
        sensitive = pd.to_numeric(values, errors="coerce") > facet.threshold
    elif values.dtype == object or isinstance(values.dtype, pd.StringDtype):
        sensitive = values.astype(str).str.strip().isin([str(v) for v in facet.values or ()])
    else:
        sensitive = values.isin(list(facet.values or ()))
    return sensitive & known, known


def positive_outcomes(values: pd.Series | np.ndarray, schema: Schema) -> np.ndarray:
    """Labels (the target as the model learns it: 0/1, or the value) as positive outcomes."""
    array = np.asarray(values, dtype=float)
    if schema.problem_type == "regression":
        return array > _positive_threshold(schema)
    return array == 1


def positive_predictions(scores: np.ndarray, schema: Schema) -> np.ndarray:
    """The model's scores as positive predictions: Clarify's predicted label."""
    array = np.asarray(scores, dtype=float)
    if schema.problem_type == "regression":
        return array > _positive_threshold(schema)
    return array > LABEL_THRESHOLD


def _positive_threshold(schema: Schema) -> float:
    if schema.positive_threshold is None:
        raise BiasError(f'{schema.source}: a regression\'s bias needs "positive_threshold"')
    return schema.positive_threshold


def _groups(sensitive: np.ndarray) -> tuple[int, int]:
    n_d = int(sensitive.sum())
    n_a = int(len(sensitive) - n_d)
    if n_d == 0:
        raise BiasError("no row is in the facet's group (d): the metrics are undefined")
    if n_a == 0:
        raise BiasError("every row is in the facet's group (d): the metrics are undefined")
    return n_a, n_d


def class_imbalance(sensitive: np.ndarray) -> float:
    """CI = (n_a - n_d) / (n_a + n_d)."""
    n_a, n_d = _groups(sensitive)
    return (n_a - n_d) / (n_a + n_d)


def positive_proportions(sensitive: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """(q_a, q_d): the share of positives in each group."""
    _groups(sensitive)
    return float(positive[~sensitive].mean()), float(positive[sensitive].mean())


def difference_in_proportions(sensitive: np.ndarray, positive: np.ndarray) -> float:
    """DPL of labels, DPPL of predictions: q_a - q_d."""
    q_a, q_d = positive_proportions(sensitive, positive)
    return q_a - q_d


def disparate_impact(sensitive: np.ndarray, positive: np.ndarray) -> float:
    """DI = q^_d / q^_a, divided as smclarify divides."""
    q_a, q_d = positive_proportions(sensitive, positive)
    if q_a == 0:
        return 0.0 if q_d == 0 else math.inf
    return q_d / q_a


def pre_training(sensitive: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {
        "CI": class_imbalance(sensitive),
        "DPL": difference_in_proportions(sensitive, labels),
    }


def post_training(sensitive: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    return {
        "DPPL": difference_in_proportions(sensitive, predictions),
        "DI": disparate_impact(sensitive, predictions),
    }


def rows_of(values: pd.Series, facet: Facet) -> tuple[np.ndarray, np.ndarray]:
    """(sensitive, kept) as arrays: the facet index of the rows with a known facet value."""
    sensitive, known = facet_index(values, facet)
    kept = known.to_numpy()
    return sensitive.to_numpy()[kept], kept


def json_number(value: float) -> float | str:
    """A metric as JSON holds it: infinity as the string "Infinity"."""
    return value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")


def label_value_or_threshold(schema: Schema) -> str:
    """What counts as a positive outcome, as Clarify's reports write it."""
    if schema.problem_type == "regression":
        return f"({_positive_threshold(schema):g}, inf)"
    return "1"


def clarify_section(schema: Schema, facet: Facet, metrics: Mapping[str, float]) -> dict[str, Any]:
    """One stage of Clarify's analysis.json (`pre_training_bias_metrics` or
    `post_training_bias_metrics`) for one facet; the group as Clarify writes it: the values
    joined by commas, or the interval above the threshold."""
    if facet.threshold is not None:
        value = f"({facet.threshold:g}, inf)"
    else:
        value = ",".join(str(v) for v in facet.values or ())
    return {
        "label": schema.target,
        "label_value_or_threshold": label_value_or_threshold(schema),
        "facets": {
            facet.name: [
                {
                    "value_or_threshold": value,
                    "metrics": [
                        {
                            "name": name,
                            "description": DESCRIPTIONS[name],
                            "value": json_number(metric),
                        }
                        for name, metric in metrics.items()
                    ],
                }
            ]
        },
    }


def read_metrics(section: Mapping[str, Any]) -> dict[str, float]:
    """The metrics of a bias.json stage back as numbers."""
    return {name: float(value) for name, value in section.items()}
