"""Slow tier: a user's own data, end to end, following the generated README to the letter.

For each problem type a project is baked, a data set that the template does not ship is
generated here (text categories, missing feature values, a text binary target or a numeric
regression target), and the commands of the README's "Bring your own data" section are run as
written: infer the schema, run locally, run the project's own unedited tests, score new rows.
Then the mistakes a user makes on that path must each end in one line that says what to do.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import re
import subprocess
from pathlib import Path

import pytest
from conftest import BakedProject, Variant, assert_suite_passed, uv

pytestmark = pytest.mark.slow

TARGETS = {"binary_classification": "churned", "regression": "spend"}
ROWS = 600


def own_data(problem_type: str, rows: int = ROWS, seed: int = 7) -> list[dict[str, object]]:
    """Customers with a plan and a region (text), tenure (whole months) and monthly charges,
    some charges and regions missing; the target depends on all four."""
    rng = random.Random(seed)
    data = []
    for _ in range(rows):
        plan = rng.choices(["basic", "pro", "team"], weights=[5, 3, 2])[0]
        region = rng.choice(["north", "south", "east", "west"])
        tenure = rng.randint(1, 72)
        charges = round(rng.gauss(70, 20), 2)
        signal = 2.5 * (plan == "basic") - 0.06 * tenure + 0.03 * (charges - 70)
        signal += 1.2 * (region == "south")
        row: dict[str, object] = {"plan": plan, "region": region, "tenure": tenure}
        row["monthly_charges"] = "" if rng.random() < 0.07 else charges
        if rng.random() < 0.04:
            row["region"] = ""
        if problem_type == "binary_classification":
            churned = rng.random() < 1 / (1 + math.exp(-(signal - 0.5)))
            row[TARGETS[problem_type]] = "yes" if churned else "no"
        else:
            row[TARGETS[problem_type]] = round(100 + 30 * signal + rng.gauss(0, 8), 1)
        data.append(row)
    return data


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def readme_commands(project: BakedProject) -> list[str]:
    """The commands of the README's "Bring your own data" block, comments dropped."""
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Bring your own data", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def make(project: BakedProject, command: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """A README `make ...` line, run as a user runs it, with the project's own .venv."""
    env = {**os.environ, **extra_env, "UV_PROJECT_ENVIRONMENT": str(project.path / ".venv")}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [*command.split(), f"UV={uv()}", "--no-print-directory"],
        cwd=project.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command printed, make's own report of the failure aside."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not re.match(r"make(\[\d+\])?: \*\*\*", line)
    ]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def swapped(bake, own_data_variant: Variant) -> BakedProject:
    """A project whose sample data was replaced by the README's steps, every command green: the
    largest size's suite variants, each problem type once."""
    project = bake(**own_data_variant.context, project_name="Own Data")
    problem_type = project.context["problem_type"]
    write_csv(project.path / "data" / "churn.csv", own_data(problem_type))
    write_csv(project.path / "data" / "new_rows.csv", own_data(problem_type, rows=20, seed=8))
    commands = readme_commands(project)
    assert [c.split()[:2] for c in commands] == [
        ["make", "install"],
        ["make", "schema"],
        ["make", "local-run"],
        ["make", "test"],
        ["make", "predict"],
    ]
    for command in commands:
        command = command.replace("path/to/your.csv", "data/churn.csv")
        command = command.replace("your_target_column", TARGETS[problem_type])
        # The bias report's facet (projects with bias_report).
        command = command.replace("your_sensitive_column", "region")
        command = command.replace("path/to/new_rows.csv", "data/new_rows.csv")
        # `-n auto` on one worker (xdist's own setting): the template's workers already keep
        # both cores busy, and a second worker a project would only import everything again.
        report = {
            "PYTEST_ADDOPTS": "--junitxml=build/pytest.xml",
            "PYTEST_XDIST_AUTO_NUM_WORKERS": "1",
        }
        result = make(project, command, **(report if command == "make test" else {}))
        assert result.returncode == 0, f"{command}\n{result.stdout[-4000:]}{result.stderr[-3000:]}"
    return project


def test_schema_is_inferred_and_made_the_data_set(swapped: BakedProject) -> None:
    schema_file = swapped.path / "src" / swapped.package / "schemas" / "churn.json"
    schema = json.loads(schema_file.read_text())
    types = {column["name"]: column["type"] for column in schema["columns"]}
    assert types["plan"] == types["region"] == "category"
    assert types["tenure"] == "integer"
    assert types["monthly_charges"] == "number"
    assert schema["data"] == "data/churn.csv"
    if schema["problem_type"] == "binary_classification":
        assert types["churned"] == "category"
        assert schema["positive_class"] == "yes"
    else:
        assert types["spend"] == "number"
    config = (swapped.path / "src" / swapped.package / "config.py").read_text()
    assert re.search(r'^DATASET = "churn"$', config, re.MULTILINE)


def test_generated_tests_pass_unedited_on_the_new_data(swapped: BakedProject) -> None:
    assert_suite_passed(swapped, swapped.path / "build" / "pytest.xml")


def test_predictions_are_written_for_every_row(swapped: BakedProject) -> None:
    with (swapped.path / "build" / "predictions.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 20
    if "churned" in rows[0]:
        assert all(0 <= float(row["probability"]) <= 1 for row in rows)
        assert {row["predicted_label"] for row in rows} <= {"yes", "no"}
    else:
        assert all(math.isfinite(float(row["prediction"])) for row in rows)


@pytest.mark.variants(
    lambda context: (
        context["spark_processing"] == "yes" and context["problem_type"] == "binary_classification"
    )
)
def test_the_spark_job_matches_the_pandas_step_on_the_new_data(swapped: BakedProject) -> None:
    """`make test-spark`, as CI runs it after `make test`: the Spark job and the pandas step on
    the user's data and on generated bad data, one local Spark session (a JVM: tens of seconds
    here), so once, on the binary classification project, where both engines also stratify (the
    Spark job's tests cover both problem types on generated data)."""
    result = make(swapped, "make test-spark")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_project_still_lints(swapped: BakedProject) -> None:
    """`make lint`, as CI runs it, after the README's steps changed the project's data."""
    result = make(swapped, "make lint")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_readme_example_refusal_is_what_preprocess_prints(swapped: BakedProject) -> None:
    """The README quotes a refusal: three 'twelve' in tenure, the first at row 17."""
    rows = own_data(swapped.context["problem_type"])
    for index in (16, 100, 200):
        rows[index]["tenure"] = "twelve"
    write_csv(swapped.path / "build" / "bad" / "churn.csv", rows)
    line = refusal(make(swapped, "make local-run DATA=build/bad/churn.csv"))
    readme = " ".join((swapped.path / "README.md").read_text().split())
    quoted = re.search(r"`(column 'tenure' breaks rule 'type integer'[^`]*)`", readme).group(1)
    assert line.endswith(quoted), line


# A mistake on the README's path -> (command, what the one line must say).
def _mistakes(problem_type: str) -> dict[str, tuple[str, list[dict[str, object]], list[str]]]:
    target = TARGETS[problem_type]
    good = own_data(problem_type, rows=60, seed=9)
    return {
        "text-in-a-number-column": (
            "make local-run DATA=build/mistake.csv",
            [row | {"monthly_charges": "cheap"} for row in own_data(problem_type)],
            ["column 'monthly_charges'", "type number", '"type": "category"'],
        ),
        "category-outside-the-schema": (
            "make predict DATA=build/mistake.csv",
            [row | {"plan": "enterprise"} for row in good],
            ["column 'plan'", "allowed values", "allowed_values"],
        ),
        "missing-target-column": (
            f"make schema DATA=build/mistake.csv TARGET={target}",
            [{k: v for k, v in row.items() if k != target} for row in good],
            [f"TARGET='{target}' is not a column"],
        ),
        "three-text-labels": (
            "make schema DATA=build/mistake.csv TARGET=plan",
            good,
            ["'plan' has 3 text labels", "map them to two labels"],
        ),
        "numbers-with-separators": (
            f"make schema DATA=build/mistake.csv TARGET={target}",
            [row | {"tenure": f"{row['tenure']},000"} for row in good],
            ["column 'tenure'", "separators", "plain numbers", "DROP=tenure"],
        ),
        "empty-file": ("make schema DATA=build/mistake.csv TARGET=x", [], ["mistake.csv"]),
    }


@pytest.mark.parametrize("mistake", list(_mistakes("regression")))
def test_each_mistake_is_refused_in_one_line(swapped: BakedProject, mistake: str) -> None:
    command, rows, expected = _mistakes(swapped.context["problem_type"])[mistake]
    path = swapped.path / "build" / "mistake.csv"
    if command.startswith("make predict") and not any(
        (swapped.path / "build/registry").glob("v*/package.json")
    ):
        # predict scores with the registry's last run that passed the gate.
        assert make(swapped, "make local-run").returncode == 0
    if rows:
        write_csv(path, rows)
    else:
        path.write_text("")
    line = refusal(make(swapped, command))
    for fragment in expected:
        assert fragment in line, line
