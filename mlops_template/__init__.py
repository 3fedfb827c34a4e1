"""The template's own code: the variant table, the answer rules, the Jinja extension, the hooks'
work.

cookiecutter imports `mlops_template.extension` (cookiecutter.json's `_extensions`) with the
template's root on sys.path; the hooks, which cookiecutter runs as scripts of their own, put the
root there themselves and call `rules.main` and `post_gen.main`.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The generated repository's template: cookiecutter renders this folder's name first.
PROJECT_TEMPLATE = ROOT / "{{cookiecutter.project_slug}}"
