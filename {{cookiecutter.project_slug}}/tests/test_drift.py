"""`make local-drift` (drift.py): the configured sample against the data-quality baseline of the
session's local run reports nothing; a copy with one numeric column shifted by several standard
deviations and another half blank reports exactly those columns and checks; unknown categories
are reported on their column (conftest's mixed data set); bad input is refused in one line; the
written file has the structure of Model Monitor's constraint_violations.json."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import config, contract, drift

SHIFT_STD_DEVS = 5


@pytest.fixture(scope="module")
def baseline(configured, local_run) -> Path:
    folder = local_run.output_dir / "baseline"
    assert (folder / "constraints.json").is_file(), local_run.out
    return folder


@pytest.fixture(scope="module")
def statistics(baseline) -> dict:
    return json.loads((baseline / "statistics.json").read_text(encoding="utf-8"))


def run(data: Path, baseline: Path, output: Path, capsys) -> tuple[int, list[str], list[str]]:
    code = drift.main(
        ["--data", str(data), "--baseline-dir", str(baseline), "--output", str(output)]
    )
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


def reported(output: Path) -> set[tuple[str, str]]:
    violations = json.loads(output.read_text(encoding="utf-8"))["violations"]
    return {(item["feature_name"], item["constraint_check_type"]) for item in violations}


def numeric_features(statistics: dict) -> list[dict]:
    """The baseline's numeric features that vary, complete ones first."""
    features = [
        feature
        for feature in statistics["features"]
        if "numerical_statistics" in feature and feature["numerical_statistics"]["std_dev"] > 0
    ]
    return sorted(features, key=lambda f: f["numerical_statistics"]["common"]["num_missing"])


def test_the_sample_itself_has_no_violation(baseline, configured_schema, tmp_path, capsys):
    output = tmp_path / "constraint_violations.json"
    code, out, err = run(config.DATA, baseline, output, capsys)
    assert (code, err) == (0, [])
    assert json.loads(output.read_text(encoding="utf-8")) == {"violations": []}
    assert out[-1].startswith("0 violations in 0 of ")
    # Without the target column too: the endpoint's requests carry features only.
    features = pd.read_csv(config.DATA, dtype=str).drop(columns=[configured_schema.target])
    features.to_csv(tmp_path / "features.csv", index=False)
    assert run(tmp_path / "features.csv", baseline, output, capsys)[0] == 0


def test_a_shifted_column_and_a_blanked_one_are_reported(
    baseline, statistics, configured_data, tmp_path, capsys
):
    shifted, blanked = numeric_features(statistics)[:2]
    data = configured_data.copy()
    stats = shifted["numerical_statistics"]
    step = SHIFT_STD_DEVS * stats["std_dev"]
    if shifted["inferred_type"] == "Integral":
        step = round(step)  # stays an integer: only the distribution changes, not the type
    moved = pd.to_numeric(data[shifted["name"]]) + step
    if shifted["inferred_type"] == "Integral":
        moved = moved.astype("Int64")
    data[shifted["name"]] = moved.astype(object).where(moved.notna(), None)
    data.loc[data.index[::2], blanked["name"]] = None  # every other row: same distribution
    data.to_csv(tmp_path / "shifted.csv", index=False)
    output = tmp_path / "constraint_violations.json"

    code, out, err = run(tmp_path / "shifted.csv", baseline, output, capsys)

    assert (code, err) == (drift.EXIT_VIOLATIONS, [])
    assert reported(output) == {
        (shifted["name"], drift.BASELINE_DRIFT),
        (blanked["name"], drift.COMPLETENESS),
    }
    assert sorted(out[:-1]) == sorted(
        f"{item['constraint_check_type']} {item['feature_name']}: {item['description']}"
        for item in json.loads(output.read_text(encoding="utf-8"))["violations"]
    )
    assert out[-1].startswith("2 violations in 2 of ")


def test_wrong_types_unknown_columns_and_the_file_structure(
    baseline, statistics, configured_data, tmp_path, capsys
):
    typed = numeric_features(statistics)[0]["name"]
    data = configured_data.copy()
    data.loc[data.index[0], typed] = "not a number"
    data["added_column"] = "1"
    data.to_csv(tmp_path / "typed.csv", index=False)
    output = tmp_path / "constraint_violations.json"

    assert run(tmp_path / "typed.csv", baseline, output, capsys)[0] == drift.EXIT_VIOLATIONS

    content = json.loads(output.read_text(encoding="utf-8"))
    assert list(content) == ["violations"]
    for item in content["violations"]:
        assert set(item) == {"feature_name", "constraint_check_type", "description"}
        assert all(isinstance(value, str) and value for value in item.values())
        assert item["constraint_check_type"] in drift.CHECK_TYPES
    assert reported(output) == {
        (typed, drift.DATA_TYPE),
        ("added_column", drift.EXTRA_COLUMN),
    }


def test_a_missing_feature_column_is_refused_by_name(
    baseline, statistics, configured_data, tmp_path, capsys
):
    dropped = [feature["name"] for feature in statistics["features"][:2]]
    configured_data.drop(columns=dropped).to_csv(tmp_path / "short.csv", index=False)
    output = tmp_path / "constraint_violations.json"
    code, out, err = run(tmp_path / "short.csv", baseline, output, capsys)
    assert (code, out) == (drift.EXIT_REFUSED, [])
    assert err == [
        f"local-drift refused: {tmp_path / 'short.csv'} lacks the feature columns "
        f"{', '.join(dropped)} of the baseline: the model needs every feature"
    ]
    assert not output.exists()


def test_no_baseline_or_no_file_is_refused_in_one_line(baseline, tmp_path, capsys):
    output = tmp_path / "constraint_violations.json"
    code, _, err = run(config.DATA, tmp_path / "nothing", output, capsys)
    assert code == drift.EXIT_REFUSED
    assert len(err) == 1 and err[0].endswith("run make local-run first")
    code, _, err = run(tmp_path / "absent.csv", baseline, output, capsys)
    assert code == drift.EXIT_REFUSED
    assert err == [f"local-drift refused: no CSV files found at {tmp_path / 'absent.csv'}"]
    assert not output.exists()


def test_make_local_drift_passes_data_and_needs_it():
    command = ["make", "-n", "local-drift", "DATA=new.csv"]
    dry = subprocess.run(command, cwd=config.PROJECT_DIR, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert f'-m {drift.__name__} --data "new.csv"' in dry.stdout
    assert "--output build/drift/constraint_violations.json" in dry.stdout
    bare = subprocess.run(
        ["make", "-n", "local-drift"], cwd=config.PROJECT_DIR, capture_output=True, text=True
    )
    assert bare.returncode != 0
    assert "usage: make local-drift DATA=path/to/file.csv" in bare.stderr


@pytest.mark.parametrize("problem_type", ["binary_classification", "regression"])
def test_category_columns_unknown_values_and_their_drift(
    mixed_project, problem_type, tmp_path, capsys
):
    """Categories (the mixed data set of conftest): values outside a String feature's domain
    and a changed value mix are reported on that feature only."""
    from {{ cookiecutter.package_name }}.twins import data_quality

    project = mixed_project(problem_type)
    folder = tmp_path / "baseline"
    argv = ["--input-dir", str(project.splits / "train"), "--output-dir", str(folder)]
    assert data_quality.main(argv) == 0
    capsys.readouterr()
    data = contract.read_data(project.data)
    data.loc[data.index[: len(data) * 3 // 10], "plan"] = "enterprise"
    data.to_csv(tmp_path / "plans.csv", index=False)
    output = tmp_path / "constraint_violations.json"
    argv = ["--data", str(tmp_path / "plans.csv"), "--baseline-dir", str(folder)]
    code = drift.main([*argv, "--output", str(output), "--schema", str(project.schema)])
    assert code == drift.EXIT_VIOLATIONS, capsys.readouterr()
    found = reported(output)
    assert {("plan", drift.CATEGORICAL_VALUES), ("plan", drift.BASELINE_DRIFT)} <= found
    # The other columns are unchanged; those with missing values may differ from the train
    # split's completeness, as they would in the real monitor.
    assert {name for name, check in found if check != drift.COMPLETENESS} == {"plan"}
