"""Fast tier: each variant bakes to exactly its files, with no Jinja left, and lints clean."""

from __future__ import annotations

import ast
import json
import re
import runpy
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest
import yaml
from conftest import (
    COOKIECUTTER_JSON,
    PROJECT_TEMPLATE,
    RUN_VARIANTS,
    SUITE_VARIANTS,
    TEMPLATE_DIR,
    VARIANTS,
    BakedProject,
    Variant,
    distinct_renderings,
    first_time,
    shared_variants,
)

from mlops_template import variants

# `{{` after `$` is GitHub Actions syntax, not Jinja; `.cookiecutter.json` is the answers file.
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{|\{%|\{#|cookiecutter\.(?!json)")


def expected_files(context: dict[str, str]) -> set[str]:
    """The template's files as this variant names them, less what its options remove."""
    removed = variants.paths_to_remove(context)
    files = set()
    for path in PROJECT_TEMPLATE.rglob("*"):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        relative = str(path.relative_to(PROJECT_TEMPLATE))
        relative = relative.replace("{{cookiecutter.package_name}}", context["package_name"])
        if not any(relative == r or relative.startswith(f"{r}/") for r in removed):
            files.add(relative)
    return files


def test_manifest_is_exact(baked: BakedProject, variant: Variant) -> None:
    assert baked.files() == expected_files(baked.context)
    for kept in variants.paths_to_keep(baked.context):
        assert (baked.path / kept).exists(), kept


def test_no_leftover_jinja(baked: BakedProject) -> None:
    leftovers = []
    for name in sorted(baked.files()):
        text = (baked.path / name).read_text(encoding="utf-8", errors="replace")
        leftovers += [f"{name}:{m.group(0)}" for m in LEFTOVER_JINJA.finditer(text)]
    assert leftovers == []


def test_every_data_file_parses(baked: BakedProject) -> None:
    from cfnlint.decode import cfn_yaml  # imported here: a second to import, for this test only

    parsers = {".json": json.loads, ".toml": tomllib.loads, ".lock": tomllib.loads}
    parsers |= {".yaml": yaml.safe_load, ".yml": yaml.safe_load}
    checked = 0
    for name in sorted(baked.files()):
        # CloudFormation's YAML has short tags (!Sub, !Ref) that plain YAML refuses.
        parse = cfn_yaml.loads if name.startswith("infra/") else parsers.get(Path(name).suffix)
        if parse:
            text = (baked.path / name).read_text()
            if first_time(f"parse {name}", text):
                parse(text)
            checked += 1
    assert checked >= 5  # pyproject, uv.lock, pre-commit, answers, schema at least


def test_every_variant_is_ruff_clean() -> None:
    """`ruff format --check` and `ruff check` with each project's own settings, one run over all
    variants (the paths in a failure name the variant's folder)."""
    folders = [str(project.path) for project in shared_variants()]
    for args in (["format", "--check", "--diff"], ["check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--no-cache", *folders],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


def test_python_files_compile(baked: BakedProject) -> None:
    for name in baked.files():
        if name.endswith(".py"):
            text = (baked.path / name).read_text()
            if first_time("compile", text):
                ast.parse(text, filename=name)


def test_answers_are_recorded(baked: BakedProject, variant: Variant) -> None:
    recorded = json.loads((baked.path / ".cookiecutter.json").read_text())["cookiecutter"]
    assert recorded.items() >= variant.context.items()
    assert not any(key.startswith("_") for key in recorded)


@pytest.mark.parametrize("size", variants.SIZES)
def test_size_sets_feature_defaults(bake, size: str) -> None:
    project = bake(mlops_size=size)
    for feature in variants.FEATURES:
        assert project.context[feature.name] == variants.feature_default(size, feature.name)
        for path in feature.paths:
            exists = (project.path / path.format(package=project.package)).exists()
            assert exists == feature.defaults[size], path


def test_feature_flags_reach_config(baked: BakedProject) -> None:
    config = (baked.path / "src" / baked.package / "config.py").read_text()
    for feature in variants.FEATURES:
        on = baked.context[feature.name] == variants.YES
        assert f"{feature.name.upper()} = {on}" in config


def test_readme_sections_are_distinct_and_none_is_empty(baked: BakedProject) -> None:
    """Sections that features add or leave out meet well: no title twice, none without text."""
    lines = (baked.path / "README.md").read_text().splitlines()
    fence = False
    headings = []  # (level, title, index of the next line with text)
    for index, line in enumerate(lines):
        fence = fence != line.startswith("```")
        if not fence and re.match(r"#{1,6} ", line):
            level, _, title = line.partition(" ")
            after = next((i for i in range(index + 1, len(lines)) if lines[i].strip()), index)
            headings.append((len(level), title, after))
    titles = [title for level, title, _ in headings if level == 2]
    assert len(titles) == len(set(titles)), titles
    for level, title, after in headings:
        below = re.match(r"(#+) ", lines[after])
        assert below is None or len(below.group(1)) > level, f"section {title!r} has no text"


def test_readme_diagram_shows_this_variants_steps(baked: BakedProject) -> None:
    readme = (baked.path / "README.md").read_text()
    diagram = readme.split("```mermaid")[1].split("```")[0]
    for step in (
        "Preprocess",
        "Train",
        "Evaluate",
        "CheckQuality",
        "Register",
        "QualityGateFailed",
    ):
        assert f"{step}[" in diagram or f"{step}{{" in diagram, step
    baseline = baked.context["data_quality_baseline"] == variants.YES
    for node in ("Reference[",):
        assert (node in diagram) == baseline, node
    assert "QualityCheck" not in diagram
    explain = baked.context["explainability_report"] == variants.YES
    assert ("Explain[" in diagram) == explain
    assert "CreateModel" not in diagram
    card = baked.context["model_card"] == variants.YES
    assert ("ModelCard[" in diagram) == card


def test_readme_diagram_shows_the_path_from_approval_to_production(baked: BakedProject) -> None:
    readme = (baked.path / "README.md").read_text()
    section = readme.split("## From an approved model to production")[1]
    diagram = section.split("```mermaid")[1].split("```")[0]
    slug = baked.context["project_slug"]
    for node in ("approve[", "rule{", "ci[", "latest{", "prod[", "alarms{", "rollback["):
        assert node in diagram, node
    assert f"{slug}-model-approved<br/>ModelApprovalStatus = Approved" in diagram
    pipeline = baked.context["ci_system"] == "codepipeline"
    assert (f"CodePipeline {slug}-deploy" in diagram) == pipeline
    assert ("GitHub Actions deploy.yml" in diagram) != pipeline
    assert f"{slug}-endpoint-prod" in diagram
    staging = baked.context["staging_stage"] == variants.YES
    assert ("stg[" in diagram and "manual{" in diagram) == staging
    assert f"account {baked.context['prod_account_id']}" in diagram


def test_readme_diagram_shows_the_loop_from_drift_to_retraining(baked: BakedProject) -> None:
    readme = (baked.path / "README.md").read_text()
    title = "## Watching the endpoints: from drift to retraining"
    if baked.context["model_monitoring"] != variants.YES:
        assert title not in readme
        return
    diagram = readme.split(title)[1].split("```mermaid")[1].split("```")[0]
    for node in (
        "capture[",
        "schedule[",
        "starter[",
        "job[",
        "report[",
        "alarm{",
        "topic[",
        "rule[",
        "cooldown{",
        "retrain[",
    ):
        assert node in diagram, node
    slug = baked.context["project_slug"]
    assert f"{slug}-training" in diagram and baked.context["author_email"] in diagram
    assert "Model Monitor" not in diagram


# The variant table and cookiecutter.json must describe the same options.


def test_every_feature_has_a_labelled_prompt_defaulting_from_the_table() -> None:
    for feature in variants.FEATURES:
        assert COOKIECUTTER_JSON[feature.name] == (
            f"{{{{ cookiecutter.mlops_size | feature_default('{feature.name}') }}}}"
        )
        assert COOKIECUTTER_JSON["__prompts__"][feature.name]


def test_choice_options_match_the_table() -> None:
    """Choices are text answers (the hook checks them, in one line, on every route): the default is
    the first value and the label names every value."""
    choices = {"mlops_size": variants.SIZES} | variants.CHOICE_PATHS | variants.VALUE_CHOICES
    for option, by_value in choices.items():
        assert COOKIECUTTER_JSON[option] == next(iter(by_value))
        label = COOKIECUTTER_JSON["__prompts__"][option]
        assert all(value in label for value in by_value), label
    for size, maturity in variants.SIZES.items():
        assert f"{size} ({maturity} - " in COOKIECUTTER_JSON["__prompts__"]["mlops_size"]


def test_every_prompt_is_labelled() -> None:
    prompts = {key for key in COOKIECUTTER_JSON if not key.startswith("_")}
    assert prompts == set(COOKIECUTTER_JSON["__prompts__"])


def test_every_value_choice_is_baked() -> None:
    for option, values in variants.VALUE_CHOICES.items():
        for tier in (VARIANTS, SUITE_VARIANTS, RUN_VARIANTS):
            assert {v.context[option] for v in tier} == set(values), option


def _flags_joined(node: jinja2.nodes.Node, outer: frozenset[str]) -> Iterator[frozenset[str]]:
    """The feature flags each condition of a template is decided under, its enclosing ones too."""
    names = {f.name for f in variants.FEATURES}
    if isinstance(node, jinja2.nodes.If | jinja2.nodes.CondExpr):
        read = {
            attr.attr
            for attr in node.test.find_all(jinja2.nodes.Getattr)
            if isinstance(attr.node, jinja2.nodes.Name) and attr.node.name == "cookiecutter"
        }
        outer = outer | (read & names)
        yield outer
    for child in node.iter_child_nodes():
        yield from _flags_joined(child, outer)


def test_no_condition_joins_more_than_two_feature_flags() -> None:
    """The matrix bakes every two features together in every setting, not every combination:
    a condition on three flags at once would need the three-way combinations baked."""
    environment = jinja2.Environment(extensions=["jinja2.ext.do"])
    for path in PROJECT_TEMPLATE.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            try:
                source = path.read_text()
            except UnicodeDecodeError:
                continue
            if "{%" in source or "{{" in source:
                tree = environment.parse(source)
                for flags in _flags_joined(tree, frozenset()):
                    # A flag that another one requires is on wherever that one is: no new setting.
                    implied = {r for f in flags for r in variants.FEATURES_BY_NAME[f].requires}
                    assert len(flags - implied) <= 2, (path, sorted(flags))


def test_every_owned_path_exists_in_the_template() -> None:
    context = {"package_name": "{{cookiecutter.package_name}}"}
    owned = [p for f in variants.FEATURES for p in f.paths]
    owned += [
        p for by_value in variants.CHOICE_PATHS.values() for ps in by_value.values() for p in ps
    ]
    for path in owned:
        assert (PROJECT_TEMPLATE / path.format(package=context["package_name"])).exists(), path


def test_readme_shows_the_variant_table() -> None:
    assert variants.markdown_table() in (TEMPLATE_DIR / "README.md").read_text()


@pytest.mark.parametrize(
    "field, value",
    [
        ("project_name", 'Bob\'s "Quoted" \\ Model """ \'\'\''),
        ("description", 'Injects """; import os; os.system(\'echo pwned\') # \\n'),
        ("author_name", "Zoë O'Brien-Łukasz \\"),
    ],
)
def test_answers_are_treated_as_data(bake, field: str, value: str) -> None:
    project = bake(**{field: value, "project_slug": "data-test", "package_name": "data_test"})
    namespace = runpy.run_path(str(project.path / "src" / "data_test" / "config.py"))
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    if field == "project_name":
        assert namespace["PROJECT_NAME"] == value
    elif field == "description":
        assert pyproject["project"]["description"] == value
    else:
        assert pyproject["project"]["authors"][0]["name"] == value
    recorded = json.loads((project.path / ".cookiecutter.json").read_text())["cookiecutter"]
    assert recorded[field] == value
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=project.path, capture_output=True
    )
    assert result.returncode == 0, result.stdout


INFRA = sorted(f"infra/{path.name}" for path in (PROJECT_TEMPLATE / "infra").glob("*.yaml"))


def cfn_lint(paths: list[Path], region: str) -> list[str]:
    """cfn-lint's errors and warnings (what its command fails on, not its informational notes)
    on the templates, in one run: its rules are built once for all of them."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    config = ConfigMixIn(["--regions", region, "--", *map(str, paths)])
    return [f"{m.filename}: {m}" for m in Runner(config).run() if m.rule.id[0] in "EW"]


@pytest.mark.parametrize("name", INFRA)
def test_cloudformation_is_lint_clean(name: str) -> None:
    """Every distinct rendering of the template across all variants, in its variants' region."""
    renderings = distinct_renderings(name)
    assert renderings, f"no variant renders {name}"
    by_region: dict[str, list[Path]] = {}
    for path, projects in renderings.values():
        for region in {project.context["aws_region"] for project in projects}:
            by_region.setdefault(region, []).append(path)
    for region, paths in sorted(by_region.items()):
        assert cfn_lint(paths, region) == [], region


def test_cfn_lint_reports_what_it_should(tmp_path: Path) -> None:
    """A run over several templates still reports each one's problems: a resource type that does
    not exist, in the second of two."""
    (path, _), *_ = distinct_renderings("infra/base.yaml").values()
    broken = tmp_path / "broken.yaml"
    broken.write_text(path.read_text().replace("Type: AWS::KMS::Key", "Type: AWS::KMS::Keys", 1))
    problems = cfn_lint([path, broken], "eu-west-1")
    assert problems and all(p.startswith(f"{broken}: [E3006") for p in problems), problems


def test_reused_compiled_templates_bake_what_a_fresh_process_bakes(tmp_path: Path) -> None:
    """The extension keeps compiled templates for the process (most of a bake's cost): a bake
    after another variant's, from those, is byte for byte what `cookiecutter` in a new process
    bakes."""
    from cookiecutter.main import cookiecutter

    from mlops_template.extension import COMPILED

    answers = ["mlops_size=large", "problem_type=regression"]
    cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path / "warm-up"))
    assert COMPILED.code, "the first bake compiled nothing into the cache"
    reused = cookiecutter(
        str(TEMPLATE_DIR),
        no_input=True,
        output_dir=str(tmp_path / "reused"),
        extra_context=dict(a.split("=") for a in answers),
    )
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path / "fresh")]
    subprocess.run([*command, str(TEMPLATE_DIR), *answers], check=True, capture_output=True)
    fresh = tmp_path / "fresh" / Path(reused).name
    reused_files = {
        p.relative_to(reused): p.read_bytes() for p in Path(reused).rglob("*") if p.is_file()
    }
    fresh_files = {p.relative_to(fresh): p.read_bytes() for p in fresh.rglob("*") if p.is_file()}
    assert reused_files == fresh_files
