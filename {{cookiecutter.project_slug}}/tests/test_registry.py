"""The local registry: a passing local run registers its model as PendingManualApproval, an
approved version becomes the champion the next run must beat, and the margin keeps a retrain on
the same data from registering a version that is no better."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import (
    config,
    contract,
    lineage,
    local,
    metrics,
    model_io,
    registry,
)
from {{ cookiecutter.package_name }}.steps import evaluate, train


def evaluation_of(output_dir: Path) -> dict:
    return json.loads((output_dir / "evaluation" / evaluate.EVALUATION_FILE).read_text())


def test_a_passing_run_registers_its_model_as_pending(local_run):
    packages = registry.versions(local_run.registry_dir)
    if local_run.code != 0:
        # The gate failed on this data (a fact of the data): nothing is registered.
        assert packages == []
        return
    (package,) = packages
    assert (package["version"], package["status"]) == ("v0001", registry.PENDING)
    assert f"registered v0001 as {registry.PENDING} in {local_run.registry_dir}" in local_run.out
    folder = registry.model_dir(local_run.registry_dir, "v0001")
    model = local_run.output_dir / "model" / model_io.MODEL_FILE
    assert (folder / model_io.MODEL_FILE).read_bytes() == model.read_bytes()
    gate = config.QUALITY_GATE
    value = local.metric_value(evaluation_of(local_run.output_dir), gate.json_path)
    assert package["metric"] == {"name": gate.metric, "value": value}
    git = lineage.git_state()
    metadata = package["metadata"]
    assert (metadata["git_commit"], metadata["git_dirty"]) == (git.commit, git.dirty)
    assert metadata["hyperparameters"] == train.HYPERPARAMETERS
    # Its drift-check baselines, copies of the run's, recorded as the SageMaker registry does.
    if config.DATA_QUALITY_BASELINE:
        assert set(package["drift_check_baselines"]) == {"ModelDataQuality", "ModelQuality"}
        for kind, folder_name in local.BASELINE_FOLDERS.items():
            for part, name in (
                ("Statistics", "statistics.json"),
                ("Constraints", "constraints.json"),
            ):
                kept = folder / package["drift_check_baselines"][kind][part]
                assert kept.read_bytes() == (local_run.output_dir / folder_name / name).read_bytes()
    else:
        assert "drift_check_baselines" not in package


def test_baselines_are_copied_so_that_the_next_run_cannot_change_them(local_run, tmp_path: Path):
    run = tmp_path / "run"
    for folder_name in ("baseline", "model-quality"):
        (run / folder_name).mkdir(parents=True)
        for name in ("statistics.json", "constraints.json"):
            (run / folder_name / name).write_text(json.dumps({folder_name: name}))
    baselines = {kind: run / folder for kind, folder in local.BASELINE_FOLDERS.items()}
    folder = tmp_path / "registry"
    package = registry.register(folder, local_run.output_dir / "model", 0.5, None, baselines)
    shutil.rmtree(run)
    kept = registry.model_dir(folder, package["version"])
    recorded = package["drift_check_baselines"]["ModelQuality"]["Constraints"]
    assert json.loads((kept / recorded).read_text()) == {"model-quality": "constraints.json"}
    assert json.loads((kept / registry.PACKAGE_FILE).read_text()) == package


def test_the_approved_model_is_the_champion_and_the_margin_stops_a_retrain(
    local_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    gate = config.QUALITY_GATE
    first = evaluation_of(local_run.output_dir)
    registry_dir = tmp_path / "registry"
    if local_run.code == 0:
        shutil.copytree(local_run.registry_dir, registry_dir)
    else:  # the gate failed on this data: register the run's model by hand, the rest is the same
        value = local.metric_value(first, gate.json_path)
        registry.register(registry_dir, local_run.output_dir / "model", value)
    assert registry.main(["--registry-dir", str(registry_dir), "approve"]) == 0
    assert capsys.readouterr().out == "registry: v0001 is Approved\n"

    argv = ["--output-dir", str(tmp_path / "run"), "--registry-dir", str(registry_dir)]
    code = local.main(argv)
    out = capsys.readouterr().out
    evaluation = evaluation_of(tmp_path / "run")
    champion = evaluation["champion"]
    assert (champion["model_package"], champion["strategy"]) == ("v0001", "approved model v0001")
    # Same data, same seed: the same model, so the champion scores what the challenger scores.
    value = local.metric_value(evaluation, gate.json_path)
    assert local.metric_value(evaluation, gate.champion_json_path) == value
    section = gate.json_path.split(".")[0]
    assert champion[section] == metrics.scalar_metrics({section: evaluation[section]})[section]
    margin = gate.champion_margin
    assert champion["margin"] == margin > 0
    maximum = metrics.METRIC_MAXIMUM[gate.metric]
    assert champion["required"] == pytest.approx(min(value + margin, (value + maximum) / 2))
    assert (
        f"champion v0001: {gate.metric} {value:.4f}; challenger {value:.4f} must reach "
        f"{champion['required']:.4f} (margin {margin})"
    ) in out
    verdict = local.gate_verdict(gate, value, champion["required"])
    if value == maximum:
        # Nothing beats a perfect champion: an equally perfect model passes and registers.
        assert code == 0 and f"quality gate passed: {verdict}" in out
        assert [package["version"] for package in registry.versions(registry_dir)][-1] == "v0002"
        return
    # ... and the margin fails the gate: no new version.
    assert not gate.meets(value, champion["required"])
    assert code == 1
    assert f"quality gate failed: {verdict}" in out
    assert "registered" not in out
    assert [package["version"] for package in registry.versions(registry_dir)] == ["v0001"]


def test_versions_count_up_and_approve_defaults_to_the_latest_pending(
    configured, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    folder = tmp_path / "registry"
    for value in (0.1, 0.2, 0.3):
        registry.register(folder, configured.model, value)
    assert [p["version"] for p in registry.versions(folder)] == ["v0001", "v0002", "v0003"]
    assert registry.latest(folder, registry.APPROVED) is None
    assert registry.main(["--registry-dir", str(folder), "approve", "--version", "v0001"]) == 0
    assert registry.main(["--registry-dir", str(folder), "reject"]) == 0  # v0003
    assert registry.main(["--registry-dir", str(folder), "approve"]) == 0  # v0002
    assert capsys.readouterr().out.splitlines() == [
        "registry: v0001 is Approved",
        "registry: v0003 is Rejected",
        "registry: v0002 is Approved",
    ]
    statuses = {p["version"]: p["status"] for p in registry.versions(folder)}
    assert statuses == {"v0001": "Approved", "v0002": "Approved", "v0003": "Rejected"}
    assert registry.latest(folder, registry.APPROVED)["version"] == "v0002"
    assert registry.main(["--registry-dir", str(folder), "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:4] for line in lines] == [
        ["v0001", "Approved", config.QUALITY_GATE.metric, "0.1000"],
        ["v0002", "Approved", config.QUALITY_GATE.metric, "0.2000"],
        ["v0003", "Rejected", config.QUALITY_GATE.metric, "0.3000"],
    ]


def test_approve_without_a_pending_version_or_with_an_unknown_one_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    folder = tmp_path / "registry"
    assert registry.main(["--registry-dir", str(folder), "approve"]) == 1
    assert capsys.readouterr().err == f"registry: no version in {folder} is {registry.PENDING}\n"
    assert registry.main(["--registry-dir", str(folder), "approve", "--version", "v0009"]) == 1
    assert capsys.readouterr().err == f"registry: no version v0009 in {folder}\n"
    assert registry.main(["--registry-dir", str(folder), "list"]) == 0
    assert "no versions in" in capsys.readouterr().out


def test_the_data_manifest_is_kept_with_the_version(local_run, tmp_path: Path):
    splits = local_run.output_dir / "processed"
    manifest = splits / contract.MANIFEST_DIR / contract.MANIFEST_FILE
    folder = tmp_path / "registry"
    package = registry.register(folder, local_run.output_dir / "model", 0.5, manifest)
    kept = registry.model_dir(folder, package["version"]) / package["metadata"]["data_manifest"]
    assert kept.read_bytes() == manifest.read_bytes()
    assert package["metadata"]["data_sha256"] == json.loads(manifest.read_text())["sha256"]
