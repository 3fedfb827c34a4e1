"""The code a SageMaker job runs: a step script of steps/ and the package modules it imports.

The pipeline uploads these files as they are in the checkout, under a key named after their
content (so a step whose code did not change keeps its cache key), into the job's code folder
with the package's layout, and puts that folder on the job's PYTHONPATH: the script then imports
the package's shared modules (contract, model_io, ...) by their absolute names, as on a laptop.
    processing job: python3 /opt/ml/processing/input/code/<package>/steps/<script>
    training job:   cd /opt/ml/input/data/code && python3 <package>/steps/train.py
The images carry libraries only, never the project's code (containers/Dockerfile).

Which modules a script needs is read from its imports (and theirs, and every package's
__init__.py on the way), so a module no step imports (config.py, pipeline/, serve/...) never
reaches a job, and editing it changes no step's code.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = __name__.split(".")[0]
# The folder that holds the package: the root of the layout a job gets.
SOURCE_DIR = Path(__file__).resolve().parent.parent
# Where the jobs find their code (SageMaker's container paths).
PROCESSING_CODE_DIR = "/opt/ml/processing/input/code"
TRAINING_CODE_DIR = "/opt/ml/input/data/code"


def entry_script(script: str) -> str:
    """The script's path in the job's code folder, e.g. <package>/steps/preprocess.py."""
    return f"{PACKAGE}/steps/{script}"


def _module_files(source_dir: Path, dotted: str, names: list[str]) -> list[Path]:
    """The files of module `dotted` (and of its submodules among `names`), with the
    __init__.py of every package on the way."""
    parts = dotted.split(".")
    found = [source_dir.joinpath(*parts[:i], "__init__.py") for i in range(1, len(parts) + 1)]
    stem = source_dir.joinpath(*parts)
    found += [stem.with_suffix(".py"), *(stem / f"{name}.py" for name in names)]
    return [path for path in found if path.is_file()]


def import_targets(node: ast.Import | ast.ImportFrom, package: str) -> list[tuple[str, list[str]]]:
    """The absolute modules an import statement of a module in `package` names, each with the
    names it takes from that module (which may be submodules)."""
    if isinstance(node, ast.Import):
        return [(alias.name, []) for alias in node.names]
    base = node.module or ""
    if node.level:
        parent = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*parent, *([base] if base else [])])
    return [(base, [alias.name for alias in node.names])]


def _imported(path: Path, source_dir: Path) -> list[Path]:
    """The package's files that the module at path imports, at any depth of its code."""
    package = ".".join(path.relative_to(source_dir).parent.parts)
    found = []
    for module, names in _import_targets(path.read_text(encoding="utf-8"), package):
        if module.split(".")[0] == PACKAGE:
            found += _module_files(source_dir, module, names)
    return found


# Every step's code reads the package's shared modules: each text is parsed once a process.
@functools.cache
def _import_targets(text: str, package: str) -> list[tuple[str, list[str]]]:
    return [
        target
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for target in import_targets(node, package)
    ]


def files(script: str, source_dir: Path | None = None) -> dict[str, Path]:
    """The job's code: its path in the code folder (posix, from the package down) -> the file,
    for the step script and every module of the package it needs, sorted by path."""
    source_dir = source_dir or SOURCE_DIR
    entry = source_dir / entry_script(script)
    if not entry.is_file():
        raise FileNotFoundError(f"no step script {entry}")
    todo = [entry, *_module_files(source_dir, f"{PACKAGE}.steps", [])]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += _imported(path, source_dir)
    return {path.relative_to(source_dir).as_posix(): path for path in sorted(seen)}


def digest(code: dict[str, Path]) -> str:
    """One SHA-256 over the files' paths and contents: the same code, the same digest."""
    listing = "".join(
        f"{name}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n"
        for name, path in sorted(code.items())
    )
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()
