"""Bake variants once per session and share them between tests.

The matrix is generated from cookiecutter.json and mlops_template/variants.py, never hand-copied:
every size, every problem type and every feature both on and off.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
PROJECT_TEMPLATE = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
sys.path.insert(0, str(TEMPLATE_DIR))

from mlops_template import variants  # noqa: E402
from mlops_template.checks import names  # noqa: E402

# Bytecode written as modules are first imported, by this process, its workers and every command
# the tests start (as the generated Makefile does): the environments are not compiled in full at
# install (the template's, the generated projects', checkov's), which costs more than the modules
# the suite imports; without either, every process would compile what it imports anew.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

COOKIECUTTER_JSON = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
# pytest plugins for a baked project's own suite (data_dependent.py).
PLUGINS = TEMPLATE_DIR / "tests" / "plugins"
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
        parts = [
            value if key in plain else f"{key}={value}"
            for key, value in self.answers
            if key not in LONGEST_ANSWERS
        ]
        if LONGEST_ANSWERS.items() <= self.context.items():
            parts.append("longest-answers")
        return "-".join(parts)


FEATURE_NAMES = [feature.name for feature in variants.FEATURES]
CHOICES = list(itertools.product(*variants.CHOICE_PATHS.values()))

# Free-text answers at the longest the rules accept, with non-ASCII text: they reach the baked
# project through project.json, pyproject.toml and its names (a whole suite runs on them).
LONGEST_SLUG_EU = "s" * (63 - len("-123456789012-eu-west-1"))
LONGEST_ANSWERS = {
    "project_name": ("Long title with words " * 50)[:980] + " ÉÀ \u2019 🚀 字字",
    "description": ("A summary " * 60)[:510] + " 🚀",
    "author_name": "Ö" * 256,
    "author_email": "a" * 64 + "@" + "b" * 60 + ".example.com",
    "project_slug": LONGEST_SLUG_EU,
    "package_name": "p" * names.PACKAGE_MAX,
    "aws_region": "eu-west-1",
}


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


def _pairs(features: dict[str, str]) -> set[tuple[tuple[str, str], tuple[str, str]]]:
    return set(itertools.combinations(sorted(features.items()), 2))


def _pairwise(chosen: list[dict[str, str]]) -> list[dict[str, str]]:
    """Consistent feature combinations that, with `chosen`, put every two features together in
    every on/off setting they can take: all combinations would double with each feature, while
    the templates' conditions join at most two flags. Greedy, deterministic: each next one
    covers the most settings not yet baked."""
    consistent = [
        features
        for combo in itertools.product([variants.YES, variants.NO], repeat=len(FEATURE_NAMES))
        if _consistent(features := dict(zip(FEATURE_NAMES, combo, strict=True)))
    ]
    pairs = [_pairs(features) for features in consistent]
    missing = set().union(*pairs) - set().union(*map(_pairs, chosen))
    added = []
    while missing:
        best = max(range(len(consistent)), key=lambda index: len(pairs[index] & missing))
        added.append(consistent[best])
        missing -= pairs[best]
    return added


def _matrix() -> tuple[list[dict[str, str]], list[int], list[int]]:
    """The answers of every variant the tests bake; which of them the slow tier runs (their local
    pipeline and definition), and which of those run their whole generated test suite.

    Multiplied where options interact, cycled where they do not: every size with every
    combination of the choices that own files at its feature defaults; then each feature turned
    away from its default in one size; then every other consistent feature combination, cycling
    sizes and choices. Value choices (no files of their own) are cycled over the list, so that
    every value is baked. The whole suites run where the flags change what the suites test: the
    smallest size (every feature off) and the largest (every feature on), each with both problem
    types, each problem type with both CI systems (the sizes between mix the same flags; their
    single-feature flips run); one of them is baked with the longest answers. The single-feature
    flips run their pipeline locally and build its definition.
    """
    chosen = [
        _answers(size, choice, _defaults(size)) for size in variants.SIZES for choice in CHOICES
    ]
    extremes = [next(iter(variants.SIZES)), list(variants.SIZES)[-1]]
    # Each extreme size with each problem type once, alternating the CI system between them.
    suites = [
        index
        for index, answers in enumerate(chosen)
        if answers["mlops_size"] in extremes
        and (
            extremes.index(answers["mlops_size"])
            + sum(
                list(values).index(answers[option])
                for option, values in variants.CHOICE_PATHS.items()
            )
        )
        % 2
        == 0
    ]
    placements = itertools.cycle(itertools.product(variants.SIZES, CHOICES))
    flips = []
    for name in FEATURE_NAMES:
        for size in variants.SIZES:
            features = _defaults(size)
            features[name] = variants.NO if features[name] == variants.YES else variants.YES
            if _consistent(features):
                break
        else:
            continue
        _, choice = next(placements)
        flips.append(len(chosen))
        chosen.append(_answers(size, choice, features))
    for features in _pairwise([{name: c[name] for name in FEATURE_NAMES} for c in chosen]):
        size, choice = next(placements)
        chosen.append(_answers(size, choice, features))
    rest = [index for index in range(len(chosen)) if index not in suites + flips]
    for tier in (suites, flips, rest):
        for option, values in variants.VALUE_CHOICES.items():
            for position, index in enumerate(tier):
                # Cycled within each tier, shifted once a cycle so that the values meet.
                shifted = position + position // len(values)
                chosen[index][option] = values[shifted % len(values)]
    # The suite of the smallest size that is not the default runs on the longest answers.
    chosen[suites[1]] |= LONGEST_ANSWERS
    return chosen, suites, flips


_ANSWERS, _SUITES, _FLIPS = _matrix()
# Every variant: baked and statically checked in the fast tier.
VARIANTS = [Variant(tuple(answers.items())) for answers in _ANSWERS]
# Their whole generated test suite (which runs the local pipeline and builds the definition).
SUITE_VARIANTS = [VARIANTS[index] for index in _SUITES]
# Their local pipeline run and definition build, by the project's own commands.
RUN_VARIANTS = [VARIANTS[index] for index in _FLIPS]
COVERING_VARIANTS = SUITE_VARIANTS + RUN_VARIANTS

# The largest size's suites run on a user's own data (test_own_data: the README's "Bring your own
# data" steps, `make install` and `make test` among them, unedited), the others in the shared
# environment.
OWN_DATA_VARIANTS = [v for v in SUITE_VARIANTS if v.context["mlops_size"] == "large"]

# Fixture name -> the variants it is parametrized with.
VARIANT_FIXTURES = {
    "variant": VARIANTS,
    "suite_variant": [v for v in SUITE_VARIANTS if v not in OWN_DATA_VARIANTS],
    "own_data_variant": OWN_DATA_VARIANTS,
    "run_variant": RUN_VARIANTS,
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A variant fixture takes each of its variants, or those a test's `variants` mark selects
    (`@pytest.mark.variants(lambda context: ...)`, on the variant's answers)."""
    selected = metafunc.definition.get_closest_marker("variants")
    for name, chosen in VARIANT_FIXTURES.items():
        if name in metafunc.fixturenames:
            if selected is not None:
                chosen = [v for v in chosen if selected.args[0](v.context)]
            ids = [v.id for v in chosen]
            metafunc.parametrize(name, chosen, ids=ids, scope="session")


# Tests that share the work of a module-scoped fixture, by test file and name: one unit of work for
# xdist each (per variant for the own-data projects), so that one worker does that work once.
SHARED_WORK = {
    "test_own_data.py": "variant",  # one unit per own-data project (`swapped`)
    "test_data_shapes.py": "parameter",  # one unit per data set shape (`shaped`)
    "test_generated.py": (  # the run variants' commands, in one interpreter (`runs`)
        "test_local_run_produces_model_metrics_and_plots",
        "test_pipeline_definitions_build_offline",
    ),
}


def _work_unit(nodeid: str) -> str:
    path, _, name = nodeid.partition("::")
    file = path.rpartition("/")[2]
    shared = SHARED_WORK.get(file)
    if shared == "variant":
        return next((f"{file}[{v.id}]" for v in OWN_DATA_VARIANTS if f"[{v.id}" in name), nodeid)
    if shared == "parameter":
        return f"{file}[{name.partition('[')[2]}"
    return file if shared and name.partition("[")[0] in shared else nodeid


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """xdist's work units: a test alone, but the tests that share a fixture's work together
    (SHARED_WORK), handed out in the order pytest_collection_modifyitems gives (xdist would put
    the units with most tests first, whatever they cost). (xdist_group marks would say this, but
    xdist 3.8 cannot add their groups to pytest 9's node IDs.)"""
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False

    class SharedWorkTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    return SharedWorkTogether(config, log)


# The slow tier's longest work first, so that the run ends with many short tests that fill both
# workers, not one long one: the own-data projects (each runs a whole generated suite after its
# README's steps), then the whole suites of test_generated, the data shapes' suites, the run
# variants' commands; then the rest of the slow tier, then the fast tier.
LONGEST_FIRST = (
    "test_own_data.py::",
    "test_generated.py::test_generated_test_suite_passes",
    "test_data_shapes.py::",
    "test_generated.py::test_local_run_produces_model_metrics_and_plots",
    "test_generated.py::test_pipeline_definitions_build_offline",
)


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by fixture
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> tuple[bool, int]:
        where = f"{item.path.name}::{item.name}"
        found = (i for i, start in enumerate(LONGEST_FIRST) if where.startswith(start))
        return item.get_closest_marker("slow") is None, next(found, len(LONGEST_FIRST))

    items.sort(key=rank)


@dataclass
class BakedProject:
    path: Path
    context: dict[str, str]

    @property
    def package(self) -> str:
        return self.context["package_name"]

    def files(self) -> set[str]:
        return {str(p.relative_to(self.path)) for p in self.path.rglob("*") if p.is_file()}


# What cookiecutter does not read to bake (beside hidden folders such as .venv and .cache): a bake
# is reused only while all the rest is unchanged.
NOT_THE_TEMPLATE = {"build", "tests", "bench"}


def _template_digest() -> str:
    digest = hashlib.sha256()
    for folder, subfolders, files in os.walk(TEMPLATE_DIR):
        relative = Path(folder).relative_to(TEMPLATE_DIR)
        subfolders[:] = sorted(
            name
            for name in subfolders
            if name != "__pycache__"
            and not (relative == Path(".") and (name in NOT_THE_TEMPLATE or name.startswith(".")))
        )
        for name in sorted(files):
            if relative != Path(".") or not name.startswith("."):
                digest.update(f"{relative / name}\0".encode() + (Path(folder, name)).read_bytes())
    return digest.hexdigest()[:16]


BAKES = TEMPLATE_DIR / ".cache" / "bakes" / _template_digest()


def bake_shared(**extra_context: str) -> BakedProject:
    """The project these answers bake, baked once for all xdist workers (and later runs of the
    same template): read it, never write into it (`bake` gives a private copy)."""
    key = hashlib.sha256(json.dumps(sorted(extra_context.items())).encode()).hexdigest()[:16]
    home = BAKES / key
    if not (home / "context.json").is_file():
        BAKES.mkdir(parents=True, exist_ok=True)
        with open(f"{home}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (home / "context.json").is_file():
                staging = Path(tempfile.mkdtemp(dir=BAKES))
                with contextlib.redirect_stdout(io.StringIO()):
                    project = cookiecutter(
                        str(TEMPLATE_DIR),
                        no_input=True,
                        extra_context=extra_context,
                        output_dir=str(staging),
                    )
                answers = json.loads((Path(project) / ".cookiecutter.json").read_text())
                context = {"project_dir": Path(project).name, **answers["cookiecutter"]}
                (staging / "context.json").write_text(json.dumps(context))
                shutil.rmtree(home, ignore_errors=True)
                staging.rename(home)
    context = json.loads((home / "context.json").read_text())
    return BakedProject(home / context.pop("project_dir"), context)


def shared_variants() -> list[BakedProject]:
    """Every fast-tier variant, baked; the workers bake from opposite ends, sharing the work."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    ordered = VARIANTS if int(worker.removeprefix("gw") or 0) % 2 == 0 else VARIANTS[::-1]
    baked = {v.id: bake_shared(**v.context) for v in ordered}
    return [baked[v.id] for v in VARIANTS]


def distinct_renderings(name: str) -> dict[str, tuple[Path, list[BakedProject]]]:
    """Each distinct content of the file `name` across every variant (by SHA-256): one path that
    has it, and the variants that render it so. Linters run once a content, not once a variant."""
    found: dict[str, tuple[Path, list[BakedProject]]] = {}
    for project in shared_variants():
        path = project.path / name
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found.setdefault(digest, (path, []))[1].append(project)
    return found


_CHECKED: set[tuple[str, str]] = set()


def first_time(check: str, text: str) -> bool:
    """Whether this worker meets `text` for `check` for the first time: most variants render most
    files alike, and a check of content need not run twice on the same content."""
    key = (check, hashlib.sha256(text.encode()).hexdigest())
    if key in _CHECKED:
        return False
    _CHECKED.add(key)
    return True


@pytest.fixture(scope="session")
def bake(tmp_path_factory):
    """Bake a context once (shared between workers) and give this worker its own copy, which a
    test may write into; later calls in the session return the same copy."""
    copies: dict[tuple, BakedProject] = {}

    def _bake(**extra_context: str) -> BakedProject:
        key = tuple(sorted(extra_context.items()))
        if key not in copies:
            shared = bake_shared(**extra_context)
            path = tmp_path_factory.mktemp("bake") / shared.path.name
            shutil.copytree(shared.path, path, symlinks=True)
            copies[key] = BakedProject(path, shared.context)
        return copies[key]

    return _bake


@pytest.fixture(scope="session")
def baked(variant: Variant) -> BakedProject:
    """The shared bake of a variant, for the fast tier's tests, which read it only (the slow
    tier's tests write into theirs: `bake` copies)."""
    return bake_shared(**variant.context)


@pytest.fixture(scope="session")
def suite_baked(bake, suite_variant: Variant) -> BakedProject:
    return bake(**suite_variant.context)


@pytest.fixture(scope="session")
def run_baked(bake, run_variant: Variant) -> BakedProject:
    return bake(**run_variant.context)


def install_generated_venv() -> Path:
    """The generated projects' dependencies from their uv.lock, installed once for all variants.

    Every variant has the same lock file, so one environment serves all; each project is put on
    PYTHONPATH instead of being installed. A file lock keeps xdist workers from installing twice.
    Bytecode is not compiled here, as the projects' `make install` does not: the first process to
    import a module writes it (see the top of this file).
    """
    project = bake_shared().path
    GENERATED_VENV.parent.mkdir(exist_ok=True)
    with open(GENERATED_VENV.parent / "generated-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(
            [
                *(uv(), "sync", "-q", "--locked", "--no-install-project"),
                *("--project", str(project)),
            ],
            env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(GENERATED_VENV)},
            check=True,
        )
    return GENERATED_VENV


CHECKOV_VENV = TEMPLATE_DIR / ".cache" / "checkov-venv"


def install_checkov() -> Path:
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
            [
                *(uv(), "pip", "sync", "-q"),
                str(TEMPLATE_DIR / "tests" / "checkov-requirements.txt"),
            ],
            env={**os.environ, "VIRTUAL_ENV": str(CHECKOV_VENV)},
            check=True,
        )
    return CHECKOV_VENV / "bin" / "checkov"


@pytest.fixture(scope="session")
def generated_venv() -> Path:
    return install_generated_venv()


@pytest.fixture(scope="session")
def checkov() -> Path:
    return install_checkov()


def pytest_sessionstart(session: pytest.Session) -> None:
    """When the slow tier runs, its two environments are installed in the background from the
    start (mostly downloads and unpacking), while the workers run the fast tier; the fixtures
    then find them ready, or wait on their lock."""
    worker = hasattr(session.config, "workerinput")
    if worker or "not slow" in (session.config.getoption("markexpr") or ""):
        return
    log = TEMPLATE_DIR / ".cache" / "environments.log"
    log.parent.mkdir(exist_ok=True)
    subprocess.Popen(
        [sys.executable, __file__],
        cwd=TEMPLATE_DIR,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def uv() -> str:
    """The pinned uv from the template's own environment."""
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is missing: run `make install` in the template"
    return found


def assert_suite_passed(project: BakedProject, report: Path, data_only: bool = False) -> None:
    """A generated suite's JUnit report: nothing failed or skipped, and the tests of every step
    this variant has ran (data_only: of the tests that read the configured data set, the
    pipeline's definition aside)."""
    suite = ET.parse(report).getroot().find("testsuite")
    assert int(suite.get("failures")) == int(suite.get("errors")) == 0
    assert int(suite.get("skipped")) == 0, "a generated test was skipped"
    test_files = {case.get("classname").split(".")[1] for case in suite.iter("testcase")}
    steps = {"test_preprocess", "test_train", "test_evaluate", "test_local"}
    pipeline = (
        ("contract",) if data_only else ("definition", "contract", "registration", "staging", "cli")
    )
    steps |= {f"test_pipeline_{part}" for part in pipeline}
    if project.context["model_monitoring"] == "yes":
        steps.add("test_monitor")
    if project.context["explainability_report"] == "yes":
        steps.add("test_explain")
    assert steps <= test_files, sorted(test_files)


def run_in_project(
    project: BakedProject, venv: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command in a baked project with the shared environment, as `uv run` would."""
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(project.path / "src"),
        **(extra_env or {}),
    }
    env.pop("PYTHONHOME", None)
    return subprocess.run(
        args, cwd=project.path, env=env, capture_output=True, text=True, timeout=600
    )


# Commands `python -m <module> <arguments>` of baked projects, one after another in one
# interpreter: a process each would spend most of its time importing pandas, xgboost, the SDK and
# moto. Before each, its package's modules are dropped and its src folder is the only one on
# sys.path, and it runs from its project's folder, so that each runs its own project's code.
RUN_MODULES = """
import contextlib, io, json, os, runpy, sys, traceback
runs, results = json.loads(sys.argv[1]), []
base = [path for path in sys.path if path not in {src for _, src, _, _ in runs}]
for folder, src, module, arguments in runs:
    package = module.split(".")[0]
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]
    os.chdir(folder)
    sys.path[:] = [src, *base]
    sys.argv = [module, *arguments]
    out, err, status = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
        except BaseException:
            status = 1
            traceback.print_exc()
    results.append([status, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def run_modules(
    venv: Path, runs: list[tuple[BakedProject, str, list[str]]]
) -> list[tuple[int, str, str]]:
    """Each (project, module, arguments) as `python -m module arguments` in its project, in one
    interpreter (RUN_MODULES), in order: the exit status, output and error output of each."""
    listed = [[str(p.path), str(p.path / "src"), module, args] for p, module, args in runs]
    result = run_in_project(runs[0][0], venv, "python", "-c", RUN_MODULES, json.dumps(listed))
    assert result.returncode == 0, result.stderr[-3000:]
    return [tuple(found) for found in json.loads(result.stdout.splitlines()[-1])]


if __name__ == "__main__":  # pytest_sessionstart's background install
    install_generated_venv()
    install_checkov()
