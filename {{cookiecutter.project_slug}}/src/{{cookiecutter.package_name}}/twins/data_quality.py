"""Data-quality baseline, the local twin of Model Monitor's analyzer (the pipeline's Baseline step).

In AWS the pipeline's Baseline step (a QualityCheckStep) runs SageMaker Model Monitor's own
analyzer (sagemaker-model-monitor-analyzer, built on Deequ) on the training features that
steps/baseline.py writes, and its files become the model package's drift-check baselines.
`make local-run` runs this instead: it profiles the training features itself into
`statistics.json` and `constraints.json` in the analyzer's format, so that the files can be
read, tested and compared (`make local-drift`) on a laptop. These name the columns by their
header names; the values are this module's, computed by the rules below, not Deequ's own.

Formats: "Schema for Statistics" and "Schema for Constraints" in the SageMaker developer guide
(model-monitor-interpreting-statistics, model-monitor-byoc-constraints). Where the guide is
silent, the rules are Deequ's (awslabs/deequ): type inference by regular expression on the raw
text, population standard deviation, ten equal-width KLL buckets between min and max, KLL
parameters c (shrinking factor) = 0.64 and k (sketch size) = 2048.

Only the feature columns are profiled: the first column is the target, and Model Monitor
profiles endpoint requests, which carry features only.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

INTEGRAL, FRACTIONAL, STRING, UNKNOWN = "Integral", "Fractional", "String", "Unknown"
NUMERIC_TYPES = (INTEGRAL, FRACTIONAL)

# Deequ's DataType analyzer classifies each raw CSV value with regular expressions; these are
# its expressions, tightened so that every value called numeric also parses as a number ("-" or
# "." alone do not), and with exponent notation accepted as fractional: pandas writes 0.00001 as
# "1e-05", which Deequ's expressions would call a string.
_INTEGRAL_RE = r"[-+]?\d+"
_FRACTIONAL_RE = r"[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?|[-+]?\d+[eE][-+]?\d+"

# The analyzer materialises every numeric distribution in ten buckets (not configurable).
NUM_BUCKETS = 10
# Deequ's KLL defaults: shrinking factor c and sketch size k.
KLL_C = 0.64
KLL_K = 2048
# Deequ keeps at most this many values in a categorical histogram.
MAX_CATEGORICAL_BUCKETS = 1000
# Deequ's CategoricalRangeRule: suggest a domain when at most 10 % of the distinct values occur
# only once; its profiler builds histograms only for columns with at most 120 distinct values.
DOMAIN_SINGLETON_RATIO = 0.1
DOMAIN_MAX_DISTINCT = 120

# The monitoring_config the analyzer writes into a suggested baseline. Thresholds of the
# schedule's checks; tune them here rather than by editing the generated file.
MONITORING_CONFIG: dict[str, Any] = {
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
}

# The analyzer writes version 0.0 in both files.
FORMAT_VERSION = 0.0


def infer_type(series: pd.Series) -> str:
    """Model Monitor's inferred_type of a column: Integral, Fractional, String or Unknown.

    Numeric dtypes decide directly; text (as read from CSV) follows Deequ: all-missing is
    Unknown, any non-numeric value makes String, any fractional value makes Fractional.
    """
    present = series.dropna()
    if present.empty:
        return UNKNOWN
    if pd.api.types.is_bool_dtype(series):
        # Model Monitor knows no Boolean type; Deequ's boolean literals are not numbers.
        return STRING
    if pd.api.types.is_integer_dtype(series):
        return INTEGRAL
    if pd.api.types.is_float_dtype(series):
        return FRACTIONAL
    text = _as_text(present)
    integral = text.str.fullmatch(_INTEGRAL_RE)
    fractional = text.str.fullmatch(_FRACTIONAL_RE)
    if not (integral | fractional).all():
        # A value that is not a number (a word, or Deequ's boolean literals) makes it a String.
        return STRING
    return FRACTIONAL if fractional.any() else INTEGRAL


def _as_text(present: pd.Series) -> pd.Series:
    return present.astype(str).str.strip()


def kll_buckets(values: np.ndarray, num_buckets: int = NUM_BUCKETS) -> list[dict[str, float]]:
    """Equal-width buckets between min and max, counted the way Deequ's KLLSketch does.

    Each bucket holds lower_bound <= v < upper_bound and the last one also v == max (numpy's
    histogram rule), so the counts add up to the number of present values. Counting on sorted
    values keeps Deequ's edges exact and also covers a constant column (min == max).
    """
    ordered = np.sort(values.astype(float))
    low, high = float(ordered[0]), float(ordered[-1])
    edges = [low + (high - low) * i / num_buckets for i in range(num_buckets + 1)]
    below = np.searchsorted(ordered, edges, side="left").tolist()  # number of values < edge
    below[-1] = len(ordered)  # the last bucket is closed: it counts the values equal to max
    return [
        {
            "lower_bound": edges[i],
            "upper_bound": edges[i + 1],
            "count": float(below[i + 1] - below[i]),
        }
        for i in range(num_buckets)
    ]


def kll_sketch(values: np.ndarray, k: int = KLL_K) -> dict[str, Any]:
    """The `sketch` object: KLL parameters and compactor levels (level 0 first).

    Exact data stands in for the streaming KLL sketch: up to k values a KLL sketch has not
    compacted yet and level 0 holds every value, which is what we write. Beyond k values we
    write evenly spaced exact quantiles on the level whose weight (2**level) makes them
    represent all n values, as a compacted sketch would.
    """
    ordered = np.sort(values.astype(float))
    n = len(ordered)
    if n <= k:
        data = [ordered.tolist()]
    else:
        level = math.ceil(math.log2(n / k))
        count = round(n / 2**level)
        quantiles = np.quantile(ordered, (np.arange(count) + 0.5) / count)
        data = [[] for _ in range(level)] + [quantiles.tolist()]
    return {"parameters": {"c": KLL_C, "k": float(k)}, "data": data}


def numerical_statistics(values: np.ndarray, num_missing: int) -> dict[str, Any]:
    """Statistics of the present values of a numeric feature."""
    values = values.astype(float)
    return {
        "common": {"num_present": len(values), "num_missing": num_missing},
        "mean": float(values.mean()),
        "sum": float(values.sum()),
        # Deequ's StandardDeviation is the population standard deviation.
        "std_dev": float(values.std(ddof=0)),
        "min": float(values.min()),
        "max": float(values.max()),
        "distribution": {"kll": {"buckets": kll_buckets(values), "sketch": kll_sketch(values)}},
    }


def string_statistics(present: pd.Series, num_missing: int) -> dict[str, Any]:
    """Statistics of the present values of a string (or all-missing) feature."""
    counts = present.astype(str).value_counts(sort=True)
    buckets = [
        {"value": str(value), "count": int(count)}
        for value, count in counts.head(MAX_CATEGORICAL_BUCKETS).items()
    ]
    return {
        "common": {"num_present": len(present), "num_missing": num_missing},
        "distinct_count": float(len(counts)),
        "distribution": {"categorical": {"buckets": buckets}},
    }


def feature_statistics(series: pd.Series) -> dict[str, Any]:
    """One entry of statistics.json `features`."""
    inferred_type = infer_type(series)
    present = series.dropna()
    num_missing = len(series) - len(present)
    entry: dict[str, Any] = {"name": str(series.name), "inferred_type": inferred_type}
    if inferred_type in NUMERIC_TYPES:
        numbers = present if pd.api.types.is_numeric_dtype(present) else _as_text(present)
        values = pd.to_numeric(numbers).to_numpy()
        entry["numerical_statistics"] = numerical_statistics(values, num_missing)
    else:
        entry["string_statistics"] = string_statistics(present, num_missing)
    return entry


def _domain(stats: dict[str, Any]) -> list[str] | None:
    """The observed values of a low-cardinality string feature (Deequ's categorical rule)."""
    buckets = stats["distribution"]["categorical"]["buckets"]
    if not buckets or stats["distinct_count"] > DOMAIN_MAX_DISTINCT:
        return None
    singletons = sum(1 for bucket in buckets if bucket["count"] == 1)
    if singletons / len(buckets) > DOMAIN_SINGLETON_RATIO:
        return None
    return [bucket["value"] for bucket in buckets]  # most frequent first, as Deequ orders them


def suggested_completeness(present: int, item_count: int) -> float:
    """Deequ's completeness rules: a complete feature must stay complete; one with missing
    values must keep the lower bound of the 95% interval of its observed share (rounded down to
    two decimals), so that a sample as complete as the training data does not violate it."""
    share = present / item_count
    if share == 1:
        return 1.0
    bound = share - 1.96 * math.sqrt(share * (1 - share) / item_count)
    return max(0.0, math.floor(bound * 100) / 100)


def feature_constraints(feature: dict[str, Any], item_count: int) -> dict[str, Any]:
    """One entry of constraints.json `features`, suggested from the feature's statistics."""
    inferred_type = feature["inferred_type"]
    key = "numerical_statistics" if inferred_type in NUMERIC_TYPES else "string_statistics"
    stats = feature[key]
    entry: dict[str, Any] = {
        "name": feature["name"],
        "inferred_type": inferred_type,
        "completeness": suggested_completeness(stats["common"]["num_present"], item_count),
    }
    if inferred_type in NUMERIC_TYPES:
        entry["num_constraints"] = {"is_non_negative": stats["min"] >= 0}
    elif inferred_type == STRING:
        domain = _domain(stats)
        if domain is not None:
            entry["string_constraints"] = {"domains": domain}
    return entry


def profile(data: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    """(statistics, constraints) of a data set whose first column is the target.

    The target is left out: the baseline describes what the endpoint receives.
    """
    if data.shape[1] < 2:
        raise ValueError("baseline: need the target column and at least one feature column")
    if data.empty:
        raise ValueError("baseline: the data set has no rows")
    features = data.iloc[:, 1:]
    item_count = len(features)
    feature_stats = [feature_statistics(features[column]) for column in features.columns]
    statistics = {
        "version": FORMAT_VERSION,
        "dataset": {"item_count": item_count},
        "features": feature_stats,
    }
    constraints = {
        "version": FORMAT_VERSION,
        "features": [feature_constraints(feature, item_count) for feature in feature_stats],
        "monitoring_config": MONITORING_CONFIG,
    }
    return statistics, constraints


def read_csv_dir(input_dir: Path) -> pd.DataFrame:
    """Every *.csv in the folder (with header), as raw text so that types are inferred as
    the analyzer infers them; empty cells are missing values."""
    files = sorted(Path(input_dir).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"baseline: no *.csv file in {input_dir}")
    return pd.concat([pd.read_csv(path, dtype=str) for path in files], ignore_index=True)


def write_baseline(
    output_dir: Path, statistics: dict[str, Any], constraints: dict[str, Any]
) -> tuple[Path, Path]:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = output_dir / "statistics.json", output_dir / "constraints.json"
    for path, content in zip(paths, (statistics, constraints), strict=True):
        # allow_nan=False: NaN is not JSON, and Model Monitor must be able to parse the file.
        path.write_text(json.dumps(content, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return paths


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--input-dir",
        type=Path,
        required=True,
        help="folder of CSV files with a header row, target first (the train split)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        required=True,
        help="where statistics.json and constraints.json are written",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    statistics, constraints = profile(read_csv_dir(args.input_dir))
    statistics_path, constraints_path = write_baseline(args.output_dir, statistics, constraints)
    print(
        f"baseline: profiled {len(statistics['features'])} features of "
        f"{statistics['dataset']['item_count']} rows -> {statistics_path}, {constraints_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
