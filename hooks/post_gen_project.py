"""Remove the files of options this variant does not use, then print the next steps.

Which files belong to which option is declared once, in the template's variants.py.
Offline, deterministic and idempotent: cruft re-runs it on every update.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

CONTEXT_JSON = r"""{{ cookiecutter | tojson }}"""
# Hooks cannot import their siblings; the variant table sits at the template root.
sys.path.insert(0, r"""{{ template_dir }}""")
import variants  # noqa: E402


def remove_unused(project: Path, context: Mapping[str, str]) -> list[str]:
    removed = []
    for relative in variants.paths_to_remove(context):
        path = project / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(relative)
    return removed


def next_steps(context: Mapping[str, str]) -> str:
    features = ", ".join(sorted(variants.enabled_features(context))) or "no optional features"
    return "\n".join(
        [
            f"Generated {context['project_slug']} ({context['mlops_size']}, "
            f"{context['problem_type']}, {features}). Next:",
            f"  cd {context['project_slug']}",
            "  make install      # uv sync: the pinned environment from uv.lock",
            "  make local-run    # the pipeline end to end on the sample data, no AWS needed",
            "  make schema DATA=your.csv TARGET=column   # then the same on your own data",
            "  make test         # unit tests, pipeline-definition test (offline)",
            "  make help         # every target, including upsert and start in AWS",
        ]
    )


def main() -> int:
    context = json.loads(CONTEXT_JSON)
    remove_unused(Path.cwd(), context)
    print(next_steps(context))
    return 0


if __name__ == "__main__":
    sys.exit(main())
