"""Answers through the three routes of the real `cookiecutter` command: command line, config file,
replay file. Each bad answer is refused in one line, exit status 1, nothing left on disk; each
accepted answer bakes a project that passes its own checks.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import LONGEST_ANSWERS, TEMPLATE_DIR, BakedProject, run_in_project, uv
from cookiecutter.main import cookiecutter
from test_hooks import GOOD

from mlops_template import extension, rules
from mlops_template.checks import aws, names

FULLWIDTH_ACCOUNT = "".join(chr(0xFF10 + int(digit)) for digit in "123456789012")
FULLWIDTH_ABC = "\uff21\uff22\uff23"

# (route, answers, the start of the problem after "ERROR: <answer>=<value>: ").
# cli: key=value arguments; config: the default_context of a YAML config file, as YAML text;
# replay: answers that replace GOOD's in a replay file (JSON).
BAD_ANSWERS: dict[str, tuple[str, object, str]] = {
    # The command line
    "cli-size-unknown": ("cli", ["mlops_size=xl"], "must be one of small, medium, large"),
    "cli-problem-unknown": ("cli", ["problem_type=clustering"], "must be one of binary_class"),
    "cli-feature-maybe": ("cli", ["data_quality_baseline=maybe"], "must be one of yes, no"),
    "cli-jinja-expression": ("cli", ["project_name={{ cookiecutter.__class__ }}"], "contains temp"),
    "cli-jinja-statement": ("cli", ["description={% if 1 %}x{% endif %}"], "contains template"),
    "cli-jinja-comment": ("cli", ["author_name=Team {# note #}"], "contains template syntax"),
    "cli-slug-uppercase": ("cli", ["project_slug=Churn"], "use lowercase ASCII letters"),
    "cli-slug-double-hyphen": ("cli", ["project_slug=churn--model"], "use lowercase ASCII"),
    "cli-slug-leading-digit": ("cli", ["project_slug=1churn"], "use lowercase ASCII letters"),
    "cli-slug-500": ("cli", ["project_slug=" + "a" * 500], "makes the S3 bucket name"),
    "cli-slug-bucket-64": ("cli", ["project_slug=" + "a" * 41], "makes the S3 bucket name"),
    "cli-slug-bucket-longest-region": (
        "cli",
        ["project_slug=" + "a" * 36, "aws_region=ap-southeast-4"],
        "makes the S3 bucket name <slug>-<account>-ap-southeast-4 64 characters, over AWS's 63",
    ),
    "cli-slug-dependency": ("cli", ["project_slug=scikit-learn"], "is the name of a dependency"),
    "cli-package-indirect": ("cli", ["package_name=joblib"], "would shadow a module"),
    "cli-package-yaml": ("cli", ["package_name=yaml"], "would shadow a module"),
    "cli-package-scipy": (
        "cli",
        ["project_name=SciPy"],
        "the default it makes, project_slug='scipy', is refused: is the name of a dependency",
    ),
    # A default made from a typed answer is refused as that answer's doing.
    "cli-name-no-letters": (
        "cli",
        ["project_name=!!!"],
        "the default it makes, project_slug='', is refused: use lowercase ASCII letters",
    ),
    "cli-name-keyword": (
        "cli",
        ["project_name=Class"],
        "the default it makes, package_name='class', is refused: is a Python keyword",
    ),
    "cli-package-conftest": ("cli", ["package_name=conftest"], "would shadow one of the project"),
    "cli-package-test-module": ("cli", ["package_name=test_train"], "would shadow one of the"),
    "cli-package-stdlib": ("cli", ["package_name=json"], "would shadow the standard-library"),
    "cli-package-keyword": ("cli", ["package_name=class"], "is a Python keyword"),
    "cli-package-hyphen": ("cli", ["package_name=churn-model"], "must be lowercase ASCII"),
    "cli-package-long": ("cli", ["package_name=" + "p" * 37], "is 37 characters, over the 36"),
    "cli-email-newline": ("cli", ["author_email=team@example.com\n"], "is not an e-mail"),
    "cli-email-no-domain": ("cli", ["author_email=team@localhost"], "is not an e-mail address"),
    "cli-email-double-dot": (
        "cli",
        ["author_email=a..b@example.com"],
        "is refused by the project's build backend, hatchling (local-part is not dot-atom",
    ),
    "cli-email-trailing-dot": ("cli", ["author_email=team.@example.com"], "is refused by the"),
    "cli-slug-reserved-prefix": (
        "cli",
        ["project_slug=sthree-churn"],
        "makes the S3 bucket name <slug>-<account>-eu-west-1 take 'sthree-', which S3 reserves",
    ),
    "cli-name-reserved-prefix": (
        "cli",
        ["project_name=Amzn S3 Demo Churn"],
        "the default it makes, project_slug='amzn-s3-demo-churn', is refused: makes the S3 bucket",
    ),
    "cli-email-not-a-tag-value": (
        "cli",
        ["author_email=o'brien@example.com"],
        'has "\'", which AWS refuses in a tag value (the owner tag)',
    ),
    "cli-region-unknown": ("cli", ["aws_region=mars-1"], "is not an AWS commercial region"),
    "cli-region-gov": ("cli", ["aws_region=us-gov-west-1"], "is not an AWS commercial region"),
    "cli-region-no-xgboost": ("cli", ["aws_region=mx-central-1"], "has no SageMaker xgboost"),
    "cli-account-arabic-digits": ("cli", ["aws_account_id=١٢٣٤٥٦٧٨٩٠١٢"], "must be exactly 12"),
    "cli-account-short": ("cli", ["aws_account_id=12345"], "must be exactly 12 ASCII digits"),
    "cli-schedule-words": ("cli", ["retrain_schedule=daily"], "must be an EventBridge rate(...)"),
    "cli-schedule-rate-plural": (
        "cli",
        ["retrain_schedule=rate(1 days)"],
        "must be an EventBridge",
    ),
    "cli-schedule-five-fields": ("cli", ["retrain_schedule=cron(0 3 * * *)"], "cron() needs 6"),
    "cli-schedule-hour-24": ("cli", ["retrain_schedule=cron(0 24 ? * * *)"], "cron() field hours"),
    "cli-schedule-no-question-mark": (
        "cli",
        ["retrain_schedule=cron(0 3 * * MON *)"],
        "cron() needs ? in exactly one of day-of-month and day-of-week",
    ),
    "cli-schedule-every-minute": (
        "cli",
        ["retrain_schedule=rate(1 minute)"],
        "retrains more often than once an hour; use rate(1 hour) or longer",
    ),
    "cli-schedule-quarter-hours": (
        "cli",
        ["retrain_schedule=cron(0/15 * * * ? *)"],
        "cron() field minutes '0/15' retrains more often than once an hour",
    ),
    "cli-schedule-30-february": (
        "cli",
        ["retrain_schedule=cron(0 3 30 2 ? *)"],
        "cron() never fires: no day from today",
    ),
    "cli-endpoint-unknown": ("cli", ["endpoint_type=async"], "must be one of realtime, serverless"),
    "cli-rollout-unknown": ("cli", ["rollout=blue"], "must be one of canary, linear, all_at_once"),
    "cli-budget-zero": ("cli", ["monthly_budget_usd=0"], "must be a whole number of US dollars"),
    "cli-budget-cents": ("cli", ["monthly_budget_usd=12.50"], "must be a whole number of US"),
    "cli-accounts-without-staging": (
        "cli",
        ["mlops_size=medium", "staging_stage=no"],
        "the default it makes, deployment_accounts='yes', is refused: needs staging_stage=yes; "
        "answer staging_stage=yes too, or deployment_accounts=no",
    ),
    "cli-monitoring-without-baseline": (
        "cli",
        ["mlops_size=medium", "data_quality_baseline=no"],
        "the default it makes, model_monitoring='yes', is refused: needs "
        "data_quality_baseline=yes; answer data_quality_baseline=yes too, or model_monitoring=no",
    ),
    "cli-prod-account-repeated": (
        "cli",
        ["mlops_size=medium", "prod_account_id=222222222222"],
        "is also prod_account_id; staging and production need an account each",
    ),
    "cli-staging-account-is-tooling": (
        "cli",
        ["mlops_size=large", "staging_account_id=111111111111"],
        "is the tooling account (aws_account_id)",
    ),
    "cli-prod-account-missing": (
        "cli",
        ["mlops_size=medium", "prod_account_id="],
        "must be exactly 12 ASCII digits",
    ),
    "cli-stage-account-single-account": (
        "cli",
        ["prod_account_id=444444444444"],
        "differs from aws_account_id 111111111111, but deployment_accounts=no",
    ),
    "cli-data-lake-account-is-tooling": (
        "cli",
        ["data_lake_account=yes", "data_lake_account_id=111111111111"],
        "is also aws_account_id; data_lake_account=yes needs an account of its own",
    ),
    "cli-data-lake-account-is-prod": (
        "cli",
        ["mlops_size=large", "data_lake_account_id=333333333333"],
        "is also prod_account_id; data_lake_account=yes needs an account of its own",
    ),
    "cli-data-lake-account-short": (
        "cli",
        ["mlops_size=large", "data_lake_account_id=44444444444"],
        "must be exactly 12 ASCII digits",
    ),
    "cli-data-lake-account-without-the-lake": (
        "cli",
        ["data_lake_account_id=444444444444"],
        "differs from aws_account_id 111111111111, but data_lake_account=no",
    ),
    "cli-operations-account-short": (
        "cli",
        ["mlops_size=large", "operations_account_id=66666666666"],
        "must be exactly 12 ASCII digits",
    ),
    "cli-operations-account-is-tooling": (
        "cli",
        ["mlops_size=large", "operations_account_id=111111111111"],
        "is also aws_account_id; operations_account=yes needs an account of its own",
    ),
    "cli-operations-account-is-prod": (
        "cli",
        ["mlops_size=large", "operations_account_id=333333333333"],
        "is also prod_account_id; operations_account=yes needs an account of its own",
    ),
    "cli-operations-account-without-the-flag": (
        "cli",
        ["mlops_size=medium", "operations_account_id=666666666666"],
        "differs from aws_account_id 111111111111, but operations_account=no keeps that role",
    ),
    "cli-artifacts-without-accounts": (
        "cli",
        ["mlops_size=medium", "deployment_accounts=no", "artifact_account=yes"],
        "needs deployment_accounts=yes; answer deployment_accounts=yes too, or artifact_account=no",
    ),
    "cli-artifact-account-short": (
        "cli",
        ["mlops_size=large", "artifact_account_id=5555"],
        "must be exactly 12 ASCII digits",
    ),
    "cli-artifact-account-is-tooling": (
        "cli",
        ["mlops_size=large", "artifact_account_id=111111111111"],
        "is also aws_account_id; artifact_account=yes needs an account of its own",
    ),
    "cli-artifact-account-is-prod": (
        "cli",
        ["mlops_size=large", "artifact_account_id=333333333333"],
        "is also prod_account_id; artifact_account=yes needs an account of its own",
    ),
    "cli-artifact-account-without-feature": (
        "cli",
        ["artifact_account_id=555555555555"],
        "differs from aws_account_id 111111111111, but artifact_account=no",
    ),
    "cli-retention-zero": (
        "cli",
        ["mlops_size=large", "artifact_retention_days=0"],
        "must be a whole number of days from 1 to 36500",
    ),
    "cli-retention-over": (
        "cli",
        ["mlops_size=large", "artifact_retention_days=36501"],
        "must be a whole number of days from 1 to 36500",
    ),
    "cli-name-newline": ("cli", ["project_name=churn\n"], "contains U+000A (a line break)"),
    "cli-name-blank": ("cli", ["project_name=   "], "is blank"),
    "cli-name-padded": ("cli", ["project_name= Churn"], "starts or ends with spaces"),
    "cli-description-bidi": ("cli", ["description=abc\u202edef"], "contains U+202E"),
    "cli-author-zwj": ("cli", ["author_name=\U0001f469\u200d\U0001f4bb"], "contains U+200D"),
    "cli-description-long": ("cli", ["description=" + "d" * 513], "is 513 characters, over"),
    # Bytes that are not UTF-8 reach Python as lone surrogates.
    "cli-name-not-utf8": ("cli", [b"project_name=churn\xff"], "contains U+DCFF"),
    # A config file's default_context
    "config-slug-block-newline": ("config", "project_slug: |\n  churn\n", "use lowercase ASCII"),
    "config-account-newline": ("config", "aws_account_id: |\n  123456789012\n", "must be exactly"),
    "config-email-newline": ("config", "author_email: |\n  a@example.com\n", "is not an e-mail"),
    "config-name-null": ("config", "project_name: ~", "is blank"),
    "config-name-bool": ("config", "project_name: yes", "must be text"),
    "config-description-empty": ("config", "description:", "is blank"),
    "config-name-list": ("config", "project_name: [a, b]", "must be text"),
    "config-size-unknown": ("config", "mlops_size: xl", "must be one of small, medium, large"),
    "config-account-number": ("config", "aws_account_id: 123456789012", "must be text"),
    "config-feature-bool": ("config", "data_quality_baseline: yes", "must be text"),
    "config-schedule-past-year": (
        "config",
        'retrain_schedule: "cron(0 3 ? * MON 2020-2025)"',
        "cron() never fires",
    ),
    "config-email-leading-dot": ("config", 'author_email: ".team@example.com"', "is refused by"),
    "config-slug-reserved": ("config", "project_slug: amzn-s3-demo-x", "makes the S3 bucket"),
    "config-jinja-code": (
        "config",
        "project_name: \"{{ cycler.__init__.__globals__.os.popen('id').read() }}\"",
        "contains template syntax",
    ),
    # A replay file
    "replay-region-unknown": ("replay", {"aws_region": "mars-1"}, "is not an AWS commercial"),
    "replay-jinja": ("replay", {"project_name": "{{ 7 * 7 }}"}, "contains template syntax"),
    "replay-slug-newline": ("replay", {"project_slug": "churn\n"}, "use lowercase ASCII"),
    "replay-package-scipy": ("replay", {"package_name": "scipy"}, "would shadow a module"),
    "replay-size-unknown": ("replay", {"mlops_size": "xl"}, "must be one of small, medium"),
    "replay-description-null": ("replay", {"description": None}, "is blank"),
    "replay-name-number": ("replay", {"project_name": 42}, "must be text"),
    "replay-account-fullwidth": (
        "replay",
        {"aws_account_id": FULLWIDTH_ACCOUNT},
        "must be",
    ),
    "replay-region-no-xgboost": (
        "replay",
        {"aws_region": "mx-central-1", "explainability_report": "yes"},
        "has no SageMaker xgboost image",
    ),
    "replay-schedule-31-april": (
        "replay",
        {"retrain_schedule": "cron(0 3 31 4 ? *)"},
        "cron() never fires",
    ),
    "replay-email-double-dot": ("replay", {"author_email": "a..b@example.com"}, "is refused by"),
    "replay-name-lone-surrogate": ("replay", {"project_name": "churn \ud83d"}, "contains U+D83D"),
}


def user_config(tmp_path: Path) -> Path:
    """A private user config (replays, cloned templates), so that no test writes to ~."""
    config = tmp_path / "user-config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"replay_dir": str(tmp_path / "replay"), "cookiecutters_dir": str(tmp_path / "cc")}
        )
    )
    return config


def run_cookiecutter(tmp_path: Path, *args: str | bytes) -> subprocess.CompletedProcess[str]:
    """The real command line, with a private user config."""
    env = {**os.environ, "COOKIECUTTER_CONFIG": str(user_config(tmp_path))}
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", str(TEMPLATE_DIR), *args],
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
    )


def route_arguments(tmp_path: Path, route: str, answers: object) -> list[str | bytes]:
    if route == "cli":
        return ["--no-input", *answers]
    if route == "config":
        config = tmp_path / "config.yaml"
        config.write_text(
            f"replay_dir: {tmp_path / 'replay'}\ndefault_context:\n"
            + "".join(f"  {line}\n" for line in answers.splitlines()),
            encoding="utf-8",
        )
        return ["--no-input", "--config-file", str(config)]
    replay = tmp_path / "answers.json"
    replay.write_text(json.dumps({"cookiecutter": GOOD | answers}), encoding="utf-8")
    return ["--replay-file", str(replay)]


def bake_in_process(tmp_path: Path, route: str, answers: object, output: Path, **options) -> str:
    """The same route through cookiecutter's Python API (what its command line calls).

    Returns the refusal's line, or "" when the bake succeeded.
    """
    config = user_config(tmp_path)
    if route == "cli":
        pairs = [os.fsdecode(a).split("=", 1) for a in answers]
        options |= {"no_input": True, "extra_context": dict(pairs), "config_file": str(config)}
    elif route == "config":
        [_, _, config_file] = route_arguments(tmp_path, route, answers)
        options |= {"no_input": True, "config_file": config_file}
    else:
        [_, replay_file] = route_arguments(tmp_path, route, answers)
        options |= {"replay": replay_file, "config_file": str(config)}
    try:
        cookiecutter(str(TEMPLATE_DIR), output_dir=str(output), **options)
    except rules.InvalidAnswer as error:  # raised through the extension
        return str(error)
    return ""


@pytest.mark.parametrize("route, answers, problem", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_bad_answer_refused_leaving_nothing(
    tmp_path: Path, capfd, route: str, answers: object, problem: str
) -> None:
    output = tmp_path / "output"  # does not exist: the bake must not create it
    line = bake_in_process(tmp_path, route, answers, output)
    assert line.startswith("ERROR: ")
    assert f": {problem}" in line, line
    assert "\n" not in line
    assert not output.exists()
    assert capfd.readouterr() == ("", "")


def assert_refused_in_one_line(code: int, output: str, problem: str) -> None:
    assert code == 1, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, "\n".join(lines)
    assert lines[0].startswith("ERROR: ")
    assert f": {problem}" in lines[0], lines[0]


def test_a_config_files_unquoted_date_stops_cookiecutter_before_the_project(tmp_path: Path) -> None:
    """YAML reads `2024-01-01` as a date, which cookiecutter's replay file cannot hold: it stops
    with its own TypeError (cookiecutter#1005) before any template code sees the date, and before
    it writes the project. The README tells users to quote such values."""
    output = tmp_path / "output"
    with pytest.raises(TypeError, match="Object of type date is not JSON serializable"):
        bake_in_process(tmp_path, "config", "description: 2024-01-01", output)
    assert not output.exists()


def test_a_config_file_that_is_not_yaml_stops_cookiecutter_before_the_template(tmp_path: Path):
    """`project_name: !!!` is a YAML tag: cookiecutter cannot read its config file and stops with
    its own InvalidConfiguration before it loads the template. The README says to quote it."""
    from cookiecutter.exceptions import InvalidConfiguration

    output = tmp_path / "output"
    with pytest.raises(InvalidConfiguration, match="Unable to parse YAML file"):
        bake_in_process(tmp_path, "config", "project_name: !!!", output)
    assert not output.exists()


@pytest.mark.parametrize("route, answers, problem", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_bad_answer_refused_by_the_command_in_one_line(
    tmp_path: Path, route: str, answers: object, problem: str
) -> None:
    """The command line's own code (cookiecutter's click command, run in this process): exit
    status 1, the one line and nothing else, no folder."""
    from click.testing import CliRunner
    from cookiecutter.cli import main

    output = tmp_path / "output"
    arguments = [*route_arguments(tmp_path, route, answers), "--output-dir", str(output)]
    config = user_config(tmp_path)
    result = CliRunner().invoke(
        main,
        [str(TEMPLATE_DIR), *map(os.fsdecode, arguments)],  # as Python decodes argv
        env={"COOKIECUTTER_CONFIG": str(config)},
    )
    assert result.stdout == ""
    assert_refused_in_one_line(result.exit_code, result.stderr, problem)
    assert not output.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["cli-name-not-utf8", "config-account-number", "replay-name-lone-surrogate"]
)
def test_bad_answer_refused_by_the_installed_command(tmp_path: Path, case: str) -> None:
    """One refusal a route through the real `cookiecutter` process: its entry point and argv."""
    route, answers, problem = BAD_ANSWERS[case]
    output = tmp_path / "output"
    result = run_cookiecutter(
        tmp_path, *route_arguments(tmp_path, route, answers), "--output-dir", str(output)
    )
    assert result.stdout == ""
    assert_refused_in_one_line(result.returncode, result.stderr, problem)
    assert not output.exists()


@pytest.mark.parametrize(
    "answers, problem",
    [(a, p) for route, a, p in BAD_ANSWERS.values() if route == "replay"],
)
def test_validate_refuses_the_replayed_answers(answers: dict, problem: str) -> None:
    """The rules' validate() is what refuses them: called directly, the same line."""
    with pytest.raises(rules.InvalidAnswer) as error:
        rules.validate(GOOD | answers)
    assert str(error.value).startswith(f"ERROR: {next(iter(answers))}=")
    assert f": {problem}" in str(error.value)


def test_bad_answer_table_covers_every_route() -> None:
    routes = [route for route, _, _ in BAD_ANSWERS.values()]
    assert len(routes) >= 40
    assert {route: routes.count(route) >= 8 for route in ("cli", "config", "replay")} == {
        "cli": True,
        "config": True,
        "replay": True,
    }


def test_overwriting_a_project_with_another_package_is_refused(tmp_path: Path) -> None:
    """--overwrite-if-exists would leave the old src/<package> behind."""
    output = tmp_path / "output"
    assert bake_in_process(tmp_path, "cli", ["project_slug=churn"], output) == ""
    before = sorted(p.relative_to(output) for p in output.rglob("*"))
    line = bake_in_process(
        tmp_path,
        "cli",
        ["project_slug=churn", "package_name=churn_model"],
        output,
        overwrite_if_exists=True,
    )
    assert line == (
        f"ERROR: package_name='churn_model': {output / 'churn'} already holds src/churn, "
        "which overwriting would leave behind; bake into a new folder, or rename the package "
        "there first; for example package_name=churn"
    )
    assert sorted(p.relative_to(output) for p in output.rglob("*")) == before
    # The same package overwrites as before.
    assert (
        bake_in_process(tmp_path, "cli", ["project_slug=churn"], output, overwrite_if_exists=True)
        == ""
    )


def test_good_answers_bake_through_every_route(tmp_path: Path) -> None:
    """The good answers bake through each route, so the refusals above are the answers' doing."""
    for route, answers in (("cli", []), ("config", "project_name: Churn"), ("replay", {})):
        output = tmp_path / f"out-{route}"
        assert bake_in_process(tmp_path, route, answers, output) == ""
        assert len(list(output.iterdir())) == 1


# Answers that must bake a green project however long or non-ASCII they are.
ACCEPTED_ANSWERS: dict[str, dict[str, str]] = {
    "french-title": {
        "project_name": "Modèle prédictif d\u2019attrition — Région Île-de-France, équipe données",
        "description": "🚀 Prévoit l\u2019attrition « client » à 30 jours, équipe Île-de-France",
        "author_name": "Zoë O\u2019Brien-Łukasz",
    },
    "quotes-backslashes-injection": {
        "project_name": 'Bob\'s "Quoted" \\ Model """ \'\'\' \\n',
        "description": 'Injects """; import os; os.system(\'echo pwned\') # \\n ${HOME} $(id)',
        "author_name": 'Team "A" \\ <b>bold</b>, [x](y)',
        "project_slug": "data-test",
    },
    "other-scripts-and-emoji": {
        "project_name": "Модель прогноза оттока 客户流失预测 Ελληνικά العربية 🚀📈 "
        + FULLWIDTH_ABC,
        "description": ("山田 太郎のモデル 😀 " * 10).strip(),
        "author_name": "山田 太郎 👩🏽",
        "project_slug": "churn-forecast",
    },
    "longest-everything": LONGEST_ANSWERS,
    "largest-region-regression": {
        "project_name": "A name whose default slug must be cut to fit the longest region names",
        # As long as any region's name.
        "aws_region": "ap-southeast-2",
        "mlops_size": "large",
        "problem_type": "regression",
    },
}


@pytest.fixture(scope="session")
def accepted(bake):
    return {name: bake(**answers) for name, answers in ACCEPTED_ANSWERS.items()}


@pytest.mark.parametrize("name", ACCEPTED_ANSWERS)
def test_accepted_answers_stay_data_and_lint_clean(accepted, name: str) -> None:
    project: BakedProject = accepted[name]
    answers = ACCEPTED_ANSWERS[name]
    config = runpy.run_path(str(project.path / "src" / project.package / "config.py"))
    assert config["PROJECT_NAME"] == project.context["project_name"]
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == project.context["description"]
    assert pyproject["project"]["authors"] == [
        {"name": project.context["author_name"], "email": project.context["author_email"]}
    ]
    recorded = json.loads((project.path / ".cookiecutter.json").read_text())["cookiecutter"]
    assert recorded.items() >= answers.items()
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    assert f"# {project.context['project_name']}\n" in readme
    for args in (["format", "--check", "--diff"], ["check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "."],
            cwd=project.path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_default_slug_is_cut_to_fit_every_region(accepted) -> None:
    slug = accepted["largest-region-regression"].context["project_slug"]
    assert len(slug) <= aws.DEFAULT_SLUG_MAX
    assert slug == "a-name-whose-default-slug-must-be"


# Free text as TOML (pyproject.toml's description and authors); everything else takes answers as
# JSON (`tojson`, and project.json for config.py).
TEXTS = [
    "Churn",
    "He said \"hi\" and 'bye' \\ done",
    "Modèle prédictif d\u2019attrition — Région Île-de-France, équipe données",
    "客户流失预测模型",
    "🚀 👩\u200d💻 e\u0301 \uff21\uff22\uff23",
    "tab\there",
    "nul\x00 del\x7f next\x85",
]


def test_toml_string_round_trips() -> None:
    for text in TEXTS:
        assert tomllib.loads(f"x = {extension.toml_string(text)}")["x"] == text


def test_json_is_not_toml_beyond_the_basic_plane() -> None:
    """Why pyproject.toml keeps toml_string: JSON escapes U+1F680 as two surrogates, which TOML
    refuses."""
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(f"x = {json.dumps('🚀')}")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["french-title", "other-scripts-and-emoji", "longest-everything"])
def test_accepted_answers_bake_green(accepted, generated_venv: Path, name: str) -> None:
    """The baked project's local run passes and its package metadata builds (a whole generated
    suite runs on the longest answers: conftest.LONGEST_ANSWERS)."""
    project: BakedProject = accepted[name]
    out = project.path / "build" / "local-run"
    local = run_in_project(
        project,
        generated_venv,
        "python",
        "-m",
        f"{project.package}.local",
        "--output-dir",
        str(out),
    )
    assert local.returncode == 0, local.stdout + local.stderr
    wheel = subprocess.run(
        [uv(), "build", "--wheel", "--out-dir", str(project.path / "dist")],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert wheel.returncode == 0, wheel.stdout + wheel.stderr


@pytest.mark.slow
def test_imported_names_match_the_generated_environment(bake, generated_venv: Path) -> None:
    """The hook's frozen list of modules the project's environment installs is the real one."""
    script = (
        "import importlib.metadata as m, re\n"
        "print(' '.join(sorted({n.lower() for n in m.packages_distributions()"
        " if re.fullmatch('[A-Za-z][A-Za-z0-9_]*', n)})))"
    )
    result = run_in_project(bake(), generated_venv, "python", "-c", script)
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == names.IMPORTED_BY_THE_PROJECT
