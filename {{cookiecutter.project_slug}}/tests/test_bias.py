"""The bias report: Clarify's metrics by the project's own code, the schema's facet, the Bias
step's reports, and the monitor's bias drift."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from smclarify.bias import metrics as clarify

from {{ cookiecutter.package_name }} import bias, config, contract
from {{ cookiecutter.package_name }}.pipeline.bias import check_facet
from {{ cookiecutter.package_name }}.pipeline.staging import SetupError
from {{ cookiecutter.package_name }}.steps import bias as bias_step

# Ten rows, the first four in the facet's group d: n_d = 4, n_a = 6.
SENSITIVE = np.array([True] * 4 + [False] * 6)
LABELS = np.array([1, 0, 0, 0, 1, 1, 1, 0, 0, 0], dtype=bool)  # q_d = 1/4, q_a = 3/6
PREDICTED = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)  # q^_d = 2/4, q^_a = 1/6


def test_the_metrics_of_a_case_computed_by_hand():
    assert bias.class_imbalance(SENSITIVE) == pytest.approx((6 - 4) / 10)
    assert bias.difference_in_proportions(SENSITIVE, LABELS) == pytest.approx(3 / 6 - 1 / 4)
    assert bias.difference_in_proportions(SENSITIVE, PREDICTED) == pytest.approx(1 / 6 - 2 / 4)
    assert bias.disparate_impact(SENSITIVE, PREDICTED) == pytest.approx((2 / 4) / (1 / 6))


def test_disparate_impact_divides_as_clarify_does():
    none = np.zeros(10, dtype=bool)
    only_d = SENSITIVE.copy()
    assert bias.disparate_impact(SENSITIVE, none) == 0.0
    assert bias.disparate_impact(SENSITIVE, only_d) == math.inf
    assert bias.json_number(math.inf) == "Infinity"
    with pytest.raises(bias.BiasError, match="no row is in the facet's group"):
        bias.class_imbalance(np.zeros(5, dtype=bool))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_metrics_are_smclarifys(seed):
    """Clarify's open-source library, on random groups and outcomes."""
    rng = np.random.default_rng(seed)
    sensitive = rng.random(200) < 0.3
    labels, predicted = rng.random(200) < 0.4, rng.random(200) < 0.5
    feature, d = pd.Series(np.arange(200)), pd.Series(sensitive)
    y, y_hat = pd.Series(labels), pd.Series(predicted)
    assert bias.pre_training(sensitive, labels) == pytest.approx(
        {"CI": clarify.CI(feature, d), "DPL": clarify.DPL(feature, d, y)}
    )
    assert bias.post_training(sensitive, predicted) == pytest.approx(
        {"DPPL": clarify.DPPL(feature, d, y_hat), "DI": clarify.DI(feature, d, y_hat)}
    )


def test_the_facet_group_by_values_or_above_a_threshold():
    by_threshold = contract.Facet("age", threshold=40)
    sensitive, known = bias.facet_index(pd.Series([39, 40, 41, None]), by_threshold)
    assert sensitive.tolist() == [False, False, True, False]
    assert known.tolist() == [True, True, True, False]
    by_values = contract.Facet("region", values=("south", "east"))
    sensitive, _ = bias.facet_index(pd.Series([" south", "north", "east", None]), by_values)
    assert sensitive.tolist() == [True, False, True, False]
    coded = contract.Facet("sex", values=(2.0,))
    assert bias.facet_index(pd.Series([1, 2, 2]), coded)[0].tolist() == [False, True, True]


def schema(**changes: object) -> dict:
    column = {"name": "group", "type": "category", "allowed_values": ["x", "y", "z"]}
    raw = {
        "target": "label",
        "problem_type": "binary_classification",
        "columns": [
            {"name": "label", "type": "integer", "allowed_values": [0, 1]},
            {**column, **changes.pop("facet_column", {})},
            {"name": "amount", "type": "number"},
        ],
    }
    return {**raw, **changes}


def test_the_schema_reads_the_facet_and_a_regressions_positive_threshold():
    parsed = contract.parse_schema(schema(facet_column={"facet": True, "facet_values": ["y"]}))
    assert contract.require_facet(parsed) == contract.Facet("group", values=("y",))
    raw = schema(facet_column={"facet": True, "facet_values": ["y"]}, positive_threshold=2.5)
    raw["problem_type"] = "regression"
    raw["columns"][0] = {"name": "label", "type": "number"}
    assert contract.parse_schema(raw).positive_threshold == 2.5


@pytest.mark.parametrize(
    ("facet_column", "extra", "message"),
    [
        ({}, {}, 'add "facet": true'),
        ({"facet": True}, {}, "exactly one of"),
        ({"facet": True, "facet_values": ["y"], "facet_threshold": 1}, {}, "exactly one of"),
        ({"facet": True, "facet_values": ["x", "y", "z"]}, {}, "some, not all"),
        ({"facet": True, "facet_threshold": 1}, {}, "category facet"),
        ({"facet_values": ["y"]}, {}, "belong to the facet column"),
        ({"facet": True, "facet_values": ["y"]}, {"positive_threshold": 1}, "applies to regr"),
    ],
)
def test_a_schema_without_a_usable_facet_is_refused_in_one_line(facet_column, extra, message):
    with pytest.raises(contract.SchemaError, match=message) as refused:
        contract.require_facet(contract.parse_schema(schema(facet_column=facet_column, **extra)))
    assert "\n" not in str(refused.value)


def test_the_configured_schema_marks_its_facet(configured_schema):
    facet = contract.require_facet(configured_schema)
    assert facet.name in configured_schema.features


def test_the_local_runs_reports_are_the_metrics_of_its_splits_and_model(local_run, configured):
    summary = json.loads((local_run.output_dir / bias_step.REPORT_FILE).read_text())
    schema_ = contract.load_schema(configured.splits / "train" / contract.SCHEMA_FILE)
    facet = contract.require_facet(schema_)
    assert summary["facet"] == facet.name
    features, labels = contract.read_split(configured.splits / "train")
    sensitive, kept = bias.rows_of(features[facet.name], facet)
    expected = bias.pre_training(sensitive, bias.positive_outcomes(labels[kept], schema_))
    assert bias.read_metrics(summary["pre_training"]) == pytest.approx(expected)
    assert set(summary["post_training"]) == {"DPPL", "DI"}
    # The model package's reports: Clarify's analysis.json structure, one per stage.
    for name, key, metrics in [
        (bias_step.PRE_TRAINING_FILE, "pre_training_bias_metrics", bias.PRE_TRAINING),
        (bias_step.POST_TRAINING_FILE, "post_training_bias_metrics", bias.POST_TRAINING),
    ]:
        report = json.loads((local_run.output_dir / name).read_text())[key]
        (group,) = report["facets"][facet.name]
        assert [metric["name"] for metric in group["metrics"]] == list(metrics)
        assert report["label"] == schema_.target


def facet_value(facet: contract.Facet, column: contract.Column, inside: bool) -> object:
    """A value of the facet column in its group d (inside) or in group a."""
    if facet.threshold is not None:
        return facet.threshold + (1 if inside else -1)
    values = list(facet.values or ())
    if inside:
        return values[0]
    others = [v for v in column.allowed_values or () if v not in values]
    return others[0] if others else ("other" if column.type == "category" else max(values) + 1)


def traffic(schema_: contract.Schema, positive_d: float, positive_a: float, rows: int = 100):
    """Rows half in each group, and scores positive for the given share of each group."""
    facet = schema_.facet
    assert facet is not None
    column = schema_.column(facet.name)
    half = rows // 2
    values = [facet_value(facet, column, True)] * half + [facet_value(facet, column, False)] * half
    if schema_.problem_type == "regression":
        yes, no = schema_.positive_threshold + 1, schema_.positive_threshold - 1
    else:
        yes, no = 0.9, 0.1
    scores = [yes if i < positive_d * half else no for i in range(half)]
    scores += [yes if i < positive_a * half else no for i in range(half)]
    return pd.DataFrame({facet.name: values}), np.array(scores, dtype=float)
{%- if cookiecutter.model_monitoring == "yes" %}


def test_the_monitor_flags_bias_drift_beyond_its_tolerance_on_the_facet(local_run, configured):
    import dataclasses

    from {{ cookiecutter.package_name }}.monitor import checks, reference

    kept = reference.load_reference(local_run.output_dir / "reference")
    # The baseline: the post-training metrics of predictions that equal the training labels.
    features, labels = contract.read_split(configured.splits / "train")
    facet = contract.require_facet(kept.schema)
    sensitive, rows = bias.rows_of(features[facet.name], facet)
    expected = bias.post_training(sensitive, bias.positive_outcomes(labels[rows], kept.schema))
    assert kept.bias is not None and kept.bias["facet"] == facet.name
    assert bias.read_metrics(kept.bias["baseline"]) == pytest.approx(expected)
    assert checks.BIAS_DRIFT in checks.checks_of(kept)
    at_parity = dataclasses.replace(kept, bias={**kept.bias, "baseline": {"DPPL": 0.0, "DI": 1.0}})
    _, found = checks.bias_drift(*traffic(kept.schema, 0.5, 0.5), at_parity)
    assert found == []
    # Within tolerance: DPPL 0.5 - 0.44 = 0.06, DI 0.44 / 0.5 = 0.88.
    _, found = checks.bias_drift(*traffic(kept.schema, 0.44, 0.5), at_parity)
    assert found == []
    summary, found = checks.bias_drift(*traffic(kept.schema, 1.0, 0.0), at_parity)
    assert summary["window"] == {"DPPL": -1.0, "DI": "Infinity"}
    assert [(v.feature_name, v.check) for v in found] == [(facet.name, "bias_drift")] * 2
    assert [v.description.split()[0] for v in found] == ["DPPL", "DI"]
    # Too few rows in a group: no verdict.
    summary, found = checks.bias_drift(*traffic(kept.schema, 1.0, 0.0, rows=20), at_parity)
    assert found == [] and "fewer than" in summary["note"]
{%- endif %}


def without_facet(tmp_path) -> Path:
    """The configured schema with its facet unmarked."""
    raw = json.loads(config.SCHEMA.read_text(encoding="utf-8"))
    for column in raw["columns"]:
        for key in contract.schema.FACET_KEYS:
            column.pop(key, None)
    path = tmp_path / "no_facet.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_a_schema_without_a_facet_stops_the_local_run_before_any_step(tmp_path, capsys):
    """(The pipeline's build refuses it too: tests/test_pipeline_definition.py.)"""
    from {{ cookiecutter.package_name }} import local

    with pytest.raises(RuntimeError):
        local.run(
            config.DATA, tmp_path / "run", without_facet(tmp_path), registry_dir=tmp_path / "reg"
        )
    (line,) = capsys.readouterr().err.splitlines()
    assert 'add "facet": true' in line
    assert not (tmp_path / "run" / "processed").exists()


def test_make_schema_marks_the_facet_with_a_group_both_sides_have(configured_data):
    from {{ cookiecutter.package_name }} import infer_schema

    target = contract.load_schema(config.SCHEMA).target
    facet = contract.require_facet(contract.load_schema(config.SCHEMA)).name
    inferred = infer_schema.infer_schema(
        configured_data, target, "own", "data/own.csv", None, facet=facet
    )
    parsed = contract.parse_schema(inferred)
    sensitive, known = bias.facet_index(configured_data[facet], contract.require_facet(parsed))
    assert 0 < sensitive.sum() < known.sum()
    if parsed.problem_type == "regression":
        assert parsed.positive_threshold is not None
    with pytest.raises(infer_schema.InferenceError, match=f"FACET='{target}' is not a feature"):
        infer_schema.infer_schema(
            configured_data, target, "own", "data/own.csv", None, facet=target
        )


def test_a_schema_without_a_facet_is_refused_before_the_pipeline_is_built(tmp_path, monkeypatch):
    raw = json.loads(config.SCHEMA.read_text(encoding="utf-8"))
    for column in raw["columns"]:
        for key in ("facet", "facet_values", "facet_threshold"):
            column.pop(key, None)
    monkeypatch.setattr(config, "SCHEMA", tmp_path / "schema.json")
    config.SCHEMA.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SetupError, match='add "facet": true') as refused:
        check_facet()
    assert "\n" not in str(refused.value)
