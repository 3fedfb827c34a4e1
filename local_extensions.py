"""Jinja extension that gives cookiecutter.json and the hooks the variant table."""

from pathlib import Path

from jinja2.ext import Extension

from variants import feature_default


class VariantDefaults(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["feature_default"] = feature_default
        # cookiecutter's _repo_dir is relative to where it was started, but hooks run inside the
        # output directory: they need this absolute path to import variants.py.
        environment.globals["template_dir"] = str(Path(__file__).resolve().parent)
