"""The local twin runs the pipeline's step scripts end to end on the configured data and applies the
quality gate (reach the champion's metric plus the margin, and the floor); the code a job gets
imports only what the jobs' images have."""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import config, jobcode, local, metrics, registry
from {{ cookiecutter.package_name }}.steps import evaluate

# What the code of a job may import: AWS's XGBoost image has these libraries (its requirements.txt
# in aws/sagemaker-xgboost-container; pyarrow too, which the container's own Parquet input needs).
STEP_LIBRARIES = {
    "numpy",
    "pandas",
    "pyarrow",
    "sklearn",
    "xgboost",
    "matplotlib",
    "boto3",
    "botocore",
}
# What a job that runs only in the project's own steps image may import besides: the monitor's
# scheduled job (steps/monitor.py) is no pipeline step, and always runs there.
OWN_IMAGE_LIBRARIES = {"monitor.py": {"evidently"}}
# The Spark job runs in SageMaker's Spark image, whose Python has pyspark (pipeline/spark.py).
OTHER_IMAGE_LIBRARIES = {"preprocess_spark.py": {"pyspark"}}
PLOTS = {
    "binary_classification": ["confusion_matrix.png", "roc_curve.png", "feature_importance.png"],
    "regression": ["residuals.png", "feature_importance.png"],
}


def test_local_run_applies_the_quality_gate_to_its_evaluation(local_run):
    gate = config.QUALITY_GATE
    evaluation = json.loads(
        (local_run.output_dir / "evaluation" / evaluate.EVALUATION_FILE).read_text()
    )
    value = local.metric_value(evaluation, gate.json_path)
    required = local.metric_value(evaluation, gate.required_json_path)
    assert f"{gate.metric} on the test split: {value:.4f}" in local_run.out
    assert local.champion_comparison(gate, evaluation) in local_run.out
    # Whether the gate passes is a fact of the data; what the run does with it is not.
    passed = gate.passes(value, required)
    assert local_run.code == (0 if passed else 1)
    outcome = "passed" if passed else "failed"
    assert f"quality gate {outcome}: {local.gate_verdict(gate, value, required)}" in local_run.out


def test_without_an_approved_model_the_naive_baseline_is_the_champion(local_run):
    gate = config.QUALITY_GATE
    evaluation = json.loads(
        (local_run.output_dir / "evaluation" / evaluate.EVALUATION_FILE).read_text()
    )
    champion = evaluation["champion"]
    assert (champion["model_package"], champion["strategy"]) == (None, evaluate.NO_CHAMPION)
    section = gate.json_path.split(".")[0]
    assert champion[section] == evaluation["naive_baseline"][section]
    naive = local.metric_value(evaluation, f"naive_baseline.{gate.json_path}")
    assert champion["margin"] == gate.champion_margin
    assert champion["required"] == pytest.approx(naive + gate.champion_margin)
    assert local.champion_comparison(gate, evaluation) == (
        f"champion none ({evaluate.NO_CHAMPION}): {gate.metric} {naive:.4f}; challenger "
        f"{local.metric_value(evaluation, gate.json_path):.4f} must reach "
        f"{champion['required']:.4f} (margin {gate.champion_margin})"
    )


def test_local_run_leaves_every_artefact(local_run):
    output_dir = local_run.output_dir
    expected = [
        *(f"processed/{split}/{split}.csv" for split in ("train", "validation", "test")),
        *(f"processed/{split}/schema.json" for split in ("train", "validation", "test")),
        "model/xgboost-model",
        "evaluation/evaluation.json",
        *(f"evaluation/{plot}" for plot in PLOTS[config.PROBLEM_TYPE]),
    ]
    if config.DATA_QUALITY_BASELINE:
        expected += ["reference/schema.json", "reference/reference.csv", "reference/profile.json"]
    if config.EXPLAINABILITY_REPORT:
        expected += ["explainability/explainability.json", "explainability/shap_summary.png"]
    if config.MODEL_CARD:
        expected += ["model_card.md", "model-card/model_card.json", "model-card/register.json"]
    for relative in expected:
        assert (output_dir / relative).is_file(), relative
    assert [path.name for path in (output_dir / "model").iterdir()] == ["xgboost-model"]
    assert (output_dir / "reference").exists() == config.DATA_QUALITY_BASELINE
    assert (output_dir / "explainability").exists() == config.EXPLAINABILITY_REPORT
    assert (output_dir / "model_card.md").exists() == config.MODEL_CARD


def test_an_unreachable_floor_fails_the_gate_with_exit_1(
    local_run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    gate = config.QUALITY_GATE
    evaluation = json.loads(
        (local_run.output_dir / "evaluation" / evaluate.EVALUATION_FILE).read_text()
    )
    # The steps as they ran; only the gate is applied again, with a floor out of reach.
    monkeypatch.setattr(local, "run", lambda *args: evaluation)
    floor = math.inf if gate.higher_is_better else -math.inf
    argv = ["--output-dir", str(local_run.output_dir), "--registry-dir", str(tmp_path)]
    code = local.main([*argv, "--threshold", str(floor)])
    out = capsys.readouterr().out
    assert code == 1
    value = local.metric_value(evaluation, gate.json_path)
    assert f"quality gate failed: {gate.metric} {value:.4f} is " in out
    assert f"and not {'>=' if gate.higher_is_better else '<='} the floor {floor}" in out
    assert registry.versions(tmp_path) == []  # a failed gate registers nothing


@pytest.mark.parametrize(
    ("value", "required", "passes", "outcomes"),
    [
        (0.8, 0.5, True, ("", "")),
        (0.8, 0.8, True, ("", "")),  # reaching the requirement is enough
        (0.6, 0.5, False, ("", "not ")),
        (0.75, 0.8, False, ("not ", "")),
        (0.5, 0.8, False, ("not ", "not ")),
    ],
)
def test_the_gate_needs_both_conditions_and_names_each(
    value: float, required: float, passes: bool, outcomes: tuple[str, str]
):
    gate = config.QualityGate("auc", "binary_classification_metrics.auc.value", True, 0.7, 0.005)
    assert gate.passes(value, required) is passes
    meets, reaches = outcomes
    assert local.gate_verdict(gate, value, required) == (
        f"auc {value:.4f} is {meets}>= the required {required:.4f} (champion + margin) "
        f"and {reaches}>= the floor 0.7"
    )
    assert gate.champion_json_path == "champion.binary_classification_metrics.auc.value"
    assert gate.required_json_path == "champion.required"


def test_a_lower_is_better_gate_compares_the_other_way():
    gate = config.QualityGate("rmse", "regression_metrics.rmse.value", False, 10.0, 0.5)
    assert gate.comparisons == ("<=", "<=")
    assert gate.passes(5.0, 8.0)
    assert gate.passes(8.0, 8.0)
    assert not gate.passes(9.0, 8.0)  # does not reach the champion's requirement
    assert not gate.passes(11.0, 20.0)  # above the ceiling
    assert local.gate_verdict(gate, 9.0, 8.0) == (
        "rmse 9.0000 is not <= the required 8.0000 (champion + margin) and <= the floor 10.0"
    )


def test_the_configured_gate_has_a_margin_and_evaluates_headline_metric():
    gate = config.QUALITY_GATE
    # evaluate.py runs alone in SageMaker, so it names the gate metric itself: they must agree.
    assert metrics.HEADLINE_METRICS[config.PROBLEM_TYPE] == gate.metric
    assert gate.json_path.split(".")[1] == gate.metric
    assert gate.higher_is_better  # evaluate computes champion.required as value + margin
    assert gate.champion_margin > 0


def test_metric_value_follows_the_json_path():
    evaluation = {"regression_metrics": {"rmse": {"value": 3.5, "standard_deviation": "NaN"}}}
    assert local.metric_value(evaluation, "regression_metrics.rmse.value") == 3.5


def test_job_code_imports_only_the_xgboost_image_libraries():
    """Without the project's own image the jobs run AWS's XGBoost image, whose Python has these
    libraries, and the code a job gets (jobcode.py): each step script imports the package by its
    absolute name (it runs as a file, not as a module of the package), and every shipped file
    imports only those libraries and the package."""
    common = STEP_LIBRARIES | set(sys.stdlib_module_names) | {"__future__", config.__package__}
    scripts = sorted(path.name for path in config.STEPS_DIR.glob("*.py") if path.stem != "__init__")
    for script in scripts:
        allowed = common | OWN_IMAGE_LIBRARIES.get(script, set())
        allowed |= OTHER_IMAGE_LIBRARIES.get(script, set())
        for name, path in jobcode.files(script).items():
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.level:
                    assert name != jobcode.entry_script(script), f"{script}: a relative import"
                    continue
                if isinstance(node, ast.ImportFrom):
                    modules = [node.module or ""]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                else:
                    continue
                for module in modules:
                    assert module.split(".")[0] in allowed, f"{name} imports {module}"


@pytest.mark.parametrize("champion", [0.5, 0.9, 0.9998, 1.0])
def test_a_champion_near_the_maximum_leaves_the_gate_passable(champion: float):
    """The gate's one rule (evaluate writes it as champion.required, which the local run and the
    pipeline's condition compare with): a full margin where there is room, else half the room
    left, so that R^2 0.9998 does not ask for 1.0048 and a perfect champion can be matched."""
    gate = config.QUALITY_GATE
    margin = gate.champion_margin
    maximum = metrics.METRIC_MAXIMUM[gate.metric]
    required = metrics.required_to_beat(champion, margin, gate.metric)
    assert champion <= required <= maximum
    assert gate.meets(maximum, required)  # a better model (here, a perfect one) can pass
    if champion + margin <= maximum:
        assert required == pytest.approx(champion + margin)
    if champion < maximum:
        assert not gate.meets(champion, required)  # a retrain that scores the same does not
