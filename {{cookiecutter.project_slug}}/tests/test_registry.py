"""The local registry: a passing local run registers its model as PendingManualApproval, an
approved version becomes the champion the next run must beat, and the margin keeps a retrain on
the same data from registering a version that is no better."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

import {{ cookiecutter.package_name }}
from {{ cookiecutter.package_name }} import (
    config,
    contract,
    lineage,
    local,
    metrics,
    model_io,
    predict,
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
    # The monitor's reference, a copy of the run's, as the pipeline records it with the package.
    if config.DATA_QUALITY_BASELINE:
        assert package["reference"] == registry.REFERENCE_DIR
        source = local_run.output_dir / local.REFERENCE_FOLDER
        for path in source.iterdir():
            assert (folder / registry.REFERENCE_DIR / path.name).read_bytes() == path.read_bytes()
    else:
        assert "reference" not in package


def test_the_reference_is_copied_so_that_the_next_run_cannot_change_it(local_run, tmp_path: Path):
    run = tmp_path / "run" / local.REFERENCE_FOLDER
    run.mkdir(parents=True)
    (run / "profile.json").write_text(json.dumps({"rows": 1}))
    folder = tmp_path / "registry"
    package = registry.register(folder, local_run.output_dir / "model", 0.5, None, run)
    shutil.rmtree(run)
    version = registry.model_dir(folder, package["version"])
    assert json.loads((version / package["reference"] / "profile.json").read_text()) == {"rows": 1}
    assert json.loads((version / registry.PACKAGE_FILE).read_text()) == package


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


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, raised by a patched write step."""


def interrupt_on_call(number: int, write):
    """write, made to raise Interrupted on its number-th call instead of writing."""
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(args)
        if len(calls) == number:
            raise Interrupted
        return write(*args, **kwargs)

    return interrupted


# Every write step of a registration and of a status change: (operation, patched name, the
# call interrupted).
WRITE_STEPS = [
    ("register", "shutil.copy2", 1),  # the model file
    ("register", "shutil.copy2", 2),  # the data manifest
    ("register", "shutil.copytree", 1),  # the monitor's reference
    ("register", "Path.write_text", 1),  # package.json, half-way
    ("register", "Path.rename", 1),  # the staging folder into place
    ("approve", "Path.write_text", 1),  # the new package.json, half-way
    ("approve", "Path.replace", 1),  # ... into place
]


def test_ctrl_c_at_any_write_leaves_every_version_whole(
    local_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Interrupted at each write, the registry stays readable, with no half version, and the
    next registration or status change completes."""
    run = local_run.output_dir
    manifest = run / "processed" / contract.MANIFEST_DIR / contract.MANIFEST_FILE
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "reference.json").write_text("{}")
    folder = tmp_path / "registry"
    registry.register(folder, run / "model", 0.5)
    for operation, target, number in WRITE_STEPS:
        before = registry.versions(folder)
        owner, attribute = target.split(".")
        where = registry.shutil if owner == "shutil" else Path
        with monkeypatch.context() as patched:
            write = getattr(where, attribute)
            if attribute == "write_text":
                # A write cut short: half the text reaches the file, then Ctrl-C.
                def write(path, text, *args, _write=write, **kwargs):
                    _write(path, text[: len(text) // 2], *args, **kwargs)

            patched.setattr(where, attribute, interrupt_on_call(number, write))
            with pytest.raises(Interrupted):
                if operation == "approve":
                    registry.set_status(folder, registry.APPROVED, "v0001")
                else:
                    registry.register(folder, run / "model", 0.6, manifest, reference)
        assert registry.versions(folder) == before, target  # readable, and unchanged
        assert sorted(path.name for path in folder.iterdir() if path.name.startswith("v")) == [
            package["version"] for package in before
        ]
    package = registry.register(folder, run / "model", 0.7, manifest, reference)
    assert package["version"] == "v0002"
    assert registry.set_status(folder, registry.APPROVED, "v0001")["status"] == registry.APPROVED
    assert [p["status"] for p in registry.versions(folder)] == [registry.APPROVED, registry.PENDING]


def test_a_killed_writers_staging_folder_is_never_a_version(configured, tmp_path: Path):
    folder = tmp_path / "registry"
    registry.register(folder, configured.model, 0.5)
    staging = folder / f".v0002{registry.STAGING_SUFFIX}"  # what a kill -9 leaves
    staging.mkdir()
    (staging / model_io.MODEL_FILE).write_bytes(b"half")
    assert [p["version"] for p in registry.versions(folder)] == ["v0001"]
    assert registry.register(folder, configured.model, 0.6)["version"] == "v0002"
    assert not staging.exists()
    assert (folder / "v0002" / model_io.MODEL_FILE).read_bytes() == (
        configured.model / model_io.MODEL_FILE
    ).read_bytes()


def test_a_second_run_in_the_same_folder_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """A run holds its output folder's lock; the kernel releases it however the run ends."""
    output_dir = tmp_path / "run"
    lock = output_dir / local.RUN_LOCK
    with registry.locked(lock):
        code = local.main(["--output-dir", str(output_dir), "--registry-dir", str(tmp_path)])
    assert code == 1
    assert capsys.readouterr().err == (
        f"local-run: another run (process {os.getpid()}) holds {lock}\n"
    )
    with registry.locked(lock, wait=False):  # free again
        pass


def test_registry_writers_wait_for_each_other(configured, tmp_path: Path):
    folder = tmp_path / "registry"
    registry.register(folder, configured.model, 0.5)
    with registry.locked(folder / registry.LOCK_FILE):
        approving = threading.Thread(
            target=registry.set_status, args=(folder, registry.APPROVED, "v0001")
        )
        approving.start()
        approving.join(0.05)
        assert approving.is_alive()  # waiting for the lock
        assert registry.versions(folder)[0]["status"] == registry.PENDING
    approving.join()
    assert registry.versions(folder)[0]["status"] == registry.APPROVED


@pytest.mark.parametrize("version", ["../x", "v0001/../../x", "/tmp/v0001", "v1", "v0001\n"])
def test_a_version_that_is_not_a_version_name_is_refused_in_one_line(
    version: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    argv = ["--registry-dir", str(tmp_path), "approve", "--version", version]
    assert registry.main(argv) == 1
    assert capsys.readouterr().err == (
        f"registry: {version!r} is not a version such as v0002: `make registry` lists "
        f"{tmp_path}'s\n"
    )


@pytest.mark.parametrize(
    "content", ['{"version": "v0001", "sta', "", "[]", '{"version": "v0009"}', "\xff"]
)
def test_a_broken_package_json_is_refused_in_one_line_everywhere(
    content: str, configured, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """Cut short, emptied, or not a package of this version: list, approve, the next local run
    and predict each say which file, in one line."""
    folder = tmp_path / "registry"
    registry.register(folder, configured.model, 0.5)
    (folder / "v0001" / registry.PACKAGE_FILE).write_text(content, encoding="latin-1")
    package_file = folder / "v0001" / registry.PACKAGE_FILE
    for argv in (["list"], ["approve"], ["approve", "--version", "v0001"]):
        assert registry.main(["--registry-dir", str(folder), *argv]) == 1
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f"registry: {package_file} ") and "restore it" in line
    argv = ["--output-dir", str(tmp_path / "run"), "--registry-dir", str(folder)]
    assert local.main(argv) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"local-run: {package_file} ")
    assert predict.main(["--data", str(config.DATA), "--registry-dir", str(folder)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"predict failed: {package_file} ")


def test_an_unwritable_registry_is_refused_in_one_line(
    configured, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """A registry that cannot be written (under a file here; a read-only build/ alike)."""
    blocker = tmp_path / "build"
    blocker.write_text("")
    assert registry.main(["--registry-dir", str(blocker / "registry"), "approve"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("registry: [Errno 20] Not a directory")
    argv = ["--output-dir", str(blocker / "local-run"), "--registry-dir", str(blocker)]
    assert local.main(argv) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("local-run: [Errno 20] Not a directory")


def test_ctrl_c_while_a_command_loads_is_one_line(capsys: pytest.CaptureFixture[str]):
    """The hook `python -m <package>.<command>` gets before its module's imports: Ctrl-C there
    prints one line; any other error keeps Python's traceback."""
    hook = {{ cookiecutter.package_name }}._interrupted
    hook(KeyboardInterrupt, KeyboardInterrupt(), None)
    assert capsys.readouterr().err == "interrupted\n"
    try:
        raise ValueError("kept")
    except ValueError as error:
        hook(ValueError, error, error.__traceback__)
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and err.endswith("ValueError: kept\n")
