"""The answer rules: the one table (`RULES`) of what every prompt of cookiecutter.json accepts,
made of the checks of `mlops_template.checks`.

A refusal is one line, `ERROR: <answer>=<value>: <problem>; for example <answer>=<good value>`,
raised as `InvalidAnswer`; it names the answer the user gave (a default made from another answer,
such as the slug from the name, is refused as that answer's doing). The template's Jinja extension
calls `check_answers` where cookiecutter renders the project folder's name, before it creates
anything, so that cookiecutter's command line prints that line alone on standard error and exits
1; the pre-generation hook runs `main` again. Plain Python: tests call the functions directly.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from mlops_template import ROOT, variants
from mlops_template.checks import Check
from mlops_template.checks.accounts import ACCOUNT_ID, deployment_account, own_account
from mlops_template.checks.author import EMAIL_RE, a_tag_value, builds_a_package
from mlops_template.checks.aws import fits_aws_names, known_region
from mlops_template.checks.features import needs
from mlops_template.checks.names import (
    PACKAGE_MAX,
    PACKAGE_RE,
    SLUG_RE,
    importable_name,
    not_a_locked_distribution,
)
from mlops_template.checks.schedule import schedule_expression
from mlops_template.checks.text import (
    DATA,
    FREE_TEXT,
    at_most,
    has_template_syntax,
    matches,
    one_of,
)
from mlops_template.checks.values import retention_days, whole_dollars

# The template's own answers (defaults, some of them Jinja): an answer that differs was supplied.
TEMPLATE_DEFAULTS = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))


def shown(value: object) -> str:
    """A value as a refusal quotes it, cut short past 80 characters."""
    return repr(value) if len(repr(value)) <= 80 else f"{repr(value)[:60]}...'"


class InvalidAnswer(click.ClickException):
    """One answer is wrong; str() is the single line shown to the user.

    A ClickException, which cookiecutter's command (a click command) lets through to click: click
    prints it (show(), below: the line alone, on standard error) and exits 1. `example` is a good
    value of `example_answer` (default: `answer`).
    """

    exit_code = 1

    def __init__(
        self,
        answer: str,
        value: object,
        problem: str,
        example: str | None = None,
        example_answer: str | None = None,
    ):
        self.answer, self.value, self.problem = answer, value, problem
        self.example, self.example_answer = example, example_answer or answer
        line = f"ERROR: {answer}={shown(value)}: {problem}"
        super().__init__(
            f"{line}; for example {self.example_answer}={example}" if example else line
        )

    def show(self, file: object = None) -> None:
        click.echo(self.format_message(), file=file, err=file is None)


# The one table: answer -> (checks in order, an example of a good answer). Every prompt of
# cookiecutter.json has a row (a test checks it); the first failing check is reported.
RULES: dict[str, tuple[tuple[Check, ...], str]] = {
    "project_name": (
        # The model package's description is "<project name>: XGBoost, <problem type>".
        (*FREE_TEXT, at_most(991, "a model package description (1024 with the suffix)")),
        "'Customer Churn'",
    ),
    "project_slug": (
        (
            *DATA,
            matches(
                SLUG_RE,
                "use lowercase ASCII letters, digits and single hyphens, starting with a letter",
            ),
            fits_aws_names,
            not_a_locked_distribution,
        ),
        "customer-churn",
    ),
    "package_name": (
        (
            *DATA,
            matches(PACKAGE_RE, "must be lowercase ASCII letters, digits and underscores"),
            at_most(PACKAGE_MAX, "the generated files' lines that name the package"),
            importable_name,
        ),
        "customer_churn",
    ),
    "description": (
        (*FREE_TEXT, at_most(512, "a package summary on PyPI")),
        "'Predicts which customers leave'",
    ),
    "author_name": ((*FREE_TEXT, at_most(256, "an AWS tag value")), "'ML Platform Team'"),
    "author_email": (
        (
            *DATA,
            at_most(254, "an e-mail address"),
            matches(EMAIL_RE, "is not an e-mail address"),
            a_tag_value,
            builds_a_package,
        ),
        "ml-team@example.com",
    ),
    "aws_region": (
        (*DATA, known_region),
        "eu-west-1",
    ),
    "aws_account_id": (ACCOUNT_ID, "123456789012"),
    "retrain_schedule": ((*DATA, schedule_expression), "'cron(0 3 ? * MON *)'"),
    "mlops_size": ((*DATA, one_of(list(variants.SIZES))), "small"),
    **{
        option: ((*DATA, one_of(list(by_value))), next(iter(by_value)))
        for option, by_value in variants.CHOICE_PATHS.items()
    },
    **{
        option: ((*DATA, one_of(list(values))), values[0])
        for option, values in variants.VALUE_CHOICES.items()
    },
    "monthly_budget_usd": ((*DATA, whole_dollars), "500"),
    **{
        feature.name: (
            (*DATA, one_of([variants.YES, variants.NO]), needs(feature.name, feature.requires)),
            variants.NO,
        )
        for feature in variants.FEATURES
    },
    "staging_account_id": (
        (*ACCOUNT_ID, deployment_account("prod_account_id")),
        "123456789012",
    ),
    "prod_account_id": (
        (*ACCOUNT_ID, deployment_account("staging_account_id")),
        "210987654321",
    ),
    "data_lake_account_id": (
        (*ACCOUNT_ID, own_account("data_lake_account")),
        "444455556666",
    ),
    "artifact_account_id": ((*ACCOUNT_ID, own_account("artifact_account")), "555555555555"),
    "artifact_retention_days": ((*DATA, retention_days), "365"),
    "operations_account_id": (
        (*ACCOUNT_ID, own_account("operations_account")),
        "666666666666",
    ),
}


# Answers whose default cookiecutter.json makes from another answer.
DERIVED_FROM = {
    "project_slug": "project_name",
    "package_name": "project_slug",
    **{feature.name: "mlops_size" for feature in variants.FEATURES},
}


def check(answer: str, value: object, context: Mapping[str, object]) -> None:
    """Raise InvalidAnswer if `value` breaks one of `answer`'s rules."""
    checks, example = RULES[answer]
    for rule in checks:
        problem = rule(value, context)
        if problem:
            raise InvalidAnswer(answer, value, problem, example)


def supplied(raw: Mapping[str, object]) -> dict[str, object]:
    """The answers of `raw` (as cookiecutter held them before rendering any) that differ from the
    template's own cookiecutter.json: those a command line, config file or replay file gave."""
    return {
        key: value
        for key, value in raw.items()
        if key in RULES and value != TEMPLATE_DEFAULTS.get(key)
    }


def answers_are_data(answers: Mapping[str, object]) -> None:
    """Refuse answers that are not text, or that hold Jinja (cookiecutter would render it).

    `answers` are values as a user supplied them, before cookiecutter rendered any; names may be
    dotted (`__prompts__.project_name`).
    """
    for answer, value in answers.items():
        for rule in DATA:
            problem = rule(value, answers)
            if problem:
                raise InvalidAnswer(answer, value, problem, RULES.get(answer, ((), None))[1])


def validate(context: Mapping[str, object]) -> None:
    """Raise InvalidAnswer naming the first answer that is wrong, in prompt order."""
    for answer in RULES:
        check(answer, context.get(answer), context)
    output_dir = context.get("_output_dir")
    if has_template_syntax(output_dir):
        # Cookiecutter renders the output path as Jinja when it creates subfolders.
        raise InvalidAnswer("--output-dir", output_dir, "contains template syntax", "build")


def stale_packages(project: Path, package: str) -> list[str]:
    """Packages under src/ of an existing project other than `package` (--overwrite-if-exists)."""
    src = project / "src"
    if not src.is_dir():
        return []
    packages = (p.name for p in src.iterdir() if (p / "__init__.py").is_file())
    return sorted(name for name in packages if name != package)


def check_existing_project(project: Path, package: str) -> None:
    """Refuse to overwrite a project whose package has another name: the old one would stay."""
    stale = stale_packages(project, package)
    if stale:
        raise InvalidAnswer(
            "package_name",
            package,
            f"{project} already holds src/{stale[0]}, which overwriting would leave behind; "
            "bake into a new folder, or rename the package there first",
            stale[0],
        )


def as_given(
    error: InvalidAnswer,
    answers: Mapping[str, object],
    raw: Mapping[str, object],
    defaults: Mapping[str, object],
) -> InvalidAnswer:
    """The refusal of an answer nobody gave (its default, made from another answer) as a refusal
    of the answer given: `project_name='!!!': makes project_slug=''`, not `project_slug=''`.

    `defaults` are the derived answers' defaults, rendered from `answers`.
    """
    given, answer = supplied(raw), error.answer
    while (
        answer in DERIVED_FROM
        and answer not in given
        and answer in defaults
        and answers.get(answer) == defaults[answer]
    ):
        answer = DERIVED_FROM[answer]
    if answer == error.answer:
        return error
    problem = (
        f"the default it makes, {error.answer}={shown(error.value)}, is refused: {error.problem}"
    )
    return InvalidAnswer(answer, answers.get(answer), problem, error.example, error.answer)


def check_answers(
    answers: Mapping[str, object],
    raw: Mapping[str, object],
    defaults: Mapping[str, object] | None = None,
) -> None:
    """Every rule, before cookiecutter writes anything.

    `answers` are cookiecutter's, rendered; `raw` the same before cookiecutter rendered any (its
    `_cookiecutter`), where a config file's number or list is still what it was; `defaults` the
    defaults of DERIVED_FROM's answers, rendered from `answers`.
    """
    answers_are_data(supplied(raw))
    try:
        validate(answers)
    except InvalidAnswer as error:
        raise as_given(error, answers, raw, defaults or {}) from None
    output_dir = answers.get("_output_dir")
    if isinstance(output_dir, str):
        project = Path(output_dir, str(answers["project_slug"]))
        check_existing_project(project, str(answers["package_name"]))


def main(context: Mapping[str, object]) -> int:
    """The pre-generation hook: the rules again, on the context cookiecutter rendered into it."""
    try:
        validate(context)
    except InvalidAnswer as error:
        print(error, file=sys.stderr)
        return 1
    return 0
