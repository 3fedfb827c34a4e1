"""What the post-generation hook does: remove the files of options this variant does not use
(declared once, in variants.py), then print the next steps.

Offline, deterministic and idempotent: cruft re-runs it on every update.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from mlops_template import variants


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


def main(context: Mapping[str, str]) -> int:
    """The post-generation hook, run from the project folder."""
    remove_unused(Path.cwd(), context)
    print(next_steps(context))
    return 0
