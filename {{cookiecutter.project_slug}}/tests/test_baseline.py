"""The baselines of a local run: the local twins profile the features (twins/data_quality.py)
and the predictions (twins/model_quality.py) into Model Monitor's baseline files: on the
configured data set, and on small frames with every kind of column."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import metrics
from {{ cookiecutter.package_name }}.steps import evaluate
from {{ cookiecutter.package_name }}.twins import data_quality, model_quality

MONITORED_TYPES = {"Integral", "Fractional", "String", "Unknown"}


@pytest.fixture(scope="module")
def train_split(configured) -> pd.DataFrame:
    """The train split of the configured data set, as the step reads it: text, target first."""
    return data_quality.read_csv_dir(configured.splits / "train")


@pytest.fixture(scope="module")
def train_baseline(train_split: pd.DataFrame) -> tuple[dict, dict]:
    return data_quality.profile(train_split)


@pytest.fixture
def mixed() -> pd.DataFrame:
    """Target first, then an integer, a float, a string and an all-missing column; two rows
    have missing values."""
    return pd.DataFrame(
        {
            "label": [0, 1, 0, 1, 1, 0, 1, 0],
            "count": [3, 0, 7, 2, 5, 1, 4, 6],
            "ratio": [0.5, -1.25, np.nan, 2.0, 0.75, np.nan, 1.5, 0.25],
            "colour": ["red", "blue", "red", None, "blue", "red", "blue", "red"],
            "empty": [np.nan] * 8,
        }
    )


def by_name(document: dict) -> dict[str, dict]:
    return {feature["name"]: feature for feature in document["features"]}


def test_target_column_is_excluded(train_split, train_baseline):
    statistics, constraints = train_baseline
    target, *features = list(train_split.columns)
    assert [f["name"] for f in statistics["features"]] == features
    assert [f["name"] for f in constraints["features"]] == features
    assert target not in by_name(statistics)


def test_item_count_is_the_number_of_rows(train_split, train_baseline):
    statistics, _ = train_baseline
    assert statistics["dataset"]["item_count"] == len(train_split)


def test_statistics_match_pandas(train_split, train_baseline):
    statistics, _ = train_baseline
    features = by_name(statistics)
    for column in train_split.columns[1:]:
        feature = features[column]
        text = train_split[column]
        common = {"num_present": int(text.notna().sum()), "num_missing": int(text.isna().sum())}
        if feature["inferred_type"] not in ("Integral", "Fractional"):
            stats = feature["string_statistics"]
            assert stats["common"] == common, column
            assert stats["distinct_count"] == text.nunique(), column
            continue
        stats = feature["numerical_statistics"]
        values = pd.to_numeric(text)
        assert stats["common"] == common, column
        assert stats["mean"] == pytest.approx(values.mean()), column  # pandas skips NaN too
        assert stats["sum"] == pytest.approx(values.sum()), column
        # Model Monitor (Deequ) reports the population standard deviation.
        assert stats["std_dev"] == pytest.approx(values.std(ddof=0)), column
        assert stats["min"] == pytest.approx(values.min()), column
        assert stats["max"] == pytest.approx(values.max()), column


def test_buckets_partition_the_range_and_count_every_value(train_baseline):
    statistics, _ = train_baseline
    for feature in statistics["features"]:
        if "numerical_statistics" not in feature:
            continue
        stats = feature["numerical_statistics"]
        kll = stats["distribution"]["kll"]
        buckets = kll["buckets"]
        assert len(buckets) == data_quality.NUM_BUCKETS
        assert sum(b["count"] for b in buckets) == stats["common"]["num_present"]
        assert buckets[0]["lower_bound"] == stats["min"]
        assert buckets[-1]["upper_bound"] == pytest.approx(stats["max"])
        for left, right in itertools.pairwise(buckets):
            assert left["upper_bound"] == right["lower_bound"]
        assert kll["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
        # Every level holds sorted values; together they weigh as many as the values present.
        sketch = kll["sketch"]["data"]
        assert all(sorted(level) == level for level in sketch)
        weight = sum(len(items) * 2**level for level, items in enumerate(sketch))
        assert weight == pytest.approx(stats["common"]["num_present"], rel=0.01)


def test_constraints_follow_the_statistics(train_split, train_baseline):
    statistics, constraints = train_baseline
    for feature, constraint in zip(statistics["features"], constraints["features"], strict=True):
        assert constraint["name"] == feature["name"]
        assert constraint["inferred_type"] == feature["inferred_type"] in MONITORED_TYPES
        stats = feature.get("numerical_statistics") or feature["string_statistics"]
        present = stats["common"]["num_present"]
        share = present / len(train_split)
        # Complete stays complete; otherwise a lower bound at most a few points below the share.
        assert (
            constraint["completeness"] == 1.0
            if share == 1
            else 0 <= share - constraint["completeness"] <= 0.2
        )
        if "numerical_statistics" in feature:
            assert constraint["num_constraints"] == {"is_non_negative": stats["min"] >= 0}


def test_small_column_sketch_keeps_every_value_on_level_0():
    values = np.array([3.0, -1.0, 2.5, 2.5, 10.0])
    assert data_quality.kll_sketch(values)["data"] == [[-1.0, 2.5, 2.5, 3.0, 10.0]]


def test_bucket_counts_match_a_numpy_histogram():
    values = np.array([0.0, 1.0, 1.0, 2.5, 3.0, 9.0, 10.0, 10.0])
    buckets = data_quality.kll_buckets(values)
    counts, edges = np.histogram(values, bins=data_quality.NUM_BUCKETS)
    assert [b["count"] for b in buckets] == counts.tolist()
    assert [b["lower_bound"] for b in buckets] == pytest.approx(edges[:-1].tolist())


def test_constant_column_puts_every_value_in_the_last_bucket():
    buckets = data_quality.kll_buckets(np.full(5, 4.0))
    assert [b["count"] for b in buckets] == [0.0] * 9 + [5.0]
    assert all(b["lower_bound"] == b["upper_bound"] == 4.0 for b in buckets)


def test_large_column_sketch_keeps_the_total_weight():
    values = np.arange(10_000, dtype=float)
    sketch = data_quality.kll_sketch(values)
    weight = sum(len(items) * 2**level for level, items in enumerate(sketch["data"]))
    assert weight == pytest.approx(len(values), rel=0.01)
    assert len(sketch["data"][-1]) <= data_quality.KLL_K


def test_inferred_types(mixed):
    statistics, constraints = data_quality.profile(mixed)
    expected = {"count": "Integral", "ratio": "Fractional", "colour": "String", "empty": "Unknown"}
    assert {f["name"]: f["inferred_type"] for f in statistics["features"]} == expected
    assert {f["name"]: f["inferred_type"] for f in constraints["features"]} == expected


def test_types_are_inferred_from_csv_text_like_the_analyzer():
    assert data_quality.infer_type(pd.Series(["1", "2", "-3"])) == "Integral"
    assert data_quality.infer_type(pd.Series(["1", "2.5", "1e-05"])) == "Fractional"
    assert data_quality.infer_type(pd.Series(["1", "two"])) == "String"
    assert data_quality.infer_type(pd.Series(["true", "false"])) == "String"
    assert data_quality.infer_type(pd.Series([None, None], dtype=object)) == "Unknown"


def test_missing_values_are_counted(mixed):
    statistics, _ = data_quality.profile(mixed)
    features = by_name(statistics)
    ratio = features["ratio"]["numerical_statistics"]
    assert ratio["common"] == {"num_present": 6, "num_missing": 2}
    assert ratio["mean"] == pytest.approx(mixed["ratio"].mean())  # pandas skips NaN too
    assert ratio["std_dev"] == pytest.approx(mixed["ratio"].std(ddof=0))
    assert sum(b["count"] for b in ratio["distribution"]["kll"]["buckets"]) == 6
    colour = features["colour"]["string_statistics"]
    assert colour["common"] == {"num_present": 7, "num_missing": 1}
    assert features["empty"]["string_statistics"]["common"] == {"num_present": 0, "num_missing": 8}


def test_string_statistics(mixed):
    statistics, _ = data_quality.profile(mixed)
    colour = by_name(statistics)["colour"]["string_statistics"]
    assert colour["distinct_count"] == 2
    assert colour["distribution"]["categorical"]["buckets"] == [
        {"value": "red", "count": 4},
        {"value": "blue", "count": 3},
    ]


def test_a_sample_as_complete_as_the_training_data_keeps_the_completeness_constraint():
    assert data_quality.suggested_completeness(100, 100) == 1.0
    assert data_quality.suggested_completeness(95, 100) == 0.90  # 0.95 - 0.0427
    assert data_quality.suggested_completeness(0, 100) == 0.0


def test_constraints(mixed):
    _, constraints = data_quality.profile(mixed)
    features = by_name(constraints)
    assert features["count"]["completeness"] == 1.0
    # Deequ's bound, p - 1.96 * sqrt(p (1 - p) / n) rounded down: 6/8 -> 0.449, 7/8 -> 0.645.
    assert features["ratio"]["completeness"] == 0.44
    assert features["colour"]["completeness"] == 0.64
    assert features["empty"]["completeness"] == 0.0
    assert features["count"]["num_constraints"] == {"is_non_negative": True}
    assert features["ratio"]["num_constraints"] == {"is_non_negative": False}
    assert features["colour"]["string_constraints"] == {"domains": ["red", "blue"]}
    assert "num_constraints" not in features["colour"]


def test_unique_strings_get_no_domain():
    data = pd.DataFrame({"label": [0, 1, 0], "id": ["a", "b", "c"]})
    _, constraints = data_quality.profile(data)
    assert "string_constraints" not in constraints["features"][0]


def test_monitoring_config_has_the_documented_shape(train_baseline):
    _, constraints = train_baseline
    config_ = constraints["monitoring_config"]
    assert config_["evaluate_constraints"] == "Enabled"
    assert config_["emit_metrics"] == "Enabled"
    assert isinstance(config_["datatype_check_threshold"], float)
    assert isinstance(config_["domain_content_threshold"], float)
    distribution = config_["distribution_constraints"]
    assert distribution["perform_comparison"] == "Enabled"
    assert 0 < distribution["comparison_threshold"] <= 1
    assert distribution["comparison_method"] in {"Simple", "Robust"}


def test_a_feature_and_the_target_alone_are_required():
    with pytest.raises(ValueError, match="at least one feature"):
        data_quality.profile(pd.DataFrame({"label": [0, 1]}))
    with pytest.raises(ValueError, match="no rows"):
        data_quality.profile(pd.DataFrame({"label": [], "x": []}))


def test_main_writes_both_files_from_a_folder(tmp_path: Path, train_split: pd.DataFrame):
    train = tmp_path / "train"
    train.mkdir()
    # Two files, as a processing input may hold several: they are profiled together.
    half = len(train_split) // 2
    train_split.iloc[:half].to_csv(train / "part-1.csv", index=False)
    train_split.iloc[half:].to_csv(train / "part-2.csv", index=False)
    output = tmp_path / "baseline"

    assert data_quality.main(["--input-dir", str(train), "--output-dir", str(output)]) == 0

    statistics = json.loads((output / "statistics.json").read_text(encoding="utf-8"))
    constraints = json.loads((output / "constraints.json").read_text(encoding="utf-8"))
    assert statistics["version"] == constraints["version"] == 0.0
    assert statistics["dataset"]["item_count"] == len(train_split)
    assert [f["name"] for f in statistics["features"]] == list(train_split.columns[1:])
    assert set(constraints) == {"version", "features", "monitoring_config"}
    # The same profile as of the whole data at once (JSON turns the KLL tuples into lists).
    whole = json.loads(json.dumps(data_quality.profile(train_split)))
    assert [statistics, constraints] == whole


def test_main_reads_types_from_the_csv_text(tmp_path: Path):
    train = tmp_path / "train"
    train.mkdir()
    (train / "train.csv").write_text("y,n,x,c\n1,3,0.5,a\n0,,1.0,b\n1,4,,a\n", encoding="utf-8")
    output = tmp_path / "baseline"
    data_quality.main(["--input-dir", str(train), "--output-dir", str(output)])
    statistics = json.loads((output / "statistics.json").read_text(encoding="utf-8"))
    types = {f["name"]: f["inferred_type"] for f in statistics["features"]}
    assert types == {"n": "Integral", "x": "Fractional", "c": "String"}
    n = by_name(statistics)["n"]["numerical_statistics"]
    assert n["common"] == {"num_present": 2, "num_missing": 1}
    assert n["sum"] == 7.0


def test_main_fails_clearly_without_csv(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"no \*\.csv file"):
        data_quality.main(["--input-dir", str(tmp_path), "--output-dir", str(tmp_path / "out")])


# The documented structure of Model Monitor's data-quality baseline files (developer guide,
# "Schema for Statistics (statistics.json file)" and "Schema for Constraints (constraints.json
# file)"): every key the analyzer writes for a numeric and a string feature.
MODEL_MONITOR_STATISTICS = {
    "version": 0.0,
    "dataset": {"item_count": 3},
    "features": [
        {
            "name": "x",
            "inferred_type": "Fractional",
            "numerical_statistics": {
                "common": {"num_present": 3, "num_missing": 0},
                "mean": 1.0,
                "sum": 3.0,
                "std_dev": 0.5,
                "min": 0.5,
                "max": 1.5,
                "distribution": {
                    "kll": {
                        "buckets": [{"lower_bound": 0.5, "upper_bound": 1.5, "count": 3.0}],
                        "sketch": {"parameters": {"c": 0.64, "k": 2048.0}, "data": [[0.5]]},
                    }
                },
            },
        },
        {
            "name": "c",
            "inferred_type": "String",
            "string_statistics": {
                "common": {"num_present": 3, "num_missing": 0},
                "distinct_count": 2.0,
                "distribution": {"categorical": {"buckets": [{"value": "a", "count": 2}]}},
            },
        },
    ],
}
MODEL_MONITOR_CONSTRAINTS = {
    "version": 0.0,
    "features": [
        {
            "name": "x",
            "inferred_type": "Fractional",
            "completeness": 1.0,
            "num_constraints": {"is_non_negative": True},
        },
        {
            "name": "c",
            "inferred_type": "String",
            "completeness": 1.0,
            "string_constraints": {"domains": ["a", "b"]},
        },
    ],
    "monitoring_config": {
        "evaluate_constraints": "Enabled",
        "emit_metrics": "Enabled",
        "datatype_check_threshold": 1.0,
        "domain_content_threshold": 1.0,
        "distribution_constraints": {
            "perform_comparison": "Enabled",
            "comparison_threshold": 0.1,
            "comparison_method": "Robust",
            "categorical_comparison_threshold": 0.1,
            "categorical_drift_method": "LInfinity",
        },
    },
}


def keys(node: object) -> object:
    """The key structure of a JSON document: dicts by their keys, a list by its first item."""
    if isinstance(node, dict):
        return {key: keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [keys(node[0])] if node else []
    return type(node).__name__.replace("int", "float")


def test_files_have_the_structure_of_model_monitors_documented_files():
    """A numeric and a string feature give exactly the documented keys, with the same types."""
    data = pd.DataFrame({"y": [0, 1, 0], "x": ["0.5", "1.0", "1.5"], "c": ["a", "a", "b"]})
    statistics, constraints = json.loads(json.dumps(data_quality.profile(data)))
    assert keys({**statistics, "features": []}) == keys(
        {**MODEL_MONITOR_STATISTICS, "features": []}
    )
    for ours, documented in zip(
        statistics["features"], MODEL_MONITOR_STATISTICS["features"], strict=True
    ):
        distribution = ours.get("numerical_statistics", {}).get("distribution", {}).get("kll")
        if distribution:  # levels of the sketch: compared by type, not by count
            distribution["sketch"]["data"] = [[0.5]]
        assert keys(ours) == keys(documented), ours["name"]
    assert keys(constraints) == keys(MODEL_MONITOR_CONSTRAINTS)


# --- the model-quality twin ------------------------------------------------------------------

# The documented structure of Model Monitor's model-quality baseline files (developer guide,
# "Model quality metrics and Amazon CloudWatch monitoring" and "Create a model quality
# baseline"): a constraints section per problem type, each metric with a threshold and an
# operator; statistics with the dataset's size and the metrics' values.
MODEL_QUALITY_CONSTRAINTS = {
    "binary_classification": (
        "binary_classification_constraints",
        {"recall", "precision", "accuracy", "auc", "f1"},
    ),
    "regression": ("regression_constraints", {"mae", "mse", "rmse", "r2"}),
}
OPERATORS = {"LessThanThreshold", "GreaterThanThreshold"}


def predictions(problem_type: str, rows: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Labels and a model's scores of them: right more often than not."""
    rng = np.random.default_rng(0)
    if problem_type == "binary_classification":
        y_true = rng.integers(0, 2, rows)
        return y_true, np.clip(0.6 * y_true + rng.uniform(0, 0.5, rows), 0, 1)
    y_true = rng.normal(50, 10, rows)
    return y_true, y_true + rng.normal(0, 5, rows)


@pytest.mark.parametrize("problem_type", ["binary_classification", "regression"])
def test_local_model_quality_baseline_has_model_monitors_structure(
    problem_type: str, tmp_path: Path
):
    """From evaluate's predictions.csv, as the analyzer reads it in AWS: the metrics evaluate
    computes, and a constraint on each."""
    y_true, scores = predictions(problem_type)
    folder = tmp_path / "predictions"
    folder.mkdir()
    frame = evaluate.predictions_frame(y_true, scores, problem_type)
    frame.to_csv(folder / evaluate.PREDICTIONS_FILE, index=False)
    output = tmp_path / "model-quality"
    argv = ["--predictions-dir", str(folder), "--output-dir", str(output)]
    assert model_quality.main([*argv, "--problem-type", problem_type]) == 0

    statistics = json.loads((output / "statistics.json").read_text(encoding="utf-8"))
    constraints = json.loads((output / "constraints.json").read_text(encoding="utf-8"))
    report = json.loads(json.dumps(metrics.metrics_report(y_true, scores, problem_type)))
    (section,) = report  # binary_classification_metrics or regression_metrics
    assert set(statistics) == {"version", "dataset", section}
    assert statistics["version"] == constraints["version"] == 0.0
    assert statistics["dataset"]["item_count"] == len(y_true)
    assert statistics[section] == report[section]  # the same metrics as evaluation.json

    name, required = MODEL_QUALITY_CONSTRAINTS[problem_type]
    assert set(constraints) == {"version", name}
    checked = constraints[name]
    assert required <= set(checked)
    for metric, constraint in checked.items():
        assert set(constraint) == {"threshold", "comparison_operator"}, metric
        assert constraint["comparison_operator"] in OPERATORS, metric
        # The baseline's own value: a worse value on new data is a violation.
        assert constraint["threshold"] == statistics[section][metric]["value"], metric
    headline = metrics.HEADLINE_METRICS[problem_type]
    assert checked[headline]["comparison_operator"] == "LessThanThreshold"
    error = "rmse" if problem_type == "regression" else "false_positive_rate"
    assert checked[error]["comparison_operator"] == "GreaterThanThreshold"


def test_local_run_model_quality_statistics_are_the_evaluations_metrics(local_run):
    """Read back from predictions.csv, the scores give exactly evaluate's numbers."""
    evaluation = json.loads((local_run.output_dir / "evaluation" / "evaluation.json").read_text())
    folder = local_run.output_dir / "model-quality"
    statistics = json.loads((folder / "statistics.json").read_text(encoding="utf-8"))
    section = next(iter(evaluation))
    assert statistics[section] == evaluation[section]
