"""Local twin of Model Monitor's data-quality check: a new sample against the local baseline.

    python -m {{ cookiecutter.package_name }}.drift --data new.csv
        [--baseline-dir build/local-run/baseline] [--output build/drift/constraint_violations.json]

Reads the data-quality baseline of the last local run (statistics.json and constraints.json,
written by twins/data_quality.py through `make local-run`) and a CSV file with the schema's feature
columns (the target column may be there too: it is left out, as the baseline leaves it out), and
writes the violations in the structure of Model Monitor's constraint_violations.json:
{"violations": [{"feature_name", "constraint_check_type", "description"}]}. It prints a line a
violation and a summary line.

Exit codes: 0 no violation, 3 violations found (the file is written either way), 2 input refused
(no such file, no baseline yet, a feature column missing), with one line saying why. `make
local-drift` reports violations without failing (it exits 0 on 3) and fails on refused input.

What the twin computes, check by check, with the thresholds of the baseline's monitoring_config
(a feature's monitoringConfigOverrides applied over them):
- data_type_check (Integral and Fractional features): the share of present values that parse as
  the baseline's type (an integer counts as Fractional) must reach datatype_check_threshold.
- completeness_check: the share of present values must reach the feature's `completeness`.
- categorical_values_check (String features with `string_constraints.domains`): the share of
  present values in the domain must reach domain_content_threshold.
- baseline_drift_check, when distribution_constraints.perform_comparison is Enabled:
  numeric features: the L-infinity distance between the baseline's distribution (the KLL sketch
  of statistics.json, its items weighted 2**level) and the sample's empirical distribution (the
  largest difference of their cumulative distribution functions) must not exceed
  comparison_threshold. comparison_method "Simple" flags on that distance alone. For "Robust"
  the developer guide says only that it builds on the two-sample Kolmogorov-Smirnov test for
  small samples; the twin flags when the distance exceeds the threshold and the KS test rejects
  equal distributions at the 5 % level, so that a small sample's noise is not reported.
  String features: with categorical_drift_method LInfinity, the largest difference of the two
  value frequencies against categorical_comparison_threshold; the twin does not compute
  ChiSquared and says so.
- extra_column_check: a column that is neither a baseline feature nor the target, one
  violation each. A missing feature column is refused instead (missing_column_check in the
  real monitor): the model cannot score rows without it.

What differs from the real analyzer: it runs on Spark over the captured requests (CSV without a
header, columns by position), uses approximate KLL sketches for the new data too, and its exact
Robust formula and description texts are its own; the twin's texts follow the wording of the
analyzer's reports but are not part of the documented schema. The twin does not check
num_constraints.is_non_negative and emits no CloudWatch metrics. Treat it as a preview of what
the schedule will report, not as its replacement.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import config
from .contract import DataValidationError, load_schema, read_data

EXIT_VIOLATIONS = 3
EXIT_REFUSED = 2
DEFAULT_BASELINE_DIR = Path("build/local-run/baseline")
DEFAULT_OUTPUT = Path("build/drift/constraint_violations.json")

DATA_TYPE = "data_type_check"
COMPLETENESS = "completeness_check"
BASELINE_DRIFT = "baseline_drift_check"
MISSING_COLUMN = "missing_column_check"
EXTRA_COLUMN = "extra_column_check"
CATEGORICAL_VALUES = "categorical_values_check"
CHECK_TYPES = (
    DATA_TYPE,
    COMPLETENESS,
    BASELINE_DRIFT,
    MISSING_COLUMN,
    EXTRA_COLUMN,
    CATEGORICAL_VALUES,
)

INTEGRAL, FRACTIONAL, STRING = "Integral", "Fractional", "String"
# Deequ's number patterns (as twins/data_quality.py reads a value), exponents included.
_INTEGRAL = re.compile(r"[-+]?\d+")
_FRACTIONAL = re.compile(r"[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?|[-+]?\d+[eE][-+]?\d+")
# The Robust method's significance level (the twin's choice; see the module docstring).
KS_ALPHA = 0.05


class Refused(ValueError):
    """Input the twin cannot compare; the message is the one line printed."""


def violation(feature: str, check: str, description: str) -> dict[str, str]:
    return {"feature_name": feature, "constraint_check_type": check, "description": description}


def _percent(share: float) -> str:
    return f"{100 * share:.4g}%"


def load_baseline(baseline_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(statistics, constraints) of a baseline folder; Refused when there is none yet."""
    paths = [baseline_dir / "statistics.json", baseline_dir / "constraints.json"]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise Refused(f"no {' or '.join(missing)} in {baseline_dir}: run make local-run first")
    try:
        statistics, constraints = (json.loads(path.read_text(encoding="utf-8")) for path in paths)
    except ValueError as error:
        raise Refused(f"the baseline in {baseline_dir} is not valid JSON: {error}") from None
    return statistics, constraints


def read_sample(data: Path, features: list[str], target: str) -> pd.DataFrame:
    """The sample's values as text (empty cells missing), feature columns first, target left out;
    Refused when the file cannot be read or lacks a feature column."""
    try:
        frame = read_data(data)
    except DataValidationError as error:
        raise Refused(str(error)) from None
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise Refused(
            f"{data} lacks the feature column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} of the baseline: the model needs every feature"
        )
    return frame.drop(columns=[target], errors="ignore")


def _settings(constraints: dict[str, Any], feature: dict[str, Any]) -> dict[str, Any]:
    """The monitoring_config, with the feature's monitoringConfigOverrides applied."""
    settings = dict(constraints.get("monitoring_config", {}))
    overrides = feature.get("monitoringConfigOverrides") or {}
    distribution = {
        **settings.get("distribution_constraints", {}),
        **overrides.get("distribution_constraints", {}),
    }
    settings.update(overrides)
    settings["distribution_constraints"] = distribution
    return settings


def _is_type(text: pd.Series, inferred_type: str) -> pd.Series:
    integral = text.str.fullmatch(_INTEGRAL)
    if inferred_type == INTEGRAL:
        return integral
    return integral | text.str.fullmatch(_FRACTIONAL)


def baseline_distribution(statistics: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(values, weights) of a numeric feature's baseline: the KLL sketch's items, an item of
    level i standing for 2**i values; the buckets' midpoints when there is no sketch."""
    kll = statistics["distribution"]["kll"]
    levels = (kll.get("sketch") or {}).get("data") or []
    if any(levels):
        values = np.concatenate([np.asarray(level, dtype=float) for level in levels])
        weights = np.concatenate(
            [np.full(len(level), 2.0**index) for index, level in enumerate(levels)]
        )
        return values, weights
    buckets = kll["buckets"]
    values = np.array([(b["lower_bound"] + b["upper_bound"]) / 2 for b in buckets], dtype=float)
    return values, np.array([b["count"] for b in buckets], dtype=float)


def linf_distance(values: np.ndarray, weights: np.ndarray, sample: np.ndarray) -> float:
    """The largest difference between the weighted baseline's CDF and the sample's CDF, taken
    at every point where either jumps (both are step functions)."""
    order = np.argsort(values)
    values, cumulative = values[order], np.cumsum(weights[order]) / weights.sum()
    sample = np.sort(sample)
    points = np.union1d(values, sample)
    base = np.concatenate([[0.0], cumulative])[np.searchsorted(values, points, side="right")]
    new = np.searchsorted(sample, points, side="right") / len(sample)
    return float(np.max(np.abs(base - new)))


def _ks_rejects(distance: float, baseline_count: float, sample_count: int) -> bool:
    """Whether the two-sample Kolmogorov-Smirnov test rejects equal distributions."""
    from scipy.stats import kstwo

    effective = max(1, round(baseline_count * sample_count / (baseline_count + sample_count)))
    return float(kstwo.sf(distance, effective)) < KS_ALPHA


def numeric_drift(
    feature_statistics: dict[str, Any], sample: np.ndarray, distribution: dict[str, Any]
) -> float | None:
    """The distance when it counts as drift under the comparison method, else None (also when
    the baseline holds no distribution of the feature)."""
    numerical = feature_statistics.get("numerical_statistics") or {}
    if "kll" not in numerical.get("distribution", {}):
        return None
    values, weights = baseline_distribution(numerical)
    if not len(values) or not len(sample):
        return None
    distance = linf_distance(values, weights, sample)
    if distance <= float(distribution.get("comparison_threshold", 0.1)):
        return None
    if distribution.get("comparison_method", "Robust") == "Robust":
        count = numerical["common"]["num_present"]
        if not _ks_rejects(distance, float(count), len(sample)):
            return None
    return distance


def categorical_distance(feature_statistics: dict[str, Any], present: pd.Series) -> float | None:
    """L-infinity distance of the value frequencies, None without a baseline histogram."""
    string = feature_statistics.get("string_statistics") or {}
    buckets = string.get("distribution", {}).get("categorical", {}).get("buckets", [])
    total = sum(bucket["count"] for bucket in buckets)
    if not total or present.empty:
        return None
    baseline = {bucket["value"]: bucket["count"] / total for bucket in buckets}
    sample = present.value_counts(normalize=True).to_dict()
    return max(abs(baseline.get(v, 0.0) - sample.get(v, 0.0)) for v in {*baseline, *sample})


def check_feature(
    feature: dict[str, Any], stats: dict[str, Any], column: pd.Series, settings: dict[str, Any]
) -> list[dict[str, str]]:
    """The violations of one feature's constraints by the sample's column (values as text)."""
    name, inferred_type = feature["name"], feature["inferred_type"]
    found = []
    present = column.dropna().astype(str).str.strip()
    completeness = len(present) / len(column) if len(column) else 1.0
    expected = float(feature.get("completeness", 0.0))
    if completeness < expected - 1e-9:
        found.append(
            violation(
                name,
                COMPLETENESS,
                f"Data completeness requirement is not met. Expected completeness: "
                f"{_percent(expected)}. Observed completeness: {_percent(completeness)}.",
            )
        )
    distribution = settings.get("distribution_constraints", {})
    compare = distribution.get("perform_comparison", "Enabled") == "Enabled"
    if inferred_type in (INTEGRAL, FRACTIONAL):
        matches = _is_type(present, inferred_type)
        share = float(matches.mean()) if len(present) else 1.0
        threshold = float(settings.get("datatype_check_threshold", 1.0))
        if share < threshold:
            found.append(
                violation(
                    name,
                    DATA_TYPE,
                    f"Data type match requirement is not met. Expected data type: "
                    f"{inferred_type}, Expected match: {_percent(threshold)}. Observed: Only "
                    f"{_percent(share)} of data is {inferred_type}.",
                )
            )
        numbers = pd.to_numeric(present[matches]).to_numpy(dtype=float)
        distance = numeric_drift(stats, numbers, distribution) if compare else None
        if distance is not None:
            threshold = float(distribution.get("comparison_threshold", 0.1))
            found.append(
                violation(
                    name,
                    BASELINE_DRIFT,
                    f"Baseline drift distance: {distance:.4g} exceeds threshold: {threshold}",
                )
            )
    elif inferred_type == STRING:
        domain = (feature.get("string_constraints") or {}).get("domains")
        if domain is not None and len(present):
            share = float(present.isin(set(domain)).mean())
            threshold = float(settings.get("domain_content_threshold", 1.0))
            if share < threshold:
                found.append(
                    violation(
                        name,
                        CATEGORICAL_VALUES,
                        f"Data domain requirement is not met. Expected match: "
                        f"{_percent(threshold)}. Observed: Only {_percent(share)} of data is "
                        "within the expected domain.",
                    )
                )
        method = distribution.get("categorical_drift_method", "LInfinity")
        if compare and method == "LInfinity":
            distance = categorical_distance(stats, present)
            threshold = float(distribution.get("categorical_comparison_threshold", 0.1))
            if distance is not None and distance > threshold:
                found.append(
                    violation(
                        name,
                        BASELINE_DRIFT,
                        f"Baseline drift distance: {distance:.4g} exceeds threshold: {threshold}",
                    )
                )
    return found


def compare(
    sample: pd.DataFrame, statistics: dict[str, Any], constraints: dict[str, Any]
) -> list[dict[str, str]]:
    """Every violation of the baseline's constraints by the sample (target already left out)."""
    stats = {feature["name"]: feature for feature in statistics["features"]}
    features = constraints["features"]
    names = [feature["name"] for feature in features]
    found = [
        violation(
            name,
            EXTRA_COLUMN,
            f"There are extra columns in current dataset: {name} is not one of the "
            f"{len(names)} columns of the baseline constraints.",
        )
        for name in sample.columns
        if name not in names
    ]
    for feature in features:
        settings = _settings(constraints, feature)
        feature_stats = stats.get(feature["name"], {})
        found += check_feature(feature, feature_stats, sample[feature["name"]], settings)
    return found


def write_violations(path: Path, violations: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"violations": violations}, indent=2) + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="the new sample: CSV file or folder"
    )
    parser.add_argument(
        "--baseline-dir",
        type=Path,
        default=DEFAULT_BASELINE_DIR,
        help=f"statistics.json and constraints.json (default {DEFAULT_BASELINE_DIR})",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--schema", type=Path, default=config.SCHEMA, help="names the target")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        statistics, constraints = load_baseline(args.baseline_dir)
        target = load_schema(args.schema).target
        names = [feature["name"] for feature in constraints["features"]]
        sample = read_sample(args.data, names, target)
    except Refused as error:
        print(f"local-drift refused: {error}", file=sys.stderr)
        return EXIT_REFUSED
    violations = compare(sample, statistics, constraints)
    write_violations(args.output, violations)
    for item in violations:
        print(f"{item['constraint_check_type']} {item['feature_name']}: {item['description']}")
    features = len({item["feature_name"] for item in violations})
    print(
        f"{len(violations)} violation{'' if len(violations) == 1 else 's'} in {features} of "
        f"{len(names)} features: {len(sample)} rows of {args.data} against the baseline in "
        f"{args.baseline_dir} -> {args.output}"
    )
    return EXIT_VIOLATIONS if violations else 0


if __name__ == "__main__":
    sys.exit(main())
