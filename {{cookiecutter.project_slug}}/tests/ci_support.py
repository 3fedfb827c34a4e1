"""The CI's jobs as the shell runs them: each CodeBuild buildspec (one build, its phases' commands
in order, in one environment) and each GitHub Actions job (its steps' `run` scripts in order, on
one runner), with the variables they set. test_ci_environments.py and test_image_pushes.py read
them; a command shape this module does not know fails loudly rather than being skipped."""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from {{ cookiecutter.package_name }} import config

PROJECT = config.PROJECT_DIR
BUILDSPECS = sorted((PROJECT / "buildspecs").glob("*.yml"))
WORKFLOWS = sorted((PROJECT / ".github" / "workflows").glob("*.yml"))
CI_FILES = [path.relative_to(PROJECT).as_posix() for path in BUILDSPECS + WORKFLOWS]
# A GitHub expression opens with a dollar and two braces (spelled so that Jinja leaves it).
EXPRESSION = "${" + "{"


@dataclass
class Job:
    """One CI job: where it is, its shell scripts in order, and the variables they see."""

    name: str
    # Each script with the variables it sees.
    scripts: list[tuple[str, dict[str, str]]]

    def commands(self) -> Iterator[str]:
        """Each script as the shell reads it: comments dropped, continued lines joined, the
        variables the job sets ($NAME, ${NAME}) filled in where they are plain values."""
        for script, variables in self.scripts:
            lines = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
            text = re.sub(r"\\\n\s*", " ", "\n".join(lines))
            yield re.sub(
                r"\$\{?([A-Z_][A-Z0-9_]*)\}?",
                lambda m, known=variables: known.get(m.group(1), m.group(0)),
                text,
            )


# Read, never changed, by every test of the CI's steps: parsed once, by libyaml where PyYAML has it.
@functools.cache
def _load(relative: str) -> dict[str, Any]:
    text = (PROJECT / relative).read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _plain(variables: Mapping[str, Any] | None) -> dict[str, str]:
    """Variables whose value is known before the run (not a GitHub expression)."""
    return {
        key: str(value)
        for key, value in (variables or {}).items()
        if EXPRESSION not in str(value) and not isinstance(value, dict | list)
    }


def jobs(relative: str) -> list[Job]:
    """The jobs of a buildspec (one) or a workflow (one a job), in file order."""
    spec = _load(relative)
    if relative.startswith("buildspecs/"):
        scripts = [
            command
            for phase in spec["phases"].values()
            for command in (phase or {}).get("commands", [])
        ]
        variables = _plain((spec.get("env") or {}).get("variables"))
        return [Job(relative, [(script, variables) for script in scripts])]
    found = []
    for name, job in spec["jobs"].items():
        variables = _plain(spec.get("env")) | _plain(job.get("env"))
        scripts = [
            (step["run"], variables | _plain(step.get("env")))
            for step in job["steps"]
            if "run" in step
        ]
        found.append(Job(f"{relative}: job {name}", scripts))
    return found


# A command the shell starts: up to the end of its line, `;`, `&&`, `||`, `|` or `)`.
COMMAND_END = r"[^\n;&|)]*"


def commands_of(text: str, *programs: str) -> list[list[str]]:
    """The argument lists of every command of these programs in shell text, in order, as the shell
    splits them (the variable assignments before a program left out)."""
    names = "|".join(re.escape(program) for program in programs)
    pattern = rf"(?<![\w/.$=-])(?:{names})(?=\s){COMMAND_END}"
    return [shlex.split(match.group(0)) for match in re.finditer(pattern, text)]


def makefile_recipe(target: str) -> list[str]:
    """The recipe lines of a Makefile target, with the Makefile's plain variables expanded."""
    text = (PROJECT / "Makefile").read_text(encoding="utf-8")
    variables = dict(re.findall(r"^([A-Z_]+)\s*[:?]?=\s*(.*)$", text, re.MULTILINE))
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n?)*)", text, re.MULTILINE)
    assert match, f"the Makefile has no target {target}"
    recipe = match.group(1).replace("\\\n", " ")
    for _ in range(5):
        recipe = re.sub(r"\$\(([A-Z_]+)\)", lambda m: variables.get(m.group(1), m.group(0)), recipe)
    return [line.strip() for line in recipe.splitlines() if line.strip()]
