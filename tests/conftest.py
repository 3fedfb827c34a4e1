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
        plain = ("mlops_size", *variants.CHOICE_PATHS, *variants.VALUE_CHOICES)
        return "-".join(value if key in plain else f"{key}={value}" for key, value in self.answers)


FEATURE_NAMES = [feature.name for feature in variants.FEATURES]
CHOICES = list(itertools.product(*variants.CHOICE_PATHS.values()))


def _consistent(features: dict[str, str]) -> bool:
    """No feature on without a feature it requires (the hook refuses that)."""
    return all(
        features[required] == variants.YES
        for feature in variants.FEATURES
        if features[feature.name] == variants.YES
        for required in feature.requires
    )


def _defaults(size: str) -> dict[str, str]:
    return {name: variants.feature_default(size, name) for name in FEATURE_NAMES}


def _answers(size: str, choice: tuple[str, ...], features: dict[str, str]) -> dict[str, str]:
    return {"mlops_size": size, **dict(zip(variants.CHOICE_PATHS, choice, strict=True)), **features}


def _matrix() -> tuple[list[dict[str, str]], int]:
    """The answers of every variant the tests bake, and how many of them the slow tier takes.

    Multiplied where options interact, cycled where they do not: every size with every
    combination of the choices that own files at its feature defaults; then each feature turned
    away from its default in one size (the slow tier stops here); then every other consistent
    feature combination, cycling sizes and choices. Value choices (no files of their own) are
    cycled over the list, so that every value is baked.
    """
    chosen = [
        _answers(size, choice, _defaults(size)) for size in variants.SIZES for choice in CHOICES
    ]
    placements = itertools.cycle(itertools.product(variants.SIZES, CHOICES))
    for name in FEATURE_NAMES:
        for size in variants.SIZES:
            features = _defaults(size)
            features[name] = variants.NO if features[name] == variants.YES else variants.YES
            if _consistent(features):
                break
        else:
            continue
        _, choice = next(placements)
        chosen.append(_answers(size, choice, features))
    slow = len(chosen)
    covered = {tuple(c[name] for name in FEATURE_NAMES) for c in chosen}
    for combo in itertools.product([variants.YES, variants.NO], repeat=len(FEATURE_NAMES)):
        features = dict(zip(FEATURE_NAMES, combo, strict=True))
        if combo in covered or not _consistent(features):
            continue
        size, choice = next(placements)
        chosen.append(_answers(size, choice, features))
    for option, values in variants.VALUE_CHOICES.items():
        for index, answers in enumerate(chosen):
            # Shifted once per size block, so that no value always meets the same choice.
            answers[option] = values[(index + index // len(CHOICES)) % len(values)]
    return chosen, slow


def all_variants() -> list[Variant]:
    """Every variant of the fast tier."""
    return [Variant(tuple(answers.items())) for answers in _matrix()[0]]


def covering_variants() -> list[Variant]:
    """The slow tier's variants: every size and choice at its defaults, and each feature flipped."""
    answers, slow = _matrix()
    return [Variant(tuple(a.items())) for a in answers[:slow]]


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
