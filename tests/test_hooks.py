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
    "mlops_size": "small",
    "problem_type": "binary_classification",
} | {feature.name: variants.NO for feature in variants.FEATURES}

# answer overrides -> the start of the one line the user sees
BAD_ANSWERS = {
    "slug-uppercase": ({"project_slug": "Churn"}, "project_slug='Churn': use lowercase letters"),
    "slug-double-hyphen": ({"project_slug": "churn--model"}, "project_slug='churn--model'"),
    "slug-leading-digit": ({"project_slug": "1churn"}, "project_slug='1churn'"),
    "slug-trailing-hyphen": ({"project_slug": "churn-"}, "project_slug='churn-'"),
    "slug-too-long": ({"project_slug": "a" * 33}, "at most 32 characters"),
    "package-hyphen": ({"package_name": "churn-model"}, "package_name='churn-model': must be"),
    "package-keyword": ({"package_name": "class"}, "package_name='class': must be a Python"),
    "package-stdlib": ({"package_name": "json"}, "package_name='json': would shadow"),
    "package-dependency": ({"package_name": "sagemaker"}, "package_name='sagemaker': would"),
    "email-no-at": ({"author_email": "team.example.com"}, "author_email='team.example.com'"),
    "email-no-domain": ({"author_email": "team@localhost"}, "is not an e-mail address"),
    "region-unknown": ({"aws_region": "eu-west-9"}, "aws_region='eu-west-9': is not an AWS"),
    "region-gov": ({"aws_region": "us-gov-west-1"}, "commercial region"),
    "region-no-xgboost": ({"aws_region": "mx-central-1"}, "has no SageMaker built-in XGBoost"),
    "account-short": ({"aws_account_id": "12345"}, "aws_account_id='12345': must be exactly"),
    "account-letters": ({"aws_account_id": "12345678901a"}, "must be exactly 12 digits"),
    "size-unknown": ({"mlops_size": "huge"}, "mlops_size='huge': must be one of small"),
    "problem-unknown": ({"problem_type": "clustering"}, "problem_type='clustering'"),
    "feature-not-yes-no": ({"data_quality_baseline": "maybe"}, "must be yes or no"),
    "name-empty": ({"project_name": "  "}, "project_name='  ': must be one non-empty line"),
    "description-multiline": ({"description": "a\nb"}, "must be one non-empty line"),
}


@pytest.mark.parametrize("overrides, message", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_validate_names_the_answer_and_a_fix(overrides: dict, message: str) -> None:
    with pytest.raises(pre_gen.InvalidAnswer) as error:
        pre_gen.validate(GOOD | overrides)
    line = str(error.value)
    assert line.startswith(next(iter(overrides))), line
    assert message in line
    assert "for example" in line
    assert "\n" not in line


def test_good_answers_pass() -> None:
    pre_gen.validate(GOOD)


@pytest.mark.parametrize("overrides, message", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_bad_answer_refused_at_bake_leaves_nothing(
    cookies, capfd, tmp_path: Path, overrides: dict, message: str
) -> None:
    result = cookies.bake(extra_context=GOOD | overrides)
    assert result.exit_code != 0
    [(option, value)] = overrides.items()
    if isinstance(COOKIECUTTER_JSON[option], list):
        # cookiecutter itself refuses a value outside a choice list, before the hook runs.
        assert f"{value} provided for choice variable {option}" in str(result.exception)
    else:
        assert message in capfd.readouterr().err
    # pytest-cookies bakes into <tmp_path>/cookies/bake00; nothing may be left in it.
    assert list((tmp_path / "cookies").rglob("*")) in ([], [tmp_path / "cookies" / "bake00"])


def test_derived_slug_from_an_unusual_name_is_valid() -> None:
    """The default slug comes from cookiecutter's slugify, so odd names still bake."""
    assert COOKIECUTTER_JSON["project_slug"] == "{{ cookiecutter.project_name | slugify }}"


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
