"""Bake variants once per session and share them between tests.

The matrix is generated from cookiecutter.json and variants.py, never hand-copied: every size,
every problem type and every feature both on and off.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
PROJECT_TEMPLATE = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
sys.path.insert(0, str(TEMPLATE_DIR))

import variants  # noqa: E402

COOKIECUTTER_JSON = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
# The projects' shared environment lives beside the template so that later sessions reuse it.
GENERATED_VENV = TEMPLATE_DIR / ".cache" / "generated-venv"


@dataclass(frozen=True)
class Variant:
    """One combination of answers that changes the generated files."""

    answers: tuple[tuple[str, str], ...]

    @property
    def context(self) -> dict[str, str]:
        return dict(self.answers)

    @property
    def id(self) -> str:
        return "-".join(value if key != "data_quality_baseline" else f"baseline_{value}"
                        for key, value in self.answers)


def all_variants() -> list[Variant]:
    """Every size x every choice option that owns files x every feature on and off."""
    axes = {"mlops_size": list(variants.SIZES)}
    axes |= {option: list(by_value) for option, by_value in variants.CHOICE_PATHS.items()}
    axes |= {feature.name: [variants.YES, variants.NO] for feature in variants.FEATURES}
    return [
        Variant(tuple(zip(axes, values, strict=True)))
        for values in itertools.product(*axes.values())
    ]


VARIANTS = all_variants()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "variant" in metafunc.fixturenames:
        metafunc.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS], scope="session")


@dataclass
class BakedProject:
    path: Path
    context: dict[str, str]

    @property
    def package(self) -> str:
        return self.context["package_name"]

    def files(self) -> set[str]:
        return {
            str(p.relative_to(self.path)) for p in self.path.rglob("*") if p.is_file()
        }


@pytest.fixture(scope="session")
def bake(cookies_session):
    """Bake a context once per session (per xdist worker); later calls reuse the result."""
    cache: dict[tuple, BakedProject] = {}

    def _bake(**extra_context: str) -> BakedProject:
        key = tuple(sorted(extra_context.items()))
        if key not in cache:
            result = cookies_session.bake(extra_context=extra_context)
            assert result.exit_code == 0, result.exception
            cache[key] = BakedProject(result.project_path, result.context)
        return cache[key]

    return _bake


@pytest.fixture(scope="session")
def baked(bake, variant: Variant) -> BakedProject:
    return bake(**variant.context)


@pytest.fixture(scope="session")
def generated_venv(bake) -> Path:
    """The generated projects' dependencies from their uv.lock, installed once for all variants.

    Every variant has the same lock file, so one environment serves all; each project is put on
    PYTHONPATH instead of being installed. A file lock keeps xdist workers from installing twice.
    """
    project = bake().path
    GENERATED_VENV.parent.mkdir(exist_ok=True)
    with open(GENERATED_VENV.parent / "generated-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(
            [uv(), "sync", "--locked", "--no-install-project", "--project", str(project)],
            env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(GENERATED_VENV)},
            check=True,
        )
    return GENERATED_VENV


def uv() -> str:
    """The pinned uv from the template's own environment."""
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is missing: run `make install` in the template"
    return found


def run_in_project(
    project: BakedProject, venv: Path, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run a command in a baked project with the shared environment, as `uv run` would."""
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(project.path / "src"),
    }
    env.pop("PYTHONHOME", None)
    return subprocess.run(
        args, cwd=project.path, env=env, capture_output=True, text=True, timeout=timeout
    )
