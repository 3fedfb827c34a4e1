"""Slow tier: the generated test suites pass, the local pipelines run, the definitions build.

The suite variants run their whole generated suite, which itself runs the local pipeline on the
configured data and builds the definition offline; the run variants (each feature flipped away
from its size's default) run the project's own commands for both, all in one interpreter. All
share one environment built from the generated uv.lock (see `generated_venv`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import (
    BAKES,
    RUN_VARIANTS,
    BakedProject,
    Variant,
    assert_suite_passed,
    distinct_renderings,
    run_in_project,
    run_modules,
)
from test_bake import INFRA

from mlops_template.checks import aws

pytestmark = pytest.mark.slow


def test_generated_test_suite_passes(suite_baked: BakedProject, generated_venv: Path) -> None:
    report = suite_baked.path / "build" / "pytest.xml"
    result = run_in_project(
        suite_baked,
        generated_venv,
        *("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"),
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert_suite_passed(suite_baked, report)


@pytest.fixture(scope="module")
def runs(bake, generated_venv: Path) -> dict[str, dict[str, tuple[int, str, str]]]:
    """Every run variant's commands in one interpreter (conftest.run_modules): its local run,
    `make local-drift` on the training rows themselves where it has model monitoring, and its
    pipeline's definition through its CLI, with AWS emulated by moto in-process. The tests that
    read them are one unit of work for xdist (conftest.pytest_xdist_make_scheduler): one worker
    runs them, once. By variant id, then by command."""
    commands = []
    for variant in RUN_VARIANTS:
        project = bake(**variant.context)
        out = project.path / "build" / "local-run"
        local = ["--output-dir", str(out)]
        commands.append((variant, "local", (project, f"{project.package}.local", local)))
        if project.context["model_monitoring"] == "yes":
            reference = out / "reference"
            drift = ["--data", str(reference / "reference.csv"), "--reference", str(reference)]
            drift += ["--output", str(out / "drift")]
            commands.append((variant, "drift", (project, f"{project.package}.monitor", drift)))
        definition = ["definition", "--offline"]
        commands.append(
            (variant, "definition", (project, f"{project.package}.pipeline", definition))
        )
    results = run_modules(generated_venv, [command for _, _, command in commands])
    found: dict[str, dict[str, tuple[int, str, str]]] = {}
    for (variant, name, _), result in zip(commands, results, strict=True):
        found.setdefault(variant.id, {})[name] = result
    return found


def test_local_run_produces_model_metrics_and_plots(
    run_baked: BakedProject, run_variant: Variant, runs
) -> None:
    baked = run_baked
    out = baked.path / "build" / "local-run"
    status, stdout, stderr = runs[run_variant.id]["local"]
    assert status == 0, stdout + stderr
    assert "quality gate passed" in stdout.lower()
    assert (out / "model" / "xgboost-model").is_file()
    evaluation = json.loads((out / "evaluation" / "evaluation.json").read_text())
    if baked.context["problem_type"] == "binary_classification":
        assert 0.9 <= evaluation["binary_classification_metrics"]["auc"]["value"] <= 1
        plots = {"confusion_matrix.png", "roc_curve.png", "feature_importance.png"}
    else:
        assert evaluation["regression_metrics"]["rmse"]["value"] > 0
        plots = {"residuals.png", "feature_importance.png"}
    for plot in plots:
        assert (out / "evaluation" / plot).read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), plot
    reference = out / "reference"
    has_reference = baked.context["data_quality_baseline"] == "yes"
    for name in ("schema.json", "reference.csv", "profile.json"):
        assert (reference / name).is_file() == has_reference, name
    has_explain = baked.context["explainability_report"] == "yes"
    assert (out / "explainability" / "explainability.json").is_file() == has_explain
    monitoring = baked.context["model_monitoring"] == "yes"
    assert ("drift" in runs[run_variant.id]) == monitoring
    if monitoring:
        # `make local-drift` on the training rows themselves: nothing to report.
        status, stdout, stderr = runs[run_variant.id]["drift"]
        assert status == 0, stdout + stderr
        assert json.loads((out / "drift" / "violations.json").read_text())["violations"] == []
        assert (out / "drift" / "report.html").is_file()


def expected_steps(context: dict[str, str]) -> set[str]:
    expected = {"Preprocess", "Train", "Evaluate", "CheckQuality"}
    if context["data_quality_baseline"] == "yes":
        # The monitor's reference, from the training split, in the project's steps image.
        expected |= {"Reference"}
    if context["explainability_report"] == "yes":
        # The trained model's SHAP values, in the project's steps image.
        expected |= {"Explain"}
    if context["feature_store"] == "yes":
        # The validated rows into the feature group, the splits from its offline store.
        expected |= {"Ingest", "Snapshot"}
    if context["bias_report"] == "yes":
        expected |= {"Bias"}
    if context["model_card"] == "yes":
        expected |= {"ModelCard"}
    return expected


def test_pipeline_definitions_build_offline(
    run_baked: BakedProject, run_variant: Variant, runs
) -> None:
    """The run variant's definition through the project's own CLI, with AWS emulated by moto
    in-process."""
    baked, variant = run_baked, run_variant.id
    status, out, err = runs[variant]["definition"]
    assert status == 0, f"{variant}: {err[-3000:]}"
    steps = {step["Name"]: step for step in json.loads(out)["Steps"]}
    assert set(steps) == expected_steps(baked.context), variant
    checks = {"Reference": "Processing", "Explain": "Processing", "Bias": "Processing"}
    for name, kind in checks.items():
        if name in steps:
            assert steps[name]["Type"] == kind, (variant, name)
    branches = steps["CheckQuality"]["Arguments"]
    assert [s["Name"] for s in branches["IfSteps"]][-1].startswith("Register"), variant
    assert [s["Type"] for s in branches["ElseSteps"]] == ["Fail"], variant


def test_hook_region_lists_match_the_sdk_images(bake, generated_venv: Path) -> None:
    """The regions aws.toml gives each image the pipeline runs are exactly those where the pinned
    SDK's image_uris has it in every scope (the SDK's own image-URI data, through its own lookup).
    Run in the generated environment, which the slow tier installs anyway: the template's own
    environment would need the SDK and its hundred dependencies for a few JSON files."""
    images = [
        {key: image[key] for key in ("framework", "version", "scopes")} for image in aws.IMAGES
    ]
    script = f"""
import json
from sagemaker.core import image_uris
from {{package}}.pipeline.staging import XGBOOST_FRAMEWORK_VERSION
found = {{"xgboost_version": XGBOOST_FRAMEWORK_VERSION, "regions": []}}
for image in {images!r}:
    regions = []
    for region in {sorted(aws.COMMERCIAL_REGIONS)!r}:
        try:
            for scope in image["scopes"]:
                image_uris.retrieve(
                    image["framework"], region=region, version=image["version"], image_scope=scope
                )
        except ValueError:
            continue
        regions.append(region)
    found["regions"].append(regions)
print(json.dumps(found))
"""
    project = bake()
    result = run_in_project(
        project,
        generated_venv,
        "python",
        "-c",
        script.replace("{package}", project.package),
        extra_env={"AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    (xgboost,) = (image for image in aws.IMAGES if image["framework"] == "xgboost")
    assert found["xgboost_version"] == xgboost["version"]
    assert found["regions"] == [sorted(image["regions"]) for image in aws.IMAGES]


def test_pre_commit_config_is_valid(generated_venv: Path) -> None:
    """Every distinct rendering across all variants, in one run."""
    renderings = distinct_renderings(".pre-commit-config.yaml")
    assert renderings
    paths = [str(path) for path, _ in renderings.values()]
    result = subprocess.run(
        [str(generated_venv / "bin" / "pre-commit"), "validate-config", *paths],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Resource types checkov 3.3 has no policy for (it then reports no summary at all).
TYPES_WITHOUT_CHECKOV_POLICIES = {"AWS::Budgets::Budget"}


def test_cloudformation_passes_checkov(checkov: Path) -> None:
    """Every distinct rendering of every template across all variants, in one checkov run (its
    start costs more than a file): no failed check; a skip sits next to its resource, with its
    reason (Metadata.checkov)."""
    paths = []
    for name in INFRA:
        renderings = distinct_renderings(name)
        assert renderings, name
        paths += [str(path.relative_to(BAKES)) for path, _ in renderings.values()]
    options = ["--skip-download", "--compact", "--output", "json", "--framework", "cloudformation"]
    result = subprocess.run(
        [str(checkov), *options, *(f"--file={path}" for path in paths)],
        capture_output=True,
        text=True,
        cwd=BAKES,
        timeout=600,
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [(c["check_id"], c["file_path"]) for c in report["results"]["failed_checks"]]
    assert (summary["failed"], failed, summary["parsing_errors"]) == (0, [], 0)
    scanned = {c["file_path"].lstrip("/") for c in report["results"]["passed_checks"]}
    assert scanned <= set(paths)
    # A file checkov reports nothing on holds only resource types it has no policy for.
    from cfnlint.decode import cfn_yaml

    for path in set(paths) - scanned:
        resources = cfn_yaml.loads((BAKES / path).read_text())["Resources"].values()
        assert {r["Type"] for r in resources} <= TYPES_WITHOUT_CHECKOV_POLICIES, path
    for skipped in report["results"]["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment", "")
        assert reason.strip(), (skipped["file_path"], skipped["check_id"])
