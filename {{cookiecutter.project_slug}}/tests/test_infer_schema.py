"""`make schema` infers a schema that preprocess accepts from a data file: column types, ranges
with headroom, allowed values, the problem type and the positive class; what it cannot infer it
refuses in one line that says what to pass. It points config.py at the new schema (here always a
copy of config.py: a test never edits the real one)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import config, contract, infer_columns, infer_schema


def text(*values: object) -> pd.Series:
    """A column as preprocess reads it: text, None for an empty cell."""
    return pd.Series([None if v is None else str(v) for v in values], dtype=object)


def test_whole_numbers_make_an_integer_column_with_headroom():
    column = infer_schema.infer_column("visits", text(3, 7, 10, None, 4))
    assert column["type"] == "integer"
    assert isinstance(column["min"], int) and isinstance(column["max"], int)
    assert 0 <= column["min"] <= 3  # never below 0 for a column without negative values
    assert column["max"] > 10
    assert 0.2 <= column["max_missing_fraction"] <= 1  # 1 of 5 missing, plus headroom


def test_fractions_and_negative_values_make_a_number_column_below_its_minimum():
    column = infer_schema.infer_column("change", text(-2.5, 0.25, 1.75, 3.0))
    assert column["type"] == "number"
    assert column["min"] < -2.5
    assert column["max"] > 3.0
    assert column["max_missing_fraction"] == 0


def test_text_makes_a_category_with_its_values():
    column = infer_schema.infer_column("plan", text("pro", " basic", "pro", None, "team"))
    assert column["type"] == "category"
    assert column["allowed_values"] == ["basic", "pro", "team"]
    assert "min" not in column and "max" not in column
    many = text(*(f"id-{index}" for index in range(infer_columns.MAX_CATEGORIES + 1)))
    assert "allowed_values" not in infer_schema.infer_column("id", many)


def test_a_0_1_target_makes_binary_classification():
    column, decided = infer_schema.infer_target("churned", text(0, 1, 1, 0, 0))
    assert column == {"name": "churned", "type": "integer", "allowed_values": [0, 1]}
    assert decided == {
        "problem_type": "binary_classification",
        "drop_rows_with_missing_target": False,
    }


@pytest.mark.parametrize(
    ("labels", "chosen", "positive"),
    [
        pytest.param(["no", "Yes", "no", "Yes", "Yes"], None, "Yes", id="a-positive-word"),
        pytest.param(["benign", "malignant", "benign"], None, "malignant", id="the-rarer-label"),
        pytest.param(["benign", "malignant", "benign"], "benign", "benign", id="as-chosen"),
        pytest.param(["cat", "dog", "cat", "dog"], "dog", "dog", id="balanced-as-chosen"),
    ],
)
def test_two_text_labels_make_a_category_target_with_a_positive_class(
    labels: list[str], chosen: str | None, positive: str
):
    column, decided = infer_schema.infer_target("label", text(*labels), chosen)
    assert column == {"name": "label", "type": "category", "allowed_values": sorted(set(labels))}
    assert decided["problem_type"] == "binary_classification"
    assert decided["positive_class"] == positive


def test_many_numbers_make_regression_and_missing_targets_are_dropped():
    column, decided = infer_schema.infer_target("spend", text(10.5, 99, None, 42, 7.25))
    assert column["type"] == "number"
    assert column["min"] <= 7.25 and column["max"] >= 99
    assert "max_missing_fraction" not in column  # a target may not miss values
    assert decided == {"problem_type": "regression", "drop_rows_with_missing_target": True}


@pytest.mark.parametrize(
    ("values", "chosen", "message"),
    [
        pytest.param(
            ["a", "b", "c", "a"],
            None,
            "the target 'label' has 3 text labels (a, b, c): this project does binary "
            "classification or regression; map them to two labels, or pick another TARGET",
            id="three-text-labels",
        ),
        pytest.param(
            [5, 5, None, 5],
            None,
            "the target 'label' has 1 distinct value(s): a model needs at least two; "
            "pick another TARGET",
            id="single-value",
        ),
        pytest.param(
            ["cat", "dog", "dog", "cat"],
            None,
            "the target 'label' has two equally common labels ['cat', 'dog']: say which one is "
            "the positive class with POSITIVE=<label> (--positive-class)",
            id="balanced-without-positive",
        ),
        pytest.param(
            ["cat", "dog", "dog"],
            "bird",
            "--positive-class 'bird' is not a label of 'label'; its labels are ['cat', 'dog']",
            id="positive-not-a-label",
        ),
    ],
)
def test_a_target_that_cannot_be_learned_is_refused_in_one_line(
    values: list[object], chosen: str | None, message: str
):
    with pytest.raises(infer_schema.InferenceError) as error:
        infer_schema.infer_target("label", text(*values), chosen)
    assert str(error.value) == message


def test_an_unknown_target_column_is_refused(make_mixed_dataset):
    frame, _ = make_mixed_dataset("regression", rows=20)
    with pytest.raises(infer_schema.InferenceError) as error:
        infer_schema.infer_schema(frame, "nope", "mixed", "data/mixed.csv", None)
    assert str(error.value) == (
        f"TARGET='nope' is not a column of the data; its columns are {list(frame.columns)}"
    )


@pytest.mark.parametrize("problem_type", ["binary_classification", "regression"])
def test_the_inferred_schema_is_one_preprocess_accepts_for_the_data(
    problem_type: str, make_mixed_dataset, tmp_path: Path
):
    frame, _ = make_mixed_dataset(problem_type, rows=200)
    frame.loc[[3, 30], "label"] = None  # rows without a target: dropped, not refused
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    data = contract.read_data(path)
    schema = infer_schema.infer_schema(data, "label", "mixed", "data/mixed.csv", None)
    assert schema["problem_type"] == problem_type
    assert schema["data"] == "data/mixed.csv"
    assert schema["drop_rows_with_missing_target"] is True
    types = {column["name"]: column["type"] for column in schema["columns"]}
    assert types == {
        "label": "category" if problem_type == "binary_classification" else "number",
        "plan": "category",
        "region": "category",
        "usage": "number",
        "tenure": "integer",
    }
    if problem_type == "binary_classification":
        assert schema["positive_class"] == "yes"
    parsed = contract.parse_schema(json.loads(json.dumps(schema)))
    checked = contract.validate(data, parsed, problem_type)
    assert len(checked) == 198
    assert checked.attrs["dropped_rows"] == 2


def test_the_configured_data_yields_a_schema_of_its_problem_type(
    configured_data, configured_schema
):
    schema = infer_schema.infer_schema(
        configured_data,
        configured_schema.target,
        "again",
        str(config.DATA),
        configured_schema.positive_class,
    )
    assert schema["problem_type"] == config.PROBLEM_TYPE
    assert [column["name"] for column in schema["columns"]] == configured_schema.names


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    """A copy of this project's config.py, for point_config_at to edit."""
    copy = tmp_path / "config.py"
    copy.write_text(Path(config.__file__).read_text(encoding="utf-8"), encoding="utf-8")
    return copy


def test_point_config_at_changes_the_dataset_line_only(config_copy: Path):
    before = config_copy.read_text(encoding="utf-8").splitlines()
    infer_schema.point_config_at("my_data", config_copy)
    after = config_copy.read_text(encoding="utf-8").splitlines()
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert [new for _, new in changed] == ['DATASET = "my_data"']
    assert changed[0][0].startswith("DATASET = ")


@pytest.mark.parametrize("lines", [0, 2])
def test_point_config_at_needs_exactly_one_dataset_line(lines: int, config_copy: Path):
    kept = [
        line
        for line in config_copy.read_text(encoding="utf-8").splitlines()
        if not line.startswith("DATASET = ")
    ]
    config_copy.write_text("\n".join(kept + ['DATASET = "x"'] * lines) + "\n", encoding="utf-8")
    with pytest.raises(infer_schema.InferenceError, match=r"exactly one line `DATASET = \.\.\.`"):
        infer_schema.point_config_at("my_data", config_copy)


@pytest.fixture
def main_in(tmp_path: Path, config_copy: Path, monkeypatch: pytest.MonkeyPatch):
    """infer_schema.main writing schemas into tmp_path/schemas and pointing config_copy."""
    original = infer_schema.point_config_at
    monkeypatch.setattr(
        infer_schema, "point_config_at", lambda dataset: original(dataset, config_copy)
    )
    (tmp_path / "schemas").mkdir()

    def run(*argv: str) -> int:
        return infer_schema.main([*argv, "--schemas-dir", str(tmp_path / "schemas")])

    return run


def test_main_writes_the_schema_and_points_config_at_it(
    main_in, make_mixed_dataset, tmp_path: Path, config_copy: Path, capsys
):
    frame, _ = make_mixed_dataset("binary_classification", rows=100)
    frame.to_csv(tmp_path / "Churn Data.csv", index=False)
    assert main_in("--data", str(tmp_path / "Churn Data.csv"), "--target", "label") == 0
    out = capsys.readouterr().out
    written = json.loads((tmp_path / "schemas" / "churn_data.json").read_text(encoding="utf-8"))
    assert written["dataset"] == "churn_data"
    assert written["target"] == "label"
    assert 'DATASET = "churn_data"' in config_copy.read_text(encoding="utf-8").splitlines()
    assert "config.DATASET = 'churn_data'" in out
    assert "schema: positive class 'yes' (change it with POSITIVE=)" in out


def test_main_refuses_in_one_line_and_writes_nothing(
    main_in, make_mixed_dataset, tmp_path: Path, config_copy: Path, capsys
):
    frame, _ = make_mixed_dataset("regression", rows=50)
    frame.to_csv(tmp_path / "data.csv", index=False)
    before = config_copy.read_text(encoding="utf-8")
    assert main_in("--data", str(tmp_path / "data.csv"), "--target", "nope") == 1
    err = capsys.readouterr().err
    assert err.startswith("schema failed: TARGET='nope' is not a column of the data")
    assert len(err.strip().splitlines()) == 1
    assert list((tmp_path / "schemas").iterdir()) == []
    assert config_copy.read_text(encoding="utf-8") == before


# What silently ruins a model, found by `make schema` on data sets generated in the test, one
# shape each: the roles it writes, and the one-line warning or refusal it gives, by column name.
ROWS = 120


def shaped(shape: str, rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """A data set of the given shape as read_data gives it (text, None for an empty cell), with a
    binary target `label` ("yes"/"no") that the feature `x` predicts only in part (or a number,
    for the "two-columns" shape, with the integer feature `n`)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    label = np.where(x + rng.normal(size=rows) > 0, "yes", "no")
    plain = {"x": x.round(3), "label": label}
    columns: dict[str, object] = {
        "one-numeric": plain,
        "only-categories": {
            "colour": rng.choice(["red", "green", "blue"], rows),
            "size": np.where(x > 0, rng.choice(["S", "M"], rows), rng.choice(["M", "L"], rows)),
            "label": label,
        },
        "two-columns": {
            "n": (n := rng.integers(0, 50, rows)),
            "label": (3 * n + rng.normal(0, 30, rows)).round(1),
        },
        "id": {
            "row": np.arange(rows),
            "key": [f"K{i:05d}" for i in rng.permutation(rows)],
            **plain,
        },
        "constant": {"source": "export-7", "blank": None, **plain},
        "leak": {
            "refund": np.where(label == "yes", 10.0, 0.0) + rng.random(rows).round(2),
            **plain,
        },
        "separators": {"amount": [f"${v:,.2f}" for v in rng.uniform(500, 9000, rows)], **plain},
    }[shape]
    frame = pd.DataFrame(columns)
    return frame.astype(object).where(frame.notna(), None).map(lambda v: v if v is None else str(v))


def inferred(frame: pd.DataFrame, drop: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    warnings: list[str] = []
    schema = infer_schema.infer_schema(
        frame, "label", "shape", "data/shape.csv", None, drop, warnings
    )
    return schema, warnings


def roles(schema: dict) -> dict[str, str]:
    return {c["name"]: c.get("role", c["type"]) for c in schema["columns"]}


# Where the warnings say the schema is: the project's schemas folder.
WHERE = f'its "role" in {config.SCHEMA.parent.relative_to(config.PROJECT_DIR) / "shape.json"}'


@pytest.mark.parametrize(
    ("shape", "expected", "warned"),
    [
        ("one-numeric", {"label": "category", "x": "number"}, []),
        ("only-categories", {"label": "category", "colour": "category", "size": "category"}, []),
        ("two-columns", {"label": "number", "n": "integer"}, []),
        (
            "id",
            {"label": "category", "row": "id", "key": "id", "x": "number"},
            [
                f"column '{name}' has a different value in every row (an ID): written with "
                '"role": "id", left out of the features and passed through by make predict; '
                f"if it is a real feature, delete {WHERE}"
                for name in ("row", "key")
            ],
        ),
        (
            "constant",
            {"label": "category", "source": "ignored", "blank": "ignored", "x": "number"},
            [
                f"column '{name}' has {value}, so a model learns nothing from it: written with "
                '"role": "ignored" (left out of the features)'
                for name, value in [
                    ("source", "the same value 'export-7' in every row"),
                    ("blank", "no value in any row"),
                ]
            ],
        ),
        (
            "leak",
            {"label": "category", "refund": "ignored", "x": "number"},
            [
                "column 'refund' alone predicts 'label' almost perfectly (AUC 1.000), as a value "
                'known only after the outcome would (a leak): written with "role": "ignored"; '
                f"if it is known when predicting, delete {WHERE}"
            ],
        ),
    ],
)
def test_each_shape_gets_its_roles_and_one_line_a_column_left_out(
    shape: str, expected: dict[str, str], warned: list[str]
):
    frame = shaped(shape)
    schema, warnings = inferred(frame)
    assert roles(schema) == expected
    assert warnings == warned
    # The schema is one preprocess accepts for the data: the columns left out are not checked,
    # and the features are what is left.
    parsed = contract.parse_schema(json.loads(json.dumps(schema)))
    kept = [name for name, role in expected.items() if role not in ("id", "ignored")]
    assert parsed.features == kept[1:]
    assert parsed.ids == [name for name, role in expected.items() if role == "id"]
    checked = contract.validate(frame, parsed, schema["problem_type"])
    assert list(checked.columns) == kept


def test_numbers_written_with_separators_are_refused_with_the_fix():
    frame = shaped("separators")
    frame.loc[0, "amount"] = "1234.5"  # a plain number among them changes nothing
    with pytest.raises(infer_schema.InferenceError) as error:
        inferred(frame)
    assert str(error.value) == (
        "column 'amount' holds numbers written with separators or currency signs "
        f"(e.g. {frame.loc[1, 'amount']!r}): write them as plain numbers (1234.5) in the file, "
        "or leave the column out with DROP=amount"
    )
    # Declared a number by hand, training refuses them with the same fix, not a traceback.
    raw = {
        "target": "label",
        "columns": [{"name": "label", "type": "number"}, {"name": "amount", "type": "number"}],
    }
    with pytest.raises(contract.DataValidationError) as refused:
        contract.validate(frame.assign(label="1"), contract.parse_schema(raw), "regression")
    assert str(refused.value).endswith(
        '; write the numbers plainly (1234.5, not "1,234.50" or "$1,234.50")'
    )
    # Left out as the refusal says, the rest makes a schema.
    schema, warnings = inferred(frame, drop=("amount",))
    assert roles(schema) == {"label": "category", "amount": "ignored", "x": "number"}
    assert warnings == []
    # A target written so: the same fix, not "text labels" to map to two.
    with pytest.raises(infer_schema.InferenceError, match="the target 'label' holds numbers "):
        inferred(frame.assign(label=[f"${n},000.50" for n in range(len(frame))]))


@pytest.mark.parametrize(
    ("shape", "drop", "message"),
    [
        (
            "id",
            ("x", "key"),
            "no feature is left to learn 'label' from: 'row' (an ID), 'key' (DROP=), 'x' "
            "(DROP=); add feature columns to the data",
        ),
        (
            "leak",
            ("x",),
            "no feature is left to learn 'label' from: 'refund' (a leak: AUC 1.000), 'x' "
            "(DROP=); add feature columns to the data",
        ),
        (
            "one-numeric",
            ("x", "nope"),
            "DROP=nope names no column of the data; its columns are ['x', 'label']",
        ),
        (
            "one-numeric",
            ("label",),
            "DROP names the target 'label'; pick another TARGET instead",
        ),
    ],
)
def test_a_drop_that_leaves_nothing_to_learn_is_refused(
    shape: str, drop: tuple[str, ...], message: str
):
    with pytest.raises(infer_schema.InferenceError) as error:
        inferred(shaped(shape), drop)
    assert str(error.value) == message


def test_main_drops_the_columns_named_and_prints_one_line_a_finding(
    main_in, tmp_path: Path, capsys
):
    frame = pd.concat([shaped("id"), shaped("constant")[["source"]]], axis=1)
    frame.to_csv(tmp_path / "shape.csv", index=False)
    argv = ["--data", str(tmp_path / "shape.csv"), "--target", "label", "--drop", "key, source"]
    assert main_in(*argv) == 0
    out = capsys.readouterr().out.splitlines()
    written = json.loads((tmp_path / "schemas" / "shape.json").read_text(encoding="utf-8"))
    assert roles(written) == {
        "label": "category",
        "row": "id",
        "key": "ignored",
        "x": "number",
        "source": "ignored",
    }
    assert [line for line in out if "warning" in line] == [
        "schema: warning: column 'row' has a different value in every row (an ID): written with "
        '"role": "id", left out of the features and passed through by make predict; '
        f"if it is a real feature, delete {WHERE}"
    ]
    assert "schema: left out as asked (DROP=): key, source" in out


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (
            {"name": "key", "role": "owner"},
            "s.json: column 'key': role must be one of "
            "['feature', 'id', 'ignored', 'event_time'], got 'owner'",
        ),
        (
            {"name": "key", "role": "id", "min": 0},
            "s.json: column 'key': a column with role 'id' is not checked, so it takes no "
            "['min']; remove them, or the role to make it a feature",
        ),
    ],
)
def test_a_role_the_contract_cannot_enforce_is_refused(column: dict, message: str):
    raw = {"target": "label", "columns": [{"name": "label", "type": "number"}, column]}
    raw["columns"].append({"name": "x", "type": "number"})
    with pytest.raises(contract.SchemaError) as error:
        contract.parse_schema(raw, "s.json")
    assert str(error.value) == message
    raw["columns"] = [{"name": "label", "type": "number", "role": "id"}, {"name": "x"}]
    raw["columns"][1]["type"] = "number"
    with pytest.raises(contract.SchemaError, match="the target 'label' cannot have a role"):
        contract.parse_schema(raw, "s.json")
