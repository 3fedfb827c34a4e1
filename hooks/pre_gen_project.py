"""Validate every answer before anything is generated.

On the first bad answer, print one line (which answer, what is wrong, an example of a good one)
and exit 1; cookiecutter then removes the half-made output directory.
Plain importable Python: tests call `validate()` directly.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Mapping

# Rendered by cookiecutter; a raw string so that any answer stays data.
CONTEXT_JSON = r"""{{ cookiecutter | tojson }}"""
# Hooks cannot import their siblings; the variant table sits at the template root.
sys.path.insert(0, r"""{{ template_dir }}""")
import variants  # noqa: E402

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

# The slug names AWS resources: S3 buckets "<slug>-<account>-<region>" must fit in 63 characters
# and SageMaker names allow only letters, digits and single hyphens.
SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
SLUG_MAX = 32
PACKAGE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Import names of the generated project's dependencies: a package with one of these names
# would shadow the library.
TAKEN_PACKAGE_NAMES = frozenset(
    {"sagemaker", "boto3", "botocore", "xgboost", "sklearn", "pandas", "numpy", "matplotlib"}
    | {"pytest", "moto", "tests", "test"}
)
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)
ACCOUNT_RE = re.compile(r"^\d{12}$")


class InvalidAnswer(ValueError):
    """One answer is wrong; the message is the single line shown to the user."""


def _fail(answer: str, value: object, problem: str, example: str) -> InvalidAnswer:
    return InvalidAnswer(f"{answer}={value!r}: {problem}; for example {answer}={example}")


def validate(context: Mapping[str, object]) -> None:
    """Raise InvalidAnswer naming the first answer that is wrong."""
    for name in ("project_name", "description", "author_name"):
        value = context[name]
        if not str(value).strip() or "\n" in str(value):
            raise _fail(name, value, "must be one non-empty line", "'Customer Churn Model'")

    slug = str(context["project_slug"])
    if not SLUG_RE.match(slug) or len(slug) > SLUG_MAX:
        raise _fail(
            "project_slug",
            slug,
            f"use lowercase letters, digits and single hyphens, start with a letter, "
            f"at most {SLUG_MAX} characters",
            "customer-churn",
        )

    package = str(context["package_name"])
    if not PACKAGE_RE.match(package) or keyword.iskeyword(package):
        raise _fail(
            "package_name",
            package,
            "must be a Python identifier in lowercase letters, digits and underscores",
            "customer_churn",
        )
    if package in TAKEN_PACKAGE_NAMES or package in sys.stdlib_module_names:
        raise _fail(
            "package_name",
            package,
            "would shadow a standard-library module or a dependency",
            f"{package}_model",
        )

    email = str(context["author_email"])
    if not EMAIL_RE.match(email):
        raise _fail("author_email", email, "is not an e-mail address", "ml-team@example.com")

    region = str(context["aws_region"])
    if region not in COMMERCIAL_REGIONS:
        raise _fail("aws_region", region, "is not an AWS commercial region code", "eu-west-1")
    if region in REGIONS_WITHOUT_XGBOOST_IMAGE:
        raise _fail(
            "aws_region",
            region,
            "has no SageMaker built-in XGBoost container for the pipeline yet",
            "eu-west-1",
        )

    account = str(context["aws_account_id"])
    if not ACCOUNT_RE.match(account):
        raise _fail("aws_account_id", account, "must be exactly 12 digits", "123456789012")

    size = context["mlops_size"]
    if size not in variants.SIZES:
        raise _fail("mlops_size", size, f"must be one of {', '.join(variants.SIZES)}", "small")

    for option, by_value in variants.CHOICE_PATHS.items():
        if context[option] not in by_value:
            raise _fail(
                option,
                context[option],
                f"must be one of {', '.join(by_value)}",
                next(iter(by_value)),
            )

    for feature in variants.FEATURES:
        if context[feature.name] not in (variants.YES, variants.NO):
            raise _fail(feature.name, context[feature.name], "must be yes or no", variants.YES)


def main() -> int:
    try:
        validate(json.loads(CONTEXT_JSON))
    except InvalidAnswer as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
