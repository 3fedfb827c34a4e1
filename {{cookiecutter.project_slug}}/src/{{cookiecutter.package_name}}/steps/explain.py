"""Explain: exact TreeSHAP values of the trained model on the test split (explain.py).

    python3 {{ cookiecutter.package_name }}/steps/explain.py --model-dir DIR --data-dir DIR
        --output-dir DIR [--max-rows N] [--seed N]

Reads the training job's model.tar.gz (or train.py's model file) and the test split as
preprocess writes it (header row, target first, schema.json beside). Writes into --output-dir
explainability.json (the model package's explainability report) and shap_summary.png. The
pipeline's Explain step runs it in the steps image; `make local-run` writes
build/local-run/explainability/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.explain import (
    DEFAULT_MAX_ROWS,
    DEFAULT_SEED,
    LABEL,
    METHOD_KEY,
    PLOT_FILE,
    REPORT_FILE,
    explain,
    feature_frame,
    load_model,
    margin_unit,
    plot_summary,
    read_csv_dir,
    sample_rows,
    write_report,
)
from {{ cookiecutter.package_name }}.model_io import MODEL_ARCHIVE, MODEL_FILE


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path("/opt/ml/processing/model"),
        help=f"folder with {MODEL_ARCHIVE}, or with {MODEL_FILE}",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("/opt/ml/processing/test"),
        help="folder of CSV files with a header row, target first (the test split)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("/opt/ml/processing/explainability"),
        help=f"where {REPORT_FILE} and {PLOT_FILE} are written",
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=DEFAULT_MAX_ROWS,
        help="explain a seeded random sample of at most this many rows",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the row sample")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    booster, metadata = load_model(args.model_dir)
    features = feature_frame(read_csv_dir(args.data_dir), booster, metadata)
    rows = sample_rows(features, args.max_rows, args.seed)
    report = explain(booster, rows)
    global_values = report["explanations"][METHOD_KEY][LABEL]["global_shap_values"]
    report_path = write_report(args.output_dir, report)
    plot_path = plot_summary(global_values, args.output_dir / PLOT_FILE, margin_unit(booster))
    top = max(global_values, key=global_values.__getitem__)
    print(
        f"explain: TreeSHAP on {len(rows)} of {len(features)} rows, {len(global_values)} "
        f"features, most important {top!r} -> {report_path}, {plot_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
