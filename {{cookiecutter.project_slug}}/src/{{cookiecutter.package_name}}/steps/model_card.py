"""ModelCard: the model's card, built from what the pipeline already wrote, as SageMaker's model
package model card (JSON) and as Markdown.

    python3 {{ cookiecutter.package_name }}/steps/model_card.py --facts FILE --evaluation DIR
        --manifest DIR --output-dir DIR [--markdown FILE] [--explainability DIR] [--bias PATH ...]
        [--execution-arn ARN] [--training-job-arn ARN] [--model-artifact URI]
        [--steps-image URI] [--serve-image URI] [--input-data-url URI]

Reads evaluation.json (evaluate), the data manifest (preprocess: the data's SHA-256), the SHAP
report when there is one (steps/explain.py's explainability.json, in the structure of
Clarify's analysis.json) and a bias report when there is one (bias.json of `make local-run`,
or Clarify's bias analysis.json), and the facts the pipeline knows when it is built (--facts: the
project's name, description and owner, the quality gate, hyperparameters, git commit;
lineage.model_facts). A path that does not exist is a report this run does not have.

Writes into --output-dir: model_card.json (the content, in the model package model card schema:
model_overview, intended_uses, business_details, training_details, evaluation_details,
additional_information), model_card.md (the same card for people; --markdown puts it elsewhere)
and register.json
({"ModelCardContent": "<the content as text>"}), which the pipeline's Register step reads with
JsonGet into CreateModelPackage's ModelCard. `make local-run` writes
build/local-run/model_card.md, and the rest under build/local-run/model-card/.

No import beyond the standard library: the job runs in the steps image, or AWS's XGBoost image.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

CARD_FILE = "model_card.json"
MARKDOWN_FILE = "model_card.md"
REGISTER_FILE = "register.json"
FACTS_FILE = "facts.json"
EVALUATION_FILE = "evaluation.json"
MANIFEST_FILE = "data_manifest.json"
# The model package model card schema's limits (the SDK's ModelCardContent shapes; botocore's
# 100000 characters for the whole content).
MAX_CONTENT = 100_000
MAX_TEXT = 1024
MAX_LONG_TEXT = 2048
MAX_GROUP_NAME = 63
MAX_DATASETS = 10
TOP_FEATURES = 20
# SHAP methods by the key steps/explain.py (tree_shap) and Clarify (kernel_shap) file them under.
SHAP_METHODS = ("kernel_shap", "tree_shap")
BIAS_STAGES = ("pre_training", "post_training")


class CardError(ValueError):
    """An input the card cannot be built from; the message names it."""


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CardError(f"{path}: {error}") from None


def _file(path: Path, name: str) -> Path:
    """`path` itself, or the file `name` inside the folder `path` (a job's input folder)."""
    return path / name if path.is_dir() else path


def _json_files(path: Path) -> list[Path]:
    """The JSON files a report path holds: the file, or every *.json under the folder."""
    if path.is_dir():
        return sorted(path.rglob("*.json"))
    return [path] if path.is_file() else []


def _number(value: Any) -> float | None:
    """A finite number, else None (evaluate writes "NaN" where a value is undefined)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _text(value: object, limit: int = MAX_TEXT) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def scalar_metrics(section: dict[str, Any]) -> dict[str, float]:
    """{metric: value} of a report section's metrics that are one finite number."""
    found = {}
    for name, entry in section.items():
        value = _number(entry.get("value")) if isinstance(entry, dict) else None
        if value is not None:
            found[name] = value
    return found


def read_shap(path: Path | None) -> tuple[str, dict[str, float]] | None:
    """(method, {feature: global SHAP value}) of the first report under `path` that has them."""
    for file in _json_files(path) if path else []:
        explanations = _json(file).get("explanations", {})
        for method in SHAP_METHODS:
            values = explanations.get(method, {}).get("label0", {}).get("global_shap_values")
            if isinstance(values, dict):
                numbers = {name: _number(value) for name, value in values.items()}
                return method, {k: v for k, v in numbers.items() if v is not None}
    return None


def read_bias(paths: list[Path]) -> dict[str, Any] | None:
    """{"facet": name, "pre_training": {metric: value}, "post_training": {...}} from bias.json
    (that structure already) or Clarify's analysis.json (pre_training_bias_metrics and
    post_training_bias_metrics: facets, each a list of values with their metrics)."""
    found: dict[str, Any] = {}
    for file in [file for path in paths for file in _json_files(path)]:
        report = _json(file)
        for stage in BIAS_STAGES:
            if isinstance(report.get(stage), dict):
                found.setdefault("facet", report.get("facet"))
                found[stage] = {
                    name: value
                    for name, value in ((k, _number(v)) for k, v in report[stage].items())
                    if value is not None
                }
            clarify = report.get(f"{stage}_bias_metrics", {}).get("facets", {})
            for facet, groups in clarify.items():
                found.setdefault("facet", facet)
                for group in groups:
                    for metric in group.get("metrics", []):
                        value = _number(metric.get("value"))
                        if value is not None:
                            found.setdefault(stage, {})[metric["name"]] = value
    return found if any(stage in found for stage in BIAS_STAGES) else None


def _metric_group(name: str, values: dict[str, float], notes: str = "") -> dict[str, Any]:
    data = [{"name": _text(k, 255), "type": "number", "value": v} for k, v in values.items()]
    if notes:
        for entry in data:
            entry["notes"] = _text(notes)
    return {"name": _text(name, MAX_GROUP_NAME), "metric_data": data}


def build_content(
    facts: dict[str, Any],
    evaluation: dict[str, Any],
    manifest: dict[str, Any],
    lineage: dict[str, str],
    shap: tuple[str, dict[str, float]] | None = None,
    bias: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The card's content in the model package model card schema (model_overview holds only
    model_creator and model_artifact there; model_package_details is the package itself)."""
    data = [url for url in (lineage.get("input_data_url"),) if url][:MAX_DATASETS]
    custom = {
        "git_commit": facts["git_commit"],
        "data_sha256": manifest["sha256"],
        **{key: value for key, value in lineage.items() if value},
    }
    if shap:
        custom["shap_method"] = shap[0]
    if bias and bias.get("facet"):
        custom["bias_facet"] = str(bias["facet"])
    return {
        "model_overview": {
            "model_creator": _text(facts["owner"]),
            "model_artifact": [lineage["model_artifact"]] if lineage.get("model_artifact") else [],
        },
        "intended_uses": {
            "purpose_of_model": _text(facts["description"], MAX_LONG_TEXT),
            "intended_uses": _text(facts["description"], MAX_LONG_TEXT),
            "factors_affecting_model_efficiency": _text(
                f"Rows must meet the data contract the model was trained under (schema "
                f"{facts['dataset']}); preprocess refuses data that does not.",
                MAX_LONG_TEXT,
            ),
            "risk_rating": "Unknown",
            "explanations_for_risk_rating": "Not assessed by the pipeline: set it on review.",
        },
        "business_details": {
            "business_problem": _text(facts["description"], MAX_LONG_TEXT),
            "business_stakeholders": _text(facts["owner"], MAX_LONG_TEXT),
            "line_of_business": _text(facts["project_name"], MAX_LONG_TEXT),
        },
        "training_details": _training_details(facts, manifest, lineage, data),
        "evaluation_details": [
            _evaluation_detail(facts, evaluation, manifest, lineage, data, shap, bias)
        ],
        "additional_information": {
            "caveats_and_recommendations": _text(
                "Built from the run's own outputs; review the intended uses and the risk "
                "rating before approving the model package.",
                MAX_LONG_TEXT,
            ),
            "custom_details": {key: _text(value, 255) for key, value in custom.items()},
        },
    }


def _training_details(
    facts: dict[str, Any], manifest: dict[str, Any], lineage: dict[str, str], data: list[str]
) -> dict[str, Any]:
    """The card's training_details: the gate's objective, the training job and its data."""
    gate = facts["quality_gate"]
    training_job: dict[str, Any] = {
        "training_datasets": data,
        "hyper_parameters": [
            {"name": _text(name, 255), "value": _text(value, 255)}
            for name, value in sorted(facts["hyperparameters"].items())
        ],
    }
    if lineage.get("training_job_arn"):
        training_job["training_arn"] = lineage["training_job_arn"]
    if lineage.get("steps_image"):
        training_job["training_environment"] = {"container_image": [lineage["steps_image"]]}
    return {
        "objective_function": {
            "function": "Maximize" if gate["higher_is_better"] else "Minimize",
            "facet": _text(gate["metric"], 63),
            "condition": _text(f"at least {gate['threshold']} on the test split", 63),
        },
        "training_observations": _text(
            f"XGBoost, {facts['problem_type']}, trained on the train split of data "
            f"{manifest['sha256']}, early stopping on the validation split."
        ),
        "training_job_details": training_job,
    }


def _evaluation_detail(
    facts: dict[str, Any],
    evaluation: dict[str, Any],
    manifest: dict[str, Any],
    lineage: dict[str, str],
    data: list[str],
    shap: tuple[str, dict[str, float]] | None,
    bias: dict[str, Any] | None,
) -> dict[str, Any]:
    """The card's evaluation on the test split: the gate's verdict and the metric groups (the
    model's, the champion's, SHAP's top features, bias)."""
    gate = facts["quality_gate"]
    section = gate["json_path"].split(".")[0]
    metrics = scalar_metrics(evaluation[section])
    champion = evaluation.get("champion", {})
    groups = [_metric_group(section, metrics, "on the held-out test split")]
    champion_metrics = scalar_metrics(champion.get(section, {}))
    if champion_metrics:
        groups.append(_metric_group("champion", champion_metrics, _text(champion.get("strategy"))))
    if shap:
        method, values = shap
        top = dict(sorted(values.items(), key=lambda item: -abs(item[1]))[:TOP_FEATURES])
        groups.append(_metric_group(f"mean_abs_shap ({method})", top))
    for stage in BIAS_STAGES:
        if bias and bias.get(stage):
            groups.append(_metric_group(f"bias {stage} (facet {bias.get('facet')})", bias[stage]))
    headline = metrics.get(gate["metric"])
    required = _number(champion.get("required"))
    observation = (
        f"{gate['metric']} {headline} on the test split; the quality gate asks for at least "
        f"{gate['threshold']} and the champion's {gate['metric']} plus {gate['champion_margin']}"
        + (f" ({required})" if required is not None else "")
    )
    detail: dict[str, Any] = {
        "name": "test split",
        "evaluation_observation": _text(observation, 2096),
        "datasets": data,
        "metadata": {"data_sha256": manifest["sha256"], "problem_type": facts["problem_type"]},
        "metric_groups": groups,
    }
    if lineage.get("execution_arn"):
        detail["metadata"]["pipeline_execution_arn"] = lineage["execution_arn"]
    return detail


def render_markdown(content: dict[str, Any], title: str) -> str:
    """The card for people: the same content, section by section."""
    uses, training = content["intended_uses"], content["training_details"]
    evaluation = content["evaluation_details"][0]
    details = content["additional_information"]["custom_details"]
    lines = [
        f"# Model card: {title}",
        "",
        f"Owner: {content['model_overview']['model_creator']}",
        *(f"Model artifact: `{url}`" for url in content["model_overview"]["model_artifact"]),
        "",
        "## Intended use",
        "",
        uses["intended_uses"],
        "",
        f"{uses['factors_affecting_model_efficiency']} Risk rating: {uses['risk_rating']}.",
        "",
        "## Training",
        "",
        training["training_observations"],
        "",
        "| Hyperparameter | Value |",
        "|---|---|",
        *(
            f"| {item['name']} | {item['value']} |"
            for item in training["training_job_details"]["hyper_parameters"]
        ),
        "",
        f"## Evaluation ({evaluation['name']})",
        "",
        evaluation["evaluation_observation"],
    ]
    for group in evaluation["metric_groups"]:
        lines += ["", f"### {group['name']}", ""]
        notes = {m.get("notes") for m in group["metric_data"]} - {None}
        lines += [f"{note}." for note in sorted(notes)] + [""] if notes else []
        lines += ["| Metric | Value |", "|---|---|"]
        lines += [f"| {m['name']} | {m['value']:.6g} |" for m in group["metric_data"]]
    lines += ["", "## Lineage", "", "| What | Value |", "|---|---|"]
    lines += [f"| {key} | `{value}` |" for key, value in details.items()]
    lines += ["", content["additional_information"]["caveats_and_recommendations"], ""]
    return "\n".join(lines)


def write_card(args: argparse.Namespace) -> dict[str, Any]:
    """Read the inputs, write the three files; the content."""
    facts = _json(_file(args.facts, FACTS_FILE))
    evaluation = _json(_file(args.evaluation, EVALUATION_FILE))
    manifest = _json(_file(args.manifest, MANIFEST_FILE))
    lineage = {
        "execution_arn": args.execution_arn,
        "training_job_arn": args.training_job_arn,
        "model_artifact": args.model_artifact,
        "steps_image": args.steps_image,
        "serve_image": args.serve_image,
        "input_data_url": args.input_data_url,
    }
    content = build_content(
        facts,
        evaluation,
        manifest,
        {key: value for key, value in lineage.items() if value},
        read_shap(args.explainability),
        read_bias(args.bias),
    )
    text = json.dumps(content, sort_keys=True)
    if len(text) > MAX_CONTENT:
        raise CardError(f"the card has {len(text)} characters, more than SageMaker's {MAX_CONTENT}")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / CARD_FILE).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    markdown = render_markdown(content, facts["project_name"])
    markdown_file = args.markdown or args.output_dir / MARKDOWN_FILE
    markdown_file.parent.mkdir(parents=True, exist_ok=True)
    markdown_file.write_text(markdown, encoding="utf-8")
    register = json.dumps({"ModelCardContent": text})
    (args.output_dir / REGISTER_FILE).write_text(register + "\n", encoding="utf-8")
    return content


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--facts", type=Path, required=True, help="lineage.model_facts as JSON, or its folder"
    )
    parser.add_argument("--evaluation", type=Path, required=True, help="evaluation.json or folder")
    parser.add_argument("--manifest", type=Path, required=True, help="the data manifest or folder")
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--markdown", type=Path, help=f"default: <output-dir>/{MARKDOWN_FILE}")
    parser.add_argument("--explainability", type=Path, help="the SHAP report or its folder")
    parser.add_argument(
        "--bias", type=Path, action="append", default=[], help="a bias report or folder"
    )
    for name in (
        "execution-arn",
        "training-job-arn",
        "model-artifact",
        "steps-image",
        "serve-image",
        "input-data-url",
    ):
        parser.add_argument(f"--{name}", default="")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        content = write_card(args)
    except (CardError, KeyError) as error:
        print(f"model_card: cannot build the card: {error}", file=sys.stderr)
        return 1
    groups = content["evaluation_details"][0]["metric_groups"]
    markdown = args.markdown or args.output_dir / MARKDOWN_FILE
    print(f"model_card: {len(groups)} metric groups -> {markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
