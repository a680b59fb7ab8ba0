"""The CI/CD pipelines in .github/workflows, linted with actionlint, and the
promises they keep: credentials only by OIDC role, actions pinned to a major
version at least. A missing actionlint fails the test; `make setup` installs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
ACTIONLINT = Path(sys.executable).parent / "actionlint"
# One pipeline per deployable part, as the README describes.
PIPELINES = {"infrastructure.yml", "bot.yml", "worker.yml", "sam.yml"}


def test_the_pipelines_exist() -> None:
    assert WORKFLOWS, "no workflow files in .github/workflows"
    assert {path.name for path in WORKFLOWS} >= PIPELINES


def test_actionlint() -> None:
    if not os.access(ACTIONLINT, os.X_OK):
        pytest.fail(f"{ACTIONLINT.relative_to(ROOT)} is not installed; run `make setup` first")
    assert WORKFLOWS, "no workflow files in .github/workflows"
    done = subprocess.run(
        [str(ACTIONLINT), "-no-color", *(str(p.relative_to(ROOT)) for p in WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_no_long_lived_aws_keys(workflow: Path) -> None:
    text = workflow.read_text(encoding="utf-8")

    assert "aws-access-key-id" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text
    if "configure-aws-credentials" in text:
        assert "role-to-assume" in text
        assert "id-token: write" in text


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_actions_are_pinned_to_a_version(workflow: Path) -> None:
    uses = re.findall(r"uses:\s*([^\s#]+)", workflow.read_text(encoding="utf-8"))

    for action in uses:
        if action.startswith("./"):
            assert (ROOT / action).is_file(), f"{workflow.name} calls {action}, which does not exist"
            continue
        assert re.search(r"@(v\d+(\.\d+)*|[0-9a-f]{40})$", action), f"{workflow.name}: {action} is not pinned"


def test_the_tests_pipelines_run_the_readme_test_command() -> None:
    for name in ("bot.yml", "worker.yml"):
        steps = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))["jobs"]["test"]
        assert any(step.get("run") == "make test" for step in steps["steps"]), name
