"""The pipeline's local twin: the same step scripts, end to end on local folders, no AWS.

    python -m {{ cookiecutter.package_name }}.local [--data CSV] [--output-dir build/local-run]

Runs preprocess, train and evaluate (and the data-quality baseline and the explainability report
when this project has them) through each script's main(), exactly as the SageMaker pipeline runs
them, then applies the pipeline's quality gate to evaluation.json: the model must beat the naive
baseline on the same test split and reach the floor in config.QUALITY_GATE. Exits 1 when a step
or the quality gate fails.

Output folders: processed/{train,validation,test}, model, evaluation (evaluation.json and the
plots), baseline and explainability.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import config
from .steps import evaluate, preprocess, train

OUTPUT_FOLDERS = ("processed", "model", "evaluation", "baseline", "explainability")


def metric_value(evaluation: dict[str, Any], json_path: str) -> float:
    """The value at a dotted path in evaluation.json, as the pipeline's JsonGet reads it."""
    value: Any = evaluation
    for key in json_path.split("."):
        value = value[key]
    return float(value)


def _argv(**options: object) -> list[str]:
    """A step script's arguments: input_dir=path -> ["--input-dir", "path"]."""
    argv = []
    for name, value in options.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    return argv


def run(
    data: Path, output_dir: Path, schema: Path = config.SCHEMA, seed: int = 42
) -> dict[str, Any]:
    """Run every step into output_dir; return evaluation.json's content.

    Raises RuntimeError naming the step that failed.
    """
    for folder in OUTPUT_FOLDERS:
        # Left-overs of an earlier run (e.g. plots of another problem type) would mislead.
        shutil.rmtree(output_dir / folder, ignore_errors=True)
    splits = output_dir / "processed"
    model = output_dir / "model"
    evaluation = output_dir / "evaluation"
    problem_type = config.PROBLEM_TYPE
    steps: list[tuple[str, Callable[[list[str]], int], list[str]]] = [
        (
            "preprocess",
            preprocess.main,
            _argv(
                input_dir=data,
                schema=schema,
                output_dir=splits,
                seed=seed,
                problem_type=problem_type,
                min_rows=config.MIN_ROWS,
                min_class_count=config.MIN_CLASS_COUNT,
            ),
        ),
        (
            "train",
            train.main,
            _argv(
                train=splits / "train",
                validation=splits / "validation",
                model_dir=model,
                seed=seed,
                problem_type=problem_type,
            ),
        ),
        (
            "evaluate",
            evaluate.main,
            _argv(
                model_dir=model,
                test_dir=splits / "test",
                output_dir=evaluation,
                problem_type=problem_type,
            ),
        ),
    ]
    if config.DATA_QUALITY_BASELINE:
        # Imported here: projects generated without the baseline have no steps/baseline.py.
        from .steps import baseline

        baseline_argv = _argv(input_dir=splits / "train", output_dir=output_dir / "baseline")
        steps.append(("baseline", baseline.main, baseline_argv))
    if config.EXPLAINABILITY_REPORT:
        from .steps import explain

        explain_argv = _argv(
            model_dir=model, data_dir=splits / "test", output_dir=output_dir / "explainability"
        )
        steps.append(("explain", explain.main, explain_argv))
    for name, step, argv in steps:
        if step(argv) != 0:
            raise RuntimeError(f"step {name} failed")
    return json.loads((evaluation / evaluate.EVALUATION_FILE).read_text(encoding="utf-8"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    gate = config.QUALITY_GATE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=config.DATA, help="CSV file or folder (default: config.DATA)"
    )
    parser.add_argument("--output-dir", type=Path, default=Path("build/local-run"))
    parser.add_argument("--schema", type=Path, default=config.SCHEMA)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--threshold",
        type=float,
        default=gate.threshold,
        help=f"quality gate floor: {gate.metric} {gate.comparisons[1]} this "
        f"(default {gate.threshold})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    gate = dataclasses.replace(config.QUALITY_GATE, threshold=args.threshold)
    try:
        evaluation = run(args.data, args.output_dir, args.schema, args.seed)
    except RuntimeError:
        # The step has printed why, in one line; a second line would only repeat it.
        return 1
    value = metric_value(evaluation, gate.json_path)
    baseline = metric_value(evaluation, gate.baseline_json_path)
    print(f"{gate.metric} on the test split: {value:.4f} (naive baseline {baseline:.4f})")
    print(f"model, evaluation.json and plots in {args.output_dir}")
    verdict = gate_verdict(gate, value, baseline)
    print(f"quality gate {'passed' if gate.passes(value, baseline) else 'failed'}: {verdict}")
    return 0 if gate.passes(value, baseline) else 1


def gate_verdict(gate: config.QualityGate, value: float, baseline: float) -> str:
    """Both conditions of the gate, each with its outcome: what the pipeline's FailStep names."""
    better, floor = gate.comparisons
    beats = "" if gate.beats(value, baseline) else "not "
    reaches = "" if gate.reaches(value) else "not "
    return (
        f"{gate.metric} {value:.4f} is {beats}{better} the naive baseline {baseline:.4f} "
        f"and {reaches}{floor} the floor {gate.threshold}"
    )


if __name__ == "__main__":
    sys.exit(main())
