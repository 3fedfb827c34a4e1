"""Post-generation hook: removes the files of options this variant does not use, prints the next
steps (mlops_template/post_gen.py). Rendered by cookiecutter (the two strings below, as data) and
run from the project folder, so it puts the template's root on sys.path itself.
"""

from __future__ import annotations

import json
import sys

CONTEXT_JSON = r"""{{ cookiecutter | tojson }}"""
TEMPLATE_DIR = r"""{{ template_dir }}"""

if __name__ == "__main__":
    sys.path.insert(0, TEMPLATE_DIR)
    from mlops_template import post_gen

    sys.exit(post_gen.main(json.loads(CONTEXT_JSON)))
