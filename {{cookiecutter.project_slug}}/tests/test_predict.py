"""predict scores a CSV file with the model of a local run, the way the model is served: the rows
are checked against the schema, encoded with the model's own encoding (a category unseen in
training is scored as missing, and counted), and the predictions appended."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import config, contract, model_io, predict, registry


def added_columns(problem_type: str) -> list[str]:
    if problem_type == "binary_classification":
        return ["probability", "predicted_label"]
    return ["prediction"]


def assert_scored(
    scored: pd.DataFrame, rows: pd.DataFrame, schema: contract.Schema, expected: np.ndarray
) -> None:
    problem_type = schema.problem_type
    assert list(scored.columns) == [*rows.columns, *added_columns(problem_type)]
    pd.testing.assert_frame_equal(scored[rows.columns], rows)  # the input, unchanged
    if problem_type == "binary_classification":
        np.testing.assert_array_equal(scored["probability"].to_numpy(), expected)
        negative, positive = schema.labels or (0, 1)
        labels = [positive if p > 0.5 else negative for p in expected]
        assert scored["predicted_label"].tolist() == labels
    else:
        np.testing.assert_array_equal(scored["prediction"].to_numpy(), expected)


def test_configured_model_scores_rows_made_from_the_schema(
    configured, configured_schema, make_rows
):
    booster = predict.load(configured.model)
    rows = make_rows(configured_schema, rows=12, seed=3, with_target=False)
    scored, unseen = predict.score(booster, rows, configured_schema)
    # The same scores as model_io.predict on the rows as preprocess types them.
    features = contract.validate(rows, configured_schema, config.PROBLEM_TYPE, False)
    assert_scored(scored, rows, configured_schema, model_io.predict(booster, features))
    _, expected_unseen = model_io.encode(features, model_io.categories(booster))
    assert unseen == expected_unseen
    # A target column, if the file has one, is ignored.
    target = make_rows(configured_schema, rows=12)[[configured_schema.target]]
    again, _ = predict.score(booster, pd.concat([target, rows], axis=1), configured_schema)
    column = added_columns(config.PROBLEM_TYPE)[0]
    np.testing.assert_array_equal(again[column], scored[column])


@pytest.mark.parametrize("problem_type", ["binary_classification", "regression"])
def test_unseen_categories_and_missing_values_are_scored_as_missing(
    problem_type: str, mixed_project
):
    project = mixed_project(problem_type)
    schema = contract.load_schema(project.schema)
    booster = predict.load(project.model)
    rows = pd.DataFrame(
        {
            "plan": ["basic", "pro", "team", "basic"],
            "region": ["atlantis", "north", "atlantis", None],
            "usage": ["12.5", None, None, "40"],  # more missing than the data set may have
            "tenure": ["3", "40", "12", "59"],
        },
        dtype=object,
    )
    scored, unseen = predict.score(booster, rows, schema)
    assert unseen == {"region": 2}
    as_missing, unseen = predict.score(
        booster, rows.assign(region=[None, "north", None, None]), schema
    )
    assert unseen == {}
    column = added_columns(problem_type)[0]
    np.testing.assert_array_equal(scored[column], as_missing[column])
    features = contract.validate(rows, schema, problem_type, with_target=False)
    assert_scored(scored, rows, schema, model_io.predict(booster, features))
    if problem_type == "binary_classification":
        assert set(scored["predicted_label"]) <= {"no", "yes"}  # the labels of the data


def test_main_writes_the_predictions_and_counts_unseen_categories(
    mixed_project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    project = mixed_project("binary_classification")
    data = pd.read_csv(project.data, dtype=str).head(30)
    data.loc[[2, 5], "region"] = "atlantis"
    source = tmp_path / "new.csv"
    data.to_csv(source, index=False)
    output = tmp_path / "out" / "predictions.csv"
    argv = ["--data", str(source), "--model-dir", str(project.model)]
    assert predict.main([*argv, "--schema", str(project.schema), "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert "predict: column 'region': 2 values unseen in training, scored as missing" in out
    assert f"predict: 30 rows scored -> {output}" in out
    written = pd.read_csv(output, dtype=str)
    assert list(written.columns) == [*data.columns, "probability", "predicted_label"]
    assert len(written) == 30


def test_main_refuses_without_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    argv = ["--data", str(config.DATA), "--model-dir", str(tmp_path / "none")]
    assert predict.main([*argv, "--output", str(tmp_path / "predictions.csv")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        f"predict failed: no model in {tmp_path / 'none'}: run `make local-run` first"
    )
    assert not (tmp_path / "predictions.csv").exists()


def test_main_refuses_rows_that_break_the_schema_one_line_a_rule(
    mixed_project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    project = mixed_project("regression")
    data = pd.read_csv(project.data, dtype=str).head(10).drop(columns="tenure")
    data.loc[4, "plan"] = "gold"
    source = tmp_path / "new.csv"
    data.to_csv(source, index=False)
    argv = ["--data", str(source), "--model-dir", str(project.model), "--schema"]
    output = tmp_path / "predictions.csv"
    assert predict.main([*argv, str(project.schema), "--output", str(output)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("predict failed: column 'tenure' breaks rule 'required'")
    assert lines[1].startswith(
        "column 'plan' breaks rule 'allowed values [basic, pro, team]': 1 of 10 rows, "
        "first at row 5 (value 'gold'); "
    )
    assert len(lines) == 2
    assert not output.exists()


def test_main_uses_the_last_run_that_passed_the_gate_and_says_which(
    configured, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """The registry's newest version that is not Rejected (a failed run registers nothing, so it
    never replaces that model), or --version; one line on standard error names it."""
    folder = tmp_path / "registry"
    rows = tmp_path / "rows.csv"
    pd.read_csv(config.DATA, dtype=str).head(5).to_csv(rows, index=False)
    argv = ["--data", str(rows), "--output", str(tmp_path / "out.csv"), "--registry-dir"]
    assert predict.main([*argv, str(folder)]) == 1
    assert capsys.readouterr().err == (
        f"predict failed: no model in {folder} has passed the quality gate: "
        "run `make local-run` first\n"
    )
    for value in (0.1, 0.2, 0.3):
        registry.register(folder, configured.model, value)
    registry.set_status(folder, registry.APPROVED, "v0001")
    registry.set_status(folder, registry.REJECTED, "v0003")
    expected = {
        None: ("v0002", "PendingManualApproval, the last run that passed the gate"),
        "v0001": ("v0001", "Approved, the approved champion"),
        "v0003": ("v0003", "Rejected, chosen by VERSION"),
    }
    for version, (used, why) in expected.items():
        chosen = ["--version", version] if version else []
        assert predict.main([*argv, str(folder), *chosen]) == 0
        assert capsys.readouterr().err == f"predict: model {used} of {folder} ({why})\n"


def test_main_refuses_a_fifo_and_an_unwritable_output_in_one_line(
    configured, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """A named pipe as the data (reading it would wait for a writer for ever), and an output
    folder that cannot be made."""
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    argv = ["--data", str(fifo), "--model-dir", str(configured.model)]
    assert predict.main([*argv, "--output", str(tmp_path / "out.csv")]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"predict failed: {fifo}")
    (tmp_path / "build").write_text("")
    argv = ["--data", str(config.DATA), "--model-dir", str(configured.model), "--output"]
    assert predict.main([*argv, str(tmp_path / "build" / "predictions.csv")]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("predict failed: [Errno ") and str(tmp_path / "build") in line


def test_an_id_column_is_passed_through_beside_the_predictions(mixed_project):
    """A column with "role": "id" is no feature: the model scores the rows as without it, and it
    stays in the output, so that the predictions join back on it."""
    project = mixed_project("regression")
    raw = json.loads(project.schema.read_text(encoding="utf-8"))
    raw["columns"].insert(1, {"name": "ticket", "type": "category", "role": "id"})
    schema = contract.parse_schema(raw, "mixed.json")
    booster = predict.load(project.model)
    rows = pd.read_csv(project.data, dtype=str).head(8).drop(columns="label")
    tickets = pd.Series([f"T-{n}" for n in range(8)], name="ticket")
    scored, _ = predict.score(booster, pd.concat([tickets, rows], axis=1), schema)
    without, _ = predict.score(booster, rows, schema)  # an id may also be absent
    assert scored["ticket"].tolist() == tickets.tolist()
    np.testing.assert_array_equal(scored["prediction"], without["prediction"])


def test_rows_to_score_get_remedies_for_a_trained_model(mixed_project):
    """The model is trained: a refusal of rows to score asks to fix the rows, never the schema
    (except to declare an id, which leaves the model's features as they are)."""
    project = mixed_project("regression")
    schema = contract.load_schema(project.schema)
    rows = pd.read_csv(project.data, dtype=str).head(4).drop(columns=["label", "plan"])
    rows["ticket"] = ["a", "b", "c", "d"]
    rows.loc[1, "tenure"] = "many"
    rows.loc[2, "usage"] = "1,234.5"
    with pytest.raises(contract.DataValidationError) as error:
        contract.validate(rows, schema, "regression", with_target=False)
    assert str(error.value).splitlines() == [
        "column 'plan' breaks rule 'required': the model was trained with this feature; "
        "add it to the rows to score",
        "column 'ticket' breaks rule 'declared': it is in the rows to score but not in "
        'mixed.json; remove it, or declare it "role": "id" there to keep it beside the '
        "predictions",
        "column 'usage' breaks rule 'type number': 1 of 4 rows, first at row 3 (value "
        '\'1,234.5\'); write the numbers plainly (1234.5, not "1,234.50" or "$1,234.50")',
        "column 'tenure' breaks rule 'type integer': 1 of 4 rows, first at row 2 (value "
        "'many'); fix the values: the model was trained on integer values in this column",
    ]
