"""Slow tier: the generated tests pass unedited on data sets of many shapes.

Data sets are generated here, one a shape: each dimension below (the features, the target, the
missing values) is cycled over the shapes, so that every value of every dimension is met, and
their columns, values and signal are drawn at random. Each is made the project's data set as the
README says (`make schema`), and the generated tests that read the configured data set run on it
unedited (tests/plugins/data_dependent.py: the others do not change with the data; the suite
variants run them).
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from conftest import (
    OWN_DATA_VARIANTS,
    PLUGINS,
    BakedProject,
    assert_suite_passed,
    run_in_project,
)

pytestmark = pytest.mark.slow

ROWS = 300
# Each dimension's values, cycled over the shapes: shape i takes value i % len(values).
FEATURES = {"one number": (1, 0), "only categories": (0, 3), "many columns": (36, 4)}
TARGETS = ("text labels", "0/1 labels", "numbers")
MISSING = (0.06, 0.0)
SHAPES = [
    (features, TARGETS[i % len(TARGETS)], MISSING[i % len(MISSING)])
    for i, features in enumerate(FEATURES)
]


def shape_rows(features: str, target: str, missing: float, seed: int) -> list[dict[str, object]]:
    """ROWS rows of random numbers (n0, n1, ...) and categories (c0, c1, ...) as `features`
    counts them, the target `y` a noisy function of all of them; each feature value missing with
    probability `missing` (never all of a column)."""
    rng = random.Random(seed)
    numbers, categories = FEATURES[features]
    levels = [[f"level_{chr(97 + k)}" for k in range(rng.randint(2, 5))] for _ in range(categories)]
    weights = [rng.uniform(-1, 1) for _ in range(numbers + categories)]
    rows = []
    for _ in range(ROWS):
        row: dict[str, object] = {}
        signal = 0.0
        for j in range(numbers):
            value = round(rng.gauss(0, 1), 4)
            row[f"n{j}"], signal = value, signal + weights[j] * value
        for j, values in enumerate(levels):
            value = rng.choice(values)
            row[f"c{j}"] = value
            signal += weights[numbers + j] * (values.index(value) - len(values) / 2)
        for name in row:
            if rng.random() < missing:
                row[name] = ""
        noisy = signal + rng.gauss(0, 0.3)
        if target == "numbers":
            row["y"] = round(50 + 10 * noisy, 3)
        else:
            positive = noisy > 0
            row["y"] = (
                ("churned" if positive else "stayed") if target == "text labels" else int(positive)
            )
        rows.append(row)
    return rows


@pytest.fixture(scope="module", params=SHAPES, ids=lambda shape: "-".join(map(str, shape)))
def shaped(request, bake, generated_venv: Path) -> tuple[BakedProject, tuple]:
    """A large project whose data set is one generated shape, made so by `make schema`'s
    command."""
    features, target, missing = request.param
    project = bake(**OWN_DATA_VARIANTS[0].context, project_name=f"Shape {features}")
    data = project.path / "data" / "shape.csv"
    rows = shape_rows(features, target, missing, seed=SHAPES.index(request.param))
    with data.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = run_in_project(
        project,
        generated_venv,
        *("python", "-m", f"{project.package}.infer_schema"),
        *("--data", "data/shape.csv", "--target", "y"),
        # The large size's bias report needs a sensitive column: the shape's first feature.
        *("--facet", next(iter(rows[0]))),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return project, request.param


def test_the_schema_has_the_shapes_columns(shaped) -> None:
    project, (features, target, _) = shaped
    schema = json.loads(
        (project.path / "src" / project.package / "schemas" / "shape.json").read_text()
    )
    kinds = [c["type"] for c in schema["columns"] if c["name"] != "y"]
    numbers, categories = FEATURES[features]
    assert len(kinds) == numbers + categories
    assert kinds.count("category") == categories
    expected = "regression" if target == "numbers" else "binary_classification"
    assert schema["problem_type"] == expected


def test_the_generated_tests_that_read_the_data_pass_unedited(shaped, generated_venv) -> None:
    project, _ = shaped
    report = project.path / "build" / "pytest.xml"
    result = run_in_project(
        project,
        generated_venv,
        *("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "data_dependent"),
        f"--junitxml={report}",
        extra_env={"PYTHONPATH": f"{project.path / 'src'}:{PLUGINS}"},
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert_suite_passed(project, report, data_only=True)
