"""The template's own package (mlops_template) as plain Python, and the hooks as thin shims."""

from __future__ import annotations

import datetime
import importlib.util
import json
import re
from pathlib import Path

import botocore.session
import pytest
from conftest import COOKIECUTTER_JSON, TEMPLATE_DIR
from cookiecutter.environment import StrictEnvironment

from mlops_template import extension, post_gen, rules, variants
from mlops_template.checks import aws, names, schedule


def load_hook(name: str):
    spec = importlib.util.spec_from_file_location(name, TEMPLATE_DIR / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    "data_lake_account_id": "123456789012",
    "operations_account_id": "123456789012",
    "artifact_account_id": "123456789012",
    "artifact_retention_days": "365",
} | {feature.name: variants.NO for feature in variants.FEATURES}


def test_good_answers_pass() -> None:
    rules.validate(GOOD)


def test_every_prompt_has_a_rule() -> None:
    prompts = [key for key in COOKIECUTTER_JSON if not key.startswith("_")]
    assert list(rules.RULES) == prompts


def test_a_refusal_is_one_line_with_an_example() -> None:
    with pytest.raises(rules.InvalidAnswer) as error:
        rules.validate(GOOD | {"aws_region": "mars-1"})
    assert str(error.value) == (
        "ERROR: aws_region='mars-1': is not an AWS commercial region code; "
        "for example aws_region=eu-west-1"
    )
    assert error.value.answer == "aws_region"


def test_a_refusal_is_shown_alone_on_standard_error(capsys) -> None:
    """click shows it (cookiecutter's command lets a ClickException through): no "Error: "."""
    with pytest.raises(rules.InvalidAnswer) as error:
        rules.validate(GOOD | {"aws_region": "mars-1"})
    error.value.show()
    assert capsys.readouterr() == ("", str(error.value) + "\n")
    assert error.value.exit_code == 1


def test_the_data_lake_needs_an_account_no_other_role_has() -> None:
    lake = GOOD | {"data_lake_account": "yes", "data_lake_account_id": "444455556666"}
    rules.validate(lake)
    others = {"aws_account_id": "123456789012", "prod_account_id": "210987654321"}
    for answer, account in others.items():
        refused = lake | {"deployment_accounts": "yes", "staging_stage": "yes"}
        refused |= {"staging_account_id": "111122223333", "prod_account_id": "210987654321"}
        with pytest.raises(rules.InvalidAnswer, match=f"is also {answer};"):
            rules.validate(refused | {"data_lake_account_id": account})
    with pytest.raises(rules.InvalidAnswer, match="but data_lake_account=no keeps that role"):
        rules.validate(GOOD | {"data_lake_account_id": "444455556666"})


def test_a_refused_default_names_the_answer_it_was_made_from() -> None:
    """project_name=!!! makes the slug '': the refusal names project_name, as typed."""
    answers = GOOD | {"project_name": "!!!", "project_slug": "", "package_name": ""}
    defaults = {"project_slug": "", "package_name": ""}
    with pytest.raises(rules.InvalidAnswer) as error:
        rules.check_answers(answers, {"project_name": "!!!"}, defaults)
    assert str(error.value).startswith(
        "ERROR: project_name='!!!': the default it makes, project_slug='', is refused: use "
    )
    assert str(error.value).endswith("; for example project_slug=customer-churn")
    # Two steps: the name makes the slug, which makes the package.
    answers = GOOD | {"project_name": "class", "project_slug": "class", "package_name": "class"}
    defaults = {"project_slug": "class", "package_name": "class"}
    with pytest.raises(rules.InvalidAnswer, match=r"^ERROR: project_name='class': the default"):
        rules.check_answers(answers, {"project_name": "class"}, defaults)
    # A slug given (one that differs from its default) is the answer named.
    with pytest.raises(rules.InvalidAnswer, match=r"^ERROR: project_slug='class': the default"):
        rules.check_answers(answers, {"project_name": "class"}, defaults | {"project_slug": "x"})


def test_regions_follow_the_images_the_pipeline_runs() -> None:
    # The explanation runs in the project's own image: no feature narrows the regions (these
    # had no Clarify image, which the explanation once needed).
    for region in ("il-central-1", "ca-west-1", "eu-south-2"):
        rules.validate(GOOD | {"aws_region": region, "explainability_report": "yes"})
    for region in aws.COMMERCIAL_REGIONS - aws.REGIONS:
        with pytest.raises(rules.InvalidAnswer, match="has no SageMaker xgboost image"):
            rules.validate(GOOD | {"aws_region": region})


@pytest.mark.parametrize(
    "email, refused",
    [
        ("team@example.com", False),
        ("first.last+tag@sub.example.co", False),
        ("a..b@example.com", True),
        (".a@example.com", True),
        ("a.@example.com", True),
        ("a@b..com", True),
    ],
)
def test_email_is_what_the_build_backend_accepts(email: str, refused: bool) -> None:
    """hatchling writes the author as str(Address(display_name=name, addr_spec=email)) and fails
    the build when that raises; the rule calls the same."""
    from email.headerregistry import Address

    try:
        str(Address(display_name=GOOD["author_name"], addr_spec=email))
        backend_refuses = False
    except Exception:
        backend_refuses = True
    assert backend_refuses == refused
    if refused:
        with pytest.raises(rules.InvalidAnswer, match="author_email="):
            rules.validate(GOOD | {"author_email": email})
    else:
        rules.validate(GOOD | {"author_email": email})


def test_reserved_bucket_names_are_refused_at_either_end(monkeypatch) -> None:
    for slug in ("sthree-churn", "amzn-s3-demo-churn"):
        with pytest.raises(rules.InvalidAnswer, match="which S3 reserves"):
            rules.validate(GOOD | {"project_slug": slug})
    rules.validate(GOOD | {"project_slug": "churn-s3alias"})  # the bucket ends in the region
    # A bucket name that ended in the slug would take its suffix.
    bucket = (("S3 bucket (data)", "{account}-{slug}", 63),)
    monkeypatch.setattr(aws, "AWS_NAMES", bucket)
    with pytest.raises(rules.InvalidAnswer, match="take '-s3alias', which S3 reserves"):
        rules.validate(GOOD | {"project_slug": "churn-s3alias"})


def test_a_long_value_is_shortened_in_the_line() -> None:
    with pytest.raises(rules.InvalidAnswer) as error:
        rules.validate(GOOD | {"project_slug": "a" * 500})
    assert len(str(error.value)) < 250


def test_slug_limit_follows_the_region() -> None:
    for region in ("eu-west-1", "ap-southeast-4"):
        longest = 63 - len(f"-123456789012-{region}")
        rules.validate(GOOD | {"aws_region": region, "project_slug": "s" * longest})
        with pytest.raises(rules.InvalidAnswer, match="S3 bucket"):
            rules.validate(GOOD | {"aws_region": region, "project_slug": "s" * (longest + 1)})
    assert 63 - len("-123456789012-ap-southeast-4") == aws.DEFAULT_SLUG_MAX


def test_default_slug_is_cut_to_the_limit() -> None:
    assert COOKIECUTTER_JSON["project_slug"] == (
        "{{ cookiecutter.project_name | slugify(max_length=slug_max_length, word_boundary=True) }}"
    )


def test_test_modules_come_from_the_project_template() -> None:
    expected = {"conftest", "test_train", "test_pipeline_cli", "pipeline_support", "tests"}
    assert expected <= names.TEST_MODULES


def test_locked_distributions_come_from_the_generated_lock() -> None:
    assert {"sagemaker", "scikit-learn", "scipy", "pandas"} <= names.LOCKED_DISTRIBUTIONS


def test_commercial_regions_match_botocore() -> None:
    session = botocore.session.get_session()
    assert set(session.get_available_regions("ec2", partition_name="aws")) == (
        aws.COMMERCIAL_REGIONS
    )


def test_post_gen_removes_unused_files_and_is_idempotent(tmp_path: Path) -> None:
    context = GOOD | {"problem_type": "regression"}
    for relative in variants.paths_to_remove(context) + variants.paths_to_keep(context):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    removed = post_gen.remove_unused(tmp_path, context)
    assert removed == variants.paths_to_remove(context)
    assert "data/sample/breast_cancer.csv" in removed
    assert "src/churn/steps/reference.py" in removed
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
        module = load_hook(hook)  # importable: its work waits for __main__
        assert json.loads(module.CONTEXT_JSON.replace("{{ cookiecutter | tojson }}", "{}")) == {}


# The Jinja extension: what cookiecutter renders through it.


def template_environment(**context) -> StrictEnvironment:
    """A Jinja environment as cookiecutter creates one, with the template's extension."""
    cookiecutter = {"_extensions": COOKIECUTTER_JSON["_extensions"], **context}
    return StrictEnvironment(context={"cookiecutter": cookiecutter}, keep_trailing_newline=True)


HOSTILE = [
    "{{ 7 * 7 }}",
    "{% raw %}x{% endraw %} {%- endraw -%} {# c #}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "quotes \" ' \\ \\n \\U0001f680 }}",
    "line\nbreak\r\n\ttab \x00 \udcff 🚀 é {{ x }}",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_supplied_string_is_rendered_as_data(text: str) -> None:
    assert extension.as_data(text) != text
    assert template_environment().from_string(text).render(cookiecutter={}) == text


def test_the_templates_own_jinja_is_rendered() -> None:
    env = template_environment()
    slug = env.from_string(COOKIECUTTER_JSON["project_slug"])
    assert slug.render(cookiecutter={"project_name": "Churn Model"}) == "churn-model"
    size = env.from_string(COOKIECUTTER_JSON["data_quality_baseline"])
    assert size.render(cookiecutter={"mlops_size": "medium"}) == variants.YES
    path = "src/{{cookiecutter.package_name}}/steps"
    for source in (path, f"/tmp/out/churn/./{path}"):
        assert extension.is_own_source(source)
        assert (
            env.from_string(source)
            .render(cookiecutter={"package_name": "churn"})
            .endswith("src/churn/steps")
        )
    # The output folder is not the template's: Jinja there stays data.
    assert not extension.is_own_source(f"/tmp/{{{{ 7 }}}}/churn/./{path}")


def test_feature_defaults_refuse_an_unknown_size() -> None:
    env = template_environment()
    default = env.from_string(COOKIECUTTER_JSON["staging_stage"])
    with pytest.raises(rules.InvalidAnswer, match="mlops_size='xl': must be one of small"):
        default.render(cookiecutter={"mlops_size": "xl"})


def render_folder(answers: dict, raw: dict | None = None) -> str:
    env = template_environment()
    context = {"cookiecutter": answers} | ({"_cookiecutter": raw} if raw is not None else {})
    return env.from_string(extension.PROJECT_FOLDER).render(**context)


def test_the_project_folder_is_named_once_every_answer_passes(tmp_path: Path) -> None:
    assert render_folder(GOOD | {"_output_dir": str(tmp_path)}) == "churn"
    with pytest.raises(rules.InvalidAnswer, match="aws_region='mars-1'"):
        render_folder(GOOD | {"aws_region": "mars-1"})
    # What a config file gave before cookiecutter rendered it: a number is not text.
    with pytest.raises(rules.InvalidAnswer, match="aws_account_id=123456789012: must be text"):
        render_folder(GOOD, raw=GOOD | {"aws_account_id": 123456789012})
    # An existing project whose package has another name.
    (tmp_path / "churn" / "src" / "old").mkdir(parents=True)
    (tmp_path / "churn" / "src" / "old" / "__init__.py").write_text("")
    with pytest.raises(rules.InvalidAnswer, match="already holds src/old"):
        render_folder(GOOD | {"_output_dir": str(tmp_path)})


def test_an_answer_that_reads_like_the_folder_stays_data() -> None:
    """During the prompts only the answers before it are known: not the folder, an answer."""
    assert render_folder({"project_name": "Churn"}) == extension.PROJECT_FOLDER


def test_the_slug_default_refuses_a_name_that_is_not_text() -> None:
    """cookiecutter renders neither None nor True: the slug's default gets them as they are."""
    env = template_environment(project_name=None)  # cookiecutter leaves None unrendered
    slug = env.from_string(COOKIECUTTER_JSON["project_slug"])
    assert slug.render(cookiecutter={"project_name": "Modèle  Churn!"}) == "modele-churn"
    for value, problem in ((None, "is blank"), (True, "must be text")):
        with pytest.raises(
            rules.InvalidAnswer, match=re.escape(f"project_name={value!r}: {problem}")
        ):
            slug.render(cookiecutter={"project_name": value})


@pytest.mark.parametrize(
    "expression, problem",
    [
        ("none", None),
        ("rate(1 day)", None),
        ("rate(5 minutes)", "retrains more often than once an hour"),
        ("cron(15 8-17/3 ? * MON-FRI *)", None),
        ("cron(0 12 L * ? 2030)", None),
        ("cron(0 3 29 2 ? *)", None),
        ("cron(0 3 ? * FRI-MON *)", None),
        ("cron(0 3 15W * ? *)", None),
        ("cron(0 3 LW * ? *)", None),
        ("cron(0 3 ? 2 MON#5 *)", None),
        ("rate(60 minutes)", None),
        ("rate(59 minutes)", "retrains more often than once an hour; use rate(1 hour) or longer"),
        ("cron(0/15 8-17 ? * MON-FRI *)", "cron() field minutes '0/15' retrains more often"),
        ("cron(0,30 3 ? * MON *)", "cron() field minutes '0,30' retrains more often"),
        ("cron(0 3 30 2 ? *)", "cron() never fires: no day from today (2026-12-03, UTC) on"),
        ("cron(0 3 31 4,6,9,11 ? *)", "cron() never fires"),
        ("cron(0 3 29 2 ? 2027)", "cron() never fires"),
        ("cron(0 3 ? 2 MON#5 2027-2028)", "cron() never fires"),
        ("cron(0 3 ? * MON 2020-2025)", "cron() never fires"),
        ("cron(0 3 1 1 ? 2026)", "cron() never fires"),
        ("cron(0 3 W * ? *)", "cron() field day-of-month 'W' is not valid"),
        ("rate(1 days)", "must be an EventBridge rate(...) or cron(...) expression, or none"),
        ("cron(0 3 * * *)", "cron() needs 6 fields: minutes hours day-of-month month"),
        ("cron(60 3 ? * MON *)", "cron() field minutes '60' is not valid"),
        ("cron(0 3 ? * MON,FUN *)", "cron() field day-of-week 'MON,FUN' is not valid"),
        ("cron(0 3 1 * MON *)", "cron() needs ? in exactly one of day-of-month and day-of-week"),
    ],
)
def test_schedule_expressions(expression: str, problem: str | None) -> None:
    found = schedule.schedule_problem(expression, today=datetime.date(2026, 12, 3))
    assert found == problem if problem is None else found.startswith(problem)
