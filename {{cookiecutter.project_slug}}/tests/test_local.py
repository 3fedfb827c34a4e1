"""The local twin runs the pipeline's step scripts end to end on the sample data and applies the
quality gate; the step scripts are self-contained, as SageMaker runs them."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import config, local
from {{ cookiecutter.package_name }}.steps import evaluate

# What a step script may import: it is uploaded alone into a container with these libraries.
STEP_LIBRARIES = {"numpy", "pandas", "sklearn", "xgboost", "matplotlib"}
PLOTS = {
    "binary_classification": ["confusion_matrix.png", "roc_curve.png", "feature_importance.png"],
    "regression": ["residuals.png", "feature_importance.png"],
}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """One local run on the bundled sample with the default quality gate."""
    output_dir = tmp_path_factory.mktemp("local-run")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = local.main(["--output-dir", str(output_dir)])
    return code, stdout.getvalue(), output_dir


def test_local_run_passes_the_quality_gate_on_the_sample(local_run):
    code, out, output_dir = local_run
    gate = config.QUALITY_GATE
    evaluation = json.loads((output_dir / "evaluation" / evaluate.EVALUATION_FILE).read_text())
    value = local.metric_value(evaluation, gate.json_path)
    assert code == 0
    assert f"{gate.metric} on the test split: {value:.4f}" in out
    comparison = ">=" if gate.higher_is_better else "<="
    assert f"quality gate passed: {gate.metric} {value:.4f} {comparison} {gate.threshold}" in out


def test_local_run_leaves_every_artefact(local_run):
    _, _, output_dir = local_run
    expected = [
        "processed/train/train.csv",
        "processed/validation/validation.csv",
        "processed/test/test.csv",
        "model/xgboost-model",
        "model/metadata.json",
        "evaluation/evaluation.json",
        *(f"evaluation/{plot}" for plot in PLOTS[config.PROBLEM_TYPE]),
    ]
    if config.DATA_QUALITY_BASELINE:
        expected += ["baseline/statistics.json", "baseline/constraints.json"]
    if config.EXPLAINABILITY_REPORT:
        expected += ["explainability/explainability.json", "explainability/shap_summary.png"]
    for relative in expected:
        assert (output_dir / relative).is_file(), relative
    assert (output_dir / "baseline").exists() == config.DATA_QUALITY_BASELINE
    assert (output_dir / "explainability").exists() == config.EXPLAINABILITY_REPORT


def test_an_impossible_threshold_fails_the_gate_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    gate = config.QUALITY_GATE
    # An AUC above 1, or an RMSE of 0, is out of reach.
    threshold = 1.01 if gate.higher_is_better else 0.0
    code = local.main(["--output-dir", str(tmp_path), "--threshold", str(threshold)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"quality gate failed: {gate.metric}" in out
    assert f"{threshold}" in out.split("quality gate failed:")[1]
    # The gate fails after the run: the artefacts are there to inspect.
    assert (tmp_path / "evaluation" / evaluate.EVALUATION_FILE).is_file()


def test_a_failing_step_stops_the_run_with_exit_1(
    tmp_path: Path, sample_data, capsys: pytest.CaptureFixture[str]
):
    target = sample_data.columns[0]
    bad = tmp_path / "bad.csv"
    sample_data.drop(columns=target).to_csv(bad, index=False)
    code = local.main(["--data", str(bad), "--output-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"column '{target}' breaks rule 'required'" in err
    assert "local run failed: step preprocess failed" in err
    assert not (tmp_path / "out" / "model").exists()


def test_metric_value_follows_the_json_path():
    evaluation = {"regression_metrics": {"rmse": {"value": 3.5, "standard_deviation": "NaN"}}}
    assert local.metric_value(evaluation, "regression_metrics.rmse.value") == 3.5


def test_step_scripts_import_only_the_container_libraries():
    allowed = STEP_LIBRARIES | set(sys.stdlib_module_names) | {"__future__"}
    for script in sorted(config.STEPS_DIR.glob("*.py")):
        tree = ast.parse(script.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                # A relative import would need the package, which SageMaker does not upload.
                assert node.level == 0, f"{script.name}: relative import"
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] in allowed, f"{script.name} imports {module}"
