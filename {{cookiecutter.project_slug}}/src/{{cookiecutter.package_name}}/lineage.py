"""What a model was made from, in the form AWS stores it: the git commit of the code, the tags of
every job, and text made safe for model-package metadata and tags.

The pipeline records these on every model package (CustomerMetadataProperties, MetadataProperties,
Tags) and on every job; the data's content hash comes from preprocess's data manifest.
"""

from __future__ import annotations

import subprocess
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import config

# CreateModelPackage's CustomerMetadataProperties and tags accept letters, numbers, spaces and
# these marks only (the pattern in botocore's SageMaker model), values up to 256 characters.
ALLOWED_MARKS = "_.:/=+-@"
MAX_VALUE_LENGTH = 256
UNKNOWN = "unknown"


@dataclass(frozen=True)
class GitState:
    commit: str  # the full hash, or "unknown" outside a git checkout
    dirty: bool  # uncommitted changes: the commit alone does not reproduce the code

    @property
    def label(self) -> str:
        return f"{self.commit}-dirty" if self.dirty else self.commit


def git_state(directory: Path = config.PROJECT_DIR) -> GitState:
    """The commit checked out in `directory` and whether the work tree differs from it."""

    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(
                ["git", *args], cwd=directory, capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return GitState(UNKNOWN, dirty=False)
    return GitState(commit, dirty=bool(git("status", "--porcelain")))


def aws_text(text: object) -> str:
    """`text` as a model-package metadata or tag value: every other character becomes `_`."""
    safe = "".join(
        char
        if char.isalnum() or char in ALLOWED_MARKS or unicodedata.category(char).startswith("Z")
        else "_"
        for char in str(text)
    )
    return safe[:MAX_VALUE_LENGTH] or "_"


def hyperparameters_text(hyperparameters: Mapping[str, object]) -> str:
    """name=value pairs separated by spaces (JSON's braces and quotes are not allowed)."""
    return aws_text(" ".join(f"{name}={value}" for name, value in sorted(hyperparameters.items())))


def tags(git: GitState) -> list[dict[str, str]]:
    """The tags of every job, the model package and the pipeline: config.TAGS and the commit."""
    values = {**config.TAGS, "git-commit": git.label}
    return [{"Key": aws_text(key), "Value": aws_text(value)} for key, value in values.items()]


def model_facts(git: GitState, hyperparameters: Mapping[str, object]) -> dict[str, object]:
    """What the model card (steps/model_card.py) knows before any step runs: the project's
    answers, the quality gate, the hyperparameters and the commit. The card's job gets it as a
    file: its script imports nothing of config (job code carries no project.json)."""
    gate = config.QUALITY_GATE
    return {
        "project_name": config.PROJECT_NAME,
        "description": config.DESCRIPTION,
        "owner": f"{config.AUTHOR_NAME} <{config.AUTHOR_EMAIL}>",
        "problem_type": config.PROBLEM_TYPE,
        "dataset": config.DATASET,
        "quality_gate": {
            "metric": gate.metric,
            "json_path": gate.json_path,
            "higher_is_better": gate.higher_is_better,
            "threshold": gate.threshold,
            "champion_margin": gate.champion_margin,
        },
        "hyperparameters": {name: str(value) for name, value in hyperparameters.items()},
        "git_commit": git.label,
    }
