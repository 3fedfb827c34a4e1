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
        return "-".join(
            value if key in ("mlops_size", *variants.CHOICE_PATHS) else f"{key}={value}"
            for key, value in self.answers
        )


def all_variants() -> list[Variant]:
    """Every size x every choice option that owns files x every feature on and off."""
    axes = {"mlops_size": list(variants.SIZES)}
    axes |= {option: list(by_value) for option, by_value in variants.CHOICE_PATHS.items()}
    axes |= {feature.name: [variants.YES, variants.NO] for feature in variants.FEATURES}
    return [
        Variant(tuple(zip(axes, values, strict=True)))
        for values in itertools.product(*axes.values())
    ]


def covering_variants() -> list[Variant]:
    """Fewer variants for the slow tier, still covering what changes the generated code.

    The size only changes feature defaults, so: every size with its defaults for every choice
    value, then each feature combination that is still missing, cycling size and choices.
    """
    choices = list(itertools.product(*variants.CHOICE_PATHS.values()))
    chosen = []
    for size in variants.SIZES:
        defaults = {f.name: variants.feature_default(size, f.name) for f in variants.FEATURES}
        chosen += [
            {"mlops_size": size, **dict(zip(variants.CHOICE_PATHS, c, strict=True)), **defaults}
            for c in choices
        ]
    covered = {tuple(v[f.name] for f in variants.FEATURES) for v in chosen}
    combos = itertools.product([variants.YES, variants.NO], repeat=len(variants.FEATURES))
    missing = [combo for combo in combos if combo not in covered]
    cycle = itertools.cycle(itertools.product(variants.SIZES, choices))
    for combo, (size, choice) in zip(missing, cycle, strict=False):  # cycle is endless
        chosen.append(
            {
                "mlops_size": size,
                **dict(zip(variants.CHOICE_PATHS, choice, strict=True)),
                **dict(zip([f.name for f in variants.FEATURES], combo, strict=True)),
            }
        )
    by_answers = {v.answers: v for v in all_variants()}
    return [by_answers[tuple((key, c[key]) for key, _ in VARIANTS[0].answers)] for c in chosen]


VARIANTS = all_variants()
COVERING_VARIANTS = covering_variants()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`variant`: all variants in the fast tier, a covering set in the slow tier."""
    if "variant" in metafunc.fixturenames:
        chosen = COVERING_VARIANTS if metafunc.definition.get_closest_marker("slow") else VARIANTS
        metafunc.parametrize("variant", chosen, ids=[v.id for v in chosen], scope="session")


@dataclass
class BakedProject:
    path: Path
    context: dict[str, str]

    @property
    def package(self) -> str:
        return self.context["package_name"]

    def files(self) -> set[str]:
        return {str(p.relative_to(self.path)) for p in self.path.rglob("*") if p.is_file()}


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


CHECKOV_VENV = TEMPLATE_DIR / ".cache" / "checkov-venv"


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov from tests/checkov-requirements.txt (every package pinned), in its own
    environment, installed once for all workers; returns its executable."""
    CHECKOV_VENV.parent.mkdir(exist_ok=True)
    with open(CHECKOV_VENV.parent / "checkov-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (CHECKOV_VENV / "bin" / "python").exists():
            subprocess.run(
                [uv(), "venv", "-q", "--python", sys.executable, str(CHECKOV_VENV)], check=True
            )
        subprocess.run(
            [uv(), "pip", "sync", "-q", str(TEMPLATE_DIR / "tests" / "checkov-requirements.txt")],
            env={**os.environ, "VIRTUAL_ENV": str(CHECKOV_VENV)},
            check=True,
        )
    return CHECKOV_VENV / "bin" / "checkov"


def uv() -> str:
    """The pinned uv from the template's own environment."""
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is missing: run `make install` in the template"
    return found


def run_in_project(
    project: BakedProject, venv: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command in a baked project with the shared environment, as `uv run` would."""
    env = {
        **os.environ,
        **(extra_env or {}),
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(project.path / "src"),
    }
    env.pop("PYTHONHOME", None)
    return subprocess.run(
        args, cwd=project.path, env=env, capture_output=True, text=True, timeout=600
    )
