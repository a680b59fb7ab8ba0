"""The CI/CD pipelines in .github/workflows, linted with actionlint, and the
promises they keep: credentials only by OIDC role, actions pinned to a major
version at least, and one image reference (<repository>:<git SHA>) from the
build to terraform apply, with no moving tag anywhere. A missing actionlint
fails the test; `make setup` installs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.auxil.runtimes import python_minor, shipped_runtime
from tests.conftest import TIERS

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
ACTIONLINT = Path(sys.executable).parent / "actionlint"
# One pipeline per deployable part, as the README describes, and the one deploy they share.
TIER_GROUPS = ("STACK_TIERS", "TOOL_TIERS")
"""The Makefile's two sessions of `make test`."""
PIPELINES = {"infrastructure.yml", "bot.yml", "worker.yml", "sam.yml", "deploy.yml"}


def load(name: str) -> dict[str, Any]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))
    assert isinstance(workflow, dict)
    return workflow


def run_scripts(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


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


def test_each_change_runs_every_test_tier_once() -> None:
    """tests.yml runs each of the README's tiers once; the image pipelines run no
    tests of their own and are called only after every tier passed."""
    jobs = load("tests.yml")["jobs"]
    scripts = [step.get("run", "") for job in jobs.values() for step in job.get("steps", [])]
    assert scripts.count("make check") == 1 and scripts.count("make unit") == 1
    assert jobs["tier"]["strategy"]["matrix"]["target"] == [
        "integration",
        "faults",
        "infrastructure",
        "tools",
        "artifacts",
    ]
    assert "make ${{ matrix.target }}" in scripts
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("check", "unit", *jobs["tier"]["strategy"]["matrix"]["target"]):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"make {target} is not a Makefile target"
    # make test (.ci/run): every tier, in its two sessions, and no test in both.
    sessions = [set(re.search(rf"^{name} := (.+)$", makefile, re.MULTILINE)[1].split(" or ")) for name in TIER_GROUPS]
    assert sessions[0] | sessions[1] == set(TIERS) and not sessions[0] & sessions[1]
    test_target = makefile[makefile.index("\ntest:") :].split("\n\n")[0]
    assert "test-stack test-tools" in test_target
    for name, part in (("bot.yml", "bot"), ("worker.yml", "worker")):
        workflow = load(name)
        assert "make test" not in json.dumps(workflow), name
        assert "workflow_call" in workflow[True], name  # PyYAML reads the key `on` as True
        assert set(jobs[part]["needs"]) == {"tier", "changes"}
        assert jobs[part]["uses"] == f"./.github/workflows/{name}"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_no_moving_image_tag(workflow: Path) -> None:
    assert ":latest" not in workflow.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "part"), [("bot.yml", "bot"), ("worker.yml", "worker")])
def test_image_pipelines_push_the_commit_and_deploy_that_reference(name: str, part: str) -> None:
    jobs = load(name)["jobs"]
    [build] = [s for s in jobs["image"]["steps"] if str(s.get("uses", "")).startswith("docker/build-push-action")]
    assert build["with"]["tags"] == "${{ steps.ref.outputs.image }}", "one tag: the commit's"
    assert "${GITHUB_SHA}" in run_scripts(jobs["image"])
    assert jobs["image"]["outputs"]["image"] == "${{ steps.ref.outputs.image }}"
    deploy = jobs["deploy"]
    assert deploy["uses"] == "./.github/workflows/deploy.yml"
    assert deploy["with"] == {
        "environment": "${{ vars.POLYBOT_ENVIRONMENT || 'prod' }}",
        f"{part}_image": "${{ needs.image.outputs.image }}",
    }, "only its own image: the other part keeps the one deployed"
    assert deploy["concurrency"]["cancel-in-progress"] is False


def test_worker_image_is_built_with_its_weights_and_the_cpu_torch() -> None:
    steps = load("worker.yml")["jobs"]["image"]["steps"]
    models = next(i for i, s in enumerate(steps) if s.get("run") == "make models")
    build = next(i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("docker/build-push-action"))
    assert models < build, "the weights must be in the build context first"
    assert steps[build]["with"]["file"] == "inference/Dockerfile" and steps[build]["with"]["context"] == "."
    assert "TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in steps[build]["with"]["build-args"]


def test_deploy_applies_with_the_s3_backend_and_waits_for_the_refreshes() -> None:
    workflow = load("deploy.yml")
    # PyYAML reads the key `on` as True.
    triggers = workflow[True]
    assert set(triggers["workflow_call"]["inputs"]) == {"environment", "bot_image", "worker_image"}
    job = workflow["jobs"]["apply"]
    assert job["environment"] == "${{ inputs.environment }}", "the GitHub environment's rules gate every deploy"
    scripts = run_scripts(job)
    assert 'backend "s3"' in scripts and "use_lockfile=true" in scripts
    assert "-lockfile=readonly" in scripts, "the committed provider lock, as in the tests"
    assert "terraform apply" in scripts and "-lock-timeout=" in scripts
    assert "describe-instance-refreshes" in scripts
    # An image not passed is not passed at all (Terraform keeps the deployed one).
    assert 'if [ -n "$BOT_IMAGE" ]; then echo "TF_VAR_bot_image=$BOT_IMAGE"' in scripts
    assert "TF_VAR_bot_image" not in json.dumps(job["env"])
    # The AMI is pinned per GitHub environment and required: none given fails before terraform runs.
    assert job["env"]["TF_VAR_ami_id"] == "${{ vars.POLYBOT_AMI_ID }}"
    assert 'if [ -z "$TF_VAR_ami_id" ]' in scripts


def test_no_pipeline_redeploys_around_terraform() -> None:
    """Instances get their image from the launch template only: no SSM
    send-command or hand-made instance refresh beside deploy.yml."""
    for path in WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        assert "send-command" not in text, path.name
        assert "start-instance-refresh" not in text, path.name


def test_terraform_version_is_pinned_where_terraform_runs() -> None:
    for path in WORKFLOWS:
        for job in load(path.name)["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("hashicorp/setup-terraform"):
                    assert step["with"]["terraform_version"] == "1.11.4", path.name


def test_every_job_runs_the_python_that_ships() -> None:
    """Each job that sets up Python uses the one template.yaml's runtime and both
    images run; the unit tier may add pyproject.toml's oldest (requires-python)."""
    shipped = python_minor(shipped_runtime())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    oldest = re.fullmatch(r">=\s*(\d+\.\d+)", project["requires-python"])
    assert oldest, project["requires-python"]
    seen = 0
    for path in WORKFLOWS:
        for name, job in load(path.name)["jobs"].items():
            for step in job.get("steps", []):
                if not str(step.get("uses", "")).startswith("actions/setup-python"):
                    continue
                version = str(step["with"]["python-version"])
                matrix = re.fullmatch(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", version)
                versions = [str(v) for v in job["strategy"]["matrix"][matrix[1]]] if matrix else [version]
                assert shipped in versions, f"{path.name} {name} runs Python {versions}; what ships runs {shipped}"
                assert set(versions) <= {shipped, oldest[1]}, f"{path.name} {name}: {versions}"
                seen += 1
    assert seen


def test_the_reliability_report_target_is_a_command_pytest_accepts(tmp_path: Path) -> None:
    """`make reliability-report` passes an option of tests/conftest.py, which pytest
    knows only when that conftest is loaded first: run its command, collecting only."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile[makefile.index("\nreliability-report:") :].split("\n")[2].strip()
    arguments = recipe.removeprefix("$(PY) -m pytest ").replace("$(PYTEST_ARGS)", "").split()
    arguments[arguments.index("--reliability-report") + 1] = str(tmp_path / "reliability.md")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *arguments, "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "tests/faults/" in done.stdout and not (tmp_path / "reliability.md").exists()
