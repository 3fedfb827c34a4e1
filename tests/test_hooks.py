"""The hooks as plain Python, and bad answers refused at bake time with nothing left behind."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import botocore.session
import pytest
from conftest import COOKIECUTTER_JSON, TEMPLATE_DIR

import variants


def load_hook(name: str):
    spec = importlib.util.spec_from_file_location(name, TEMPLATE_DIR / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")

GOOD = {
    "project_name": "Churn",
    "project_slug": "churn",
    "package_name": "churn",
    "description": "Predicts churn.",
    "author_name": "Team",
    "author_email": "team@example.com",
    "aws_region": "eu-west-1",
    "aws_account_id": "123456789012",
    "ci_system": "codepipeline",
    "retrain_schedule": "cron(0 3 ? * MON *)",
    "mlops_size": "small",
    "problem_type": "binary_classification",
    "endpoint_type": "realtime",
    "rollout": "canary",
    "monthly_budget_usd": "500",
    "staging_account_id": "123456789012",
    "prod_account_id": "123456789012",
} | {feature.name: variants.NO for feature in variants.FEATURES}


def test_good_answers_pass() -> None:
    pre_gen.validate(GOOD)


def test_every_prompt_has_a_rule() -> None:
    prompts = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]
    assert list(pre_gen.RULES) == prompts


def test_a_refusal_is_one_line_with_an_example() -> None:
    with pytest.raises(pre_gen.InvalidAnswer) as error:
        pre_gen.validate(GOOD | {"aws_region": "mars-1"})
    assert str(error.value) == (
        "ERROR: aws_region='mars-1': is not an AWS commercial region code; "
        "for example aws_region=eu-west-1"
    )
    assert error.value.answer == "aws_region"


def test_a_long_value_is_shortened_in_the_line() -> None:
    with pytest.raises(pre_gen.InvalidAnswer) as error:
        pre_gen.validate(GOOD | {"project_slug": "a" * 500})
    assert len(str(error.value)) < 250


def test_slug_limit_follows_the_region() -> None:
    for region in ("eu-west-1", "ap-southeast-4"):
        longest = 63 - len(f"-123456789012-{region}")
        pre_gen.validate(GOOD | {"aws_region": region, "project_slug": "s" * longest})
        with pytest.raises(pre_gen.InvalidAnswer, match="S3 bucket"):
            pre_gen.validate(GOOD | {"aws_region": region, "project_slug": "s" * (longest + 1)})
    assert 63 - len("-123456789012-ap-southeast-4") == pre_gen.DEFAULT_SLUG_MAX


def test_default_slug_is_cut_to_the_limit() -> None:
    assert COOKIECUTTER_JSON["project_slug"] == (
        "{{ cookiecutter.project_name | slugify(max_length=slug_max_length, word_boundary=True) }}"
    )


def test_test_modules_come_from_the_project_template() -> None:
    expected = {"conftest", "test_train", "test_pipeline_cli", "pipeline_support", "tests"}
    assert expected <= pre_gen.TEST_MODULES


def test_locked_distributions_come_from_the_generated_lock() -> None:
    assert {"sagemaker", "scikit-learn", "scipy", "pandas"} <= pre_gen.LOCKED_DISTRIBUTIONS


def test_commercial_regions_match_botocore() -> None:
    session = botocore.session.get_session()
    assert set(session.get_available_regions("ec2", partition_name="aws")) == (
        pre_gen.COMMERCIAL_REGIONS
    )


def test_post_gen_removes_unused_files_and_is_idempotent(tmp_path: Path) -> None:
    context = GOOD | {"problem_type": "regression"}
    for relative in variants.paths_to_remove(context) + variants.paths_to_keep(context):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    removed = post_gen.remove_unused(tmp_path, context)
    assert removed == variants.paths_to_remove(context)
    assert "data/sample/breast_cancer.csv" in removed
    assert "src/churn/steps/baseline.py" in removed
    for kept in variants.paths_to_keep(context):
        assert (tmp_path / kept).exists()
    assert post_gen.remove_unused(tmp_path, context) == []


def test_next_steps_name_the_project_and_its_features() -> None:
    text = post_gen.next_steps(GOOD)
    assert text.splitlines()[0] == (
        "Generated churn (small, binary_classification, no optional features). Next:"
    )
    assert text.splitlines()[1] == "  cd churn"
    assert "make local-run" in text
    with_features = post_gen.next_steps(GOOD | {f.name: variants.YES for f in variants.FEATURES})
    every_feature = ", ".join(sorted(f.name for f in variants.FEATURES))
    assert f"(small, binary_classification, {every_feature}). Next:" in with_features


def test_hooks_render_answers_as_data() -> None:
    """The context reaches the hooks as a JSON string literal, so no answer can break out of it."""
    for hook in ("pre_gen_project", "post_gen_project"):
        source = (TEMPLATE_DIR / "hooks" / f"{hook}.py").read_text()
        assert 'CONTEXT_JSON = r"""{{ cookiecutter | tojson }}"""' in source
    assert json.loads(pre_gen.CONTEXT_JSON.replace("{{ cookiecutter | tojson }}", "{}")) == {}
