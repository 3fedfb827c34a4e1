"""The images of containers/Dockerfile run what ran here: this Python, the lock's libraries, the
same entry points and code. Images are built by CI (buildspecs/build-images.yml); these tests run
their commands natively, the way SageMaker starts them (a job from a copy of the code it gets),
and hold their imports against the lock's groups."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from import_support import imported_distributions, lock_closure

from {{ cookiecutter.package_name }} import config, jobcode

PROJECT = config.PROJECT_DIR
PACKAGE = config.PACKAGE_DIR
DOCKERFILE = PROJECT / "containers" / "Dockerfile"
# The Spark job runs in SageMaker's Spark image (tests/test_preprocess_spark.py).
OTHER_IMAGES = {"__init__.py", "preprocess_spark.py"}
STEP_SCRIPTS = sorted(p.name for p in config.STEPS_DIR.glob("*.py") if p.name not in OTHER_IMAGES)


def dockerfile_python() -> str:
    text = DOCKERFILE.read_text()
    minors = set(re.findall(r"^FROM \S+/python:(\d+\.\d+)\.\d+-slim", text, re.MULTILINE))
    assert len(minors) == 1, minors
    return minors.pop()


def run_natively(
    args: list[str], cwd: Path, pythonpath: Path | None = None
) -> subprocess.CompletedProcess:
    """Run `args` as the image would: its python first on PATH, nothing importable from this
    checkout but `pythonpath`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_images_run_this_python():
    this = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert (PROJECT / ".python-version").read_text().strip() == this
    assert dockerfile_python() == this


def job_code(script: str, folder: Path) -> Path:
    """A copy of the code folder a job of `script` gets (jobcode.py), as the pipeline uploads it."""
    for name, path in jobcode.files(script).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / name)
    return folder


# Starts each job's entry script as `python3 <entry> --help` would, one after another in one
# interpreter (each would import the same libraries, two seconds a script): sys.path as that
# command makes it (the script's folder, then PYTHONPATH, the job's code folder), and none of the
# package's modules kept from the script before.
START_JOBS = """
import contextlib, io, json, os, runpy, sys, traceback
package, jobs, base, results = sys.argv[1], json.loads(sys.argv[2]), sys.path[1:], {}
for script, entry, cwd, code in jobs:
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]
    os.chdir(cwd)
    sys.path[:] = [os.path.dirname(os.path.abspath(entry)), code, *base]
    sys.argv, out, err, status = [entry, "--help"], io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(entry, run_name="__main__")
        except SystemExit as stop:
            if isinstance(stop.code, str):
                print(stop.code, file=sys.stderr)
            status = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
        except BaseException:
            status = 1
            traceback.print_exc()
    results[script] = [status, out.getvalue(), err.getvalue()]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def started_jobs(tmp_path_factory) -> dict[str, list]:
    """Each step script started from a copy of the code folder its job gets (jobcode.py), as the
    pipeline uploads it: a processing job runs `python3 /opt/ml/processing/input/code/<package>/
    steps/<script>` with that folder on PYTHONPATH, a training job `python3 <package>/steps/
    train.py` in that folder (the SDK's driver). Here from outside the project, with nothing
    importable of it but that copy."""
    jobs = []
    for script in STEP_SCRIPTS:
        folder = tmp_path_factory.mktemp(script.removesuffix(".py"))
        code = folder / "code"
        for name, path in jobcode.files(script).items():
            (code / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, code / name)
        entry = jobcode.entry_script(script)
        entry, cwd = (entry, code) if script == "train.py" else (str(code / entry), folder)
        jobs.append([script, entry, str(cwd), str(code)])
    arguments = ["python3", "-c", START_JOBS, PACKAGE.name, json.dumps(jobs)]
    result = run_natively(arguments, tmp_path_factory.getbasetemp())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("script", STEP_SCRIPTS)
def test_step_script_starts_from_the_code_a_job_gets(script, started_jobs):
    status, out, err = started_jobs[script]
    assert status == 0, err
    assert out.startswith("usage:")


def test_step_scripts_import_only_the_steps_image_libraries():
    shipped = [path for script in STEP_SCRIPTS for path in jobcode.files(script).values()]
    missing = imported_distributions(shipped) - lock_closure({"steps"})
    assert missing == set(), f"not in the steps image: {missing}"


# Python that makes scikit-learn unimportable, as in the serving image, which leaves it out.
WITHOUT_SKLEARN = """
import sys
class NoScikitLearn:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "sklearn":
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, NoScikitLearn())
"""


def test_the_contract_server_and_predict_work_without_scikit_learn(tmp_path):
    """Only preprocess's split needs scikit-learn: the data contract never pulls it in, and the
    server and predict need it not (xgboost uses scikit-learn when it finds it)."""
    modules = ("contract", "serve.app", "serve.__main__", "predict")
    code = WITHOUT_SKLEARN + "".join(f"import {PACKAGE.name}.{m}\n" for m in modules)
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))"
    result = run_natively(["python3", "-c", code], tmp_path, PACKAGE.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_serve_entry_point_exists_and_imports_only_the_serve_image_libraries():
    # The serve image's ENTRYPOINT: python -m <package>.serve
    entry = DOCKERFILE.read_text()
    module = re.search(r'^ENTRYPOINT \["python", "-m", "([\w.]+)"', entry, re.MULTILINE)[1]
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    origin = Path(spec.origin)
    files = list(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    missing = imported_distributions(files) - lock_closure({"serve"})
    assert missing == set(), f"not in the serve image: {missing}"


def test_serve_entry_point_takes_sagemakers_argument(tmp_path):
    """SageMaker runs `docker run <image> serve`: the ENTRYPOINT plus the word `serve`. Here from
    outside the project, with only the package importable, as the image installs it."""
    entry = DOCKERFILE.read_text()
    command = re.search(r"^ENTRYPOINT (\[.*\])$", entry, re.MULTILINE)[1]
    result = run_natively([*ast.literal_eval(command), "serve", "--help"], tmp_path, PACKAGE.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")


def test_the_serve_image_answers_on_every_interface_of_port_8080():
    """SageMaker's hosting contract: the container answers on port 8080 of every interface; the
    server's own default, for a laptop, is 127.0.0.1 alone."""
    from {{ cookiecutter.package_name }}.serve.__main__ import parse_args

    entry = re.search(r"^ENTRYPOINT (\[.*\])$", DOCKERFILE.read_text(), re.MULTILINE)[1]
    arguments = ast.literal_eval(entry)[3:]
    image = parse_args([*arguments, "serve"])
    assert (image.host, image.port) == ("0.0.0.0", 8080)
    assert parse_args(["serve"]).host == "127.0.0.1"


def image_user(target: str) -> str:
    """The user the Dockerfile's target runs as: its last USER along the stages it is built
    FROM, or the base image's (Docker's official python image: root)."""
    stages: dict[str, tuple[str, str]] = {}
    for match in re.finditer(
        r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?\s*$(.*?)(?=^FROM\s|\Z)",
        DOCKERFILE.read_text(),
        re.MULTILINE | re.IGNORECASE | re.DOTALL,
    ):
        stages[match[2] or match[1]] = (match[1], match[3])
    name, user = target, None
    while name in stages and user is None:
        parent, body = stages[name]
        users = re.findall(r"^USER\s+(\S+)", body, re.MULTILINE)
        user = users[-1] if users else None
        name = parent
    assert name.startswith("public.ecr.aws/docker/library/python:") or user is not None, name
    return (user or "root").split(":")[0]


def test_the_serve_image_runs_as_root_as_sagemaker_hosting_expects():
    """SageMaker's contract for inference containers ("Custom Inference Code with Hosting
    Services", how SageMaker AI runs your inference image): it expects every container to run
    as root; a user without root-level access can cause permissions issues. Batch transform
    runs the same image."""
    assert image_user("serve") in ("root", "0")
    # The steps' jobs too: SageMaker creates their /opt/ml folders owned by root.
    assert image_user("steps") in ("root", "0")
