"""Preprocess enforces the data contract, names the column, the rule broken and the remedy in one
line a rule, encodes the target, and splits the data. Rules are exercised on small frames; the
configured data set (config.DATA, config.SCHEMA) only has to meet its own schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import config, contract
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
        {"name": "colour", "type": "category", "allowed_values": ["blue", "red"]},
        {"name": "note", "type": "category", "max_missing_fraction": 0.5},
        {"name": "score", "type": "number"},
    ],
}

# What each kind of broken rule tells the user to do (the schema is "the schema" here).
REMEDIES = {
    "type": 'fix the values, or declare the column "type": "category" in the schema',
    "min": 'fix the values, or lower "min" in the schema',
    "max": 'fix the values, or raise "max" in the schema',
    "allowed": 'fix the values, or add them to "allowed_values" in the schema',
    "missing": 'fill the values in, or raise "max_missing_fraction" in the schema',
    "target": 'fill them in, or set "drop_rows_with_missing_target": true in the schema to drop '
    "those rows",
    "binary": "map the labels to 0 and 1, or declare the target a category with its two labels "
    "as allowed_values and a positive_class",
}


def valid_rows() -> pd.DataFrame:
    """Eight rows that meet RULES_SCHEMA; object columns so that a test can put any value in."""
    return pd.DataFrame(
        {
            "label": [0, 1, 0, 1, 0, 1, 0, 1],
            "age": [34, 51, 29, 62, 45, 38, 70, 55],
            "dose": [1.5, 2.0, 0.0, 10.0, 3.25, 4.0, 5.5, 7.0],
            "group": [1, 2, 1, 2, 2, 1, 1, 2],
            "colour": ["red", "blue", " red", "blue", "red", "red", "blue ", "blue"],
            "note": ["a", "free text", None, "0042", "a", None, "b", "c"],
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
    return contract.validate(contract.read_data(path), contract.parse_schema(schema), problem_type)


def rule_message(
    column: str, rule: str, count: int, first_row: int, value: str, remedy: str
) -> str:
    return (
        f"column '{column}' breaks rule '{rule}': {count} of 8 rows, "
        f"first at row {first_row} (value {value}); {REMEDIES[remedy]}"
    )


BROKEN_RULES = [
    pytest.param(
        lambda frame: frame.drop(columns="score"),
        "column 'score' breaks rule 'required': it is declared in the schema but absent from "
        "the data; add it to the data or remove it from the schema",
        id="required",
    ),
    pytest.param(
        lambda frame: frame.assign(extra=1),
        "column 'extra' breaks rule 'declared': it is in the data but not in the schema; "
        "declare it in the schema or remove it from the data",
        id="declared",
    ),
    pytest.param(
        cells("score", {2: "abc"}),
        rule_message("score", "type number", 1, 3, "'abc'", "type"),
        id="type-number-text",
    ),
    pytest.param(
        cells("score", {5: "inf"}),
        rule_message("score", "type number", 1, 6, "'inf'", "type"),
        id="type-number-infinite",
    ),
    pytest.param(
        cells("age", {1: "forty"}),
        rule_message("age", "type integer", 1, 2, "'forty'", "type"),
        id="type-integer-text",
    ),
    pytest.param(
        cells("age", {1: 30.5}),
        rule_message("age", "type integer", 1, 2, "'30.5'", "type"),
        id="type-integer-fraction",
    ),
    pytest.param(
        cells("age", {4: -1, 6: -7}),
        rule_message("age", "min >= 0", 2, 5, "-1.0", "min"),
        id="min",
    ),
    pytest.param(
        cells("dose", {3: 10.5}),
        rule_message("dose", "max <= 10", 1, 4, "10.5", "max"),
        id="max",
    ),
    pytest.param(
        cells("group", {7: 3}),
        rule_message("group", "allowed values [1, 2]", 1, 8, "3.0", "allowed"),
        id="allowed-values",
    ),
    pytest.param(
        cells("colour", {1: "green", 4: "Red"}),
        rule_message("colour", "allowed values [blue, red]", 2, 2, "'green'", "allowed"),
        id="allowed-categories",
    ),
    pytest.param(
        cells("score", {2: None}),
        rule_message("score", "missing fraction <= 0", 1, 3, "missing", "missing"),
        id="missing-default-none",
    ),
    pytest.param(
        cells("dose", {0: None, 4: None, 5: None}),
        rule_message("dose", "missing fraction <= 0.25", 3, 1, "missing", "missing"),
        id="missing-over-limit",
    ),
    pytest.param(
        cells("note", {0: None, 1: None, 7: None}),
        rule_message("note", "missing fraction <= 0.5", 5, 1, "missing", "missing"),
        id="missing-category",
    ),
    pytest.param(
        cells("label", {6: None}),
        rule_message("label", "target not missing", 1, 7, "missing", "target"),
        id="missing-target",
    ),
]


@pytest.mark.parametrize(("break_rule", "message"), BROKEN_RULES)
def test_a_broken_rule_names_the_column_the_rule_and_the_remedy(
    break_rule: Callable[[pd.DataFrame], pd.DataFrame], message: str, tmp_path: Path
):
    with pytest.raises(contract.DataValidationError) as error:
        check(break_rule(valid_rows()), tmp_path)
    assert str(error.value) == message


def test_valid_rows_pass_with_missing_values_up_to_the_limit(tmp_path: Path):
    frame = cells("dose", {0: None, 4: None})(valid_rows())  # 2 of 8 = the 0.25 allowed
    checked = check(frame.iloc[:, ::-1], tmp_path)  # columns in any order
    assert list(checked.columns) == ["label", "age", "dose", "group", "colour", "note", "score"]
    assert checked["dose"].isna().sum() == 2
    assert str(checked["age"].dtype) == "Int64"


def test_categories_stay_text_without_surrounding_spaces(tmp_path: Path):
    checked = check(valid_rows(), tmp_path)
    assert checked["colour"].tolist() == [
        "red",
        "blue",
        "red",
        "blue",
        "red",
        "red",
        "blue",
        "blue",
    ]
    # A code stays the text it is (0042 is not the number 42); a category without declared
    # values takes any text.
    assert checked["note"].tolist()[:4] == ["a", "free text", None, "0042"]


def test_every_broken_rule_is_reported_at_once(tmp_path: Path):
    frame = cells("age", {0: -1})(cells("group", {1: 5})(valid_rows())).drop(columns="score")
    with pytest.raises(contract.DataValidationError) as error:
        check(frame, tmp_path)
    lines = str(error.value).splitlines()
    assert len(lines) == 3
    assert [line.split("'")[1] for line in lines] == ["score", "age", "group"]


def test_classification_target_must_be_0_or_1(tmp_path: Path):
    schema = json.loads(json.dumps(RULES_SCHEMA))
    schema["columns"][0] = {"name": "label", "type": "integer"}
    with pytest.raises(contract.DataValidationError) as error:
        check(cells("label", {2: 2})(valid_rows()), tmp_path, schema)
    expected = rule_message("label", "binary target in {0, 1}", 1, 3, "2.0", "binary")
    assert str(error.value) == expected


def test_regression_target_may_take_any_value(tmp_path: Path):
    schema = json.loads(json.dumps(RULES_SCHEMA))
    schema["columns"][0] = {"name": "label", "type": "number"}
    checked = check(cells("label", {2: 17.5})(valid_rows()), tmp_path, schema, "regression")
    assert checked["label"].iloc[2] == 17.5


def text_target_schema(**changes: Any) -> dict[str, Any]:
    """RULES_SCHEMA with a text target: labels "benign" and "malignant", the latter positive."""
    schema = json.loads(json.dumps(RULES_SCHEMA))
    schema["columns"][0] = {
        "name": "label",
        "type": "category",
        "allowed_values": ["benign", "malignant"],
    }
    return {**schema, "positive_class": "malignant", **changes}


def text_labels(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(label=frame["label"].map({0: "benign", 1: " malignant"}))


def test_a_text_target_is_encoded_1_for_the_positive_class(tmp_path: Path):
    frame = text_labels(valid_rows())
    checked = check(frame, tmp_path, text_target_schema())
    expected = [1 if label.strip() == "malignant" else 0 for label in frame["label"]]
    assert checked["label"].tolist() == expected
    # The other label is the positive one when the schema says so.
    flipped = check(frame, tmp_path, text_target_schema(positive_class="benign"))
    assert flipped["label"].tolist() == [1 - value for value in expected]


def test_a_text_target_outside_its_two_labels_is_refused(tmp_path: Path):
    frame = cells("label", {3: "unknown"})(text_labels(valid_rows()))
    with pytest.raises(contract.DataValidationError) as error:
        check(frame, tmp_path, text_target_schema())
    assert str(error.value) == rule_message(
        "label", "allowed values [benign, malignant]", 1, 4, "'unknown'", "allowed"
    )


def test_rows_without_a_target_are_dropped_and_counted_when_the_schema_says_so(tmp_path: Path):
    frame = cells("label", {1: None, 6: None})(valid_rows())
    schema = {**RULES_SCHEMA, "drop_rows_with_missing_target": True}
    checked = check(frame, tmp_path, schema)
    assert len(checked) == 6
    assert checked.attrs["dropped_rows"] == 2
    assert checked["label"].notna().all()
    # A broken rule still names the row of the file, counting the dropped rows.
    with pytest.raises(contract.DataValidationError, match="first at row 8 "):
        check(cells("age", {7: -1})(frame), tmp_path, schema)


def test_rows_to_score_need_no_target_and_may_lack_values():
    schema = contract.parse_schema(RULES_SCHEMA)
    rows = valid_rows().drop(columns="label")
    rows.loc[[0, 1, 2, 3], "score"] = None  # far above the data set's 0 missing allowed
    checked = contract.validate(rows, schema, "binary_classification", with_target=False)
    assert list(checked.columns) == schema.features
    assert checked["score"].isna().sum() == 4
    # Every other rule still holds for rows to score.
    with pytest.raises(contract.DataValidationError, match="breaks rule 'min >= 0'"):
        contract.validate(
            cells("age", {0: -1})(rows), schema, "binary_classification", with_target=False
        )


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


def breakable_rules(schema: contract.Schema) -> list[tuple[str, str, str]]:
    """(column, a value that breaks one of its rules, the start of that rule's name) for every
    value rule of the schema: type, min, max and allowed values."""
    found = []
    for column in schema.columns:
        if column.role != "feature":
            continue  # an id or ignored column has no rule
        if column.type != "category":
            found.append((column.name, "not a number", f"type {column.type}"))
        if column.min is not None:
            found.append((column.name, repr(float(column.min) - 1), "min >= "))
        if column.max is not None:
            found.append((column.name, repr(float(column.max) + 1), "max <= "))
        if column.allowed_values is not None:
            if column.type == "category":
                outside = "no such value"
            else:
                outside = repr(float(max(column.allowed_values)) + 1)
            found.append((column.name, outside, "allowed values ["))
    return found


def test_every_rule_of_the_configured_schema_is_enforced_in_one_line(
    configured_schema: contract.Schema, make_rows
):
    rows = make_rows(configured_schema, rows=20)
    contract.validate(rows, configured_schema, config.PROBLEM_TYPE)  # they meet it
    for name, value, rule in breakable_rules(configured_schema):
        broken = rows.copy()
        broken.loc[[3, 11], name] = value
        with pytest.raises(contract.DataValidationError) as error:
            contract.validate(broken, configured_schema, config.PROBLEM_TYPE)
        start = f"column '{name}' breaks rule '{rule}"
        lines = [line for line in str(error.value).splitlines() if line.startswith(start)]
        assert len(lines) == 1, (name, value, str(error.value))
        assert "': 2 of 20 rows, first at row 4 (value " in lines[0], lines[0]
        assert "; fix the values, or " in lines[0], lines[0]
        assert configured_schema.source in lines[0], lines[0]


def test_main_prints_the_broken_rules_and_exits_1(
    tmp_path: Path, configured_schema: contract.Schema, make_rows, capsys
):
    feature = configured_schema.features[0]
    rows = make_rows(configured_schema, rows=20).drop(columns=feature)
    raw_schema = json.loads(config.SCHEMA.read_text(encoding="utf-8"))
    argv = write_inputs(tmp_path, rows.assign(undeclared="1"), raw_schema)
    assert preprocess.main([*argv, "--output-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("preprocess failed: ")
    assert f"column '{feature}' breaks rule 'required'" in err
    assert "column 'undeclared' breaks rule 'declared'" in err
    assert not (tmp_path / "out").exists()


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


# Preprocess runs as the SageMaker execution role (tests/aws_calls.py).
@pytest.mark.principal("execution")
def test_the_manifest_records_each_files_s3_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """With --input-data-url in a versioned bucket (moto), the current version of each file."""
    import boto3
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    data = tmp_path / "data"
    data.mkdir()
    (data / config.DATA.name).write_bytes(config.DATA.read_bytes())
    # The project's bucket and data prefix, as the pipeline's InputDataUrl has them.
    bucket, prefix = config.DATA_BUCKET, f"{config.DATA_PREFIX}input/"
    url = f"s3://{bucket}/{prefix}"
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        key = f"{prefix}{config.DATA.name}"
        s3.put_object(Bucket=bucket, Key=key, Body=b"an older upload")
        current = s3.put_object(Bucket=bucket, Key=key, Body=config.DATA.read_bytes())
        argv = ["--input-dir", str(data), "--schema", str(config.SCHEMA)]
        argv += ["--output-dir", str(tmp_path / "out"), "--input-data-url", url]
        assert preprocess.main([*argv, "--min-rows", "1"]) == 0
    manifest_file = tmp_path / "out" / contract.MANIFEST_DIR / contract.MANIFEST_FILE
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    assert manifest["source"] == url
    assert [entry["s3_version_id"] for entry in manifest["files"]] == [current["VersionId"]]
    assert manifest["sha256"] == contract.data_manifest(data)["sha256"]


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
            "the target 'label' cannot allow missing values; set "
            '"drop_rows_with_missing_target": true to drop such rows instead',
            id="target-missing",
        ),
        pytest.param(
            {"columns": [{"name": "label", "type": "category", "min": 0}]},
            "a category has no min or max; list allowed_values instead",
            id="category-range",
        ),
        pytest.param(
            {"columns": [{"name": "label", "type": "category", "allowed_values": [1, 2]}]},
            "allowed_values of a category must be non-empty text",
            id="category-values",
        ),
        pytest.param(
            {"positive_class": "1"},
            "positive_class applies to a category target only",
            id="positive-class-of-a-number",
        ),
        pytest.param(
            {
                "positive_class": "b",
                "columns": [
                    {"name": "label", "type": "category", "allowed_values": ["a", "b", "c"]},
                    {"name": "x", "type": "number"},
                ],
            },
            "needs allowed_values with exactly two labels and a positive_class among them",
            id="category-target-three-labels",
        ),
        pytest.param(
            {
                "positive_class": "maybe",
                "columns": [
                    {"name": "label", "type": "category", "allowed_values": ["no", "yes"]},
                    {"name": "x", "type": "number"},
                ],
            },
            "needs allowed_values with exactly two labels and a positive_class among them",
            id="positive-class-not-a-label",
        ),
        pytest.param(
            {
                "problem_type": "regression",
                "columns": [
                    {"name": "label", "type": "category", "allowed_values": ["no", "yes"]},
                    {"name": "x", "type": "number"},
                ],
            },
            "a regression target must be a number; 'label' is a category",
            id="regression-category-target",
        ),
        pytest.param(
            {"drop_rows_with_missing_target": "yes"},
            "drop_rows_with_missing_target must be true or false",
            id="drop-rows-not-a-bool",
        ),
    ],
)
def test_a_malformed_schema_is_rejected_in_one_line(change: dict[str, Any], message: str):
    with pytest.raises(contract.SchemaError) as error:
        contract.parse_schema({**RULES_SCHEMA, **change})
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_schema_folder_must_hold_exactly_one_json(tmp_path: Path):
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(RULES_SCHEMA), encoding="utf-8")
    with pytest.raises(contract.SchemaError, match="exactly one JSON schema"):
        contract.load_schema(tmp_path)


def test_configured_data_meets_its_schema(configured_data: pd.DataFrame, configured_schema):
    assert configured_schema.problem_type == config.PROBLEM_TYPE
    checked = contract.validate(configured_data, configured_schema, config.PROBLEM_TYPE)
    assert list(checked.columns) == configured_schema.model_columns  # target first
    assert len(checked) == len(configured_data) - checked.attrs["dropped_rows"]
    target = checked[configured_schema.target]
    assert target.notna().all()
    if config.PROBLEM_TYPE == "binary_classification":
        assert set(target) == {0, 1}


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
    for name in contract.SPLITS:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert not first["test"].equals(other["test"])


def comparable(frame: pd.DataFrame, schema: contract.Schema) -> pd.DataFrame:
    """Rows in a canonical form, to compare as sets: numbers as floats, categories as text."""
    columns = {
        name: frame[name]
        .astype(object)
        .where(frame[name].notna(), None)
        .map(lambda value: value if value is None else str(value))
        if name in schema.categories
        else pd.to_numeric(frame[name]).astype(float)
        for name in schema.model_columns
    }
    rows = pd.DataFrame(columns)
    return rows.sort_values(schema.model_columns, ignore_index=True, na_position="last")


def test_main_writes_the_configured_splits_with_the_target_first(
    configured, configured_data, configured_schema
):
    checked = contract.validate(configured_data, configured_schema, config.PROBLEM_TYPE)
    text = dict.fromkeys(configured_schema.categories, str)
    splits = {
        name: pd.read_csv(configured.splits / name / f"{name}.csv", dtype=text)
        for name in contract.SPLITS
    }
    for name, part in splits.items():
        assert list(part.columns) == configured_schema.model_columns, name
        # The schema travels with each split: train, evaluate and explain read it.
        written = json.loads((configured.splits / name / contract.SCHEMA_FILE).read_text())
        assert contract.parse_schema(written) == contract.parse_schema(configured_schema.raw)
    rows = len(checked)
    assert sum(len(part) for part in splits.values()) == rows
    for name in ("validation", "test"):
        assert abs(len(splits[name]) - 0.15 * rows) <= 1, name
    together = pd.concat(splits.values(), ignore_index=True)
    pd.testing.assert_frame_equal(
        comparable(together, configured_schema), comparable(checked, configured_schema)
    )


def test_main_reports_the_rows_dropped_without_a_target(
    tmp_path: Path, make_mixed_dataset, capsys: pytest.CaptureFixture[str]
):
    frame, schema = make_mixed_dataset("binary_classification", rows=200)
    frame.loc[[5, 50, 150], "label"] = None
    argv = write_inputs(tmp_path, frame, schema)
    assert preprocess.main([*argv, "--output-dir", str(tmp_path / "refused")]) == 1
    err = capsys.readouterr().err
    assert "column 'label' breaks rule 'target not missing': 3 of 200 rows, first at row 6" in err
    assert '"drop_rows_with_missing_target": true' in err

    schema["drop_rows_with_missing_target"] = True
    (tmp_path / "schema" / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    assert preprocess.main([*argv, "--output-dir", str(tmp_path / "out")]) == 0
    assert "dropped 3 rows without a target" in capsys.readouterr().out
    written = sum(
        len(pd.read_csv(tmp_path / "out" / name / f"{name}.csv")) for name in contract.SPLITS
    )
    assert written == 197


def test_main_output_is_the_same_for_the_same_seed(configured, tmp_path: Path):
    argv = ["--input-dir", str(config.DATA), "--schema", str(config.SCHEMA)]
    assert preprocess.main([*argv, "--output-dir", str(tmp_path)]) == 0
    earlier = configured.splits
    if config.FEATURE_STORE:
        # The local run's splits are the Feature Store snapshot's (rows in record-ID order).
        earlier = tmp_path / "again"
        assert preprocess.main([*argv, "--output-dir", str(earlier)]) == 0
    for name in contract.SPLITS:
        for relative in (Path(name) / f"{name}.csv", Path(name) / contract.SCHEMA_FILE):
            assert (tmp_path / relative).read_bytes() == (earlier / relative).read_bytes()
