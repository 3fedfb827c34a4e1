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

With the Feature Store, preprocess writes the validated rows, ingest puts them into a local
offline store (build/feature-store/, Parquet files as the offline store writes them, kept across
runs) and snapshot splits what the store holds as of the run's start: the pipeline's steps, with
files for the feature group.

Output folders: processed/{train,validation,test}, model, evaluation (evaluation.json and the
plots), and with the reference reference (steps/reference.py: what `make local-monitor` and
`make local-drift` compare traffic with), explainability (steps/explain.py); with the bias
report, bias.json and Clarify-format pre_training_bias.json and post_training_bias.json beside
them (steps/bias.py), and the reference's bias.json (the monitor's bias-drift baseline); and with
the model card model-card (steps/model_card.py; model_card.md at the top of the output folder); a
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
    "validated",
    "model-card",
)
# The local offline store of the Feature Store's twin, beside the output folder (kept across runs,
# as the offline store is): build/feature-store for `make local-run`.
FEATURE_STORE_FOLDER = "feature-store"
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
    feature_store_dir: Path | None = None,
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
    if config.BIAS_REPORT:
        # Refused before any step runs, as the pipeline refuses to build.
        try:
            contract.require_facet(contract.load_schema(schema))
        except contract.SchemaError as error:
            print(f"local-run: {error}", file=sys.stderr)
            raise RuntimeError("no facet") from None
    steps = [
        *data_steps(data, output_dir, schema, seed, feature_store_dir),
        *model_steps(output_dir, seed, registry_dir),
        *reports(output_dir, config.PROBLEM_TYPE),
        *card(output_dir, data),
    ]
    for name, step, argv in steps:
        if step(argv) != 0:
            raise RuntimeError(f"step {name} failed")
    evaluation = output_dir / "evaluation" / evaluate.EVALUATION_FILE
    return json.loads(evaluation.read_text(encoding="utf-8"))


def data_steps(
    data: Path, output_dir: Path, schema: Path, seed: int, feature_store_dir: Path | None
) -> list[tuple[str, Step, list[str]]]:
    """The steps that make the splits in output_dir/processed: preprocess, or with the Feature
    Store, preprocess, ingest and snapshot."""
    checks = {"min_rows": config.MIN_ROWS, "min_class_count": config.MIN_CLASS_COUNT}
    preprocess_argv = _argv(
        input_dir=data,
        schema=schema,
        output_dir=output_dir / "processed",
        seed=seed,
        problem_type=config.PROBLEM_TYPE,
        **checks,
    )
    if config.FEATURE_STORE:
        store = feature_store_dir or output_dir.parent / FEATURE_STORE_FOLDER
        return feature_store_steps(preprocess_argv, output_dir, store, schema, seed, checks)
    return [("preprocess", preprocess.main, preprocess_argv)]


def model_steps(
    output_dir: Path, seed: int, registry_dir: Path
) -> list[tuple[str, Step, list[str]]]:
    """Train on the splits, and evaluate against the test split and the registry's latest
    Approved version, the champion."""
    splits, model = output_dir / "processed", output_dir / "model"
    champion = registry.latest(registry_dir, registry.APPROVED)
    champion_options: dict[str, object] = {"champion_margin": config.QUALITY_GATE.champion_margin}
    if champion is not None:
        champion_options["champion_model_dir"] = registry.model_dir(
            registry_dir, champion["version"]
        )
        champion_options["champion_id"] = champion["version"]
    return [
        (
            "train",
            train.main,
            _argv(
                train=splits / "train",
                validation=splits / "validation",
                model_dir=model,
                seed=seed,
                problem_type=config.PROBLEM_TYPE,
            ),
        ),
        (
            "evaluate",
            evaluate.main,
            _argv(
                model_dir=model,
                test_dir=splits / "test",
                output_dir=output_dir / "evaluation",
                problem_type=config.PROBLEM_TYPE,
                **champion_options,
            ),
        ),
    ]


def feature_store_steps(
    preprocess_argv: list[str],
    output_dir: Path,
    store: Path,
    schema: Path,
    seed: int,
    checks: dict[str, int],
) -> list[tuple[str, Step, list[str]]]:
    """The pipeline's Feature Store steps against a local offline store (files): preprocess
    validates into validated/, ingest puts those rows into the store, snapshot reads the store
    back as of the run's start and writes the splits, as in AWS."""
    # Imported here: projects generated without the Feature Store have no such steps.
    from datetime import UTC, datetime

    from .steps import ingest, snapshot

    validated = output_dir / "validated"
    started = datetime.now(UTC).isoformat()
    return [
        ("preprocess", preprocess.main, [*preprocess_argv, *_argv(validated_dir=validated)]),
        (
            "ingest",
            ingest.main,
            _argv(
                validated_dir=validated,
                run_start=started,
                feature_group=config.FEATURE_GROUP,
                local_store=store,
            ),
        ),
        (
            "snapshot",
            snapshot.main,
            _argv(
                store_dir=store,
                feature_group=config.FEATURE_GROUP,
                schema=schema,
                output_dir=output_dir / "processed",
                run_start=started,
                seed=seed,
                problem_type=config.PROBLEM_TYPE,
                **checks,
            ),
        ),
    ]


def reports(output_dir: Path, problem_type: str) -> list[tuple[str, Step, list[str]]]:
    """The steps after evaluate this project has: the monitor's reference (steps/reference.py)
    and the explanation (steps/explain.py), on what the steps wrote into output_dir."""
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
        # Imported here: projects generated without the explanation have no such step.
        from .steps import explain

        explain_argv = _argv(
            model_dir=output_dir / "model",
            data_dir=splits / "test",
            output_dir=output_dir / "explainability",
        )
        found.append(("explain", explain.main, explain_argv))
    return found


def card(output_dir: Path, data: Path) -> list[tuple[str, Step, list[str]]]:
    """The model card (steps/model_card.py), last: from what every step before wrote, a SHAP
    or bias report only where one was written. model_card.md at the top of output_dir."""
    if not config.MODEL_CARD:
        return []
    # Imported here: projects generated without the model card have no such step.
    from . import lineage
    from .steps import model_card

    folder = output_dir / "model-card"
    folder.mkdir(parents=True, exist_ok=True)
    (output_dir / model_card.MARKDOWN_FILE).unlink(missing_ok=True)
    facts = folder / model_card.FACTS_FILE
    git = lineage.git_state()
    facts.write_text(json.dumps(lineage.model_facts(git, train.HYPERPARAMETERS)), encoding="utf-8")
    # A bias report, wherever the bias step puts it under output_dir (read if it exists).
    bias = [output_dir / "bias.json", output_dir / "bias" / "bias.json"]
    argv = _argv(
        facts=facts,
        evaluation=output_dir / "evaluation",
        manifest=output_dir / "processed" / MANIFEST_DIR,
        explainability=output_dir / "explainability",
        output_dir=folder,
        markdown=output_dir / model_card.MARKDOWN_FILE,
        model_artifact=output_dir / "model",
        input_data_url=data,
    ) + [item for path in bias for item in ("--bias", str(path))]
    return [("model_card", model_card.main, argv)]


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
    if config.FEATURE_STORE:
        parser.add_argument(
            "--feature-store-dir",
            type=Path,
            help=f"the feature group's local offline store (default: {FEATURE_STORE_FOLDER}/ "
            "beside the output folder)",
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
        evaluation = run(
            args.data,
            args.output_dir,
            args.schema,
            args.seed,
            args.registry_dir,
            getattr(args, "feature_store_dir", None),
        )
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
