"""Shared fixtures: one local run on the configured data set (config.DATA and config.SCHEMA,
whatever they are), rows generated from a schema, small generated data sets of either problem
type, with and without category columns, and the SageMaker pipeline's definition built offline.

No test relies on a fact of the bundled sample (its row count, completeness or number
formatting): after `make schema DATA=your.csv TARGET=column` every test runs on your data.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import botocore.loaders
import botocore.session
import numpy as np
import pandas as pd
import pytest
from pipeline_support import all_steps
from xdist.scheduler import LoadFileScheduling

from {{ cookiecutter.package_name }} import arns, config, contract
from {{ cookiecutter.package_name }}.deploy import templates

# The libraries of the steps (xgboost, scikit-learn, matplotlib) and moto are imported where they
# are used: pytest-xdist's controller loads this file too and runs no test.
if TYPE_CHECKING:
    import xgboost as xgb

PROBLEM_TYPES = ("binary_classification", "regression")

Dataset = tuple[pd.DataFrame, dict[str, Any]]


def generate_dataset(problem_type: str, rows: int = 240, seed: int = 0) -> Dataset:
    """A small data set of the given type (target `label` first, features x1..x5) and a schema
    that declares it; classification has a 70/30 class balance, so stratification shows."""
    from sklearn.datasets import make_classification, make_regression

    if problem_type == "binary_classification":
        features, target = make_classification(
            n_samples=rows,
            n_features=5,
            n_informative=3,
            n_redundant=0,
            weights=[0.7],
            random_state=seed,
        )
        label = {"name": "label", "type": "integer", "allowed_values": [0, 1]}
    else:
        features, target = make_regression(
            n_samples=rows, n_features=5, n_informative=3, noise=10.0, random_state=seed
        )
        label = {"name": "label", "type": "number"}
    names = [f"x{index}" for index in range(1, 6)]
    frame = pd.DataFrame(features, columns=names)
    frame.insert(0, "label", target)
    schema = {
        "dataset": "generated",
        "problem_type": problem_type,
        "target": "label",
        "columns": [label, *({"name": name, "type": "number"} for name in names)],
    }
    return frame, schema


PLANS = ["basic", "pro", "team"]
REGIONS = ["east", "north", "south", "west"]


def generate_mixed_dataset(problem_type: str, rows: int = 400, seed: int = 0) -> Dataset:
    """Data as a user's file often has it: a category with declared values (`plan`), a free-text
    category with missing values (`region`), a number with missing values (`usage`), an integer
    (`tenure`), and the target `label` last: "yes"/"no" (positive class "yes") or a number."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(PLANS, rows)
    region = rng.choice(REGIONS, rows).astype(object)
    usage = rng.gamma(2.0, 10.0, rows).round(2)
    tenure = rng.integers(0, 60, rows)
    signal = 2.0 * (plan == "basic") - 1.0 * (plan == "team") + 0.05 * (usage - 20)
    signal += 0.8 * (region == "south") - 0.03 * (tenure - 30)
    frame = pd.DataFrame({"plan": plan, "region": region, "usage": usage, "tenure": tenure})
    frame.loc[rng.choice(rows, rows // 10, replace=False), "region"] = None
    frame.loc[rng.choice(rows, rows // 10, replace=False), "usage"] = np.nan
    if problem_type == "binary_classification":
        positive = rng.random(rows) < 1 / (1 + np.exp(-signal))
        frame["label"] = np.where(positive, "yes", "no")
        label = {"name": "label", "type": "category", "allowed_values": ["no", "yes"]}
    else:
        frame["label"] = (100 + 20 * signal + rng.normal(0, 2, rows)).round(1)
        label = {"name": "label", "type": "number"}
    schema = {
        "dataset": "mixed",
        "problem_type": problem_type,
        "target": "label",
        **({"positive_class": "yes"} if problem_type == "binary_classification" else {}),
        "columns": [
            label,
            {"name": "plan", "type": "category", "allowed_values": PLANS},
            {"name": "region", "type": "category", "max_missing_fraction": 0.2},
            {"name": "usage", "type": "number", "min": 0, "max_missing_fraction": 0.2},
            {"name": "tenure", "type": "integer", "min": 0, "max": 100},
        ],
    }
    return frame, schema


def help_of(main: Callable[[list[str]], Any], *argv: str) -> str:
    """What a command line's `main(argv + ["--help"])` prints (argparse's usage), in this
    process: the options and commands a script may call it with."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    return printed.getvalue()


def _number_text(value: float, integer: bool) -> str:
    return str(int(value)) if integer else repr(float(value))


def _value_range(column: contract.Column) -> tuple[float, float]:
    low = column.min if column.min is not None else None
    high = column.max if column.max is not None else None
    if low is None and high is None:
        low, high = 0.0, 10.0
    elif low is None:
        low = high - 10.0
    elif high is None:
        high = low + 10.0
    if column.type == "integer":
        low, high = math.ceil(low), math.floor(high)
    return float(low), float(high)


def rows_from_schema(
    schema: contract.Schema, rows: int = 20, seed: int = 0, with_target: bool = True
) -> pd.DataFrame:
    """Rows that meet the schema, as text (the way preprocess reads a file), target first: each
    value drawn from the column's allowed values or range; a binary target alternates its two
    classes. Categories without declared values get made-up labels. Columns with a role (an id,
    an ignored column) are left out: the model never takes them."""
    rng = np.random.default_rng(seed)
    frame = {}
    for column in schema.columns:
        is_target = column.name == schema.target
        if (is_target and not with_target) or column.role != "feature":
            continue
        integer = column.type == "integer"
        if is_target and schema.problem_type == "binary_classification":
            classes = column.allowed_values or (0, 1)
            values = [classes[row % 2] for row in range(rows)]
            if column.type != "category":
                values = [_number_text(value, integer) for value in values]
        elif column.allowed_values is not None:
            picked = rng.choice(len(column.allowed_values), rows)
            values = [column.allowed_values[index] for index in picked]
            if column.type != "category":
                values = [_number_text(value, integer) for value in values]
        elif column.type == "category":
            values = [f"label {index}" for index in rng.integers(0, 3, rows)]
        else:
            low, high = _value_range(column)
            if integer:
                drawn = rng.integers(int(low), int(high) + 1, rows)
            else:
                drawn = rng.uniform(low, high, rows)
            values = [_number_text(value, integer) for value in drawn]
        frame[column.name] = values
    return pd.DataFrame(frame, dtype=object)


@dataclass(frozen=True)
class Project:
    """Where a local run put its data: the splits preprocess wrote and the model train wrote."""

    data: Path
    schema: Path
    problem_type: str
    splits: Path
    model: Path


def run_steps(data: Path, schema: Path, problem_type: str, folder: Path) -> Project:
    """Preprocess and train with their command lines and default settings, as local.py runs
    them."""
    from {{ cookiecutter.package_name }}.steps import preprocess, train

    splits, model = folder / "processed", folder / "model"
    argv = ["--input-dir", str(data), "--schema", str(schema), "--output-dir", str(splits)]
    assert preprocess.main(argv) == 0
    argv = ["--train", str(splits / "train"), "--validation", str(splits / "validation")]
    assert train.main([*argv, "--model-dir", str(model), "--problem-type", problem_type]) == 0
    return Project(data, schema, problem_type, splits, model)


@dataclass(frozen=True)
class LocalRun:
    code: int
    out: str
    output_dir: Path
    registry_dir: Path


@pytest.fixture(scope="session")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> LocalRun:
    """One local run (every step, then the quality gate) on the configured data set, with an
    empty registry of its own: the project's build/registry (and its champion) stays out."""
    from {{ cookiecutter.package_name }} import local

    output_dir = tmp_path_factory.mktemp("local-run")
    registry_dir = tmp_path_factory.mktemp("registry")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = local.main(["--output-dir", str(output_dir), "--registry-dir", str(registry_dir)])
    return LocalRun(code, stdout.getvalue(), output_dir, registry_dir)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "principal(arn): whose credentials the test's own stand for in the AWS calls the "
        "project's code makes (a role ARN, or a name aws_calls.principal_arn knows)",
    )
    config.addinivalue_line(
        "markers",
        "denied(*actions): actions the test expects AWS to deny its code (a resource that is not "
        "the project's); the harness checks that the policies do deny them",
    )


# `make test` (pytest-xdist, --dist loadfile) hands the workers whole units: a test file, whose
# module fixtures are built once, or files that share what a worker pays for once: evidently's
# import (seconds), the scan of the environment's installed files.
SHARED_UNITS = {
    "test_monitor.py": "evidently",
    "test_monitoring_stack.py": "evidently",
    "test_containers.py": "installed-files",
    "test_ci_environments.py": "installed-files",
    "test_local.py": "installed-files",
}
# The longest units go first (with --no-loadscope-reorder), so that no worker is left running one
# of them alone at the end.
LONGEST_FIRST = (
    "installed-files",
    "evidently",
    "test_serve.py",
    "test_pipeline_staging.py",
    "test_pipeline_contract.py",
    "test_evaluate.py",
    "test_preprocess.py",
)


def _unit(nodeid: str) -> str:
    file = nodeid.split("::", 1)[0]
    return SHARED_UNITS.get(Path(file).name, file)


class SharedUnitScheduling(LoadFileScheduling):
    def _split_scope(self, nodeid: str) -> str:
        return _unit(nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    """SHARED_UNITS's files as one unit of --dist loadfile. (xdist_group marks would say this,
    but xdist 3.8 cannot add their groups to pytest 9's node IDs.)"""
    return SharedUnitScheduling(config, log) if config.getvalue("dist") == "loadfile" else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        unit = Path(_unit(item.nodeid)).name
        return LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


@pytest.fixture(scope="session", autouse=True)
def recorded_aws_calls() -> Iterator[Any]:
    """Every AWS call the project's code makes in the tests, recorded (tests/aws_calls.py)."""
    import aws_calls  # here: it imports this module

    with aws_calls.recording() as recorder:
        yield recorder


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    import aws_calls

    marker = item.get_closest_marker("principal")
    aws_calls.RECORDER.marked = marker.args[0] if marker else None
    denied = item.get_closest_marker("denied")
    aws_calls.RECORDER.denied = frozenset(denied.args if denied else ())
    aws_calls.RECORDER.calls.clear()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test whose code made an AWS call its principal may not make fails, naming the call:
    the calls of its set-up (module fixtures included) and of the test itself."""
    result = yield
    import aws_calls

    problems = aws_calls.check(aws_calls.RECORDER.calls)
    aws_calls.RECORDER.calls.clear()
    if problems:
        raise AssertionError(
            "AWS calls that their principal's policies do not allow:\n" + "\n".join(problems)
        )
    return result


@pytest.fixture(scope="session", autouse=True)
def shared_botocore_loader() -> Iterator[None]:
    """boto3 sessions and the SDK's image lookups share one botocore loader, as in
    pipeline/offline.py: each would parse botocore's service models or endpoints anew."""
    shared = functools.cache(botocore.loaders.create_loader)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", shared)
        patch.setattr(botocore.loaders, "create_loader", shared)
        yield


@pytest.fixture(scope="module")
def emulated_aws() -> Iterator[None]:
    """AWS emulated by moto as `make pipeline` has it (fake credentials, the project's region,
    the bucket made) for the tests of one module."""
    with pytest.MonkeyPatch.context() as environment:
        environment.delenv("AWS_PROFILE", raising=False)
        # Imported here rather than at the top, so that only these tests pay for the SDK import.
        from {{ cookiecutter.package_name }}.pipeline.offline import offline_aws
        from {{ cookiecutter.package_name }}.pipeline.staging import bucket_location

        with offline_aws():
            if config.DATA_BUCKET != config.DEFAULT_BUCKET:
                # The data lake's bucket (another account's in AWS), which upload-data writes.
                s3 = botocore.session.get_session().create_client("s3", config.AWS_REGION)
                s3.create_bucket(Bucket=config.DATA_BUCKET, **bucket_location())
            yield


@pytest.fixture(scope="module")
def definition(emulated_aws: None) -> dict[str, Any]:
    """The pipeline's definition as `make pipeline` prints it."""
    from {{ cookiecutter.package_name }}.pipeline import get_pipeline

    return json.loads(get_pipeline().definition())


@pytest.fixture(scope="module")
def steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return all_steps(definition)


@pytest.fixture(scope="module")
def pipeline_cli(emulated_aws: None) -> ModuleType:
    """The pipeline's command line (`main(argv)`), against the emulated AWS."""
    from {{ cookiecutter.package_name }}.pipeline import cli

    return cli


@pytest.fixture(scope="session")
def configured(local_run: LocalRun) -> Project:
    """The configured data set, its splits and its model, from the local run."""
    from {{ cookiecutter.package_name }} import model_io

    output_dir = local_run.output_dir
    assert (output_dir / "model" / model_io.MODEL_FILE).is_file(), local_run.out
    return Project(
        config.DATA,
        config.SCHEMA,
        config.PROBLEM_TYPE,
        output_dir / "processed",
        output_dir / "model",
    )


@pytest.fixture(scope="session")
def configured_schema() -> contract.Schema:
    return contract.load_schema(config.SCHEMA)


@pytest.fixture(scope="session")
def configured_data() -> pd.DataFrame:
    """The configured data file as preprocess reads it: every value as text."""
    return contract.read_data(config.DATA)


@pytest.fixture(scope="session")
def mixed_project(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Project]:
    """mixed_project(problem_type): generate_mixed_dataset written as a file and a schema, split
    and trained once per session."""
    built: dict[str, Project] = {}

    def build(problem_type: str) -> Project:
        if problem_type not in built:
            folder = tmp_path_factory.mktemp(f"mixed-{problem_type}")
            frame, schema = generate_mixed_dataset(problem_type)
            (folder / "data").mkdir()
            frame.to_csv(folder / "data" / "mixed.csv", index=False)
            (folder / "mixed.json").write_text(json.dumps(schema), encoding="utf-8")
            built[problem_type] = run_steps(
                folder / "data" / "mixed.csv", folder / "mixed.json", problem_type, folder
            )
        return built[problem_type]

    return build


def _write_csv(frame: pd.DataFrame, folder: Path, name: str = "data.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def make_dataset() -> Callable[..., Dataset]:
    """generate_dataset(problem_type, rows=240, seed=0) -> (frame, schema)."""
    return generate_dataset


@pytest.fixture(scope="session")
def make_mixed_dataset() -> Callable[..., Dataset]:
    """generate_mixed_dataset(problem_type, rows=400, seed=0) -> (frame, schema)."""
    return generate_mixed_dataset


@pytest.fixture(scope="session")
def make_rows() -> Callable[..., pd.DataFrame]:
    """rows_from_schema(schema, rows=20, seed=0, with_target=True) -> text rows meeting it."""
    return rows_from_schema


def _fit_model(
    frame: pd.DataFrame, problem_type: str, **hyperparameters: Any
) -> tuple[xgb.Booster, dict[str, pd.DataFrame]]:
    """Split a generated data set as preprocess does and train on it as train.py does."""
    from {{ cookiecutter.package_name }}.steps import preprocess, train

    splits = preprocess.split(frame, "label", problem_type)
    booster = train.train(
        splits["train"].iloc[:, 1:],
        splits["train"]["label"],
        splits["validation"].iloc[:, 1:],
        splits["validation"]["label"],
        problem_type,
        hyperparameters,
    )
    return booster, splits


@pytest.fixture(scope="session")
def fit_model() -> Callable[..., tuple[xgb.Booster, dict[str, pd.DataFrame]]]:
    """fit_model(frame, problem_type, **hyperparameters) -> (booster, splits)."""
    return _fit_model


@pytest.fixture(scope="session")
def write_csv() -> Callable[..., Path]:
    """write_csv(frame, folder, name="data.csv") -> path: CSV as the steps read it (header, no
    index), creating the folder."""
    return _write_csv


# The one event the deploy-on-approval rule of either CI system matches: this group's packages
# turning Approved (an unfiltered rule would deploy rejected models too).
APPROVAL_PATTERN = {
    "source": ["aws.sagemaker"],
    "detail-type": ["SageMaker Model Package State Change"],
    "detail": {
        "ModelPackageGroupName": [config.MODEL_PACKAGE_GROUP],
        "ModelApprovalStatus": ["Approved"],
    },
}
if config.OPERATIONS_ACCOUNT:
    # The rule is the operations account's: it hears the approvals the tooling account forwards
    # (infra/operations-access.yaml), those of the tooling account's registry only.
    APPROVAL_PATTERN["account"] = [config.AWS_ACCOUNT_ID]


def split_assumes(statements: list[dict[str, Any]]) -> dict[str, Any]:
    """The deployer's sts statement on the stage accounts' roles; with an operations account,
    after checking that the other one assumes exactly the tooling account's operations role
    (the registry is read as that role) and that nothing else reads the registry."""
    assumes = [s for s in statements if "sts:" in str(s["Action"])]
    tooling = arns.role_arn(config.AWS_ACCOUNT_ID, config.OPERATIONS_ROLE)
    reads = [s for s in assumes if isinstance(s["Resource"], dict)]
    if config.OPERATIONS_ACCOUNT:
        (read,) = reads
        assert read["Action"] == "sts:AssumeRole" and read["Effect"] == "Allow"
        assert read["Resource"]["Fn::Sub"].replace("${AWS::Partition}", arns.partition()) == tooling
        assert not [s for s in statements if str(s["Action"]).startswith("sagemaker:")]
    else:
        assert reads == []
    (assume,) = [s for s in assumes if s not in reads]
    return assume


def load_cloudformation(name: str) -> dict[str, Any]:
    """infra/<name>, parsed (CloudFormation's short tags as {"Fn::Sub": ...})."""
    return templates.load((config.PROJECT_DIR / "infra" / name).read_text(encoding="utf-8"))


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The properties of a template's resources of one type, by logical name."""
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials in the tooling account and AWS emulated by moto."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": config.AWS_REGION,
        "MOTO_ACCOUNT_ID": config.AWS_ACCOUNT_ID,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from moto import mock_aws

    with mock_aws():
        yield
