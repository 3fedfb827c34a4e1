"""Checks of the author's e-mail: an address, a value AWS takes in a tag (the `owner` tag of every
resource), and one the project's build backend writes into the package's metadata."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from email.errors import MessageError
from email.headerregistry import Address

EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    re.ASCII,
)
# What AWS accepts in a tag value.
TAG_VALUE_CHARS = frozenset(string.ascii_letters + string.digits + " _.:/=+-@")


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
