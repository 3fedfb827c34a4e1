"""The pipeline's local twin: the same step scripts, end to end on local folders, no AWS.

    python -m {{ cookiecutter.package_name }}.local [--data CSV] [--output-dir build/local-run]
        [--registry-dir build/registry]

Runs preprocess, train and evaluate (and the monitor's reference and the explainability report
when this project has them) through each script's main(), exactly as the SageMaker pipeline runs
them, then applies the pipeline's quality gate to evaluation.json: the model must reach the floor
in config.QUALITY_GATE and the champion's metric plus the margin (evaluation.json's
champion.required). The champion is the latest Approved version of the local registry
(registry.py), scored by evaluate on the same test split; without one, the naive baseline stands
in. A model that passes is registered there as PendingManualApproval (`make approve` makes it the
champion). Exits 1 when a step or the quality gate fails.

Where the pipeline runs a managed service's container (Clarify), this runs the project's own
twin of it (twins/): same file structure, values of its own code.

Output folders: processed/{train,validation,test}, model, evaluation (evaluation.json and the
plots), and with the reference reference (steps/reference.py: what `make local-monitor` and
`make local-drift` compare traffic with), and explainability (twins/explain.py); with the bias
report, bias.json and Clarify-format pre_training_bias.json and post_training_bias.json beside
them (steps/bias.py), and the reference's bias.json (the monitor's bias-drift baseline); a
registered version keeps a copy of the reference, as the pipeline records it with the model
package. The registry lives outside the output folders: a run replaces them.
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

from . import config, contract, registry
from .contract import MANIFEST_DIR, MANIFEST_FILE
from .steps import evaluate, preprocess, train

OUTPUT_FOLDERS = (
    "processed",
    "model",
    "evaluation",
    "reference",
    "explainability",
)
# The bias step's reports (steps/bias.py), in the output folder itself.
BIAS_FILES = ("bias.json", "pre_training_bias.json", "post_training_bias.json")
# A step's (or twin's) main(): its arguments in, its exit code out.
Step = Callable[[list[str]], int]
# The monitor's reference, in the output folder and in a registered version.
REFERENCE_FOLDER = "reference"
# Held for a whole run, in the output folder: two runs at once would overwrite each other's files.
RUN_LOCK = ".lock"


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
    data: Path,
    output_dir: Path,
    schema: Path = config.SCHEMA,
    seed: int = 42,
    registry_dir: Path = registry.DEFAULT_DIR,
) -> dict[str, Any]:
    """Run every step into output_dir, with the registry's latest Approved version as the
    champion; return evaluation.json's content.

    Raises RuntimeError naming the step that failed.
    """
    for folder in OUTPUT_FOLDERS:
        # Left-overs of an earlier run (e.g. plots of another problem type) would mislead.
        shutil.rmtree(output_dir / folder, ignore_errors=True)
    for name in BIAS_FILES:
        (output_dir / name).unlink(missing_ok=True)
    splits = output_dir / "processed"
    model = output_dir / "model"
    evaluation = output_dir / "evaluation"
    problem_type = config.PROBLEM_TYPE
    if config.BIAS_REPORT:
        # Refused before any step runs, as the pipeline refuses to build.
        try:
            contract.require_facet(contract.load_schema(schema))
        except contract.SchemaError as error:
            print(f"local-run: {error}", file=sys.stderr)
            raise RuntimeError("no facet") from None
    champion = registry.latest(registry_dir, registry.APPROVED)
    champion_options: dict[str, object] = {"champion_margin": config.QUALITY_GATE.champion_margin}
    if champion is not None:
        champion_options["champion_model_dir"] = registry.model_dir(
            registry_dir, champion["version"]
        )
        champion_options["champion_id"] = champion["version"]
    steps: list[tuple[str, Step, list[str]]] = [
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
                **champion_options,
            ),
        ),
    ]
    for name, step, argv in [*steps, *twins(output_dir, problem_type)]:
        if step(argv) != 0:
            raise RuntimeError(f"step {name} failed")
    return json.loads((evaluation / evaluate.EVALUATION_FILE).read_text(encoding="utf-8"))


def twins(output_dir: Path, problem_type: str) -> list[tuple[str, Step, list[str]]]:
    """The steps after evaluate this project has: the monitor's reference (steps/reference.py)
    and the local twins of the pipeline's check steps (twins/), on what the steps wrote into
    output_dir."""
    found: list[tuple[str, Step, list[str]]] = []
    splits = output_dir / "processed"
    if config.BIAS_REPORT:
        from .steps import bias

        bias_argv = _argv(
            model_dir=output_dir / "model",
            train_dir=splits / "train",
            test_dir=splits / "test",
            output_dir=output_dir,
        )
        found.append(("bias", bias.main, bias_argv))
    if config.DATA_QUALITY_BASELINE:
        # Imported here: projects generated without the reference have no such step.
        from .steps import reference

        reference_argv = _argv(
            train=splits / "train", output=output_dir / REFERENCE_FOLDER, problem_type=problem_type
        )
        if config.BIAS_REPORT:
            reference_argv.append("--bias")
        found.append(("reference", reference.main, reference_argv))
    if config.EXPLAINABILITY_REPORT:
        from .twins import explain

        explain_argv = _argv(
            model_dir=output_dir / "model",
            data_dir=splits / "test",
            output_dir=output_dir / "explainability",
        )
        found.append(("explain", explain.main, explain_argv))
    return found


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
        "--registry-dir",
        type=Path,
        default=registry.DEFAULT_DIR,
        help=f"the local model registry (default {registry.DEFAULT_DIR})",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=gate.threshold,
        help=f"quality gate floor: {gate.metric} {gate.comparisons[1]} this "
        f"(default {gate.threshold})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """One run at a time in an output folder: a second is refused in one line (waiting for the
    first, a minute or more, would look like a hang), and so is a folder it cannot write."""
    args = parse_args(argv)
    try:
        with registry.locked(args.output_dir / RUN_LOCK, wait=False):
            return run_and_register(args)
    except (registry.RegistryError, OSError) as error:
        print(f"local-run: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("local-run: interrupted; the registry keeps its complete versions", file=sys.stderr)
        return 130


def run_and_register(args: argparse.Namespace) -> int:
    """Run the steps, apply the quality gate, register a model that passes; the exit code."""
    gate = dataclasses.replace(config.QUALITY_GATE, threshold=args.threshold)
    try:
        evaluation = run(args.data, args.output_dir, args.schema, args.seed, args.registry_dir)
    except RuntimeError:
        # The step has printed why, in one line; a second line would only repeat it.
        return 1
    value = metric_value(evaluation, gate.json_path)
    required = metric_value(evaluation, gate.required_json_path)
    print(f"{gate.metric} on the test split: {value:.4f}")
    print(champion_comparison(gate, evaluation))
    print(f"model, evaluation.json and plots in {args.output_dir}")
    passed = gate.passes(value, required)
    print(f"quality gate {'passed' if passed else 'failed'}: {gate_verdict(gate, value, required)}")
    if not passed:
        return 1
    manifest = args.output_dir / "processed" / MANIFEST_DIR / MANIFEST_FILE
    reference = args.output_dir / REFERENCE_FOLDER if config.DATA_QUALITY_BASELINE else None
    package = registry.register(
        args.registry_dir, args.output_dir / "model", value, manifest, reference
    )
    version = package["version"]
    print(
        f"registered {version} as {package['status']} in {args.registry_dir}; "
        f"`make approve VERSION={version}` makes it the champion"
    )
    return 0


def champion_comparison(gate: config.QualityGate, evaluation: dict[str, Any]) -> str:
    """One line: the champion, its metric, and what the new model (the challenger) must reach."""
    champion = evaluation["champion"]
    name = champion["model_package"] or f"none ({champion['strategy']})"
    return (
        f"champion {name}: {gate.metric} {metric_value(evaluation, gate.champion_json_path):.4f}; "
        f"challenger {metric_value(evaluation, gate.json_path):.4f} must reach "
        f"{champion['required']:.4f} (margin {champion['margin']})"
    )


def gate_verdict(gate: config.QualityGate, value: float, required: float) -> str:
    """Both conditions of the gate, each with its outcome: what the pipeline's FailStep names."""
    champion, floor = gate.comparisons
    meets = "" if gate.meets(value, required) else "not "
    reaches = "" if gate.reaches(value) else "not "
    return (
        f"{gate.metric} {value:.4f} is {meets}{champion} the required {required:.4f} "
        f"(champion + margin) and {reaches}{floor} the floor {gate.threshold}"
    )


if __name__ == "__main__":
    sys.exit(main())
