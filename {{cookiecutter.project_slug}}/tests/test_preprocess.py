"""Preprocess enforces the data contract, names the column and the rule broken, splits the data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.steps import preprocess

PROBLEM_TYPES = ("binary_classification", "regression")

# A small contract with one column for each kind of rule.
RULES_SCHEMA: dict[str, Any] = {
    "target": "label",
    "columns": [
        {"name": "label", "type": "integer", "allowed_values": [0, 1]},
        {"name": "age", "type": "integer", "min": 0, "max": 120},
        {"name": "dose", "type": "number", "min": 0, "max": 10, "max_missing_fraction": 0.25},
        {"name": "group", "type": "integer", "allowed_values": [1, 2]},
        {"name": "score", "type": "number"},
    ],
}


def valid_rows() -> pd.DataFrame:
    """Eight rows that meet RULES_SCHEMA; object columns so that a test can put any value in."""
    return pd.DataFrame(
        {
            "label": [0, 1, 0, 1, 0, 1, 0, 1],
            "age": [34, 51, 29, 62, 45, 38, 70, 55],
            "dose": [1.5, 2.0, 0.0, 10.0, 3.25, 4.0, 5.5, 7.0],
            "group": [1, 2, 1, 2, 2, 1, 1, 2],
            "score": [0.1, -3.5, 2.25, 8.0, 1e-05, 4.0, -0.5, 6.0],
        }
    ).astype(object)


def cells(column: str, values: dict[int, Any]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A change of some cells of one column (0-based row positions)."""

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        for row, value in values.items():
            frame.loc[row, column] = value
        return frame

    return change


def check(
    frame: pd.DataFrame,
    folder: Path,
    schema: dict[str, Any] = RULES_SCHEMA,
    problem_type: str = "binary_classification",
) -> pd.DataFrame:
    """Validate a frame the way the step does: written to CSV, read back as text."""
    path = folder / "data.csv"
    frame.to_csv(path, index=False)
    return preprocess.validate(
        preprocess.read_data(path), preprocess.parse_schema(schema), problem_type
    )


def rule_message(column: str, rule: str, count: int, first_row: int, value: str) -> str:
    return (
        f"column '{column}' breaks rule '{rule}': {count} of 8 rows, "
        f"first at row {first_row} (value {value})"
    )


BROKEN_RULES = [
    pytest.param(
        lambda frame: frame.drop(columns="score"),
        "column 'score' breaks rule 'required': it is declared in the schema "
        "but absent from the data",
        id="required",
    ),
    pytest.param(
        lambda frame: frame.assign(extra=1),
        "column 'extra' breaks rule 'declared': it is in the data but not in the schema",
        id="declared",
    ),
    pytest.param(
        cells("score", {2: "abc"}),
        rule_message("score", "type number", 1, 3, "'abc'"),
        id="type-number-text",
    ),
    pytest.param(
        cells("score", {5: "inf"}),
        rule_message("score", "type number", 1, 6, "'inf'"),
        id="type-number-infinite",
    ),
    pytest.param(
        cells("age", {1: "forty"}),
        rule_message("age", "type integer", 1, 2, "'forty'"),
        id="type-integer-text",
    ),
    pytest.param(
        cells("age", {1: 30.5}),
        rule_message("age", "type integer", 1, 2, "'30.5'"),
        id="type-integer-fraction",
    ),
    pytest.param(
        cells("age", {4: -1, 6: -7}),
        rule_message("age", "min >= 0", 2, 5, "-1.0"),
        id="min",
    ),
    pytest.param(
        cells("dose", {3: 10.5}),
        rule_message("dose", "max <= 10", 1, 4, "10.5"),
        id="max",
    ),
    pytest.param(
        cells("group", {7: 3}),
        rule_message("group", "allowed values [1, 2]", 1, 8, "3.0"),
        id="allowed-values",
    ),
    pytest.param(
        cells("score", {2: None}),
        rule_message("score", "missing fraction <= 0", 1, 3, "missing"),
        id="missing-default-none",
    ),
    pytest.param(
        cells("dose", {0: None, 4: None, 5: None}),
        rule_message("dose", "missing fraction <= 0.25", 3, 1, "missing"),
        id="missing-over-limit",
    ),
    pytest.param(
        cells("label", {6: None}),
        rule_message("label", "missing fraction <= 0", 1, 7, "missing"),
        id="missing-target",
    ),
]


@pytest.mark.parametrize(("break_rule", "message"), BROKEN_RULES)
def test_a_broken_rule_names_the_column_and_the_rule(
    break_rule: Callable[[pd.DataFrame], pd.DataFrame], message: str, tmp_path: Path
):
    with pytest.raises(preprocess.DataValidationError) as error:
        check(break_rule(valid_rows()), tmp_path)
    assert str(error.value) == message


def test_valid_rows_pass_with_missing_values_up_to_the_limit(tmp_path: Path):
    frame = cells("dose", {0: None, 4: None})(valid_rows())  # 2 of 8 = the 0.25 allowed
    checked = check(frame.iloc[:, ::-1], tmp_path)  # columns in any order
    assert list(checked.columns) == ["label", "age", "dose", "group", "score"]
    assert checked["dose"].isna().sum() == 2
    assert str(checked["age"].dtype) == "Int64"


def test_every_broken_rule_is_reported_at_once(tmp_path: Path):
    frame = cells("age", {0: -1})(cells("group", {1: 5})(valid_rows())).drop(columns="score")
    with pytest.raises(preprocess.DataValidationError) as error:
        check(frame, tmp_path)
    lines = str(error.value).splitlines()
    assert len(lines) == 3
    assert [line.split("'")[1] for line in lines] == ["score", "age", "group"]


def test_classification_target_must_be_0_or_1(tmp_path: Path):
    schema = json.loads(json.dumps(RULES_SCHEMA))
    schema["columns"][0] = {"name": "label", "type": "integer"}
    with pytest.raises(preprocess.DataValidationError) as error:
        check(cells("label", {2: 2})(valid_rows()), tmp_path, schema)
    assert str(error.value) == rule_message("label", "binary target in {0, 1}", 1, 3, "2.0")


def test_regression_target_may_take_any_value(tmp_path: Path):
    schema = json.loads(json.dumps(RULES_SCHEMA))
    schema["columns"][0] = {"name": "label", "type": "number"}
    checked = check(cells("label", {2: 17.5})(valid_rows()), tmp_path, schema, "regression")
    assert checked["label"].iloc[2] == 17.5


def write_inputs(folder: Path, frame: pd.DataFrame, schema: dict[str, Any]) -> list[str]:
    """Data and schema folders as the processing job gets them; returns main's arguments."""
    (folder / "data").mkdir(parents=True)
    (folder / "schema").mkdir()
    frame.to_csv(folder / "data" / "data.csv", index=False)
    (folder / "schema" / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    return ["--input-dir", str(folder / "data"), "--schema", str(folder / "schema")]


def test_main_fails_on_a_single_class_target(
    tmp_path: Path, make_dataset, capsys: pytest.CaptureFixture[str]
):
    frame, schema = make_dataset("binary_classification", rows=50)
    argv = write_inputs(tmp_path, frame.assign(label=1), schema)
    assert preprocess.main([*argv, "--output-dir", str(tmp_path / "out")]) == 1
    assert "column 'label' breaks rule 'at least 2 classes': all 50 rows are 1" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "out").exists()


def test_main_prints_the_broken_rule_of_the_sample_data_and_exits_1(
    tmp_path: Path, sample_data: pd.DataFrame, sample_schema, capsys: pytest.CaptureFixture[str]
):
    column = next(c for c in sample_schema["columns"][1:] if "min" in c)
    broken = sample_data.copy()
    below = float(column["min"] - 1)
    broken[column["name"]] = broken[column["name"]].astype(float)
    broken.loc[[16, 40, 99], column["name"]] = below
    argv = write_inputs(tmp_path, broken, sample_schema)
    assert preprocess.main([*argv, "--output-dir", str(tmp_path / "out")]) == 1
    expected = (
        f"column '{column['name']}' breaks rule 'min >= {column['min']}': "
        f"3 of {len(sample_data)} rows, first at row 17 (value {below!r})"
    )
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("", "data.csv is empty: expected a header row", id="empty-file"),
        pytest.param("label,x1\n", "data.csv: a header but no data rows", id="header-only"),
    ],
)
def test_main_fails_clearly_without_data(
    content: str, message: str, tmp_path: Path, make_dataset, capsys: pytest.CaptureFixture[str]
):
    _, schema = make_dataset("regression")
    argv = write_inputs(tmp_path, pd.DataFrame(), schema)
    (tmp_path / "data" / "data.csv").write_text(content, encoding="utf-8")
    assert preprocess.main([*argv, "--output-dir", str(tmp_path / "out")]) == 1
    assert message in capsys.readouterr().err


def test_main_fails_clearly_without_csv_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    argv = ["--input-dir", str(tmp_path), "--schema", str(config.SCHEMA)]
    assert preprocess.main([*argv, "--output-dir", str(tmp_path / "out")]) == 1
    assert f"no CSV files found at {tmp_path}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"target": "nope"}, "the target 'nope' is not a declared column", id="target"),
        pytest.param({"colour": "red"}, "unknown keys ['colour']", id="unknown-key"),
        pytest.param({"columns": []}, "'columns' must be a non-empty list", id="no-columns"),
        pytest.param(
            {"columns": [{"name": "label", "type": "text"}]}, "type must be one of", id="type"
        ),
        pytest.param(
            {"columns": [{"name": "label", "type": "number", "min": 2, "max": 1}]},
            "min 2 is greater than max 1",
            id="min-above-max",
        ),
        pytest.param(
            {
                "columns": [
                    {"name": "label", "type": "number", "max_missing_fraction": 0.1},
                    {"name": "x", "type": "number"},
                ]
            },
            "the target 'label' cannot allow missing values",
            id="target-missing",
        ),
    ],
)
def test_a_malformed_schema_is_rejected(change: dict[str, Any], message: str):
    with pytest.raises(preprocess.SchemaError) as error:
        preprocess.parse_schema({**RULES_SCHEMA, **change})
    assert message in str(error.value)


def test_schema_folder_must_hold_exactly_one_json(tmp_path: Path):
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(RULES_SCHEMA), encoding="utf-8")
    with pytest.raises(preprocess.SchemaError, match="exactly one JSON schema"):
        preprocess.load_schema(tmp_path)


def test_sample_data_meets_its_schema(sample_data: pd.DataFrame):
    schema = preprocess.load_schema(config.SCHEMA)
    checked = preprocess.validate(
        preprocess.read_data(config.SAMPLE_DATA), schema, config.PROBLEM_TYPE
    )
    assert list(checked.columns) == list(sample_data.columns)
    assert checked.columns[0] == schema.target
    pd.testing.assert_frame_equal(checked, sample_data, check_dtype=False)


def test_schema_declares_a_rule_set_for_every_column(sample_data: pd.DataFrame, sample_schema):
    columns = sample_schema["columns"]
    assert [column["name"] for column in columns] == list(sample_data.columns)
    assert sample_schema["problem_type"] == config.PROBLEM_TYPE
    for column in columns:
        assert column["type"] in ("number", "integer"), column
        assert "max_missing_fraction" in column, column
        assert column.get("description"), column
        # Every column is bounded: by a range or by a list of allowed values.
        assert ("min" in column and "max" in column) or "allowed_values" in column, column


def test_schema_ranges_leave_headroom_above_the_sample(sample_data: pd.DataFrame, sample_schema):
    # Real-world bounds, not the sample's extremes: new data a little outside the sample passes.
    for column in sample_schema["columns"]:
        if "max" in column:
            assert column["max"] > sample_data[column["name"]].max(), column["name"]


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_split_sizes_partition_the_rows(problem_type: str, make_dataset):
    frame, _ = make_dataset(problem_type, rows=240)
    splits = preprocess.split(frame, "label", problem_type, 0.15, 0.2, seed=3)
    assert {name: len(part) for name, part in splits.items()} == {
        "train": 156,
        "validation": 36,
        "test": 48,
    }
    together = pd.concat(splits.values()).sort_values(list(frame.columns), ignore_index=True)
    pd.testing.assert_frame_equal(
        together, frame.sort_values(list(frame.columns), ignore_index=True)
    )


def test_classification_splits_are_stratified(make_dataset):
    frame, _ = make_dataset("binary_classification", rows=300)
    overall = frame["label"].mean()
    assert 0.25 < overall < 0.35  # a real imbalance, so that stratification matters
    for name, part in preprocess.split(frame, "label", "binary_classification").items():
        # Stratified: the class share of each split is off by less than one row.
        assert abs(part["label"].mean() - overall) < 1 / len(part), name


def test_split_is_deterministic_with_the_seed(make_dataset):
    frame, _ = make_dataset("regression")
    first = preprocess.split(frame, "label", "regression", seed=7)
    again = preprocess.split(frame, "label", "regression", seed=7)
    other = preprocess.split(frame, "label", "regression", seed=8)
    for name in preprocess.SPLITS:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert not first["test"].equals(other["test"])


def test_main_writes_the_sample_splits_with_the_target_first(
    sample_splits: Path, sample_data: pd.DataFrame
):
    splits = {name: pd.read_csv(sample_splits / name / f"{name}.csv") for name in preprocess.SPLITS}
    for part in splits.values():
        assert list(part.columns) == list(sample_data.columns)
    rows = len(sample_data)
    assert sum(len(part) for part in splits.values()) == rows
    for name in ("validation", "test"):
        assert abs(len(splits[name]) - 0.15 * rows) <= 1, name
    together = pd.concat(splits.values()).sort_values(list(sample_data.columns), ignore_index=True)
    expected = sample_data.sort_values(list(sample_data.columns), ignore_index=True)
    np.testing.assert_allclose(together.to_numpy(float), expected.to_numpy(float))


def test_main_output_is_the_same_for_the_same_seed(sample_splits: Path, tmp_path: Path):
    argv = ["--input-dir", str(config.SAMPLE_DATA), "--schema", str(config.SCHEMA)]
    assert preprocess.main([*argv, "--output-dir", str(tmp_path)]) == 0
    for name in preprocess.SPLITS:
        relative = Path(name) / f"{name}.csv"
        assert (tmp_path / relative).read_bytes() == (sample_splits / relative).read_bytes()
