"""The template's Jinja extension (cookiecutter.json's `_extensions`): the filters and globals its
files use, and where the answers are checked before cookiecutter renders or writes them.

Cookiecutter builds a Jinja environment with this extension for the prompts, for the files and for
each hook, and renders through it, in this order:
- every answer of cookiecutter.json, with those a command line or config file supplied in their
  place: `preprocess` turns any string that is not the template's own Jinja into a template that
  prints it unchanged, so an answer holding `{{`, `{%` or `{#` is data, never run. The slug's
  default goes through this extension's `slugify`, cookiecutter's own for text, which refuses a
  project_name that is not (a config file's null or yes, which cookiecutter leaves unrendered);
- the project folder's name, `{{cookiecutter.project_slug}}`, with every answer, whichever route
  they came by, before cookiecutter creates the folder: `preprocess` renders it through
  `project_folder()`, which applies every rule (`rules.check_answers`) to the rendered answers and
  to `_cookiecutter`, the answers as supplied (a config file's number or list still what it was).
A refusal raises `rules.InvalidAnswer`, which cookiecutter's command line prints as its one line,
exit status 1. All of these are public points: a Jinja extension's filters and `preprocess`, and
cookiecutter's `_cookiecutter` in the folder's context; nothing here reads cookiecutter's internals.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping

from jinja2 import BytecodeCache, Environment, pass_context
from jinja2.bccache import Bucket
from jinja2.ext import Extension
from jinja2.runtime import Context

from mlops_template import PROJECT_TEMPLATE, ROOT, rules, variants
from mlops_template.checks.aws import DEFAULT_SLUG_MAX
from mlops_template.checks.text import has_template_syntax, is_text

PROJECT_FOLDER = PROJECT_TEMPLATE.name


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# The template's own Jinja that cookiecutter renders from strings: cookiecutter.json's values,
# the hooks, and the names of the project template's files and folders, alone or after the
# project's path. Files' contents are loaded by name, and are the template's own too.
OWN_SOURCES = frozenset(
    [
        *_strings(rules.TEMPLATE_DEFAULTS),
        *(hook.read_text(encoding="utf-8") for hook in (ROOT / "hooks").glob("*.py")),
    ]
)
OWN_PATHS = tuple(
    str(path.relative_to(PROJECT_TEMPLATE))
    for path in PROJECT_TEMPLATE.rglob("*")
    if has_template_syntax(str(path.relative_to(PROJECT_TEMPLATE)))
)


def is_own_source(source: str) -> bool:
    if source in OWN_SOURCES:
        return True
    return any(
        source == path
        or (source.endswith(f"/{path}") and not has_template_syntax(source[: -len(path)]))
        for path in OWN_PATHS
    )


def as_data(text: str) -> str:
    """A template that prints `text` as it is: one Jinja string literal, every character escaped
    (Jinja decodes its string literals' backslash escapes)."""
    return '{{ "' + "".join(f"\\U{ord(char):08x}" for char in text) + '" }}'


@pass_context
def project_folder(context: Context) -> str:
    """The project folder's name, once every answer passes every rule."""
    cookiecutter = context["cookiecutter"]
    if not cookiecutter.keys() >= rules.RULES.keys():
        # Not the folder: an answer that reads `{{cookiecutter.project_slug}}`, rendered with the
        # answers before it; it stays data (and is refused once all answers are in).
        return PROJECT_FOLDER
    defaults = derived_defaults(context.environment, cookiecutter)
    rules.check_answers(cookiecutter, context.get("_cookiecutter") or cookiecutter, defaults)
    return str(cookiecutter["project_slug"])


def derived_defaults(environment: Environment, answers: Mapping) -> dict[str, object]:
    """The defaults cookiecutter.json makes from other answers (rules.DERIVED_FROM), rendered from
    `answers`; one whose source answer is itself refused is left out (the rules name that)."""
    defaults = {}
    for answer in rules.DERIVED_FROM:
        template = environment.from_string(rules.TEMPLATE_DEFAULTS[answer])
        try:
            defaults[answer] = template.render(cookiecutter=answers)
        except rules.InvalidAnswer:
            continue
    return defaults


def text_slugify(slugify: Callable[..., str]) -> Callable[..., str]:
    """Cookiecutter's `slugify` filter for text; an answer that is not text, refused.

    A config file's `project_name: ~` or `project_name: yes` reaches the slug's default as None
    or True (cookiecutter renders neither), which cookiecutter's filter crashes on.
    """

    @pass_context
    def slugify_text(context: Context, value: object, *args: object, **kwargs: object) -> str:
        if not isinstance(value, str):
            answers = context.get("cookiecutter") or {}
            answer = next((name for name, given in answers.items() if given is value), None)
            problem = is_text(value, answers)
            if answer in rules.RULES and problem:
                raise rules.InvalidAnswer(answer, value, problem, rules.RULES[answer][1])
        return slugify(value, *args, **kwargs)

    return slugify_text


def feature_default(size: str, feature: str) -> str:
    """The prompt default ("yes"/"no") of `feature` for `size`, once the size is known good."""
    rules.check("mlops_size", size, {})
    return variants.feature_default(size, feature)


def answers_only(context: Mapping) -> dict:
    """The answers without cookiecutter's private keys, recorded in the project as a replay file."""
    return {key: value for key, value in context.items() if not key.startswith("_")}


def toml_string(text: str) -> str:
    """`text` as a TOML basic string, its characters as they are (TOML is UTF-8).

    Not `tojson`: JSON writes a character beyond U+FFFF as two \\u escapes of surrogates, which
    TOML refuses.
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(f"\\u{ord(c):04X}" if unicodedata.category(c) == "Cc" else c for c in escaped)
    return f'"{escaped}"'


class _CompiledTemplates(BytecodeCache):
    """The project template's files compiled once a process, keyed by name and source checksum
    (Jinja's own bucket key): cookiecutter makes a new environment each bake, and compiling costs
    most of a bake, which tests and benchmarks repeat dozens of times."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED = _CompiledTemplates()


class TemplateExtension(Extension):
    def __init__(self, environment: Environment):
        super().__init__(environment)
        # Cookiecutter's default extensions, `slugify`'s among them, come before `_extensions`.
        environment.filters["slugify"] = text_slugify(environment.filters["slugify"])
        environment.bytecode_cache = environment.bytecode_cache or COMPILED
        environment.filters["feature_default"] = feature_default
        environment.filters["answers"] = answers_only
        environment.filters["toml_string"] = toml_string
        environment.globals["project_folder"] = project_folder
        environment.globals["slug_max_length"] = DEFAULT_SLUG_MAX
        # cookiecutter's _repo_dir is relative to where it was started, but hooks run inside the
        # output directory: they need this absolute path to import this package.
        environment.globals["template_dir"] = str(ROOT)

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        """Jinja calls this with every template's source before it compiles it."""
        if name is not None:  # a file of the project template, loaded by name
            return source
        if source == PROJECT_FOLDER:
            return "{{ project_folder() }}"
        if has_template_syntax(source) and not is_own_source(source):
            return as_data(source)
        return source
