"""Checks of the AWS accounts: which role has an account of its own, and which shares the tooling
account (aws_account_id)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from mlops_template import variants
from mlops_template.checks import Check
from mlops_template.checks.text import DATA, matches

ACCOUNT_RE = re.compile(r"[0-9]{12}", re.ASCII)
ACCOUNT_ID = (*DATA, matches(ACCOUNT_RE, "must be exactly 12 ASCII digits"))


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
