"""Fast tier: README.md and CONTRIBUTING.md say what the code does, and stay so.

Make targets, file layouts, counts and limits in the prose are read from the docs and compared
with the Makefiles, a baked project, the variant table, the rules and the test tables.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys

from conftest import (
    COOKIECUTTER_JSON,
    COVERING_VARIANTS,
    PROJECT_TEMPLATE,
    RUN_VARIANTS,
    SUITE_VARIANTS,
    TEMPLATE_DIR,
    VARIANTS,
)
from test_bad_data import CASES

from mlops_template import variants
from mlops_template.checks import aws

README = (TEMPLATE_DIR / "README.md").read_text(encoding="utf-8")
CONTRIBUTING = (TEMPLATE_DIR / "CONTRIBUTING.md").read_text(encoding="utf-8")
GENERATED_README = (PROJECT_TEMPLATE / "README.md").read_text(encoding="utf-8")
# How the docs and prompts write the metrics that evaluate.py computes (metrics.py).
METRIC_NAMES = {"auc": "AUC", "r2": "R²", "rmse": "RMSE", "mae": "MAE", "logloss": "log loss"}


def section(text: str, heading: str) -> str:
    """The text under a `## heading`, up to the next heading of that level."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def makefile_targets(makefile: str) -> tuple[set[str], set[str]]:
    """(.PHONY's targets, the targets that have a rule) of a Makefile's text."""
    joined = makefile.replace("\\\n", " ")
    phony = set(re.search(r"^\.PHONY:(.*)$", joined, re.MULTILINE).group(1).split())
    rules_ = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    return phony, rules_


def test_readme_names_every_make_target_of_the_template() -> None:
    phony, with_rules = makefile_targets((TEMPLATE_DIR / "Makefile").read_text())
    assert phony == with_rules
    named = set(re.findall(r"`make ([a-z][a-z-]*)", section(README, "The two commands")))
    named |= set(re.findall(r"^make ([a-z][a-z-]*)", section(README, "The two commands"), re.M))
    assert named == phony


def layout_block() -> list[str]:
    """The README's tree of a baked project, line by line."""
    return (
        README.split("A baked project (medium, binary classification):\n\n```\n", 1)[1]
        .split("\n```", 1)[0]
        .splitlines()[1:]
    )


def layout_entries() -> dict[str, str]:
    """Path in the baked project -> what the README says of it (its continuation lines too)."""
    entries: dict[str, str] = {}
    parent, last = "", None
    for line in layout_block():
        indent = len(line) - len(line.lstrip(" "))
        if indent >= 20:  # a continuation of the description above
            entries[last] += " " + line.strip()
            continue
        name, _, said = line.strip().partition("  ")
        if indent == 2:
            parent = name if name.startswith("src/") else ""
        for each in name.split(", "):
            last = f"{parent}{each}" if indent == 4 else each
            entries[last] = said.strip()
    return entries


def test_readme_layout_is_a_baked_medium_project(bake) -> None:
    project = bake(mlops_size="medium", problem_type="binary_classification")
    entries = layout_entries()
    package = f"src/{project.package}/"
    assert any(path.startswith(package) for path in entries), package
    for path in entries:
        assert (project.path / path.rstrip("/")).exists(), path
    top_level = {path.split("/")[0] for path in entries}
    assert top_level == {path.name for path in project.path.iterdir()}


def test_readme_layout_lists_every_make_target_of_the_project(bake) -> None:
    project = bake(mlops_size="medium", problem_type="binary_classification")
    phony, with_rules = makefile_targets((project.path / "Makefile").read_text())
    assert phony == with_rules
    listed = {target.strip() for target in layout_entries()["Makefile"].split(",")}
    assert listed == phony


def test_readme_counts_come_from_the_tables() -> None:
    tested = section(README, "How it is tested")
    assert f"every one of the {len(VARIANTS)} variants" in tested
    assert f"each of the {len(variants.FEATURES)} features" in tested
    assert (
        f"a covering set of {len(COVERING_VARIANTS)} variants: {len(SUITE_VARIANTS)} run" in tested
    )
    assert f"and the {len(RUN_VARIANTS)} that turn one feature away" in tested
    assert f"a table of {len({case.id for case in CASES})} bad data files" in tested
    for count in re.findall(r"\b(\d+) (?:variants|features|bad data files)\b", README):
        assert int(count) in {
            len(VARIANTS),
            len(COVERING_VARIANTS),
            len(SUITE_VARIANTS),
            len(RUN_VARIANTS),
            len(variants.FEATURES),
            len({case.id for case in CASES}),
        }, count


def test_readme_slug_limits_come_from_the_rules() -> None:
    regions = aws.REGIONS
    longest = {
        region: min(
            limit - len(name.format(slug="", account="0" * 12, region=region))
            for _, name, limit in aws.AWS_NAMES
        )
        for region in regions
    }
    options = section(README, "Options")
    assert f"slugified name, cut to {aws.DEFAULT_SLUG_MAX} characters" in options
    low, high = min(longest.values()), max(longest.values())
    assert f"{low} to {high} characters depending on the region" in options


def gate_metrics() -> dict[str, str]:
    """Problem type -> the metric of its quality gate, as config.py and metrics.py agree."""
    package = PROJECT_TEMPLATE / "src" / "{{cookiecutter.package_name}}"
    config = (package / "config.py").read_text()
    gates = dict(re.findall(r'"(\w+)": QualityGate\(\s*metric="(\w+)"', config))
    metrics = (package / "metrics.py").read_text()
    headline = re.search(r"^HEADLINE_METRICS = (\{.*?\})$", metrics, re.MULTILINE | re.DOTALL)
    assert gates == ast.literal_eval(headline.group(1))
    assert set(gates) == set(variants.CHOICE_PATHS["problem_type"])
    return gates


def test_problem_type_prompt_names_the_gate_metric() -> None:
    label = COOKIECUTTER_JSON["__prompts__"]["problem_type"]
    option = next(line for line in README.splitlines() if line.startswith("| `problem_type` |"))
    for problem_type, metric in gate_metrics().items():
        assert f"{problem_type} (XGBoost, {METRIC_NAMES[metric]} quality gate)" in label
        assert f"{METRIC_NAMES[metric]} gate" in option
    others = set(METRIC_NAMES) - set(gate_metrics().values())
    for metric in others:
        assert METRIC_NAMES[metric] not in label, metric


def test_benchmark_tables_say_when_and_where_they_were_measured() -> None:
    """A table of measured numbers is preceded by its date and machine."""
    for text in (README, GENERATED_README):
        paragraphs = text.split("\n\n")
        for index, paragraph in enumerate(paragraphs):
            if paragraph.startswith("|") and re.search(r"requests/s|seconds| ms ", paragraph):
                before = paragraphs[index - 1]
                assert re.search(r"Measured on \d{4}-\d{2}-\d{2}", before), before
                assert re.search(r"\d+-core", before), before


def test_contributing_layout_is_the_template() -> None:
    layout = section(CONTRIBUTING, "Layout")
    named = set()
    for row in layout.splitlines()[2:]:
        first = row.split(" | ")[0]
        named |= set(re.findall(r"`([^`]+)`", first))
    for path in named:
        assert (TEMPLATE_DIR / path.rstrip("/")).exists(), path
    own_code = {
        str(path.relative_to(TEMPLATE_DIR))
        for folder in ("mlops_template", "hooks")
        for path in (TEMPLATE_DIR / folder).iterdir()
        if path.suffix in (".py", ".toml") and path.name != "__init__.py"
    }
    assert own_code <= named
    tests = {p.name for p in (TEMPLATE_DIR / "tests").glob("test_*.py")}
    assert tests <= set(re.findall(r"`(test_\w+\.py)`", layout))


def test_docs_name_only_files_that_exist() -> None:
    for text in (README, CONTRIBUTING):
        for path in re.findall(r"`((?:mlops_template|hooks|tests|bench)/[\w./-]*)`", text):
            assert (TEMPLATE_DIR / path).exists(), path


def test_the_variant_table_prints_as_the_docs_say() -> None:
    assert "`python -m mlops_template.variants`" in README
    assert "`python -m mlops_template.variants`" in CONTRIBUTING
    result = subprocess.run(
        [sys.executable, "-m", "mlops_template.variants"],
        cwd=TEMPLATE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == variants.markdown_table()
    assert README.count(variants.markdown_table()) == 1
