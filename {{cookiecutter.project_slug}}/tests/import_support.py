"""What code needs from an environment, read statically, and what an environment of uv.lock holds:
the distributions a set of modules imports (following the package's own imports, at any depth of
the code, so an import inside a function counts too) against the distributions the lock installs
for some dependency groups. Used for the images (test_containers.py) and for each CI step
(test_ci_environments.py)."""

from __future__ import annotations

import ast
import csv
import functools
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

from {{ cookiecutter.package_name }} import config, jobcode

PROJECT = config.PROJECT_DIR
PACKAGE = config.PACKAGE_DIR
TESTS = PROJECT / "tests"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject() -> dict:
    return tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))


@functools.cache
def _locked_packages() -> dict[str, list[dict]]:
    """uv.lock's packages by name (a name can have several versions, one per marker)."""
    lock = tomllib.loads((PROJECT / "uv.lock").read_text(encoding="utf-8"))
    packages: dict[str, list[dict]] = {}
    for package in lock["package"]:
        packages.setdefault(package["name"], []).append(package)
    return packages


def lock_closure(groups: Iterable[str]) -> set[str]:
    """The distributions the lock installs for the core dependencies plus `groups` (with the
    extras a dependency names; markers are not evaluated, so both sides of one count)."""
    packages = _locked_packages()
    (root,) = packages[pyproject()["project"]["name"]]
    todo = list(root.get("dependencies", []))
    todo += [d for g in groups for d in root.get("dev-dependencies", {}).get(g, [])]
    seen: set[str] = set()
    seen_extras: set[tuple[str, str]] = set()
    while todo:
        dependency = todo.pop()
        name = dependency["name"]
        for extra in dependency.get("extra", []):
            if (name, extra) not in seen_extras:
                seen_extras.add((name, extra))
                for version in packages[name]:
                    todo += version.get("optional-dependencies", {}).get(extra, [])
        if name not in seen:
            seen.add(name)
            for version in packages[name]:
                todo += version.get("dependencies", [])
    return seen


def module_files(base: Path, dotted: str, names: list[str]) -> list[Path]:
    """The files of module `dotted` under `base`, and of its submodules in `names`."""
    stem = base.joinpath(*dotted.split(".")) if dotted else base
    candidates = [stem.with_suffix(".py"), stem / "__init__.py"]
    candidates += [stem / f"{name}.py" for name in names]
    return [path for path in candidates if path.is_file()]


@functools.cache
def installed_files() -> dict[str, list[tuple[str, ...]]]:
    """Each distribution of this environment (canonical name) -> the parts of the paths its
    RECORD lists, relative to site-packages. Read as text: `Distribution.files` makes an object of
    each of the environment's tens of thousands of files, seconds for every worker that asks."""
    found: dict[str, list[tuple[str, ...]]] = {}
    for distribution in importlib.metadata.distributions():
        record = distribution.read_text("RECORD")
        if record is None:
            paths = [file.parts for file in distribution.files or []]
        else:
            paths = [tuple(row[0].split("/")) for row in csv.reader(record.splitlines()) if row]
        found.setdefault(canonical(distribution.metadata["Name"]), []).extend(paths)
    return found


@functools.cache
def _distributions_by_module() -> dict[str, frozenset[str]]:
    """Every importable module and package of this environment -> the distributions whose files
    hold it (a namespace package such as `sagemaker` has several; `sagemaker.core` one)."""
    found: dict[str, set[str]] = {}
    for name, files in installed_files().items():
        for parts in files:
            if not parts or ".." in parts or parts[0].endswith((".dist-info", ".data")):
                continue
            if "__pycache__" in parts or not parts[-1].endswith((".py", ".so", ".pyd")):
                continue
            leaf = parts[-1].split(".")[0]
            dotted = [*parts[:-1]] + ([] if leaf == "__init__" else [leaf])
            for depth in range(1, len(dotted) + 1):
                found.setdefault(".".join(dotted[:depth]), set()).add(name)
    return {module: frozenset(names) for module, names in found.items()}


def distributions_of(module: str) -> frozenset[str]:
    """The distributions that install `module`: those of its deepest installed package."""
    by_module = _distributions_by_module()
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        if ".".join(parts[:depth]) in by_module:
            return by_module[".".join(parts[:depth])]
    return frozenset()


def _metadata_lookups(node: ast.AST) -> list[str]:
    """Distributions a call such as importlib.metadata.version("sagemaker") reads at run time."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
        return []
    function = node.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    if name in {"version", "distribution", "metadata"} and isinstance(node.args[0].value, str):
        owner = ast.unparse(function.value) if isinstance(function, ast.Attribute) else ""
        if owner.endswith("metadata"):
            return [canonical(node.args[0].value)]
    return []


def imports_by_distribution(
    files: Iterable[Path], unreached: Iterable[Path] = ()
) -> dict[str, set[str]]:
    """The distributions that these modules import -> the files (relative to the project) that
    import them, following the package's own imports and the test folder's modules, except into
    the `unreached` files."""
    locals_ = {path.stem for path in TESTS.glob("*.py")}
    found: dict[str, set[str]] = {}
    todo, seen = list(files), set(unreached)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        where = path.relative_to(PROJECT).as_posix()
        inside = path.is_relative_to(PACKAGE)
        lookups, targets = _imports_of(path)
        for distribution in lookups:
            found.setdefault(distribution, set()).add(where)
        for module, names in targets:
            top = module.split(".")[0]
            if top == PACKAGE.name:
                todo += module_files(PACKAGE.parent, module, names)
            elif top in locals_ and not inside:
                todo += module_files(TESTS, module, [])
            elif top not in sys.stdlib_module_names and top != "__future__":
                owners = set()
                for name in names or [""]:
                    owners |= distributions_of(f"{module}.{name}" if name else module)
                assert owners, f"{where} imports {module}, installed by nothing"
                for distribution in owners:
                    found.setdefault(distribution, set()).add(where)
    return found


# Each CI step follows the imports of mostly the same files: each file is parsed once.
@functools.cache
def _imports_of(path: Path) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The distributions a file reads metadata of, and the (module, names) it imports."""
    inside = path.is_relative_to(PACKAGE)
    package = ".".join(path.relative_to(PACKAGE.parent).parent.parts) if inside else ""
    lookups, targets = [], []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        lookups += _metadata_lookups(node)
        if isinstance(node, ast.Import | ast.ImportFrom):
            targets += jobcode.import_targets(node, package)
    return lookups, targets


def module_level_imports(path: Path) -> list[ast.Import | ast.ImportFrom]:
    """The import statements a module runs when it is imported (not those inside a function)."""
    found = []
    todo: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            todo += ast.iter_child_nodes(node)
    return found


def imported_distributions(files: Iterable[Path]) -> set[str]:
    """The distributions that these modules import, following the package's own imports."""
    return set(imports_by_distribution(files))
