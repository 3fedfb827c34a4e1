"""A local model registry: the laptop's twin of the SageMaker model package group.

    python -m {{ cookiecutter.package_name }}.registry list
    python -m {{ cookiecutter.package_name }}.registry approve [--version v0002]
    python -m {{ cookiecutter.package_name }}.registry reject [--version v0002]

A folder (default build/registry) with one sub-folder per version, v0001, v0002, ..., each holding
the model file and package.json: the version, its approval status (PendingManualApproval,
Approved or Rejected, as in SageMaker), when it was registered, the gate metric of its evaluation
and the lineage a SageMaker model package records (git commit, hyperparameters, data hash).
`make local-run` registers a model that passed the quality gate as PendingManualApproval; the
latest Approved version is the champion the next run must beat.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import config, lineage, model_io
from .contract import MANIFEST_FILE

DEFAULT_DIR = Path("build/registry")
PACKAGE_FILE = "package.json"
REFERENCE_DIR = "reference"
PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"


class RegistryError(ValueError):
    """A version that does not exist or cannot change status; the message says which."""


def versions(registry_dir: Path) -> list[dict[str, Any]]:
    """Every version's package.json, oldest first."""
    packages = sorted(Path(registry_dir).glob(f"v*/{PACKAGE_FILE}"))
    return [json.loads(path.read_text(encoding="utf-8")) for path in packages]


def latest(registry_dir: Path, status: str) -> dict[str, Any] | None:
    """The newest version with that status, or None."""
    found = [package for package in versions(registry_dir) if package["status"] == status]
    return found[-1] if found else None


def model_dir(registry_dir: Path, version: str) -> Path:
    return Path(registry_dir) / version


def register(
    registry_dir: Path,
    trained_model_dir: Path,
    metric_value: float,
    data_manifest: Path | None = None,
    reference: Path | None = None,
) -> dict[str, Any]:
    """Copy the model into a new version, PendingManualApproval, with the value of the gate
    metric in its evaluation; returns its package.json.

    reference: the monitor's reference folder (steps/reference.py), copied into the version and
    recorded in package.json (`reference`: its path relative to the version folder), as the
    pipeline records the reference's S3 URI with the model package.
    """
    registry_dir = Path(registry_dir)
    existing = [int(package["version"][1:]) for package in versions(registry_dir)]
    version = f"v{max(existing, default=0) + 1:04d}"
    folder = model_dir(registry_dir, version)
    folder.mkdir(parents=True)
    model_file = model_io.MODEL_FILE
    shutil.copy2(Path(trained_model_dir) / model_file, folder / model_file)
    _, trained = model_io.load_model(folder)
    git = lineage.git_state()
    metadata: dict[str, Any] = {
        "git_commit": git.commit,
        "git_dirty": git.dirty,
        "hyperparameters": trained.get("hyperparameters", {}),
    }
    if data_manifest is not None and data_manifest.is_file():
        # Copied: the run's output folders are replaced by the next run.
        shutil.copy2(data_manifest, folder / MANIFEST_FILE)
        metadata["data_manifest"] = MANIFEST_FILE
        metadata["data_sha256"] = json.loads(data_manifest.read_text(encoding="utf-8"))["sha256"]
    if reference is not None:
        # Copied: the run's output folders are replaced by the next run.
        shutil.copytree(reference, folder / REFERENCE_DIR)
    package = {
        "version": version,
        "status": PENDING,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "metric": {"name": config.QUALITY_GATE.metric, "value": float(metric_value)},
        "metadata": metadata,
    }
    if reference is not None:
        package["reference"] = REFERENCE_DIR
    _write(folder, package)
    return package


def set_status(registry_dir: Path, status: str, version: str | None = None) -> dict[str, Any]:
    """Give a version (default: the latest pending one) the status; returns its package.json."""
    if version is None:
        pending = latest(registry_dir, PENDING)
        if pending is None:
            raise RegistryError(f"no version in {registry_dir} is {PENDING}")
        version = pending["version"]
    path = model_dir(registry_dir, version) / PACKAGE_FILE
    if not path.is_file():
        raise RegistryError(f"no version {version} in {registry_dir}")
    package = json.loads(path.read_text(encoding="utf-8"))
    package["status"] = status
    _write(path.parent, package)
    return package


def _write(folder: Path, package: dict[str, Any]) -> None:
    (folder / PACKAGE_FILE).write_text(json.dumps(package, indent=2) + "\n", encoding="utf-8")


def describe(package: dict[str, Any]) -> str:
    """One line of `list`: version, status, metric, commit, registration time."""
    metric, metadata = package["metric"], package["metadata"]
    dirty = " (dirty)" if metadata["git_dirty"] else ""
    return (
        f"{package['version']}  {package['status']:<21}  {metric['name']} {metric['value']:.4f}  "
        f"commit {metadata['git_commit'][:12]}{dirty}  {package['created']}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry-dir", type=Path, default=DEFAULT_DIR)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every version, oldest first")
    for name in ("approve", "reject"):
        command = commands.add_parser(name, help=f"{name} a version (default: the latest pending)")
        command.add_argument("--version")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "list":
        packages = versions(args.registry_dir)
        for package in packages:
            print(describe(package))
        if not packages:
            print(f"no versions in {args.registry_dir}: `make local-run` registers one")
        return 0
    status = APPROVED if args.command == "approve" else REJECTED
    try:
        package = set_status(args.registry_dir, status, args.version)
    except RegistryError as error:
        print(f"registry: {error}", file=sys.stderr)
        return 1
    print(f"registry: {package['version']} is {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
