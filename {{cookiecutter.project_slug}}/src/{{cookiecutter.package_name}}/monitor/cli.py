"""The monitor's command line, the same in the scheduled job (steps/monitor.py) and on a laptop
(`python -m {{ cookiecutter.package_name }}.monitor`: `make local-monitor`, `make local-drift`).

    --reference DIR (--capture DIR [--ground-truth DIR] | --data CSV) --output DIR
    [--quality-floor X] [--metrics-namespace NS --endpoint-name NAME]

Writes report.html, drift-report.html and violations.json under --output, prints a line a
violation and a summary line, and with --metrics-namespace publishes the `Violations` metrics.
Exit 0 with or without violations; 2 with one line on input it cannot read.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import DataValidationError, read_data
from . import checks, cloudwatch, report
from .capture import CaptureError, join_labels, read_capture, read_ground_truth
from .drift import data_drift
from .reference import ReferenceError, load_reference

EXIT_REFUSED = 2


def run(
    reference_dir: Path,
    output_dir: Path,
    capture_dir: Path | None = None,
    data: Path | None = None,
    ground_truth_dir: Path | None = None,
    quality_floor: float | None = None,
) -> tuple[list[checks.Violation], dict[str, Any]]:
    """Every check on the traffic (captured requests, or a CSV file), its outputs written to
    output_dir; (violations, summary). Raises CaptureError, ReferenceError or
    DataValidationError on input it cannot read."""
    reference = load_reference(reference_dir)
    capture = None
    if capture_dir is not None:
        capture = read_capture(
            capture_dir, reference.features, reference.categories, reference.schema.ids
        )
        rows, source = capture.rows, f"{capture.records:,} captured requests in {capture_dir}"
    else:
        rows, source = read_data(data), str(data)
    # Read before the checks run: unreadable ground truth is refused without a partial report.
    labels = None
    if capture is not None and ground_truth_dir is not None:
        labels = read_ground_truth(ground_truth_dir)
    typed, violations = checks.data_quality(rows, reference)
    output_dir = Path(output_dir)
    drifts, drifted = data_drift(typed, reference, output_dir / report.DRIFT_REPORT_FILE)
    violations = drifted + violations
    summary: dict[str, Any] = {
        "source": source,
        "reference": str(reference_dir),
        "reference_rows": int(reference.profile.get("rows", len(reference.rows))),
        "rows": len(rows),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "drift": [
            {
                "feature_name": d.feature,
                "method": d.method,
                "score": d.score,
                "threshold": d.threshold,
                "drifted": d.drifted,
            }
            for d in drifts
        ],
    }
    if capture is not None:
        summary["unreadable_rows"] = capture.unreadable_rows
    if capture is not None and labels is not None:
        positions, joined = join_labels(capture, labels)
        quality, found = checks.model_quality(
            joined, capture.scores[positions], reference, quality_floor
        )
        summary["model_quality"] = quality
        violations += found
    if capture is not None and reference.bias is not None:
        summary["bias_drift"], found = checks.bias_drift(typed, capture.scores, reference)
        violations += found
    summary["checks"] = report.summary_counts(violations, checks.checks_of(reference))
    report.write_violations(output_dir / report.VIOLATIONS_FILE, violations, summary)
    report.write_report(output_dir / report.REPORT_FILE, violations, summary, drifts)
    return violations, summary


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="the reference folder")
    traffic = parser.add_mutually_exclusive_group(required=True)
    traffic.add_argument(
        "--capture", type=Path, help="a folder of SageMaker data-capture *.jsonl (recursive)"
    )
    traffic.add_argument("--data", type=Path, help="a CSV file with the features' header")
    parser.add_argument(
        "--ground-truth", type=Path, help="a folder of ground-truth *.jsonl (with --capture)"
    )
    parser.add_argument("--output", type=Path, required=True, help="where the reports go")
    parser.add_argument(
        "--quality-floor",
        type=float,
        help="the least the quality gate's metric (auc or r2) may be on labelled traffic",
    )
    parser.add_argument("--metrics-namespace", help="publish CloudWatch metrics in it")
    parser.add_argument("--endpoint-name", help="the Endpoint dimension of the metrics")
    args = parser.parse_args(argv)
    if args.metrics_namespace and not args.endpoint_name:
        parser.error("--metrics-namespace needs --endpoint-name")
    if args.ground_truth and not args.capture:
        parser.error("--ground-truth joins labels with captured requests: it needs --capture")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        violations, summary = run(
            args.reference,
            args.output,
            args.capture,
            args.data,
            args.ground_truth,
            args.quality_floor,
        )
    except (CaptureError, ReferenceError, DataValidationError) as error:
        print(f"monitor: {str(error).splitlines()[0]}", file=sys.stderr)
        return EXIT_REFUSED
    except (OSError, pd.errors.ParserError) as error:
        print(f"monitor: cannot read the input: {error}".splitlines()[0], file=sys.stderr)
        return EXIT_REFUSED
    for item in violations:
        print(f"{item.check} {item.feature_name}: {item.description}")
    if args.metrics_namespace:
        cloudwatch.publish(args.metrics_namespace, args.endpoint_name, summary["checks"])
    features = len({item.feature_name for item in violations})
    print(
        f"{len(violations)} violation{'' if len(violations) == 1 else 's'} in {features} "
        f"feature{'' if features == 1 else 's'}: {summary['rows']:,} rows of {summary['source']} "
        f"-> {args.output / report.REPORT_FILE}, {args.output / report.VIOLATIONS_FILE}"
    )
    return 0
