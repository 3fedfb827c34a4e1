"""Validate every answer before anything is generated: the template's one table of answer rules.

Cookiecutter renders answers as Jinja and creates the output folder before this hook runs, so the
template's Jinja extension (local_extensions.py) calls the same functions in-process, earlier:
`answers_are_data()` before cookiecutter renders any answer, `validate()` before it creates any
folder. A refusal is then one line (`ERROR: <answer>=<value>: <problem>; for example ...`), exit
status 1, nothing on disk. Run as a hook, this file repeats `validate()` in case the extension
could not see the answers. Plain importable Python: tests call the functions directly.
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
from pathlib import Path

from cookiecutter.exceptions import FailedHookException

# Rendered by cookiecutter; raw strings so that any answer stays data.
CONTEXT_JSON = r"""{{ cookiecutter | tojson }}"""
TEMPLATE_DIR = r"""{{ template_dir }}"""
# Hooks cannot import their siblings: run as a hook, import the variant table from the template
# root; imported as a module (tests, the Jinja extension), the root is already on sys.path.
if Path(TEMPLATE_DIR).is_dir():
    sys.path.insert(0, TEMPLATE_DIR)
import variants  # noqa: E402

ROOT = Path(variants.__file__).resolve().parent
PROJECT_TEMPLATE = next(ROOT.glob("*cookiecutter.project_slug*"))

# AWS commercial-partition regions; tests/test_hooks.py checks this against botocore's list.
COMMERCIAL_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    }
)

# Commercial regions where the pinned SageMaker SDK offers no built-in XGBoost container, which the
# pipeline trains and evaluates in; the slow tier checks this against the SDK's image list.
REGIONS_WITHOUT_XGBOOST_IMAGE = frozenset(
    {"ap-east-2", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "mx-central-1"}
)

# Every AWS name built from the slug (resource, name, AWS's limit): the slug must fit them all.
# The bucket is the project's own artifact bucket of the base infrastructure.
AWS_NAMES = (
    ("S3 bucket", "{slug}-{account}-{region}", 63),
    ("IAM role", "{slug}-sagemaker-execution", 64),
    ("model package group", "{slug}", 63),
    ("SageMaker pipeline", "{slug}-training", 256),
    ("SageMaker experiment (the pipeline's)", "{slug}-training", 120),
    ("IAM managed policy", "{slug}-pipeline-operator", 128),
    ("CloudFormation stack", "{slug}-base", 128),
    ("ECR repository", "{slug}/steps", 256),
    ("Lambda function (retraining triggers)", "{slug}-start-training", 64),
    ("IAM role (GitHub Actions)", "{slug}-github-actions", 64),
    ("CodePipeline pipeline", "{slug}-cicd", 100),
    ("CodeBuild project", "{slug}-build-images", 150),
    ("SageMaker endpoint", "{slug}-staging", 63),
    ("IAM role (deployment, per account)", "{slug}-cloudformation", 64),
    ("CloudFormation stack (endpoint)", "{slug}-endpoint-staging", 128),
    ("CloudWatch alarm", "{slug}-staging-model-latency", 255),
    ("EventBridge rule (deploy on approval)", "{slug}-model-approved", 64),
    ("CodePipeline pipeline (deploy)", "{slug}-deploy", 100),
    ("IAM role (drift forwarder, per account)", "{slug}-drift-forwarder", 64),
    ("EventBridge rule (drift to the tooling account)", "{slug}-staging-forward-drift", 64),
    ("CloudWatch alarm (drift)", "{slug}-staging-model-quality-violations", 255),
    ("IAM role session (smoke test)", "{slug}-smoke-test-staging", 64),
)
# The default slug is cut to fit in every region (the slugify filter's max_length).
DEFAULT_SLUG_MAX = min(
    limit - len(name.format(slug="", account="0" * 12, region=max(COMMERCIAL_REGIONS, key=len)))
    for _, name, limit in AWS_NAMES
)

# Top-level modules the generated project's environment can import (every distribution in its
# uv.lock, installed on Linux); a package with one of these names would shadow it. The slow tier
# checks this list against the real environment.
_IMPORTED = """
    aiohappyeyeballs aiohttp aiosignal alembic annotated_doc annotated_types anyio attr attrs
    bcrypt blinker boto3 botocore cachebox cachetools certifi cffi cfgv charset_normalizer click
    cloudpickle contourpy cryptography cycler databricks dateutil deepdiff distlib docker dotenv
    fastapi fb303 filelock flask flask_cors fonttools frozenlist fsspec git gitdb google
    graphene graphql graphql_relay gunicorn h11 hive_metastore httptools huey identify idna
    importlib_metadata iniconfig invoke itsdangerous jinja2 jmespath joblib json5 jsonschema
    jsonschema_specifications kiwisolver mako markdown_it markupsafe matplotlib mdurl mlflow
    mmh3 mock moto mpl_toolkits multidict nacl narwhals nest_asyncio nodeenv numpy omegaconf
    opentelemetry orderly_set packaging pandas paramiko pil platformdirs pluggy pre_commit
    prettytable propcache psutil py py_partiql_parser pyarrow pyasn1 pyasn1_modules pycparser
    pydantic pydantic_core pygments pyiceberg pylab pyparsing pyroaring pytest python_discovery
    pytz referencing requests responses rich rpds ruff s3fs s3transfer sagemaker
    sagemaker_mlflow sagemaker_schema_inference_artifacts schema scipy six sklearn skops
    smdebug_rulesconfig smmap sqlalchemy sqlparse starlette strictyaml tblib tenacity tests
    threadpoolctl tqdm typing_extensions typing_inspection urllib3 uvicorn uvloop virtualenv
    wcwidth werkzeug xgboost xmltodict yaml yarl zipp zstandard
"""
IMPORTED_BY_THE_PROJECT = frozenset(_IMPORTED.split())
# The generated project's test modules: pytest puts tests/ first on sys.path.
TEST_MODULES = frozenset({"tests", "test"} | {p.stem for p in PROJECT_TEMPLATE.glob("tests/*.py")})
# Distributions in the generated lock: a project (slug) with one of these names would depend on
# itself.
LOCKED_DISTRIBUTIONS = frozenset(
    package["name"]
    for package in tomllib.loads((PROJECT_TEMPLATE / "uv.lock").read_text())["package"]
    if "{" not in package["name"]
)

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
# Jinja's opening marks, spelt so that cookiecutter (which renders this file) leaves them alone.
TEMPLATE_SYNTAX = ("{" + "{", "{" + "%", "{" + "#")
# Free text may hold letters, marks, numbers, punctuation, symbols and spaces of any script: the
# characters AWS accepts in descriptions and tags. Not controls, line breaks, invisible formatting
# characters (bidirectional overrides, zero-width joiners), surrogates, private-use or unassigned
# code points.
PRINTABLE_CATEGORIES = ("L", "M", "N", "P", "S", "Zs")


class InvalidAnswer(FailedHookException):
    """One answer is wrong; str() is the single line shown to the user.

    A FailedHookException, so that cookiecutter's command line prints just this line and exits 1.
    """

    def __init__(self, answer: str, value: object, problem: str, example: str | None = None):
        self.answer = answer
        shown = repr(value) if len(repr(value)) <= 80 else f"{repr(value)[:60]}...'"
        line = f"ERROR: {answer}={shown}: {problem}"
        super().__init__(f"{line}; for example {answer}={example}" if example else line)


# A check takes the answer and all answers, and returns what is wrong, or None.
Check = Callable[[object, Mapping[str, object]], str | None]


def is_text(value: object, _: Mapping) -> str | None:
    if value is None:
        return "is blank"
    if not isinstance(value, str):
        return "must be text (in a YAML config file, put it in quotes)"
    return None


def no_template_syntax(value: object, _: Mapping) -> str | None:
    if isinstance(value, str) and any(mark in value for mark in TEMPLATE_SYNTAX):
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


# What AWS accepts in a tag value (the e-mail is the `owner` tag of every resource).
TAG_VALUE_CHARS = frozenset(string.ascii_letters + string.digits + " _.:/=+-@")


def a_tag_value(value: str, _: Mapping) -> str | None:
    refused = "".join(sorted(set(value) - TAG_VALUE_CHARS))
    if refused:
        return (
            f"has {refused!r}, which AWS refuses in a tag value (the owner tag); use letters, "
            "digits and _ . : / = + - @"
        )
    return None


def matches(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: str, _: Mapping) -> str | None:
        return None if pattern.fullmatch(value) else what

    return check


# EventBridge schedule expressions (UTC): rate(value unit) or cron(minutes hours day-of-month
# month day-of-week year), the fields as AWS documents them; cfn-lint does not check them.
RATE_RE = re.compile(
    r"rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)", re.ASCII
)
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
# Per field: (name, lowest, highest, names allowed instead of numbers, marks allowed alone).
CRON_FIELDS = (
    ("minutes", 0, 59, "", ""),
    ("hours", 0, 23, "", ""),
    ("day-of-month", 1, 31, "", "?LW"),
    ("month", 1, 12, _MONTHS, ""),
    ("day-of-week", 1, 7, _DAYS, "?L"),
    ("year", 1970, 2199, "", ""),
)


def _cron_field_problem(text: str, lowest: int, highest: int, names: str, alone: str) -> bool:
    """Whether a cron field is out of its rules: *, a value, a range, a list, an increment."""
    if text == "*" or (text in alone):
        return False
    value = f"([0-9]+|{names})" if names else "([0-9]+)"
    item = re.compile(rf"(\*|{value}(-{value})?)(/[0-9]+)?|{value}(L|W|#[1-5])?", re.ASCII)
    for part in text.split(","):
        if not item.fullmatch(part):
            return True
        numbers = [int(number) for number in re.findall(r"(?<![/#])\b[0-9]+\b", part)]
        if any(not lowest <= number <= highest for number in numbers):
            return True
    return False


def schedule_expression(value: str, _: Mapping) -> str | None:
    if value == "none" or RATE_RE.fullmatch(value):
        return None
    if not (value.startswith("cron(") and value.endswith(")")):
        return "must be an EventBridge rate(...) or cron(...) expression, or none"
    fields = value[5:-1].split(" ")
    if len(fields) != len(CRON_FIELDS):
        names = " ".join(name for name, *_ in CRON_FIELDS)
        return f"cron() needs {len(CRON_FIELDS)} fields: {names}"
    for text, (name, *bounds) in zip(fields, CRON_FIELDS, strict=True):
        if _cron_field_problem(text, *bounds):
            return f"cron() field {name} {text!r} is not valid"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "cron() needs ? in exactly one of day-of-month and day-of-week"
    return None


def one_of(options: list[str]) -> Check:
    def check(value: str, _: Mapping) -> str | None:
        return None if value in options else f"must be one of {', '.join(options)}"

    return check


def fits_aws_names(slug: str, context: Mapping) -> str | None:
    region = context.get("aws_region")
    if region not in COMMERCIAL_REGIONS:
        region = max(COMMERCIAL_REGIONS, key=len)
    for resource, pattern, limit in AWS_NAMES:
        name = pattern.format(slug=slug, account="0" * 12, region=region)
        if len(name) > limit:
            shape = pattern.format(slug="<slug>", account="<account>", region=region)
            return f"makes the {resource} name {shape} {len(name)} characters, over AWS's {limit}"
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


def known_region(region: str, _: Mapping) -> str | None:
    if region not in COMMERCIAL_REGIONS:
        return "is not an AWS commercial region code"
    if region in REGIONS_WITHOUT_XGBOOST_IMAGE:
        return "has no SageMaker built-in XGBoost container for the pipeline yet"
    return None


def needs(required: tuple[str, ...]) -> Check:
    """A feature that cannot work without others (variants.Feature.requires) has them on."""

    def check(value: str, context: Mapping) -> str | None:
        for name in required:
            if value == variants.YES and context.get(name) != variants.YES:
                return f"needs {name}=yes; answer {name}=yes too, or no here"
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


def whole_dollars(value: str, _: Mapping) -> str | None:
    if not re.fullmatch(r"[1-9][0-9]{0,6}", value, re.ASCII):
        return "must be a whole number of US dollars from 1 to 9999999"
    return None


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
            (*DATA, one_of([variants.YES, variants.NO]), needs(feature.requires)),
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
}


def check(answer: str, value: object, context: Mapping[str, object]) -> None:
    """Raise InvalidAnswer if `value` breaks one of `answer`'s rules."""
    checks, example = RULES[answer]
    for rule in checks:
        problem = rule(value, context)
        if problem:
            raise InvalidAnswer(answer, value, problem, example)


def answers_are_data(answers: Mapping[str, object]) -> None:
    """Refuse answers that cookiecutter would render as Jinja, or that are not text at all.

    `answers` are the values a user supplied (command line, config file), before cookiecutter
    renders them; names may be dotted (`__prompts__.project_name`).
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
    if isinstance(output_dir, str) and any(mark in output_dir for mark in TEMPLATE_SYNTAX):
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


def main() -> int:
    try:
        validate(json.loads(CONTEXT_JSON))
    except InvalidAnswer as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
