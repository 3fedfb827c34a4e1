"""Benchmarks (not tests) of what the template's suite does most: bake, cfn-lint, checkov.

Each choice the suite made is measured beside the one it replaced, in the same run, as CPU
seconds of this process and its children (the suite runs on 2 busy cores: CPU time is what it
shares out), and reported as a ratio:
- bake: every variant with cookiecutter recompiling the templates each bake (a new process's
  cost, forced by clearing the extension's cache) against the compiled templates kept;
- cfn-lint: every distinct rendering of the CloudFormation templates, one `lint()` call each (the
  rules rebuilt each call) against one run a template name;
- checkov: the distinct renderings of two templates, one process a file against one process;
- the generated projects' environment: compiled in full at install (`uv sync --compile-bytecode`)
  against bytecode written by the first process that imports a module, each followed by two local
  runs (the suite's processes import the same modules);
- the run variants' local runs: a process each against one interpreter (conftest.run_modules).
Run with `make bench`; results are printed and written to bench/results/bench_suite.json.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TEMPLATE_DIR / "tests"))
sys.path.insert(0, str(TEMPLATE_DIR))

from conftest import (  # noqa: E402
    RUN_VARIANTS,
    VARIANTS,
    BakedProject,
    bake_shared,
    distinct_renderings,
    run_in_project,
    run_modules,
    uv,
)
from cookiecutter.main import cookiecutter  # noqa: E402
from test_bake import INFRA, cfn_lint  # noqa: E402

from mlops_template.extension import COMPILED  # noqa: E402

CHECKOV = TEMPLATE_DIR / ".cache" / "checkov-venv" / "bin" / "checkov"


def cpu_seconds(work: Callable[[], object]) -> float:
    """CPU time of `work`, in this process and the children it waited for."""

    def now() -> float:
        own, children = (
            resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    start = now()
    work()
    return now() - start


def bake_all(output: Path, keep_compiled: bool) -> None:
    for index, variant in enumerate(VARIANTS):
        if not keep_compiled:
            COMPILED.code.clear()
        cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            extra_context=variant.context,
            output_dir=str(output / f"{keep_compiled}-{index}"),
        )


def lint_each(paths: list[Path]) -> None:
    from cfnlint.api import ManualArgs, lint

    for path in paths:
        assert not [
            m
            for m in lint(path.read_text(), config=ManualArgs(regions=["eu-west-1"]))
            if m.rule.id[0] in "EW"
        ]


def checkov(paths: list[Path]) -> None:
    options = ["--skip-download", "--compact", "--quiet", "--framework", "cloudformation"]
    files = [f"--file={path}" for path in paths]
    subprocess.run([str(CHECKOV), *options, *files], check=True, capture_output=True)


def copy_of(project: BakedProject, folder: Path) -> BakedProject:
    """A private copy: the shared bakes are read, never written (bytecode included)."""
    shutil.copytree(project.path, folder / project.path.name, symlinks=True)
    return BakedProject(folder / project.path.name, project.context)


def environment_then_local_runs(folder: Path, compile_all: bool) -> None:
    """A fresh environment from the generated uv.lock, then the default project's local run
    twice in it, bytecode written by whoever imports first (as the suite runs)."""
    project = copy_of(bake_shared(), folder)
    venv = folder / "venv"
    option = ["--compile-bytecode"] if compile_all else []
    subprocess.run(
        [
            uv(),
            "sync",
            "-q",
            "--locked",
            "--no-install-project",
            *option,
            "--project",
            project.path,
        ],
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)},
        check=True,
    )
    for run in range(2):
        out = folder / f"run{run}"
        result = run_in_project(
            project, venv, "python", "-m", f"{project.package}.local", "--output-dir", str(out)
        )
        assert result.returncode == 0, result.stderr


def local_runs(venv: Path, folder: Path) -> None:
    """The first four run variants' local runs, each in a process of its own or (folder named
    "one") all in one interpreter."""
    runs = []
    for index, variant in enumerate(RUN_VARIANTS[:4]):
        project = copy_of(bake_shared(**variant.context), folder / str(index))
        out = project.path / "build" / "local-run"
        runs.append((project, f"{project.package}.local", ["--output-dir", str(out)]))
    if folder.name == "one":
        assert all(status == 0 for status, _, _ in run_modules(venv, runs))
        return
    for project, module, arguments in runs:
        result = run_in_project(project, venv, "python", "-m", module, *arguments)
        assert result.returncode == 0, result.stderr


def main() -> int:
    import tempfile

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["bake every variant"] = {
            "recompiled each bake": cpu_seconds(lambda: bake_all(Path(tmp), False)),
            "compiled templates kept": cpu_seconds(lambda: bake_all(Path(tmp), True)),
        }
    for variant in VARIANTS:
        bake_shared(**variant.context)
    by_name = {name: [p for p, _ in distinct_renderings(name).values()] for name in INFRA}
    every = [path for paths in by_name.values() for path in paths]
    results[f"cfn-lint {len(every)} distinct templates"] = {
        "one lint() a template": cpu_seconds(lambda: lint_each(every)),
        "one run a template name": cpu_seconds(
            lambda: [cfn_lint(paths, "eu-west-1") for paths in by_name.values()]
        ),
    }
    if CHECKOV.exists():  # installed by the slow tier's checkov fixture
        some = by_name["infra/endpoint.yaml"] + by_name["infra/budget.yaml"]
        results[f"checkov {len(some)} templates"] = {
            "one process a file": cpu_seconds(lambda: [checkov([path]) for path in some]),
            "one process": cpu_seconds(lambda: checkov(some)),
        }
    with tempfile.TemporaryDirectory() as tmp:
        # As the suite runs them: bytecode written where the first process imports a module.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        results["generated environment, then two local runs"] = {
            "compiled in full at install": cpu_seconds(
                lambda: environment_then_local_runs(Path(tmp) / "compiled", True)
            ),
            "written on first import": cpu_seconds(
                lambda: environment_then_local_runs(Path(tmp) / "lazy", False)
            ),
        }
        venv = Path(tmp) / "lazy" / "venv"
        results["4 run variants' local runs"] = {
            "a process each": cpu_seconds(lambda: local_runs(venv, Path(tmp) / "each")),
            "one interpreter": cpu_seconds(lambda: local_runs(venv, Path(tmp) / "one")),
        }
    print(f"CPU seconds on {os.cpu_count()} cores (ratio: before / after)")
    for task, (before, after) in ((t, tuple(r.items())) for t, r in results.items()):
        print(
            f"  {task}: {before[0]} {before[1]:.1f} s, {after[0]} {after[1]:.1f} s, "
            f"x{before[1] / after[1]:.1f}"
        )
    out = TEMPLATE_DIR / "bench" / "results" / "bench_suite.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
