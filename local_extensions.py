"""Jinja extension that gives cookiecutter.json, the hooks and the templates the variant table."""

from pathlib import Path

from jinja2.ext import Extension

from variants import feature_default


def answers(context: dict) -> dict:
    """The answers without cookiecutter's private keys, recorded in the project as a replay file."""
    return {key: value for key, value in context.items() if not key.startswith("_")}


class VariantDefaults(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["feature_default"] = feature_default
        environment.filters["answers"] = answers
        # cookiecutter's _repo_dir is relative to where it was started, but hooks run inside the
        # output directory: they need this absolute path to import variants.py.
        environment.globals["template_dir"] = str(Path(__file__).resolve().parent)
