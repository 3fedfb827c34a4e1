"""Pre-generation hook: the answer rules again (mlops_template/rules.py).

The template's Jinja extension has applied them before cookiecutter created the project folder;
this runs them once more on the context cookiecutter hands the hooks. Hooks cannot import their
siblings: cookiecutter renders this file (the two strings below, as data) and runs it from the
project folder, so it puts the template's root on sys.path itself.
"""

from __future__ import annotations

import json
import sys

CONTEXT_JSON = r"""{{ cookiecutter | tojson }}"""
TEMPLATE_DIR = r"""{{ template_dir }}"""

if __name__ == "__main__":
    sys.path.insert(0, TEMPLATE_DIR)
    from mlops_template import rules

    sys.exit(rules.main(json.loads(CONTEXT_JSON)))
