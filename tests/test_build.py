"""Fast tier: the generated images and CodeBuild buildspecs, checked without Docker or AWS.

No Docker daemon or registry is reachable here, so the Dockerfile is linted (hadolint) and held
against the baked project: its Python version, its dependency groups and lock, its uv pin. It
builds two images, one target each, that share their build and runtime stages; each target is
checked as the image it builds. The buildspecs are held against what they call: the Makefile's
targets, the pipeline CLI's options. The slow tier replays each image's build natively: its
`uv sync` on what it copies, then its command.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import TEMPLATE_DIR, BakedProject, distinct_renderings, run_in_project, uv

DOCKERFILE = "containers/Dockerfile"
# The images, by their target in the Dockerfile; each installs the dependency group of its name.
TARGETS = ("steps", "serve")
BUILDSPECS = (
    "buildspecs/build-images.yml",
    "buildspecs/test.yml",
    "buildspecs/run-pipeline.yml",
    "buildspecs/deploy.yml",
    "buildspecs/smoke-test.yml",
)
# What only training, plotting or building the pipeline needs: never in the inference image.
NOT_FOR_SERVING = {"scikit-learn", "matplotlib", "sagemaker", "boto3", "moto", "pytest"}

FROM = re.compile(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?\s*$", re.MULTILINE | re.IGNORECASE)
PYTHON_IMAGE = re.compile(r"/python:(\d+)\.(\d+)\.(\d+)-slim-[a-z]+$")
UV_IMAGE = re.compile(r"^ghcr\.io/astral-sh/uv:(\d+\.\d+\.\d+)$")
UV_PIN = re.compile(r"\buv==(\d+\.\d+\.\d+)\b")
# A `uv sync` command, with its continuation lines.
UV_SYNC = re.compile(r"\buv sync\b((?:[^\n\\]|\\\n)*)")


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert found, "hadolint is missing: run `make install` in the template"
    return found


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    # From the file's folder, with no config file there: hadolint's defaults, every severity.
    return subprocess.run(
        [hadolint(), "--no-color", path.name], cwd=path.parent, capture_output=True, text=True
    )


def python_version(project: BakedProject) -> str:
    return (project.path / ".python-version").read_text().strip()


def dependency_groups(project: BakedProject) -> dict[str, list]:
    return tomllib.loads((project.path / "pyproject.toml").read_text())["dependency-groups"]


def stages(text: str) -> list[tuple[str, str | None]]:
    """(image, stage name) of every FROM, in order."""
    return [(m.group(1), m.group(2)) for m in FROM.finditer(text)]


def stage_texts(text: str) -> dict[str, tuple[str, str]]:
    """Stage name -> (what it is FROM, its text from its FROM line to the next), in order."""
    starts = list(FROM.finditer(text))
    ends = [m.start() for m in starts[1:]] + [len(text)]
    return {
        m.group(2): (m.group(1), text[m.start() : end]) for m, end in zip(starts, ends, strict=True)
    }


def image_stages(text: str, target: str) -> list[str]:
    """The stages the target's image is made of: the target, the stage it is FROM, and so on
    down to an external image; base first."""
    found, by_name = [], stage_texts(text)
    while target in by_name:
        found.insert(0, target)
        target = by_name[target][0]
    return found


def build_stages(text: str, target: str) -> list[str]:
    """The stages whose files the target's image copies (COPY --from), with the stages they are
    FROM, in the file's order: what builds the image without being part of it."""
    by_name, image = stage_texts(text), image_stages(text, target)
    todo = [s for name in image for s in re.findall(r"--from=(\S+)", by_name[name][1])]
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name in by_name and name not in found:
            found.add(name)
            todo.append(by_name[name][0])
            todo += re.findall(r"--from=(\S+)", by_name[name][1])
    return [name for name in by_name if name in found and name not in image]


def image_text(text: str, target: str) -> str:
    by_name = stage_texts(text)
    return "".join(by_name[name][1] for name in image_stages(text, target))


def build_text(text: str, target: str) -> str:
    by_name = stage_texts(text)
    return "".join(by_name[name][1] for name in build_stages(text, target))


def uv_syncs(text: str) -> list[list[str]]:
    return [m.group(1).replace("\\\n", " ").split() for m in UV_SYNC.finditer(text)]


def groups_of(arguments: list[str]) -> set[str]:
    return {arguments[i + 1] for i, arg in enumerate(arguments) if arg == "--group"}


def lock_closure(project: BakedProject, groups: set[str]) -> set[str]:
    """Every package the lock installs for the project's core dependencies plus `groups` (all
    platforms and Python versions at once: a superset of one image's)."""
    name = tomllib.loads((project.path / "pyproject.toml").read_text())["project"]["name"]
    return _lock_closure((project.path / "uv.lock").read_text(), name, frozenset(groups))


@functools.cache  # the same lock in most variants: parsed once a worker
def _lock_closure(lock_text: str, project_name: str, groups: frozenset[str]) -> set[str]:
    packages: dict[str, list[dict]] = {}
    for package in tomllib.loads(lock_text)["package"]:
        packages.setdefault(package["name"], []).append(package)
    (root,) = packages[project_name]
    todo = [d["name"] for d in root.get("dependencies", [])]
    todo += [d["name"] for g in groups for d in root.get("dev-dependencies", {}).get(g, [])]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for version in packages[name]:
            todo += [d["name"] for d in version.get("dependencies", [])]
            for extra in version.get("optional-dependencies", {}).values():
                todo += [d["name"] for d in extra]
    return seen


def canonical(name: str) -> str:
    """A distribution's name as the lock spells it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def cli_options(source: str) -> set[str]:
    """The options a module's argparse parser declares: each `add_argument` whose first argument
    is a literal, or an f-string over the literal values of the loop around it."""
    options: set[str] = set()

    def text(node: ast.expr, names: dict[str, str]) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            parts = [
                text(part.value, names) if isinstance(part, ast.FormattedValue) else part.value
                for part in node.values
            ]
            return None if None in parts else "".join(parts)
        if isinstance(node, ast.Name):
            return names.get(node.id)
        return None

    def visit(node: ast.AST, bindings: list[dict[str, str]]) -> None:
        if (
            isinstance(node, ast.For)
            and isinstance(node.target, ast.Name)
            and isinstance(node.iter, ast.Tuple | ast.List)
        ):
            values = [text(element, {}) for element in node.iter.elts]
            bindings = [b | {node.target.id: v} for b in bindings for v in values if v]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
            and node.args
        ):
            options.update(
                name for b in bindings if (name := text(node.args[0], b)) and name.startswith("--")
            )
        for child in ast.iter_child_nodes(node):
            visit(child, bindings)

    visit(ast.parse(source), [{}])
    return options


def buildspec(project: BakedProject, name: str) -> dict:
    return yaml.safe_load((project.path / name).read_text())


def commands(spec: dict) -> list[str]:
    return [
        command
        for phase in spec["phases"].values()
        for command in (phase or {}).get("commands", [])
    ]


def test_dockerfile_is_hadolint_clean() -> None:
    """Every distinct rendering across all variants, in one hadolint run."""
    renderings = distinct_renderings(DOCKERFILE)
    assert renderings
    paths = [str(path) for path, _ in renderings.values()]
    # With no config file beside them: hadolint's defaults, every severity.
    result = subprocess.run([hadolint(), "--no-color", *paths], capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_hadolint_reports_what_it_should(tmp_path: Path) -> None:
    """The lint above is only as good as hadolint's run: an unpinned image must fail it."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    result = lint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout and "DL3013" in result.stdout


def test_images_are_pinned_to_the_projects_python_and_uv(baked: BakedProject) -> None:
    minor = python_version(baked)
    assert re.fullmatch(r"3\.1[1-9]", minor), minor
    template_uv = UV_PIN.search((TEMPLATE_DIR / "pyproject.toml").read_text()).group(1)
    text = (baked.path / DOCKERFILE).read_text()
    images = [image for image, _ in stages(text)]
    names = {stage for _, stage in stages(text) if stage}
    external = [image for image in images if image not in names]
    pythons = [PYTHON_IMAGE.search(image) for image in external if "/python:" in image]
    assert pythons and all(pythons), external
    assert {f"{m.group(1)}.{m.group(2)}" for m in pythons} == {minor}
    uvs = [UV_IMAGE.match(image) for image in external if "astral-sh/uv" in image]
    # The uv that wrote the lock: the template's, which `make lock-generated` runs.
    assert [m.group(1) for m in uvs if m] == [template_uv]
    assert len(external) == len(pythons) + len(uvs), f"unchecked base {external}"
    for target in TARGETS:
        # Multi-stage: the image that ships has the venv, not uv.
        image = image_text(text, target)
        assert PYTHON_IMAGE.search(stages(image)[0][0]), (target, "an image of the pinned python")
        assert "uv" not in {stage for _, stage in stages(image)}, target
        assert "--from=uv" not in image and "uv sync" not in image, target
        venvs = re.findall(r"^COPY --from=(\S+) /opt/venv /opt/venv$", image, re.MULTILINE)
        assert len(venvs) == 1 and venvs[0] in build_stages(text, target), (target, venvs)
        for variable in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"):
            assert variable in image, (target, variable)
        for label in ("org.opencontainers.image.source", "org.opencontainers.image.revision"):
            assert label in image, (target, label)


def test_images_install_their_group_from_the_lock(baked: BakedProject) -> None:
    groups = dependency_groups(baked)
    text = (baked.path / DOCKERFILE).read_text()
    assert set(TARGETS) <= set(stage_texts(text)), "a target of each image"
    for target in TARGETS:
        syncs = uv_syncs(build_text(text, target))
        assert syncs, target
        for arguments in syncs:
            assert "--locked" in arguments and "--no-default-groups" in arguments, arguments
            assert groups_of(arguments) == {target}, arguments
        assert target in groups, f"target {target!r} installs a group missing from pyproject.toml"
    # The inference image: the core and the serve group, nothing for training or the SDK.
    assert lock_closure(baked, {"serve"}) & NOT_FOR_SERVING == set()
    assert {"scikit-learn", "matplotlib"} <= lock_closure(baked, {"steps"})


def test_serve_image_runs_the_package_server_as_sagemaker_expects(baked: BakedProject) -> None:
    text = (baked.path / DOCKERFILE).read_text()
    serve = image_text(text, "serve")
    # Every interface, as SageMaker's hosting contract requires (the server's default is
    # 127.0.0.1, for a laptop).
    entry = f'ENTRYPOINT ["python", "-m", "{baked.package}.serve", "--host", "0.0.0.0"]'
    assert entry in serve
    # Root, the base image's user: SageMaker's hosting contract expects it (the generated
    # project's test_containers.py says where).
    assert not re.search(r"^USER\s", serve, re.MULTILINE)
    # The package itself is installed as a wheel, so the image needs no source tree.
    assert "--no-editable" in uv_syncs(build_text(text, "serve"))[-1]
    steps = image_text(text, "steps")
    # SageMaker's processing and training jobs write root-owned /opt/ml folders.
    assert not re.search(r"^USER\s", steps, re.MULTILINE)
    # No project code in the steps image: each job gets its code as an input (jobcode.py).
    copied = re.findall(r"^COPY (?!--from)(.*)$", build_text(text, "steps") + steps, re.MULTILINE)
    assert not any("src" in line.split() for line in copied), copied
    assert all("--no-install-project" in sync for sync in uv_syncs(build_text(text, "steps")))


def test_dockerignore_keeps_out_local_state_but_not_what_the_images_copy(
    baked: BakedProject,
) -> None:
    patterns = [
        line.strip()
        for line in (baked.path / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for local in (".git", ".venv", "build", ".pytest_cache", ".ruff_cache", "**/__pycache__"):
        assert local in patterns, local
    copied = set()
    for line in (baked.path / DOCKERFILE).read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            copied |= set(line.split()[1:-1])
    assert {"pyproject.toml", "uv.lock", ".python-version", "src"} <= copied
    for source in copied:
        assert (baked.path / source).exists(), source
        assert not any(fnmatch.fnmatch(source, p) for p in patterns), source


@pytest.mark.parametrize("name", BUILDSPECS)
def test_buildspec_structure(baked: BakedProject, name: str) -> None:
    spec = buildspec(baked, name)
    assert spec["version"] == 0.2
    assert {"install", "build"} <= set(spec["phases"]), name
    runtime = spec["phases"]["install"]["runtime-versions"]
    expected = {"python": python_version(baked)}
    if name == "buildspecs/test.yml" and baked.context["spark_processing"] == "yes":
        # make test-spark runs Spark locally: a JVM.
        expected["java"] = "corretto17"
    assert runtime == expected, name
    assert all(isinstance(command, str) for command in commands(spec)), name


def test_buildspecs_pin_the_images_uv(baked: BakedProject) -> None:
    image_uv = {
        UV_IMAGE.match(image).group(1)
        for image, _ in stages((baked.path / DOCKERFILE).read_text())
        if "astral-sh/uv" in image
    }
    for name in BUILDSPECS:
        if name == "buildspecs/build-images.yml":
            continue  # it builds the images, with the uv of their Dockerfile
        pins = {UV_PIN.search(c).group(1) for c in commands(buildspec(baked, name)) if "uv==" in c}
        assert pins == image_uv, name


def test_buildspecs_call_what_the_project_has(baked: BakedProject) -> None:
    makefile = (baked.path / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    pipeline = (baked.path / "src" / baked.package / "pipeline" / "cli.py").read_text()
    flags = cli_options(pipeline)
    listed = re.search(r"^COMMANDS\b.*?= \{(.*?)^\}", pipeline, re.MULTILINE | re.DOTALL).group(1)
    pipeline_commands = set(re.findall(r'^\s+"([a-z-]+)":', listed, re.MULTILINE))
    deploy = (baked.path / "src" / baked.package / "deploy" / "__main__.py").read_text()
    deploy_flags = cli_options(deploy)
    listed = re.search(r"^COMMANDS = \{(.*?)^\}", deploy, re.MULTILINE | re.DOTALL).group(1)
    deploy_commands = set(re.findall(r'^\s+"([a-z-]+)":', listed, re.MULTILINE))
    # A command only some projects have is added to COMMANDS below it.
    deploy_commands |= set(re.findall(r'^\s*COMMANDS\["([a-z-]+)"\] =', deploy, re.MULTILINE))
    groups = dependency_groups(baked)
    called_targets, called_commands, called_deploy = set(), set(), set()
    for name in BUILDSPECS:
        for command in commands(buildspec(baked, name)):
            called_targets |= set(re.findall(r"\bmake\s+([a-z][\w-]*)", command))
            cli = re.search(rf"-m {baked.package}\.pipeline\s+([a-z-]+)(.*)", command)
            if cli:
                called_commands.add(cli.group(1))
                assert set(re.findall(r"(--[a-z-]+)", cli.group(2))) <= flags, command
            cli = re.search(rf"-m {baked.package}\.deploy\s+([a-z-]+)(.*)", command)
            if cli:
                called_deploy.add(cli.group(1))
                assert set(re.findall(r"(--[a-z-]+)", cli.group(2))) <= deploy_flags, command
            for arguments in uv_syncs(command):
                assert groups_of(arguments) <= set(groups), command
    spark = {"test-spark"} if baked.context["spark_processing"] == "yes" else set()
    assert called_targets == {"lint", "test", *spark}
    assert called_targets <= targets
    assert called_commands == {"upsert", "start"} and called_commands <= pipeline_commands
    # With a shared-artifact account, CI copies the package there before it deploys.
    publish = {"publish"} if baked.context["artifact_account"] == "yes" else set()
    expected = {"latest", "deploy", "smoke-test", *publish}
    assert called_deploy == expected and called_deploy <= deploy_commands


def test_build_images_pushes_both_images_by_commit(baked: BakedProject) -> None:
    spec = buildspec(baked, "buildspecs/build-images.yml")
    variables = spec["env"]["variables"]
    assert {"STEPS_IMAGE_REPOSITORY", "SERVE_IMAGE_REPOSITORY", "AWS_ACCOUNT_ID"} <= set(variables)
    assert variables["AWS_ACCOUNT_ID"] == baked.context["aws_account_id"]
    text = "\n".join(commands(spec))
    for variable in ("AWS_DEFAULT_REGION", "CODEBUILD_RESOLVED_SOURCE_VERSION", *variables):
        assert f"${variable}" in text, variable
    assert "ecr get-login-password" in text
    builds = [c for c in commands(spec) if "docker buildx build" in c]
    assert {re.search(r"--file (\S+)", c).group(1) for c in builds} == {DOCKERFILE}
    assert sorted(re.search(r"--target (\S+)", c).group(1) for c in builds) == sorted(TARGETS)
    for build in builds:
        assert ':$TAG"' in build and "--push" in build, build
        assert "--build-arg COMMIT=" in build and "--build-arg SOURCE=" in build, build
    assert "latest" not in text
    assert spec["artifacts"]["files"] == ["images.json"]
    assert set(spec["env"]["exported-variables"]) == {"STEPS_IMAGE_URI", "SERVE_IMAGE_URI"}
    run = "\n".join(commands(buildspec(baked, "buildspecs/run-pipeline.yml")))
    assert "images.json" in run and "$STEPS_IMAGE_URI" in run and "$SERVE_IMAGE_URI" in run


def test_deploy_buildspecs_run_one_stage_as_its_deployment_role(baked: BakedProject) -> None:
    """STAGE and DEPLOYMENT_ROLE_ARN come from the pipeline's action; the deploy exports the
    package it deployed, for the next stage."""
    deploy = buildspec(baked, "buildspecs/deploy.yml")
    assert deploy["env"]["exported-variables"] == ["MODEL_PACKAGE_ARN"]
    text = "\n".join(commands(deploy))
    assert re.search(r"MODEL_PACKAGE_ARN=.*\$DEPLOYED", text), text
    for name in ("buildspecs/deploy.yml", "buildspecs/smoke-test.yml"):
        spec = buildspec(baked, name)
        text = "\n".join(commands(spec))
        assert 'test -n "$STAGE" && test -n "$DEPLOYMENT_ROLE_ARN"' in text, name
        assert 'role_arn "$DEPLOYMENT_ROLE_ARN" --profile deployment' in text, name
        # CodeBuild's own credentials are the source: no keys in the build.
        assert "credential_source EcsContainer --profile deployment" in text, name
        assert [c for c in commands(spec) if "AWS_PROFILE=deployment" in c], name
        assert spec["cache"]["paths"] == [f"{spec['env']['variables']['UV_CACHE_DIR']}/**/*"]
        for arguments in uv_syncs(text):
            assert groups_of(arguments) == {"deploy"}, (name, arguments)


def test_test_buildspec_reports_and_caches(baked: BakedProject) -> None:
    spec = buildspec(baked, "buildspecs/test.yml")
    variables = spec["env"]["variables"]
    junit = re.search(r"--junitxml=(\S+)", variables["PYTEST_ADDOPTS"]).group(1)
    (report,) = spec["reports"].values()
    assert report["file-format"] == "JUNITXML"
    assert f"{report['base-directory']}/{report['files'][0]}" == junit
    assert spec["cache"]["paths"] == [f"{variables['UV_CACHE_DIR']}/**/*"]
    assert "uv sync --locked" in commands(spec)


@pytest.mark.slow
@pytest.mark.parametrize("image", TARGETS)
def test_image_environment_builds_from_its_context_and_runs(
    bake, image: str, tmp_path: Path
) -> None:
    """The target's build stages replayed without Docker: only what they COPY, their `uv sync`
    commands (into a folder instead of /opt/venv, bytecode not compiled), then the image's
    command from outside the project with that environment alone: for the steps image, a step
    script from the code a job gets (the package's jobcode.files, on PYTHONPATH)."""
    project = bake()
    text = (project.path / DOCKERFILE).read_text()
    builder = build_text(text, image)
    context, venv = tmp_path / "context", tmp_path / "venv"
    context.mkdir()
    for line in builder.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                copy = shutil.copytree if (project.path / source).is_dir() else shutil.copy
                copy(project.path / source, context / source)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
    for arguments in uv_syncs(builder):
        result = subprocess.run(
            [uv(), "sync", "--quiet", *arguments], cwd=context, env=env, capture_output=True
        )
        assert result.returncode == 0, result.stderr.decode()
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    listing = subprocess.run(
        [
            "python",
            "-c",
            "import importlib.metadata as m; print(*(d.name for d in m.distributions()))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {canonical(name) for name in listing.stdout.split()}
    if image == "steps":
        assert {"scikit-learn", "matplotlib", "pandas"} <= installed
        assert canonical(project.context["project_slug"]) not in installed
        code = job_code(project, "preprocess.py", tmp_path / "code", env)
        command = ["python3", str(code / project.package / "steps" / "preprocess.py"), "--help"]
        env["PYTHONPATH"] = str(code)
    else:
        assert installed & NOT_FOR_SERVING == set()
        assert canonical(project.context["project_slug"]) in installed
        entry = re.search(r"^ENTRYPOINT (\[.*\])$", text, re.MULTILINE).group(1)
        command = [*yaml.safe_load(entry), "serve", "--help"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")


def job_code(project: BakedProject, script: str, folder: Path, env: dict[str, str]) -> Path:
    """A copy of the code folder a job of the script gets: the files the package's jobcode.files
    names (the pipeline uploads those), read with the image's Python."""
    code = f"import json; from {project.package} import jobcode; "
    code += f"print(json.dumps({{k: str(v) for k, v in jobcode.files({script!r}).items()}}))"
    listed = subprocess.run(
        ["python", "-c", code],
        env={**env, "PYTHONPATH": str(project.path / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    for name, source in json.loads(listed.stdout).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, folder / name)
    return folder


@pytest.mark.slow
def test_options_read_statically_are_those_the_pipeline_cli_lists(bake, generated_venv) -> None:
    """What test_buildspecs_call_what_the_project_has reads from the pipeline's cli.py is what
    argparse makes of it: its options, and its commands."""
    project = bake()
    result = run_in_project(
        project, generated_venv, "python", "-m", f"{project.package}.pipeline", "--help"
    )
    assert result.returncode == 0, result.stderr
    listed = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", result.stdout)) - {"--help"}
    source = (project.path / "src" / project.package / "pipeline" / "cli.py").read_text()
    assert cli_options(source) == listed
    commands = re.search(r"^COMMANDS\b.*?= \{(.*?)^\}", source, re.MULTILINE | re.DOTALL).group(1)
    choices = re.search(r"\{([a-z,-]+)\}", result.stdout).group(1)
    assert set(re.findall(r'^\s+"([a-z-]+)":', commands, re.MULTILINE)) == set(choices.split(","))
