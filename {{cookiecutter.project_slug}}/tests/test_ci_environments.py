"""Each CI step's environment holds what that step runs. For every buildspec and workflow job, the
environment is built as its commands build it (`uv sync` replaces it with the lock's packages of
the groups it names, `uv run` without --no-sync adds its groups' packages, `make <target>` runs the
Makefile's recipe), and every program it runs there is held against it: a project module run with
`python -m` by every distribution that module imports, following the package's imports at any
depth (an import inside a function is reached only after the step has done part of its work, such
as updating an endpoint), pytest by the test modules' imports, any other program by the
distribution that installs it.

The check is static, over uv.lock: `uv sync --locked` installs exactly the lock's packages of the
groups it names (it refuses to run when the lock and pyproject.toml disagree), so the lock's
closure of those groups is the step's environment, without building it; and importing a module
would not reach its function-level imports, which the walk of its code does."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from ci_support import CI_FILES, Job, commands_of, jobs, makefile_recipe
from import_support import (
    PACKAGE,
    PROJECT,
    canonical,
    imports_by_distribution,
    installed_files,
    lock_closure,
    module_level_imports,
    pyproject,
)

from {{ cookiecutter.package_name }} import jobcode

# Modules of the package that a command reaches only with an option the CI never gives, each
# imported inside the function that handles that option (checked below): `pipeline definition
# --offline` builds the definition against moto, a development dependency.
UNREACHED_WITHOUT = {"pipeline/offline.py": "--offline"}

# uv's options for choosing dependency groups (uv sync and uv run take the same ones).
GROUP_OPTIONS = {"--group", "--only-group", "--no-group"}
GROUP_FLAGS = {"--no-default-groups", "--all-groups", "--no-dev", "--only-dev", "--dev"}
# uv's options that do not change which packages an environment gets.
NEUTRAL_FLAGS = {"--locked", "--frozen", "--quiet", "-q", "--compile-bytecode", "--exact"}


def default_groups() -> set[str]:
    """The groups uv installs unless told otherwise: tool.uv.default-groups, else `dev`."""
    return set(pyproject().get("tool", {}).get("uv", {}).get("default-groups", ["dev"]))


def all_groups() -> set[str]:
    return set(pyproject().get("dependency-groups", {}))


@dataclass
class UvCommand:
    """A `uv sync` or `uv run` command: the groups it installs, and for uv run the program."""

    groups: set[str]
    sync: bool
    argv: list[str]


def parse_uv(arguments: list[str]) -> UvCommand:
    """`uv sync|run [options] [program ...]` with uv's rules for the groups (uv's documentation,
    "Dependency groups"); an option this does not know fails the test."""
    assert arguments[0] == "uv" and arguments[1] in {"sync", "run"}, arguments
    defaults, added, only, removed = True, set(), set(), set()
    sync, rest = True, arguments[2:]
    while rest and rest[0].startswith("-"):
        option, _, value = rest.pop(0).partition("=")
        if option in GROUP_OPTIONS:
            value = value or rest.pop(0)
            {"--group": added, "--only-group": only, "--no-group": removed}[option].add(value)
        elif option == "--no-default-groups" or option == "--no-dev":
            defaults = False
        elif option == "--all-groups":
            added |= all_groups()
        elif option == "--only-dev":
            only.add("dev")
        elif option == "--dev":
            added.add("dev")
        elif option == "--no-sync" and arguments[1] == "run":
            sync = False
        else:
            assert option in NEUTRAL_FLAGS, f"an option of uv this test does not know: {option}"
    # --only-group: those groups alone; otherwise the defaults (unless turned off) and the added.
    groups = only or (default_groups() if defaults else set()) | added
    return UvCommand(groups - removed, sync, rest)


@dataclass
class Run:
    """A program a CI job runs in its environment."""

    job: str
    command: str
    groups: frozenset[str]
    argv: list[str]


def runs(job: Job) -> list[Run]:
    """The programs the job runs with `uv run`, with the groups of the environment each runs in,
    in the order of its commands; `make <target>` stands for its recipe."""
    found: list[Run] = []
    environment: set[str] | None = None

    def visit(text: str) -> None:
        nonlocal environment
        for arguments in commands_of(text, "uv", "make"):
            if arguments[0] == "make":
                for line in makefile_recipe(arguments[1]):
                    visit(line)
                continue
            if arguments[1] not in {"sync", "run"}:
                continue
            uv = parse_uv(arguments)
            if arguments[1] == "sync":
                environment = uv.groups  # exact: the environment is replaced
                continue
            if uv.sync:
                # uv run syncs inexactly: it adds what is missing, removes nothing.
                environment = (environment or set()) | uv.groups
            assert environment is not None, f"{job.name}: `uv run --no-sync` before any sync"
            found.append(Run(job.name, shlex.join(arguments), frozenset(environment), uv.argv))

    for text in job.commands():
        # Commands in order: a sync, then what runs after it.
        for line in text.splitlines():
            visit(line)
    return found


def files_run(argv: list[str]) -> tuple[list[Path], set[str]]:
    """The project's files a program runs, and the distributions it needs besides their imports:
    `python -m <package>.<module>` runs that module (and its packages' __init__), pytest the test
    folder; another program needs the distribution that installs it."""
    program = Path(argv[0]).name
    if program in {"python", "python3"}:
        assert argv[1] == "-m", f"python runs a module here, not {argv[1:]}"
        module = argv[2]
        parts = module.split(".")
        if parts[0] != PACKAGE.name:
            return [], {program_distribution(parts[0], module=True)}
        base = PACKAGE.parent.joinpath(*parts)
        entry = base / "__main__.py" if base.is_dir() else base.with_suffix(".py")
        assert entry.is_file(), f"no module {module} in the project"
        inits = [
            PACKAGE.parent.joinpath(*parts[:depth], "__init__.py")
            for depth in range(1, len(parts) + 1)
        ]
        return [entry, *(path for path in inits if path.is_file())], set()
    if program == "pytest":
        options = pyproject()["tool"]["pytest"]["ini_options"]
        tests = [p for folder in options["testpaths"] for p in (PROJECT / folder).glob("*.py")]
        return tests, {"pytest"}
    return [], {program_distribution(program)}


@functools.cache
def program_distribution(name: str, module: bool = False) -> str:
    """The distribution that installs a command (a console script or a file of its bin/) or, with
    `module`, a top-level module."""
    for distribution in importlib.metadata.distributions():
        scripts = {
            entry.name for entry in distribution.entry_points.select(group="console_scripts")
        }
        files = {
            parts[-1]
            for parts in installed_files()[canonical(distribution.metadata["Name"])]
            if (module and len(parts) == 1) or (not module and "bin" in parts)
        }
        if (not module and name in scripts) or name in files or f"{name}.py" in files:
            return canonical(distribution.metadata["Name"])
        if module and name in (distribution.read_text("top_level.txt") or "").split():
            return canonical(distribution.metadata["Name"])
    raise AssertionError(f"no distribution installs {name}")


@functools.cache
def all_runs() -> dict[str, list[Run]]:
    return {relative: [run for job in jobs(relative) for run in runs(job)] for relative in CI_FILES}


@pytest.mark.parametrize("relative", CI_FILES)
def test_each_ci_step_runs_only_what_its_environment_installs(relative):
    problems = []
    for run in all_runs()[relative]:
        files, programs = files_run(run.argv)
        installed = lock_closure(run.groups)
        for distribution in sorted(programs - installed):
            problems.append(f"{run.job}: `{run.command}` runs {distribution}, not installed")
        unreached = [
            PACKAGE / path for path, option in UNREACHED_WITHOUT.items() if option not in run.argv
        ]
        for distribution, importers in sorted(imports_by_distribution(files, unreached).items()):
            if distribution not in installed:
                problems.append(
                    f"{run.job}: `{run.command}` imports {distribution} "
                    f"({', '.join(sorted(importers))}), not in groups {sorted(run.groups)}"
                )
    assert problems == []


def test_every_project_module_the_ci_runs_is_checked():
    """Each `python -m <package>...` of the CI is a command the test above reads, and the deploy
    helper is among them: the check does not pass by reading nothing."""
    checked = {
        run.argv[2]
        for found in all_runs().values()
        for run in found
        if Path(run.argv[0]).name.startswith("python")
    }
    written = set()
    for relative in CI_FILES:
        for job in jobs(relative):
            for text in job.commands():
                for arguments in commands_of(text, "python", "python3"):
                    if arguments[1:2] == ["-m"]:
                        written.add(arguments[2])
    assert written <= checked
    assert f"{PACKAGE.name}.deploy" in checked
    assert any(
        run.groups == frozenset({"deploy"}) for found in all_runs().values() for run in found
    )


def test_what_the_ci_does_not_reach_is_imported_only_inside_functions():
    """A module of UNREACHED_WITHOUT is left out of a command without its option only while no
    module of the package imports it at import time."""
    for relative, option in UNREACHED_WITHOUT.items():
        module = ".".join((PACKAGE.name, *Path(relative).with_suffix("").parts))
        importers = []
        for path in PACKAGE.rglob("*.py"):
            package = ".".join(path.relative_to(PACKAGE.parent).parent.parts)
            at_import = {node.lineno for node in module_level_imports(path)}
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                targets = jobcode.import_targets(node, package)
                names = [f"{m}.{n}" if n else m for m, ns in targets for n in ns or [""]]
                if module in names or module in [m for m, _ in targets]:
                    importers.append(path)
                    assert node.lineno not in at_import, f"{path.name} imports {relative} at import"
        assert importers, f"nothing imports {relative}: drop it from UNREACHED_WITHOUT"
        assert f'"{option}"' in "".join(p.read_text(encoding="utf-8") for p in importers), option
