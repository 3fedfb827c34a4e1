"""The data-quality baseline step profiles the features into Model Monitor baseline files."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.steps import baseline

MONITORED_TYPES = {"Integral", "Fractional", "String", "Unknown"}


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    """The bundled sample data set: target first, numeric features."""
    return pd.read_csv(config.SAMPLE_DATA)


@pytest.fixture(scope="module")
def sample_baseline(sample: pd.DataFrame) -> tuple[dict, dict]:
    return baseline.profile(sample)


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


def test_target_column_is_excluded(sample, sample_baseline):
    statistics, constraints = sample_baseline
    target, *features = list(sample.columns)
    assert [f["name"] for f in statistics["features"]] == features
    assert [f["name"] for f in constraints["features"]] == features
    assert target not in by_name(statistics)


def test_item_count_is_the_number_of_rows(sample, sample_baseline):
    statistics, _ = sample_baseline
    assert statistics["dataset"]["item_count"] == len(sample)


def test_numerical_statistics_match_pandas(sample, sample_baseline):
    statistics, _ = sample_baseline
    features = by_name(statistics)
    for column in sample.columns[1:]:
        stats = features[column]["numerical_statistics"]
        values = sample[column]
        assert stats["common"] == {"num_present": len(values), "num_missing": 0}
        assert stats["mean"] == pytest.approx(values.mean())
        assert stats["sum"] == pytest.approx(values.sum())
        # Model Monitor (Deequ) reports the population standard deviation.
        assert stats["std_dev"] == pytest.approx(values.std(ddof=0))
        assert stats["min"] == pytest.approx(values.min())
        assert stats["max"] == pytest.approx(values.max())


def test_buckets_partition_the_range_and_count_every_value(sample_baseline):
    statistics, _ = sample_baseline
    for feature in statistics["features"]:
        stats = feature["numerical_statistics"]
        kll = stats["distribution"]["kll"]
        buckets = kll["buckets"]
        assert len(buckets) == baseline.NUM_BUCKETS
        assert sum(b["count"] for b in buckets) == stats["common"]["num_present"]
        assert buckets[0]["lower_bound"] == stats["min"]
        assert buckets[-1]["upper_bound"] == pytest.approx(stats["max"])
        for left, right in itertools.pairwise(buckets):
            assert left["upper_bound"] == right["lower_bound"]
        assert kll["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
        # Fewer values than the sketch size: level 0 holds every value.
        assert sorted(kll["sketch"]["data"][0]) == kll["sketch"]["data"][0]
        assert len(kll["sketch"]["data"][0]) == stats["common"]["num_present"]


def test_bucket_counts_match_a_numpy_histogram():
    values = np.array([0.0, 1.0, 1.0, 2.5, 3.0, 9.0, 10.0, 10.0])
    buckets = baseline.kll_buckets(values)
    counts, edges = np.histogram(values, bins=baseline.NUM_BUCKETS)
    assert [b["count"] for b in buckets] == counts.tolist()
    assert [b["lower_bound"] for b in buckets] == pytest.approx(edges[:-1].tolist())


def test_constant_column_puts_every_value_in_the_last_bucket():
    buckets = baseline.kll_buckets(np.full(5, 4.0))
    assert [b["count"] for b in buckets] == [0.0] * 9 + [5.0]
    assert all(b["lower_bound"] == b["upper_bound"] == 4.0 for b in buckets)


def test_large_column_sketch_keeps_the_total_weight():
    values = np.arange(10_000, dtype=float)
    sketch = baseline.kll_sketch(values)
    weight = sum(len(items) * 2**level for level, items in enumerate(sketch["data"]))
    assert weight == pytest.approx(len(values), rel=0.01)
    assert len(sketch["data"][-1]) <= baseline.KLL_K


def test_inferred_types(mixed):
    statistics, constraints = baseline.profile(mixed)
    expected = {"count": "Integral", "ratio": "Fractional", "colour": "String", "empty": "Unknown"}
    assert {f["name"]: f["inferred_type"] for f in statistics["features"]} == expected
    assert {f["name"]: f["inferred_type"] for f in constraints["features"]} == expected


def test_types_are_inferred_from_csv_text_like_the_analyzer():
    assert baseline.infer_type(pd.Series(["1", "2", "-3"])) == "Integral"
    assert baseline.infer_type(pd.Series(["1", "2.5", "1e-05"])) == "Fractional"
    assert baseline.infer_type(pd.Series(["1", "two"])) == "String"
    assert baseline.infer_type(pd.Series(["true", "false"])) == "String"
    assert baseline.infer_type(pd.Series([None, None], dtype=object)) == "Unknown"


def test_missing_values_are_counted(mixed):
    statistics, _ = baseline.profile(mixed)
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
    statistics, _ = baseline.profile(mixed)
    colour = by_name(statistics)["colour"]["string_statistics"]
    assert colour["distinct_count"] == 2
    assert colour["distribution"]["categorical"]["buckets"] == [
        {"value": "red", "count": 4},
        {"value": "blue", "count": 3},
    ]


def test_constraints(mixed):
    _, constraints = baseline.profile(mixed)
    features = by_name(constraints)
    assert features["count"]["completeness"] == 1.0
    assert features["ratio"]["completeness"] == pytest.approx(6 / 8)
    assert features["colour"]["completeness"] == pytest.approx(7 / 8)
    assert features["empty"]["completeness"] == 0.0
    assert features["count"]["num_constraints"] == {"is_non_negative": True}
    assert features["ratio"]["num_constraints"] == {"is_non_negative": False}
    assert features["colour"]["string_constraints"] == {"domains": ["red", "blue"]}
    assert "num_constraints" not in features["colour"]


def test_unique_strings_get_no_domain():
    data = pd.DataFrame({"label": [0, 1, 0], "id": ["a", "b", "c"]})
    _, constraints = baseline.profile(data)
    assert "string_constraints" not in constraints["features"][0]


def test_monitoring_config_has_the_documented_shape(sample_baseline):
    _, constraints = sample_baseline
    config_ = constraints["monitoring_config"]
    assert config_["evaluate_constraints"] == "Enabled"
    assert config_["emit_metrics"] == "Enabled"
    assert isinstance(config_["datatype_check_threshold"], float)
    assert isinstance(config_["domain_content_threshold"], float)
    distribution = config_["distribution_constraints"]
    assert distribution["perform_comparison"] == "Enabled"
    assert 0 < distribution["comparison_threshold"] <= 1
    assert distribution["comparison_method"] in {"Simple", "Robust"}


def test_sample_features_are_numeric_and_complete(sample_baseline):
    statistics, constraints = sample_baseline
    assert {f["inferred_type"] for f in statistics["features"]} <= {"Integral", "Fractional"}
    for feature in constraints["features"]:
        assert feature["inferred_type"] in MONITORED_TYPES
        assert feature["completeness"] == 1.0
        assert feature["num_constraints"]["is_non_negative"] is True  # the sample has no negatives


def test_a_feature_and_the_target_alone_are_required():
    with pytest.raises(ValueError, match="at least one feature"):
        baseline.profile(pd.DataFrame({"label": [0, 1]}))
    with pytest.raises(ValueError, match="no rows"):
        baseline.profile(pd.DataFrame({"label": [], "x": []}))


def test_main_writes_both_files_from_a_folder(tmp_path: Path, sample: pd.DataFrame):
    train = tmp_path / "train"
    train.mkdir()
    # Two files, as a processing input may hold several: they are profiled together.
    half = len(sample) // 2
    sample.iloc[:half].to_csv(train / "part-1.csv", index=False)
    sample.iloc[half:].to_csv(train / "part-2.csv", index=False)
    output = tmp_path / "baseline"

    assert baseline.main(["--input-dir", str(train), "--output-dir", str(output)]) == 0

    statistics = json.loads((output / "statistics.json").read_text(encoding="utf-8"))
    constraints = json.loads((output / "constraints.json").read_text(encoding="utf-8"))
    assert statistics["version"] == constraints["version"] == 0.0
    assert statistics["dataset"]["item_count"] == len(sample)
    assert [f["name"] for f in statistics["features"]] == list(sample.columns[1:])
    assert set(constraints) == {"version", "features", "monitoring_config"}
    first = statistics["features"][0]["numerical_statistics"]
    assert first["mean"] == pytest.approx(sample.iloc[:, 1].mean())


def test_main_reads_types_from_the_csv_text(tmp_path: Path):
    train = tmp_path / "train"
    train.mkdir()
    (train / "train.csv").write_text("y,n,x,c\n1,3,0.5,a\n0,,1.0,b\n1,4,,a\n", encoding="utf-8")
    output = tmp_path / "baseline"
    baseline.main(["--input-dir", str(train), "--output-dir", str(output)])
    statistics = json.loads((output / "statistics.json").read_text(encoding="utf-8"))
    types = {f["name"]: f["inferred_type"] for f in statistics["features"]}
    assert types == {"n": "Integral", "x": "Fractional", "c": "String"}
    n = by_name(statistics)["n"]["numerical_statistics"]
    assert n["common"] == {"num_present": 2, "num_missing": 1}
    assert n["sum"] == 7.0


def test_main_fails_clearly_without_csv(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"no \*\.csv file"):
        baseline.main(["--input-dir", str(tmp_path), "--output-dir", str(tmp_path / "out")])
