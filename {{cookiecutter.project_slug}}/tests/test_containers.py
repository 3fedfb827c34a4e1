"""The images of containers/ run what ran here: this Python, the lock's libraries, the same entry
points. Images are built by CI (buildspecs/build-images.yml); these tests run their commands
natively, the way SageMaker starts them, and hold their imports against the lock's groups."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import config

PROJECT = config.PROJECT_DIR
PACKAGE = config.PACKAGE_DIR
DOCKERFILES = {"steps": "containers/steps/Dockerfile", "serve": "containers/serve/Dockerfile"}
STEP_SCRIPTS = sorted(p.name for p in config.STEPS_DIR.glob("*.py") if p.name != "__init__.py")


def lock_closure(groups: set[str]) -> set[str]:
    """The distributions the lock installs for the core dependencies plus `groups`."""
    lock = tomllib.loads((PROJECT / "uv.lock").read_text())
    name = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["name"]
    packages: dict[str, list[dict]] = {}
    for package in lock["package"]:
        packages.setdefault(package["name"], []).append(package)
    (root,) = packages[name]
    todo = [d["name"] for d in root.get("dependencies", [])]
    todo += [d["name"] for g in groups for d in root.get("dev-dependencies", {}).get(g, [])]
    seen: set[str] = set()
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            for version in packages[current]:
                todo += [d["name"] for d in version.get("dependencies", [])]
    return seen


def module_files(base: Path, dotted: str, names: list[str]) -> list[Path]:
    """The files of module `dotted` under `base`, and of its submodules in `names`."""
    stem = base.joinpath(*dotted.split(".")) if dotted else base
    candidates = [stem.with_suffix(".py"), stem / "__init__.py"]
    candidates += [stem / f"{name}.py" for name in names]
    return [path for path in candidates if path.is_file()]


def imported_distributions(files: list[Path]) -> set[str]:
    """The distributions that these modules import, following the package's own imports."""
    by_module = importlib.metadata.packages_distributions()
    distributions: set[str] = set()
    todo, seen = list(files), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [(alias.name, []) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:
                base = path.parents[node.level - 1]
                todo += module_files(base, node.module or "", [a.name for a in node.names])
                continue
            elif isinstance(node, ast.ImportFrom):
                modules = [(node.module or "", [a.name for a in node.names])]
            else:
                continue
            for module, names in modules:
                top = module.split(".")[0]
                # A lone step's fallback (`import train`) finds its sibling script.
                sibling = (path.parent / f"{top}.py").is_file()
                if top == PACKAGE.name:
                    todo += module_files(PACKAGE.parent, module, names)
                elif top not in sys.stdlib_module_names and not sibling:
                    assert top in by_module, f"{path.name} imports {top}, installed by nothing"
                    distributions |= {canonical(d) for d in by_module[top]}
    return distributions


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dockerfile_python(image: str) -> str:
    text = (PROJECT / DOCKERFILES[image]).read_text()
    minors = set(re.findall(r"^FROM \S+/python:(\d+\.\d+)\.\d+-slim", text, re.MULTILINE))
    assert len(minors) == 1, minors
    return minors.pop()


def run_natively(args: list[str], cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    """Run `args` as the image would: its python first on PATH, nothing importable from this
    checkout but `pythonpath`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("image", DOCKERFILES)
def test_images_run_this_python(image):
    this = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert (PROJECT / ".python-version").read_text().strip() == this
    assert dockerfile_python(image) == this


@pytest.mark.parametrize("script", STEP_SCRIPTS)
def test_step_script_starts_as_a_lone_script(script, tmp_path):
    """A processing job runs `python3 /opt/ml/processing/input/code/<script>.py ...` and a
    training job `python3 train.py ...` in its code folder: the script alone, no package. The
    steps that load the model find train.py in their `steps` input, on sys.path."""
    code, steps = tmp_path / "code", tmp_path / "steps"
    code.mkdir()
    steps.mkdir()
    shutil.copy(config.STEPS_DIR / script, code / script)
    shutil.copy(config.STEPS_DIR / "train.py", steps / "train.py")
    # python3, as the pipeline's processing jobs and the SDK's training driver call it.
    result = run_natively(["python3", str(code / script), "--help"], code, steps)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")


def test_step_scripts_import_only_the_steps_image_libraries():
    scripts = [config.STEPS_DIR / name for name in STEP_SCRIPTS]
    missing = imported_distributions(scripts) - lock_closure({"steps"})
    assert missing == set(), f"not in the steps image: {missing}"


def test_serve_entry_point_exists_and_imports_only_the_serve_image_libraries():
    # The serve image's ENTRYPOINT: python -m <package>.serve
    entry = (PROJECT / DOCKERFILES["serve"]).read_text()
    module = re.search(r'^ENTRYPOINT \["python", "-m", "([\w.]+)"\]', entry, re.MULTILINE)[1]
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    origin = Path(spec.origin)
    files = list(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    missing = imported_distributions(files) - lock_closure({"serve"})
    assert missing == set(), f"not in the serve image: {missing}"


def test_serve_entry_point_takes_sagemakers_argument(tmp_path):
    """SageMaker runs `docker run <image> serve`: the ENTRYPOINT plus the word `serve`. Here from
    outside the project, with only the package importable, as the image installs it."""
    entry = (PROJECT / DOCKERFILES["serve"]).read_text()
    command = re.search(r"^ENTRYPOINT (\[.*\])$", entry, re.MULTILINE)[1]
    result = run_natively([*ast.literal_eval(command), "serve", "--help"], tmp_path, PACKAGE.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")
