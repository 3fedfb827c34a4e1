"""The answer rules: the one table (`RULES`) of what every prompt of cookiecutter.json accepts.

A refusal is one line, `ERROR: <answer>=<value>: <problem>; for example <answer>=<good value>`,
raised as `InvalidAnswer`; it names the answer the user gave (a default made from another answer,
such as the slug from the name, is refused as that answer's doing). The template's Jinja extension
calls `check_answers` where cookiecutter renders the project folder's name, before it creates
anything, so that cookiecutter's command line prints that line alone on standard error and exits
1; the pre-generation hook runs `main` again. Plain Python: tests call the functions directly.
"""

from __future__ import annotations

import json
import keyword
import re
import string
import sys
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from email.errors import MessageError
from email.headerregistry import Address
from pathlib import Path

import click

from mlops_template import PROJECT_TEMPLATE, ROOT, variants
from mlops_template.schedule import schedule_problem

_DATA = Path(__file__).parent
_AWS = tomllib.loads((_DATA / "aws.toml").read_text(encoding="utf-8"))
COMMERCIAL_REGIONS = frozenset(_AWS["commercial_regions"])
# The images AWS publishes that the pipeline runs, each with the regions where the pinned SDK
# has it.
IMAGES = tuple(_AWS["images"])
# The regions the pipeline can run in: those of every image.
REGIONS = frozenset(COMMERCIAL_REGIONS).intersection(*(image["regions"] for image in IMAGES))
RESERVED_BUCKET_PREFIXES = tuple(_AWS["reserved_bucket_prefixes"])
RESERVED_BUCKET_SUFFIXES = tuple(_AWS["reserved_bucket_suffixes"])
# (resource, name pattern, AWS's limit) of every AWS name built from the slug.
AWS_NAMES = tuple((name["resource"], name["pattern"], name["limit"]) for name in _AWS["names"])
# The default slug is cut to fit in every region (the slugify filter's max_length).
DEFAULT_SLUG_MAX = min(
    limit - len(name.format(slug="", account="0" * 12, region=max(REGIONS, key=len)))
    for _, name, limit in AWS_NAMES
)

# Top-level modules the generated project's environment can import: a package of one of these
# names would shadow it.
IMPORTED_BY_THE_PROJECT = frozenset(
    tomllib.loads((_DATA / "project_environment.toml").read_text(encoding="utf-8"))["modules"]
)
# The generated project's test modules: pytest puts tests/ first on sys.path.
TEST_MODULES = frozenset({"tests", "test"} | {p.stem for p in PROJECT_TEMPLATE.glob("tests/*.py")})
# Distributions in the generated lock: a project (slug) with one of these names would depend on
# itself.
LOCKED_DISTRIBUTIONS = frozenset(
    package["name"]
    for package in tomllib.loads((PROJECT_TEMPLATE / "uv.lock").read_text())["package"]
    if "{" not in package["name"]
)
# The template's own answers (defaults, some of them Jinja): an answer that differs was supplied.
TEMPLATE_DEFAULTS = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))

SLUG_RE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", re.ASCII)
PACKAGE_RE = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
# Generated files use the package in lines such as `python -m <package>.local [--data CSV] ...`,
# which must stay within ruff's 100 columns.
PACKAGE_MAX = 36
EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    re.ASCII,
)
ACCOUNT_RE = re.compile(r"[0-9]{12}", re.ASCII)
# Jinja's opening marks.
TEMPLATE_SYNTAX = ("{{", "{%", "{#")
# Free text may hold letters, marks, numbers, punctuation, symbols and spaces of any script: the
# characters AWS accepts in descriptions and tags. Not controls, line breaks, invisible formatting
# characters (bidirectional overrides, zero-width joiners), surrogates, private-use or unassigned
# code points.
PRINTABLE_CATEGORIES = ("L", "M", "N", "P", "S", "Zs")
# What AWS accepts in a tag value (the e-mail is the `owner` tag of every resource).
TAG_VALUE_CHARS = frozenset(string.ascii_letters + string.digits + " _.:/=+-@")


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


# A check takes the answer and all answers, and returns what is wrong, or None.
Check = Callable[[object, Mapping[str, object]], str | None]


def has_template_syntax(value: object) -> bool:
    return isinstance(value, str) and any(mark in value for mark in TEMPLATE_SYNTAX)


def is_text(value: object, _: Mapping) -> str | None:
    if value is None:
        return "is blank"
    if not isinstance(value, str):
        return "must be text (in a YAML config file, put it in quotes)"
    return None


def no_template_syntax(value: object, _: Mapping) -> str | None:
    if has_template_syntax(value):
        marks = ", ".join(TEMPLATE_SYNTAX)
        return f"contains template syntax ({marks}): answers are data, not Jinja"
    return None


def not_blank(value: str, _: Mapping) -> str | None:
    return "is blank" if not value.strip() else None


def printable_line(value: str, _: Mapping) -> str | None:
    for char in value:
        if not unicodedata.category(char).startswith(PRINTABLE_CATEGORIES) or char in "\x85":
            name = "a line break" if char in "\n\r" else unicodedata.name(char, "a control")
            return f"contains U+{ord(char):04X} ({name}): use printable characters on one line"
    if value != value.strip():
        return "starts or ends with spaces"
    return None


def at_most(limit: int, why: str) -> Check:
    def check(value: str, _: Mapping) -> str | None:
        if len(value) > limit:
            return f"is {len(value)} characters, over the {limit} of {why}"
        return None

    return check


def a_tag_value(value: str, _: Mapping) -> str | None:
    refused = "".join(sorted(set(value) - TAG_VALUE_CHARS))
    if refused:
        return (
            f"has {refused!r}, which AWS refuses in a tag value (the owner tag); use letters, "
            "digits and _ . : / = + - @"
        )
    return None


def builds_a_package(email: str, context: Mapping) -> str | None:
    """The author as the generated project's build backend (hatchling) writes it into the
    package's metadata: str(Address(display_name=<author_name>, addr_spec=<email>)), the standard
    library's parser, which refuses what RFC 5322 does (two dots in a row, a leading dot)."""
    name = context.get("author_name")
    try:
        str(Address(display_name=name if isinstance(name, str) else "", addr_spec=email))
    except (ValueError, IndexError, MessageError) as error:
        return f"is refused by the project's build backend, hatchling ({error})"
    return None


def matches(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: str, _: Mapping) -> str | None:
        return None if pattern.fullmatch(value) else what

    return check


def schedule_expression(value: str, _: Mapping) -> str | None:
    return schedule_problem(value)


def one_of(options: list[str]) -> Check:
    def check(value: str, _: Mapping) -> str | None:
        return None if value in options else f"must be one of {', '.join(options)}"

    return check


def fits_aws_names(slug: str, context: Mapping) -> str | None:
    region = context.get("aws_region")
    if region not in COMMERCIAL_REGIONS:
        region = max(REGIONS, key=len)
    for resource, pattern, limit in AWS_NAMES:
        name = pattern.format(slug=slug, account="0" * 12, region=region)
        shape = pattern.format(slug="<slug>", account="<account>", region=region)
        if len(name) > limit:
            return f"makes the {resource} name {shape} {len(name)} characters, over AWS's {limit}"
        if resource.startswith("S3 bucket"):
            reserved = [p for p in RESERVED_BUCKET_PREFIXES if name.startswith(p)]
            reserved += [s for s in RESERVED_BUCKET_SUFFIXES if name.endswith(s)]
            if reserved:
                return f"makes the S3 bucket name {shape} take {reserved[0]!r}, which S3 reserves"
    return None


def not_a_locked_distribution(slug: str, _: Mapping) -> str | None:
    if slug in LOCKED_DISTRIBUTIONS:
        return "is the name of a dependency of the project, which would then depend on itself"
    return None


def importable_name(package: str, _: Mapping) -> str | None:
    if keyword.iskeyword(package):
        return "is a Python keyword"
    if package in sys.stdlib_module_names:
        return "would shadow the standard-library module of that name"
    if package in IMPORTED_BY_THE_PROJECT:
        return "would shadow a module of the same name that the project's dependencies install"
    if package in TEST_MODULES:
        return "would shadow one of the project's test modules"
    return None


def known_region(region: str, context: Mapping) -> str | None:
    """A commercial region where the pinned SDK has every image the pipeline runs."""
    if region not in COMMERCIAL_REGIONS:
        return "is not an AWS commercial region code"
    for image in IMAGES:
        if region not in image["regions"]:
            return (
                f"has no SageMaker {image['framework']} image (in the pinned SDK) for the pipeline"
            )
    return None


def needs(feature: str, required: tuple[str, ...]) -> Check:
    """A feature that cannot work without others (variants.Feature.requires) has them on."""

    def check(value: str, context: Mapping) -> str | None:
        for name in required:
            if value == variants.YES and context.get(name) != variants.YES:
                return f"needs {name}=yes; answer {name}=yes too, or {feature}=no"
        return None

    return check


def deployment_account(other: str) -> Check:
    """A stage's account: its own (not the tooling account, nor the other stage's) when the
    stages have accounts of their own, the tooling account otherwise."""

    def check(value: str, context: Mapping) -> str | None:
        tooling = context.get("aws_account_id")
        if context.get("deployment_accounts") != variants.YES:
            if value != tooling:
                return (
                    f"differs from aws_account_id {tooling}, but deployment_accounts=no deploys "
                    "in that account; answer deployment_accounts=yes, or leave it at "
                    f"{tooling}"
                )
            return None
        if value == tooling:
            return "is the tooling account (aws_account_id); deployment_accounts=yes needs its own"
        if value == context.get(other):
            return f"is also {other}; staging and production need an account each"
        return None

    return check


def own_account(flag: str) -> Check:
    """The account of a role that has one of its own when `flag` is on (the data lake, the
    operations account): no other role's account (any other `*account_id` answer); off, the
    tooling account."""

    def check(value: str, context: Mapping) -> str | None:
        tooling = context.get("aws_account_id")
        if context.get(flag) != variants.YES:
            if value != tooling:
                return (
                    f"differs from aws_account_id {tooling}, but {flag}=no keeps that role "
                    f"in the tooling account; answer {flag}=yes, or leave it at {tooling}"
                )
            return None
        for other, account in context.items():
            if other.endswith("account_id") and other != f"{flag}_id" and account == value:
                return f"is also {other}; {flag}=yes needs an account of its own"
        return None

    return check


def retention_days(value: str, _: Mapping) -> str | None:
    # S3 Object Lock's default retention takes 1 to 36500 days.
    if not re.fullmatch(r"[1-9][0-9]{0,4}", value, re.ASCII) or int(value) > 36500:
        return "must be a whole number of days from 1 to 36500"
    return None


def whole_dollars(value: str, _: Mapping) -> str | None:
    if not re.fullmatch(r"[1-9][0-9]{0,6}", value, re.ASCII):
        return "must be a whole number of US dollars from 1 to 9999999"
    return None


# The answers that name the account of a role (besides the tooling account's aws_account_id).
DATA = (is_text, no_template_syntax)
ACCOUNT_ID = (*DATA, matches(ACCOUNT_RE, "must be exactly 12 ASCII digits"))
FREE_TEXT = (*DATA, not_blank, printable_line)

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
