"""The Spark engine (steps/preprocess_spark.py) against the pandas one (steps/preprocess.py): on
the same data, the same valid rows, the same refusals line for line, the same split.

The tests that start Spark (a JVM: seconds on 2 cores) share one local session and carry the
`spark` mark: `make test` leaves them out and `make test-spark` runs them (CI runs both). Java
must be installed; `make install` says so when it is not.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import config, contract, jobcode
from {{ cookiecutter.package_name }}.contract import sampling
from {{ cookiecutter.package_name }}.steps import preprocess

PROBLEM_TYPES = ("binary_classification", "regression")


# The local session's JVM: its quick compiler only and one GC thread. On runs this short the
# optimizing compiler and parallel GC threads cost more CPU than they win back (measured on 2
# cores: `make test-spark` 61 s -> 51 s). pyspark starts the JVM with these arguments.
SUBMIT_ARGS = '--driver-java-options "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" pyspark-shell'


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from {{ cookiecutter.package_name }}.steps import preprocess_spark

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYSPARK_SUBMIT_ARGS", SUBMIT_ARGS)
        session = preprocess_spark.session("local[2]")
    # Small data: a handful of shuffle partitions, not the default 200.
    session.conf.set("spark.sql.shuffle.partitions", "2")
    yield session
    session.stop()


def write_inputs(folder: Path, frame: pd.DataFrame | str, schema: dict[str, Any]) -> list[str]:
    (folder / "data").mkdir(parents=True)
    (folder / "schema").mkdir()
    if isinstance(frame, str):
        (folder / "data" / "data.csv").write_text(frame, encoding="utf-8")
    else:
        frame.to_csv(folder / "data" / "data.csv", index=False)
    (folder / "schema" / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    return ["--schema", str(folder / "schema")]


def run_both(
    spark: Any,
    folder: Path,
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    validated: bool = False,
) -> tuple[tuple[int, str], tuple[int, str]]:
    """Each engine on the same inputs: (exit status, stderr) of pandas, then of Spark; with
    `validated`, each writes the validated rows to <its output>/validated, not the splits."""
    from {{ cookiecutter.package_name }}.steps import preprocess_spark

    def engine_argv(engine: str) -> list[str]:
        output = folder / engine
        return [*argv, "--output-dir", str(output)] + (
            ["--validated-dir", str(output / "validated")] if validated else []
        )

    data = str(folder / "data")
    pandas_status = preprocess.main(["--input-dir", data, *engine_argv("pandas")])
    pandas_err = capsys.readouterr().err
    args = preprocess_spark.parse_args(["--input-url", data, *engine_argv("spark")])
    try:
        preprocess_spark.run(spark, args)
        spark_status, spark_err = 0, ""
    except (contract.DataValidationError, contract.SchemaError) as error:
        spark_status, spark_err = 1, f"preprocess failed: {error}\n"
    capsys.readouterr()
    return (pandas_status, pandas_err), (spark_status, spark_err)


def assert_same_splits(folder: Path) -> None:
    """Both engines' outputs, read as the steps after preprocess read them, hold the same rows
    in each split, and the same schema.json beside them."""
    for name in contract.SPLITS:
        pandas_x, pandas_y = contract.read_split(folder / "pandas" / name)
        spark_x, spark_y = contract.read_split(folder / "spark" / name)
        mine = pd.concat([pandas_y, pandas_x], axis=1)
        theirs = pd.concat([spark_y, spark_x], axis=1)
        assert list(theirs.columns) == list(mine.columns), name
        order = list(mine.columns)
        pd.testing.assert_frame_equal(
            theirs.sort_values(order, ignore_index=True),
            mine.sort_values(order, ignore_index=True),
            check_dtype=False,
            obj=name,
        )
        written = (folder / "spark" / name / contract.SCHEMA_FILE).read_text()
        assert written == (folder / "pandas" / name / contract.SCHEMA_FILE).read_text()
    manifest = contract.MANIFEST_DIR + "/" + contract.MANIFEST_FILE
    assert json.loads((folder / "spark" / manifest).read_text()) == json.loads(
        (folder / "pandas" / manifest).read_text()
    )


@pytest.mark.spark
def test_the_configured_data_splits_alike(spark: Any, tmp_path: Path, capsys) -> None:
    argv = ["--schema", str(config.SCHEMA), "--seed", "7"]
    data = tmp_path / "data"
    data.mkdir()
    for file in contract.data_files(config.DATA):
        (data / file.name).write_bytes(file.read_bytes())
    pandas_run, spark_run = run_both(spark, tmp_path, argv, capsys)
    assert pandas_run == spark_run == (0, "")
    assert_same_splits(tmp_path)
{%- if cookiecutter.feature_store == "yes" %}


@pytest.mark.spark
def test_the_validated_rows_for_the_feature_store_are_alike(
    spark: Any, tmp_path: Path, capsys
) -> None:
    """With --validated-dir (the Feature Store's Ingest reads it, Snapshot splits the store),
    both engines write the same rows, the id column carried beside them, and Ingest reads the
    Spark job's part files as it reads preprocess's validated.csv."""
    from {{ cookiecutter.package_name }} import offline_store
    from {{ cookiecutter.package_name }}.steps import ingest

    frame = contract.read_data(config.DATA)
    frame.insert(0, "record", [f"r{number}" for number in range(len(frame))])
    schema = json.loads(config.SCHEMA.read_text(encoding="utf-8"))
    schema["columns"] = [{"name": "record", "role": "id"}, *schema["columns"]]
    argv = write_inputs(tmp_path, frame, schema)
    pandas_run, spark_run = run_both(spark, tmp_path, argv, capsys, validated=True)
    assert pandas_run == spark_run == (0, "")
    group = offline_store.feature_group(contract.parse_schema(schema), config.PROBLEM_TYPE)
    mine = ingest.read_validated(tmp_path / "pandas" / "validated", group)
    theirs = ingest.read_validated(tmp_path / "spark" / "validated", group)
    assert list(theirs.columns) == list(mine.columns)
    assert len(mine) == len(frame)
    pd.testing.assert_frame_equal(
        theirs.sort_values("record", ignore_index=True),
        mine.sort_values("record", ignore_index=True),
        check_dtype=False,
    )
{%- endif %}


@pytest.mark.spark
@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_generated_data_splits_alike(
    spark: Any, tmp_path: Path, make_mixed_dataset, capsys, problem_type: str
) -> None:
    frame, schema = make_mixed_dataset(problem_type, rows=400, seed=3)
    # Rows without a target, dropped by both: the split's keys still number rows as the file.
    frame.loc[[4, 77, 301], "label"] = None
    schema["drop_rows_with_missing_target"] = True
    argv = write_inputs(tmp_path, frame, schema)
    pandas_run, spark_run = run_both(spark, tmp_path, [*argv, "--min-rows", "10"], capsys)
    assert pandas_run == spark_run == (0, "")
    assert_same_splits(tmp_path)


def bad_values(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The mixed data set as text with values that break each kind of rule, in random rows."""
    rng = np.random.default_rng(seed)
    text = frame.astype(object).where(frame.notna(), None)
    picks = iter(rng.choice(len(frame), 40, replace=False))
    for column, values in {
        "usage": ["abc", "-3.5", "1,234.50", "1d", "inf", "0x10", "NAN", " 2 "],
        "tenure": ["2.5", "-1", "101", "1e2", "seven"],
        "plan": ["gold", " basic ", "BASIC"],
        "region": ["NA", "", "north"],
    }.items():
        for value in values:
            text.loc[next(picks), column] = value
    return text


@pytest.mark.spark
@pytest.mark.parametrize(
    ("problem_type", "seed"), [("binary_classification", 0), ("regression", 1)]
)
def test_bad_values_are_refused_alike(
    spark: Any, tmp_path: Path, make_mixed_dataset, capsys, problem_type: str, seed: int
) -> None:
    frame, schema = make_mixed_dataset(problem_type, rows=300, seed=seed)
    argv = write_inputs(tmp_path, bad_values(frame, seed), schema)
    pandas_run, spark_run = run_both(spark, tmp_path, argv, capsys)
    assert pandas_run[0] == 1, pandas_run
    assert spark_run == pandas_run


@pytest.mark.spark
def test_only_formatted_numbers_get_the_formatting_remedy(
    spark: Any, tmp_path: Path, make_mixed_dataset, capsys
) -> None:
    frame, schema = make_mixed_dataset("regression", rows=120)
    text = frame.astype(object).where(frame.notna(), None)
    text.loc[[3, 9], "usage"] = ["1,234.50", "$12"]
    argv = write_inputs(tmp_path, text, schema)
    pandas_run, spark_run = run_both(spark, tmp_path, argv, capsys)
    assert "write the numbers plainly" in pandas_run[1]
    assert spark_run == pandas_run


@pytest.mark.spark
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"label": 1}, "breaks rule 'at least 2 classes'"),
        ({"label": 2}, "breaks rule 'allowed values [0, 1]'"),
        ({"x9": 1.0}, "breaks rule 'declared'"),
    ],
)
def test_data_set_rules_are_refused_alike(
    spark: Any, tmp_path: Path, make_dataset, capsys, change: dict[str, Any], expected: str
) -> None:
    frame, schema = make_dataset("binary_classification", rows=60)
    frame = frame.assign(**change).drop(columns=["x2"])
    argv = write_inputs(tmp_path, frame, schema)
    pandas_run, spark_run = run_both(spark, tmp_path, [*argv, "--min-class-count", "5"], capsys)
    assert expected in pandas_run[1]
    assert "breaks rule 'required'" in pandas_run[1]
    assert spark_run == pandas_run


@pytest.mark.spark
@pytest.mark.parametrize(
    ("problem_type", "extra"),
    [
        ("binary_classification", ["--min-rows", "50"]),
        ("binary_classification", ["--min-class-count", "20"]),
        ("regression", []),
    ],
)
def test_too_little_data_is_refused_alike(
    spark: Any, tmp_path: Path, make_dataset, capsys, problem_type: str, extra: list[str]
) -> None:
    frame, schema = make_dataset(problem_type, rows=40)
    if problem_type == "regression":
        frame = frame.assign(label=3.0)
    argv = write_inputs(tmp_path, frame, schema)
    pandas_run, spark_run = run_both(spark, tmp_path, [*argv, *extra], capsys)
    assert pandas_run[0] == 1, pandas_run
    assert spark_run == pandas_run


@pytest.mark.spark
def test_keys_are_the_rules_keys(spark: Any) -> None:
    """Both engines' keys are sampling.row_key, the rule in plain integers."""
    from {{ cookiecutter.package_name }}.contract import spark as spark_contract

    numbers = [1, 2, 3, 1000, 2**31 + 5, 2**39]
    for seed in (0, 42, 2**20):
        expected = [sampling.row_key(seed, row) for row in numbers]
        assert preprocess.row_keys(seed, np.array(numbers)).tolist() == expected
        rows = spark.createDataFrame([(row,) for row in numbers], f"{spark_contract.ROW} long")
        found = rows.select(spark_contract.key_expression(seed).alias("key")).collect()
        assert [record["key"] for record in found] == expected


# Not Spark's: the job's code as the container runs it.
SPARK_PYTHON = (3, 12)


@pytest.mark.parametrize("path", sorted(jobcode.files("preprocess_spark.py").values()))
def test_the_job_code_is_python_of_the_spark_container(path: Path) -> None:
    ast.parse(path.read_text(encoding="utf-8"), feature_version=SPARK_PYTHON)


def imported_on_load(path: Path, package: str) -> set[str]:
    """The modules a module imports when it loads: its top-level imports (not those inside its
    functions, nor those for type checkers only), relative ones made absolute."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            # A name taken from a package may be its submodule (`from .contract import rules`).
            found |= {base, *(f"{base}.{alias.name}" for alias in node.names)}
    return found


def test_the_jobs_driver_imports_no_library_but_pyspark() -> None:
    """The container's pandas and numpy are not the lock's: the driver imports pyspark, the
    standard library and the contract's standard-library modules only (pyspark may import its
    container's numpy for itself)."""
    package = config.__package__
    allowed = {"pyspark", "__future__", *sys.stdlib_module_names}
    contract_dir = config.PACKAGE_DIR / "contract"
    todo, seen = [config.STEPS_DIR / "preprocess_spark.py"], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        within = f"{package}.{path.parent.relative_to(config.PACKAGE_DIR).as_posix()}"
        for module in imported_on_load(path, within.replace("/", ".")):
            top, *rest = module.split(".")
            if top != package:
                assert top in allowed, f"{path.name} imports {module}"
            elif rest[:1] == ["contract"]:
                for name in rest[1:2] or ["__init__"]:
                    if (contract_dir / f"{name}.py").is_file():
                        todo.append(contract_dir / f"{name}.py")
            else:
                assert rest == [], f"{path.name} imports {module}"
    assert {path.name for path in seen} >= {"rules.py", "sampling.py", "schema.py", "manifest.py"}
