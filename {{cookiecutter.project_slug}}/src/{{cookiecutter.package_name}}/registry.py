"""A local model registry: the laptop's twin of the SageMaker model package group.

    python -m {{ cookiecutter.package_name }}.registry list
    python -m {{ cookiecutter.package_name }}.registry approve [--version v0002]
    python -m {{ cookiecutter.package_name }}.registry reject [--version v0002]

A folder (default build/registry) with one sub-folder per version, v0001, v0002, ..., each holding
the model file and package.json: the version, its approval status (PendingManualApproval,
Approved or Rejected, as in SageMaker), when it was registered, the gate metric of its evaluation
and the lineage a SageMaker model package records (git commit, hyperparameters, data hash).
`make local-run` registers a model that passed the quality gate as PendingManualApproval; the
latest Approved version is the champion the next run must beat. `make predict` and `make serve`
use the newest version that is not Rejected: the last run that passed the gate (serving_version).

Interruptions leave no half version: a version is written into a staging folder (.v0003.staging)
renamed into place once complete, and a status change replaces package.json with a complete copy
(both atomic on one file system). Writers take turns on the lock file .lock in the registry
(filelock: flock on Linux and macOS, msvcrt on Windows); a write takes milliseconds, so a writer
waits for the lock rather than refusing. The system releases the lock of a killed process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock

from . import config, lineage, model_io
from .contract import MANIFEST_FILE

DEFAULT_DIR = Path("build/registry")
PACKAGE_FILE = "package.json"
REFERENCE_DIR = "reference"
PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
LOCK_FILE = ".lock"
STAGING_SUFFIX = ".staging"
# A version's name, and nothing else: a VERSION such as ../x must not reach outside the registry.
VERSION_NAME = re.compile(r"v[0-9]{4,}")


class RegistryError(ValueError):
    """A version that does not exist, cannot change status or cannot be read, or a lock another
    process holds; the message says which, and what to do."""


@contextlib.contextmanager
def locked(lock_file: Path, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on lock_file (created if needed) for the with-block.

    wait=False raises RegistryError at once when another process holds it, naming that process.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    # Who holds the lock, for the refusal: beside the lock file, which Windows will not let
    # another process read while it is locked.
    owner = lock_file.with_name(f"{lock_file.name}.owner")
    lock = filelock.FileLock(lock_file)
    try:
        lock.acquire(blocking=wait)
    except filelock.Timeout:
        try:
            holder = (owner.read_text(encoding="utf-8").split() or ["unknown"])[-1]
        except OSError:
            holder = "unknown"
        raise RegistryError(f"another run (process {holder}) holds {lock_file}") from None
    try:
        owner.write_text(f"{os.getpid()}\n", encoding="utf-8")
        yield
    finally:
        lock.release()


def _read(path: Path) -> dict[str, Any]:
    """A version's package.json, refused in one line when it is cut short or not one."""
    fix = f"restore it, or move the folder {path.parent} out of the registry"
    try:
        package = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RegistryError(f"{path} cannot be read ({error}): {fix}") from None
    metric = package.get("metric") if isinstance(package, dict) else None
    if not (
        isinstance(package, dict)
        and package.get("version") == path.parent.name
        and package.get("status") in (PENDING, APPROVED, REJECTED)
        and isinstance(package.get("created"), str)
        and isinstance(metric, dict)
        and isinstance(metric.get("value"), int | float)
        and isinstance(package.get("metadata"), dict)
    ):
        raise RegistryError(f"{path} is not the package.json of version {path.parent.name}: {fix}")
    return package


def versions(registry_dir: Path) -> list[dict[str, Any]]:
    """Every version's package.json, oldest first (staging folders are not versions)."""
    packages = sorted(Path(registry_dir).glob(f"v*/{PACKAGE_FILE}"))
    return [_read(path) for path in packages if VERSION_NAME.fullmatch(path.parent.name)]


def latest(registry_dir: Path, status: str) -> dict[str, Any] | None:
    """The newest version with that status, or None."""
    found = [package for package in versions(registry_dir) if package["status"] == status]
    return found[-1] if found else None


def model_dir(registry_dir: Path, version: str) -> Path:
    if not VERSION_NAME.fullmatch(version):
        raise RegistryError(
            f"{version!r} is not a version such as v0002: `make registry` lists {registry_dir}'s"
        )
    return Path(registry_dir) / version


def serving_version(registry_dir: Path, version: str | None = None) -> dict[str, Any]:
    """The version `make predict` and `make serve` use: `version` if given, else the newest one
    that is not Rejected, the last local run that passed the gate (approved or still pending: a
    run that fails the gate registers nothing, so it never replaces this model)."""
    if version is not None:
        path = model_dir(registry_dir, version) / PACKAGE_FILE
        if not path.is_file():
            raise RegistryError(f"no version {version} in {registry_dir}")
        return _read(path)
    usable = [package for package in versions(registry_dir) if package["status"] != REJECTED]
    if not usable:
        raise RegistryError(
            f"no model in {registry_dir} has passed the quality gate: run `make local-run` first"
        )
    return usable[-1]


def serving_line(registry_dir: Path, package: dict[str, Any]) -> str:
    """Which model is used, in words: its version, status, and whether it is the last run that
    passed the gate or the approved champion."""
    usable = [p["version"] for p in versions(registry_dir) if p["status"] != REJECTED]
    champion = latest(registry_dir, APPROVED)
    roles = []
    if usable and usable[-1] == package["version"]:
        roles.append("the last run that passed the gate")
    if champion is not None and champion["version"] == package["version"]:
        roles.append("the approved champion")
    role = " and ".join(roles) or "chosen by VERSION"
    return f"model {package['version']} of {registry_dir} ({package['status']}, {role})"


def register(
    registry_dir: Path,
    trained_model_dir: Path,
    metric_value: float,
    data_manifest: Path | None = None,
    reference: Path | None = None,
) -> dict[str, Any]:
    """Copy the model into a new version, PendingManualApproval, with the value of the gate
    metric in its evaluation; returns its package.json. The version appears whole or not at all.

    reference: the monitor's reference folder (steps/reference.py), copied into the version and
    recorded in package.json (`reference`: its path relative to the version folder), as the
    pipeline records the reference's S3 URI with the model package.
    """
    registry_dir = Path(registry_dir)
    with locked(registry_dir / LOCK_FILE):
        # Under the lock a staging folder is a killed writer's: never a version, and cleared.
        for stale in registry_dir.glob(f".v*{STAGING_SUFFIX}"):
            shutil.rmtree(stale)
        # Every version-named folder counts, even one without its package.json: never reused.
        names = [path.name for path in registry_dir.glob("v*")]
        existing = [int(name[1:]) for name in names if VERSION_NAME.fullmatch(name)]
        version = f"v{max(existing, default=0) + 1:04d}"
        staging = registry_dir / f".{version}{STAGING_SUFFIX}"
        staging.mkdir()
        try:
            package = _fill(
                staging, version, trained_model_dir, metric_value, data_manifest, reference
            )
            staging.rename(model_dir(registry_dir, version))
        except BaseException:
            # Ctrl-C (KeyboardInterrupt) included; a kill leaves the folder to the next writer.
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return package


def _fill(
    folder: Path,
    version: str,
    trained_model_dir: Path,
    metric_value: float,
    data_manifest: Path | None,
    reference: Path | None,
) -> dict[str, Any]:
    """Write a version's files into folder, package.json last; returns the package."""
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
    if version is not None:
        model_dir(registry_dir, version)  # refuses a name that is not a version's
    with locked(Path(registry_dir) / LOCK_FILE):
        if version is None:
            pending = latest(registry_dir, PENDING)
            if pending is None:
                raise RegistryError(f"no version in {registry_dir} is {PENDING}")
            version = pending["version"]
        path = model_dir(registry_dir, version) / PACKAGE_FILE
        if not path.is_file():
            raise RegistryError(f"no version {version} in {registry_dir}")
        package = _read(path)
        package["status"] = status
        _write(path.parent, package)
    return package


def _write(folder: Path, package: dict[str, Any]) -> None:
    """package.json, replaced whole: an interrupted write leaves the old one."""
    partial = folder / f".{PACKAGE_FILE}.partial"
    partial.write_text(json.dumps(package, indent=2) + "\n", encoding="utf-8")
    partial.replace(folder / PACKAGE_FILE)


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
    status = APPROVED if args.command == "approve" else REJECTED
    try:
        if args.command == "list":
            packages = versions(args.registry_dir)
            for package in packages:
                print(describe(package))
            if not packages:
                print(f"no versions in {args.registry_dir}: `make local-run` registers one")
            return 0
        package = set_status(args.registry_dir, status, args.version)
    except (RegistryError, OSError) as error:
        # OSError: a registry on a read-only disk, or whose lock cannot be created.
        print(f"registry: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("registry: interrupted; every version is as it was or fully changed", file=sys.stderr)
        return 130
    print(f"registry: {package['version']} is {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
