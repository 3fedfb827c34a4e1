"""Bias: the data's and the model's bias for the schema's facet (bias.py's metrics).

    python3 {{ cookiecutter.package_name }}/steps/bias.py --model-dir DIR --train-dir DIR
        --test-dir DIR --output-dir DIR

Pre-training bias (CI, DPL) on the train split's labels, the data the model learnt from;
post-training bias (DPPL, DI) on the model's predictions of the test split. Writes into
--output-dir:
    bias.json                    {"facet", "group", "label_value_or_threshold",
                                  "pre_training": {"CI", "DPL"}, "post_training": {"DPPL", "DI"},
                                  "rows": {"pre_training", "post_training"}}
    pre_training_bias.json,      the two stages in the structure of Clarify's analysis.json
    post_training_bias.json      (`pre_training_bias_metrics`, `post_training_bias_metrics`): the
                                 model package's bias reports
The splits are read as preprocess writes them (header row, target first, schema.json beside);
the schema must mark a facet. The pipeline's Bias step runs it in the steps image; `make
local-run` writes build/local-run/bias/.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }} import bias, model_io
from {{ cookiecutter.package_name }}.contract import (
    SCHEMA_FILE,
    Schema,
    SchemaError,
    load_schema,
    read_split,
    require_facet,
)

REPORT_FILE = "bias.json"
PRE_TRAINING_FILE = "pre_training_bias.json"
POST_TRAINING_FILE = "post_training_bias.json"


def bias_report(
    schema: Schema, train: Any, test: Any, test_scores: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(bias.json, pre-training report, post-training report) of the splits, each a
    (features, target) pair, and the model's scores of the test split."""
    facet = require_facet(schema)
    features, labels = train
    sensitive, kept = bias.rows_of(features[facet.name], facet)
    positive = bias.positive_outcomes(labels.to_numpy()[kept], schema)
    pre = bias.pre_training(sensitive, positive)
    test_features, _ = test
    test_sensitive, test_kept = bias.rows_of(test_features[facet.name], facet)
    predicted = bias.positive_predictions(test_scores[test_kept], schema)
    post = bias.post_training(test_sensitive, predicted)
    rows = {"pre_training": int(kept.sum()), "post_training": int(test_kept.sum())}
    summary = {
        "facet": facet.name,
        "group": facet.group,
        "label_value_or_threshold": bias.label_value_or_threshold(schema),
        "pre_training": {name: bias.json_number(value) for name, value in pre.items()},
        "post_training": {name: bias.json_number(value) for name, value in post.items()},
        "rows": rows,
    }
    pre_report = {
        "version": bias.REPORT_VERSION,
        "pre_training_bias_metrics": bias.clarify_section(schema, facet, pre),
    }
    post_report = {
        "version": bias.REPORT_VERSION,
        "post_training_bias_metrics": bias.clarify_section(schema, facet, post),
    }
    return summary, pre_report, post_report


def write_json(path: Path, content: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True, help="model.tar.gz or the model")
    parser.add_argument("--train-dir", type=Path, required=True, help="the train split")
    parser.add_argument("--test-dir", type=Path, required=True, help="the test split")
    parser.add_argument("--output-dir", type=Path, required=True, help="where the reports go")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        schema = load_schema(args.train_dir / SCHEMA_FILE)
        train, test = read_split(args.train_dir), read_split(args.test_dir)
        with tempfile.TemporaryDirectory() as work_dir:
            booster, _ = model_io.load_model(model_io.find_model(args.model_dir, work_dir))
        scores = model_io.predict(booster, test[0])
        summary, pre, post = bias_report(schema, train, test, scores)
    except (SchemaError, bias.BiasError, FileNotFoundError, ValueError) as error:
        print(f"bias: {error}", file=sys.stderr)
        return 1
    write_json(args.output_dir / PRE_TRAINING_FILE, pre)
    write_json(args.output_dir / POST_TRAINING_FILE, post)
    path = write_json(args.output_dir / REPORT_FILE, summary)
    metrics = {**summary["pre_training"], **summary["post_training"]}
    shown = ", ".join(
        f"{name} {value:.3f}" if isinstance(value, float) else f"{name} {value}"
        for name, value in metrics.items()
    )
    print(f"bias: facet {summary['group']}: {shown} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
