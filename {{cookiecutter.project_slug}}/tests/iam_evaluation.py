"""IAM's policy evaluation, for the tests that hold requests against the rendered policies.

Written here because no kept library evaluates policies: moto's `moto.iam.access_control`
(`IAMPolicyStatement`, moto 5.2.5) knows only the StringEquals operator, takes a condition
that does not match for an explicit deny, matches principals of the `AWS` kind only (a
`Service` principal raises) and actions case-sensitively; checkov and cfn-lint check shapes,
not requests. This follows AWS's documented logic
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny wins, else an Allow whose action, resource, principal and every condition
match, else denied. An operator it does not know fails the test instead of passing it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
_POSITIVE = {
    "StringEquals": lambda pattern, value: pattern == value,
    "StringEqualsIgnoreCase": lambda pattern, value: pattern.lower() == value.lower(),
    "StringLike": lambda pattern, value: glob(pattern, value),
    # ArnEquals and ArnLike behave alike: each of the six parts of the ARN by wildcards.
    "ArnEquals": lambda pattern, value: arn_like(pattern, value),
    "ArnLike": lambda pattern, value: arn_like(pattern, value),
    "Bool": lambda pattern, value: pattern.lower() == value.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# The checks evaluate the same few hundred patterns against hundreds of thousands of requests.
@functools.cache
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's wildcards: `*` any characters, `?` one; nothing else is special."""
    return _compiled(pattern, ignore_case).fullmatch(value) is not None


def arn_like(pattern: str, value: str) -> bool:
    parts, values = pattern.split(":", 5), value.split(":", 5)
    return len(parts) == len(values) == 6 and all(map(glob, parts, values))


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Request:
    """One authorization request: who (an IAM principal's ARN, or a service principal such
    as `logs.us-east-1.amazonaws.com`), which action on which resource, and the request's
    context keys (kms:EncryptionContext:..., aws:SourceArn...)."""

    action: str
    resource: str
    principal: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)

    def value(self, key: str) -> list[str] | None:
        """The context key's values (keys are case-insensitive), or None when absent."""
        for name, value in self.context.items():
            if name.lower() == key.lower():
                return [_text(item) for item in as_list(value)]
        return None


def _condition_holds(operator: str, key: str, patterns: Any, request: Request) -> bool:
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    values = request.value(key)
    patterns = [_text(pattern) for pattern in as_list(patterns)]
    if operator == "Null":
        return (values is None) == (patterns[0] == "true")
    negated = operator in _NEGATED
    test = _POSITIVE.get(_NEGATED.get(operator, operator))
    if test is None:
        raise NotImplementedError(f"condition operator {operator!r} of {key}")

    def matches(value: str) -> bool:
        hit = any(test(pattern, value) for pattern in patterns)
        return not hit if negated else hit

    if values is None:
        # A missing key fails a positive operator and passes a negated one (or ...IfExists).
        if qualifier == "ForAllValues":
            return True
        return if_exists or (negated and qualifier != "ForAnyValue")
    if qualifier == "ForAllValues":
        return all(matches(value) for value in values)
    if qualifier == "ForAnyValue":
        return any(matches(value) for value in values)
    # A single-valued key: a negated operator holds when no pattern matches it.
    return all(matches(value) for value in values) if negated else any(map(matches, values))


def conditions_hold(condition: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    return all(
        _condition_holds(operator, key, patterns, request)
        for operator, keys in condition.items()
        for key, patterns in keys.items()
    )


def account_of(principal: str) -> str | None:
    """The account of an IAM principal's ARN; None for a service principal."""
    if not principal.startswith("arn:"):
        return None
    return principal.split(":")[4] or None


def principal_matches(element: Any, principal: str | None, exact: bool = False) -> bool:
    """Whether a statement's Principal names the request's principal: by `*`, by its ARN, by
    its service name, or (unless exact) by its account (`<id>` or `arn:...:iam::<id>:root`)."""
    if element is None:
        return True  # an identity policy: the principal is whoever holds it
    if principal is None:
        return False
    if element == "*":
        return not exact
    for kind, names in element.items():
        for name in as_list(names):
            if kind == "Service" and name == principal:
                return True
            if kind != "AWS":
                continue
            if name == principal or (name == "*" and not exact):
                return True
            account = re.fullmatch(r"(?:arn:[\w-]+:iam::)?(\d{12})(?::root)?", name)
            if account and not exact and account_of(principal) == account.group(1):
                return True
    return False


def statement_applies(statement: Mapping[str, Any], request: Request, exact: bool = False) -> bool:
    if "NotPrincipal" in statement:
        raise NotImplementedError("NotPrincipal")
    if "NotAction" in statement:
        acts = not any(glob(a, request.action, True) for a in as_list(statement["NotAction"]))
    else:
        acts = any(glob(a, request.action, True) for a in as_list(statement["Action"]))
    if "NotResource" in statement:
        on = not any(glob(r, request.resource) for r in as_list(statement["NotResource"]))
    else:
        on = any(glob(r, request.resource) for r in as_list(statement.get("Resource", "*")))
    return (
        acts
        and on
        and principal_matches(statement.get("Principal"), request.principal, exact)
        and conditions_hold(statement.get("Condition", {}), request)
    )


def decision(policies: Iterable[Mapping[str, Any]], request: Request, exact: bool = False) -> str:
    """ "Deny" (explicit), "Allow", or "NotAllowed" (implicit deny), over policy documents."""
    allowed = False
    for policy in policies:
        for statement in as_list(policy["Statement"]):
            if statement_applies(statement, request, exact):
                if statement["Effect"] == "Deny":
                    return "Deny"
                allowed = True
    return "Allow" if allowed else "NotAllowed"


def allows(policies: Iterable[Mapping[str, Any]], request: Request) -> bool:
    return decision(policies, request) == "Allow"


def kms_allows(
    key_policy: Mapping[str, Any],
    identity_policies: Iterable[Mapping[str, Any]],
    request: Request,
    key_account: str,
) -> bool:
    """A KMS request as AWS KMS decides it
    (https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html): the key
    policy must allow it. Where it allows the principal itself (its ARN, or a service), that is
    enough in the key's account; where it allows the principal's account (`:root`, which lets
    IAM policies decide) or the principal is in another account, an identity policy must
    allow it too."""
    identity_policies = list(identity_policies)
    if decision([key_policy], request) != "Allow":
        return False
    if "Deny" in (decision(identity_policies, request),):
        return False
    assert request.principal is not None
    same_account = account_of(request.principal) in (key_account, None)
    if same_account and decision([key_policy], request, exact=True) == "Allow":
        return True
    return account_of(request.principal) is not None and allows(identity_policies, request)
