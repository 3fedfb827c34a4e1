"""Preprocess refuses data it cannot read or learn from, with one line naming the problem.

The files here are small and synthetic, with the columns of the configured schema: they hold
no fact of the sample data, which a project replaces with its own.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import config, contract, local

NAMES = [column["name"] for column in json.loads(config.SCHEMA.read_text("utf-8"))["columns"]]
WIDTH = len(NAMES)


def text(rows: int = 3, header: list[str] | None = None, separator: str = ",") -> str:
    """A CSV text with the schema's columns and rows of made-up values, line endings \\n."""
    lines = [separator.join(NAMES if header is None else header)]
    lines += [separator.join(str(row + column) for column in range(WIDTH)) for row in range(rows)]
    return "\n".join(lines) + "\n"


def replace_line(number: int, new: Callable[[str], str]) -> Callable[[str], str]:
    """A change of one line of a CSV text (line 1 is the header)."""

    def change(content: str) -> str:
        lines = content.split("\n")
        lines[number - 1] = new(lines[number - 1])
        return "\n".join(lines)

    return change


REFUSED = [
    pytest.param(b"", "data.csv is empty: expected a header row and data rows", id="empty"),
    pytest.param(b"\n\n", "data.csv is empty: expected a header row and data rows", id="blank"),
    pytest.param(
        text(rows=0).encode(), "data.csv: a header but no data rows; add the data rows", id="header"
    ),
    pytest.param(
        text().replace("\n1", "\n\xe9", 1).encode("latin-1"),
        "data.csv is not UTF-8 encoded: line 3 has the byte 0xE9, which is 'é' in Windows-1252 / "
        "Latin-1, the likely encoding; save the file as UTF-8 (in Excel: 'CSV UTF-8')",
        id="latin-1",
    ),
    pytest.param(
        text().encode("utf-16"),
        "data.csv is encoded as UTF-16, not UTF-8: save it as UTF-8 CSV",
        id="utf-16",
    ),
    pytest.param(
        text(separator=";").encode(),
        f"data.csv is separated by semicolons (';'), not commas ({WIDTH} names in the header, "
        "split by ';'): save it as comma-separated CSV",
        id="semicolons",
    ),
    pytest.param(
        text(separator="\t").encode(),
        f"data.csv is separated by tabs, not commas ({WIDTH} names in the header, split by "
        "'\\t'): save it as comma-separated CSV",
        id="tabs",
    ),
    pytest.param(
        replace_line(3, lambda line: '"' + line)(text()).encode(),
        "data.csv line 3 opens a quote that is never closed, so the rest of the file became one "
        'value: close the quote (a quote inside a quoted value is written "")',
        id="unclosed-quote",
    ),
    pytest.param(
        replace_line(4, lambda line: line + ",9")(text()).encode(),
        f"data.csv line 4 has {WIDTH + 1} values but the header has {WIDTH} columns (1 of 3 data "
        "rows have another number of values than the header): quote a value that holds a comma, "
        "or remove the extra values",
        id="over-long-row",
    ),
    pytest.param(
        replace_line(2, lambda line: line.rsplit(",", 1)[0])(text()).encode(),
        f"data.csv line 2 has {WIDTH - 1} value{'s' * (WIDTH != 2)} but the header has {WIDTH} "
        "columns (1 of 3 data "
        "rows have another number of values than the header): add the missing values (an empty "
        "value is two commas in a row)",
        id="short-row",
    ),
    pytest.param(
        text().replace("\n", ",\n").replace(",\n", "\n", 1).encode(),
        f"data.csv line 2 has {WIDTH + 1} values but the header has {WIDTH} columns (3 of 3 data "
        "rows have another number of values than the header): remove the trailing comma from "
        "the end of each data row",
        id="trailing-comma-data-rows",
    ),
    pytest.param(
        text().replace("\n", ",\n").encode(),
        "data.csv line 1 ends with a comma, so its last column has no name: remove the trailing "
        "comma from the end of every line",
        id="trailing-comma-every-line",
    ),
    pytest.param(
        text(header=["", *NAMES[1:]]).encode(),
        "data.csv line 1: the first column has no name, as when pandas writes its index "
        "(to_csv without index=False): remove that column",
        id="index-column",
    ),
    pytest.param(
        text(header=[NAMES[0], NAMES[0], *NAMES[2:]]).encode(),
        f"data.csv line 1 names column '{NAMES[0]}' twice (columns 1 and 2): every column needs "
        "its own name",
        id="duplicate-name",
    ),
    pytest.param(
        ("\n \n" + text(header=[*NAMES[:-1], ""])).encode(),
        "data.csv line 3 ends with a comma, so its last column has no name: remove the trailing "
        "comma from the end of every line",
        id="blank-lines-then-unnamed-column",
    ),
    pytest.param(
        text(header=[str(index) for index in range(WIDTH)]).encode(),
        "data.csv line 1 holds numbers, not column names: the file has no header row; add one "
        "with the schema's column names",
        id="no-header",
    ),
    pytest.param(
        text().replace("\n", '\n""\n', 1).encode(),
        f"data.csv line 2 has 1 value but the header has {WIDTH} columns (1 of 4 data rows have "
        "another number of values than the header): add the missing values (an empty value is "
        "two commas in a row)",
        id="empty-quoted-line",
    ),
    pytest.param(
        gzip.compress(text().encode(), mtime=0),
        "data.csv is a gzip archive, not a CSV text file: export the data as comma-separated CSV "
        "text (UTF-8)",
        id="gzip",
    ),
    pytest.param(
        b"\x00\x01\x02binary" * 50,
        "data.csv holds binary data, not CSV text (a NUL byte at byte 0): export the data as "
        "comma-separated CSV text (UTF-8)",
        id="binary",
    ),
]


@pytest.mark.parametrize(("content", "message"), REFUSED)
def test_read_data_refuses_a_bad_file_with_one_line(content: bytes, message: str, tmp_path: Path):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(contract.DataValidationError) as error:
        contract.read_data(path)
    assert str(error.value) == message


def test_read_data_accepts_a_bom_crlf_quotes_and_blank_lines(tmp_path: Path):
    quoted = "\n".join(
        ",".join(f'"{value}"' for value in line.split(",")) for line in text().splitlines()
    )
    content = "\ufeff" + quoted.replace("\n", "\r\n\r\n", 1)
    path = tmp_path / "data.csv"
    path.write_bytes(content.encode("utf-8"))
    data = contract.read_data(path)
    assert list(data.columns) == NAMES
    assert data.to_numpy().tolist() == [
        [str(row + column) for column in range(WIDTH)] for row in range(3)
    ]


def frame(target: list[float]) -> pd.DataFrame:
    """A frame with the schema's columns: the given target values, made-up features."""
    schema = contract.load_schema(config.SCHEMA)
    data = pd.DataFrame({name: range(len(target)) for name in schema.features})
    data.insert(0, schema.target, target)
    return data


def check_rows(target: list[float], problem_type: str, **minimums: int) -> str | None:
    """check_rows' message for a frame with these target values; None when it accepts."""
    schema = contract.load_schema(config.SCHEMA)
    try:
        contract.check_rows(frame(target), schema, problem_type, **minimums)
    except contract.DataValidationError as error:
        return str(error)
    return None


TARGET = contract.load_schema(config.SCHEMA).target


@pytest.mark.parametrize("problem_type", contract.PROBLEM_TYPES)
def test_check_rows_refuses_fewer_rows_than_the_minimum_in_one_line(problem_type: str):
    target = [0, 1] * 5
    assert check_rows(target, problem_type, min_rows=10, min_class_count=5) is None
    assert check_rows(target, problem_type, min_rows=11, min_class_count=6) == (
        "the data breaks rule 'at least 11 rows': it has 10; add rows, or lower --min-rows "
        "(MIN_ROWS in config.py)"
    )


def test_check_rows_refuses_a_constant_regression_target():
    assert check_rows([3.5] * 20, "regression", min_rows=10) == (
        f"column '{TARGET}' breaks rule 'target varies': all 20 rows are 3.5, so a model learns "
        "nothing; check that it is the right column and the export kept its values"
    )
    assert check_rows([3.5] * 19 + [4.0], "regression", min_rows=10) is None


def test_check_rows_refuses_a_class_below_the_minimum_count():
    target = [0] * 30 + [1] * 4
    assert check_rows(target, "binary_classification", min_class_count=4) is None
    assert check_rows(target, "binary_classification", min_class_count=5) == (
        f"column '{TARGET}' breaks rule 'at least 5 rows of each class': class 1 has 4 of 34 "
        "rows; add rows of that class, or lower --min-class-count (MIN_CLASS_COUNT in config.py)"
    )


def test_check_rows_without_minimums_checks_only_the_target():
    assert check_rows([0, 1], "binary_classification") is None
    assert check_rows([1.0, 2.0], "regression") is None


def test_min_rows_comes_from_config_in_the_local_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """local.py passes MIN_ROWS to preprocess: more rows than any data set has are refused."""
    monkeypatch.setattr(config, "MIN_ROWS", 10**9)
    assert local.main(["--output-dir", str(tmp_path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("preprocess failed: the data breaks rule 'at least 1000000000 rows'")
    assert lines[1:] == []


@pytest.mark.parametrize(("content", "message"), REFUSED[3:9])
def test_the_local_run_shows_one_line_of_cause_and_no_traceback(
    content: bytes, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    assert local.main(["--data", str(path), "--output-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"preprocess failed: {message}"]
