"""Jinja extension of the template: variant table, answer checks, filters that keep answers data.

Cookiecutter renders the answers of a command line or config file as Jinja before any hook runs,
and creates the output folder before the pre-generation hook. This extension is the first code of
the template that sees the answers: cookiecutter builds a Jinja environment, and so loads it, just
before it renders them, and again just before it writes anything. Both times it runs the rules of
hooks/pre_gen_project.py, so a bad answer is refused in one line with nothing written.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path

from jinja2 import Environment
from jinja2.ext import Extension

import variants

ROOT = Path(__file__).resolve().parent


def _load_rules():
    path = ROOT / "hooks" / "pre_gen_project.py"
    spec = importlib.util.spec_from_file_location("pre_gen_project_rules", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rules = _load_rules()
TEMPLATE_DEFAULTS = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))


def answers(context: dict) -> dict:
    """The answers without cookiecutter's private keys, recorded in the project as a replay file."""
    return {key: value for key, value in context.items() if not key.startswith("_")}


def feature_default(size: str, feature: str) -> str:
    """The prompt default ("yes"/"no") of `feature` for `size`, once the size is known good."""
    rules.check("mlops_size", size, {})
    return variants.feature_default(size, feature)


# Look-alike characters that ruff's RUF001 flags in a string, among those python_string keeps
# (tests/test_answers.py checks the list against ruff).
RUFF_CONFUSABLES = frozenset(
    chr(code)
    for code in (
        *(0x00B4, 0x00B8, 0x00D7, 0x0131, 0x017F, 0x0184, 0x018D, 0x01A6, 0x01A7, 0x01B7),
        *(0x01BC, 0x01BD, 0x01C0, 0x01C3, 0x021C, 0x0222, 0x0223, 0x0241),
        *(0x2010, 0x2011, 0x2012, 0x2013, 0x2018, 0x2019, 0x201A, 0x201B, 0x2024, 0x2032),
        *(0x2035, 0x2039, 0x203A, 0x2041, 0x2043, 0x2044, 0x204E, 0x2053, 0x205A),
    )
)
# Python literals keep ASCII, Latin letters and common punctuation as they are (one column wide
# each); any other character is written as an escape, so that ruff neither flags a look-alike
# nor measures a line differently from this filter.
KEPT_BLOCKS = ((0x00A1, 0x024F), (0x2010, 0x205E), (0x20A0, 0x20C0))
LINE_LENGTH = 100  # the generated project's ruff line-length
INDENT = 4


def _kept(char: str) -> bool:
    if " " <= char <= "~":
        return True
    code = ord(char)
    return (
        any(low <= code <= high for low, high in KEPT_BLOCKS)
        and unicodedata.category(char)[0] in "LNPS"
        and char not in RUFF_CONFUSABLES
    )


def _python_char(char: str, quote: str) -> str:
    if char in ("\\", quote):
        return "\\" + char
    if _kept(char):
        return char
    code = ord(char)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def _literal(text: str) -> str:
    """One Python literal, in the quotes ruff prefers: double, unless the text holds more double
    quotes than single ones."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + "".join(_python_char(char, quote) for char in text) + quote


def _widest(text: str) -> int:
    """Columns of `text` as a literal, whichever quotes it gets."""
    return 2 + sum(len(_python_char(char, "'\"")) + (char in "'\"") for char in text)


def _pieces(text: str, width: int) -> Iterator[str]:
    """`text` cut into pieces that fit in `width` columns as literals, after spaces if possible."""
    piece = ""
    for word in re.findall(r"[^ ]+ *| +", text):
        if piece and _widest(piece + word) > width:
            yield piece
            piece = ""
        while _widest(word) > width:  # a word longer than a line
            cut = max(n for n in range(1, len(word) + 1) if _widest(word[:n]) <= width)
            yield word[:cut]
            word = word[cut:]
        piece += word
    yield piece


def python_string(text: str, column: int) -> str:
    """`text` as a Python literal that starts at `column` and that `ruff format` leaves unchanged.

    One line when it fits in the line length; otherwise a parenthesised implicit concatenation,
    one piece a line, broken after spaces.
    """
    if column + len(_literal(text)) <= LINE_LENGTH:
        return _literal(text)
    pieces = _pieces(text, LINE_LENGTH - INDENT)
    return "(\n" + "".join(f"{' ' * INDENT}{_literal(piece)}\n" for piece in pieces) + ")"


def toml_string(text: str) -> str:
    """`text` as a TOML basic string, its characters as they are (TOML is UTF-8)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(f"\\u{ord(c):04X}" if unicodedata.category(c) == "Cc" else c for c in escaped)
    return f'"{escaped}"'


def _supplied(
    context: Mapping, defaults: Mapping, prefix: str = ""
) -> Iterator[tuple[str, object]]:
    """(name, value) of every answer that differs from the template's own cookiecutter.json."""
    for key, value in context.items():
        if key.startswith("_") and not key.startswith("__"):
            continue  # cookiecutter's private keys: never rendered
        default = defaults.get(key) if isinstance(defaults, Mapping) else None
        if isinstance(value, Mapping) and isinstance(default, Mapping):
            yield from _supplied(value, default, f"{prefix}{key}.")
            continue
        if value != default:
            yield f"{prefix}{key}", value
        if isinstance(value, Mapping):  # a new dictionary: its keys are rendered too
            yield from ((f"{prefix}{key}.{k}", k) for k in value)


def _context_being_rendered(environment: Environment) -> Mapping | None:
    """The context cookiecutter passes to the environment it is creating.

    Cookiecutter's environment takes `context=` but keeps it from its extensions; it is read from
    the creating frame. None when the environment was created some other way.
    """
    frame = sys._getframe(1)
    while frame is not None:
        local = frame.f_locals
        if local.get("self") is environment and isinstance(local.get("context"), Mapping):
            return local["context"]
        frame = frame.f_back
    return None


def check_answers(context: Mapping) -> None:
    """Before rendering: supplied answers are data. Before writing: every rule, and the folder."""
    answers_ = context.get("cookiecutter", {})
    if "_output_dir" not in answers_:
        rules.answers_are_data(dict(_supplied(answers_, TEMPLATE_DEFAULTS)))
        return
    rules.validate(answers_)
    project = Path(answers_["_output_dir"], answers_["project_slug"])
    rules.check_existing_project(project, answers_["package_name"])


class VariantDefaults(Extension):
    def __init__(self, environment: Environment):
        super().__init__(environment)
        context = _context_being_rendered(environment)
        if context is not None:
            check_answers(context)
        environment.filters["feature_default"] = feature_default
        environment.filters["answers"] = answers
        environment.filters["python_string"] = python_string
        environment.filters["toml_string"] = toml_string
        environment.globals["slug_max_length"] = rules.DEFAULT_SLUG_MAX
        # cookiecutter's _repo_dir is relative to where it was started, but hooks run inside the
        # output directory: they need this absolute path to import variants.py.
        environment.globals["template_dir"] = str(ROOT)
