"""The linters and validators of `make test`, each run as the real tool.

Python: ruff (lint and format) and mypy, configured in pyproject.toml.
Template: cfn-lint and `sam validate --lint`. Workflow: asl-validator on each
statemachines/*.asl.json, as committed (with its ${Name} placeholders) and as
Step Functions sees it once template.yaml's DefinitionSubstitutions are filled in.

A missing tool fails the test rather than skipping it, so CI cannot pass
without running it; `make setup` installs them all.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template
from tests.auxil.runtimes import LIFECYCLE

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
STATE_MACHINES = sorted((ROOT / "statemachines").glob("*.asl.json"))
SAM = ROOT / ".tools" / "sam" / "bin" / "sam"
ASL_VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"
TIMEOUT_S = 300

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

# A deployed value of the kind each DefinitionSubstitutions key names, by suffix
# ("StageImageFunctionArn": the Arn of resource StageImageFunction), named the
# way CloudFormation names resources: <stack>-<logical id>-<random>.
_SAMPLE_VALUES = {
    "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:polybot-{resource}-4Xk2pQ9vTm1L",
    "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/polybot-{resource}-9FhK2mVx7QeZ",
    "TableName": "polybot-{resource}-1JQ7ZC5N0W3RT",
}


def _missing(tool: str) -> str:
    return f"{tool} is not installed; run `make setup` first"


def _run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """Exit status and combined output of `argv`, run from the repository root."""
    try:
        done = subprocess.run(
            argv,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(argv)} ran longer than {TIMEOUT_S} s:\n{exc.output or ''}")
    return done.returncode, done.stdout


def _python_tool(module: str) -> list[str]:
    if importlib.util.find_spec(module) is None:
        pytest.fail(_missing(f"{module} (in {sys.executable})"))
    return [sys.executable, "-m", module]


def _executable(path: Path) -> str:
    if not os.access(path, os.X_OK):
        pytest.fail(_missing(str(path.relative_to(ROOT))))
    return str(path)


def test_ruff_check() -> None:
    rc, output = _run([*_python_tool("ruff"), "check", "."])
    assert rc == 0, output


def test_ruff_format() -> None:
    rc, output = _run([*_python_tool("ruff"), "format", "--check", "."])
    assert rc == 0, output


def test_mypy() -> None:
    rc, output = _run(_python_tool("mypy"))
    assert rc == 0, output


_RUNTIME_RULES = {"W2531", "E2531", "E2533"}
"""cfn-lint's Lambda runtime lifecycle rules (deprecated; creation blocked; update
blocked), on the dates of the table it ships (tests/unit/test_template_runtime.py
reads the same table a year ahead)."""


def _cfn_lint(template: Path) -> tuple[int, str]:
    """The project's cfn-lint (the venv's, bounded in pyproject.toml), from the repository root
    as `make test` runs it, so that any configuration there applies."""
    return _run([_executable(Path(sys.executable).parent / "cfn-lint"), str(template)])


def test_cfn_lint() -> None:
    rc, output = _cfn_lint(ROOT / "template.yaml")
    assert rc == 0, output


def test_cfn_lint_reports_a_deprecated_lambda_runtime(tmp_path: Path) -> None:
    """The same command on template.yaml with its runtimes swapped for one AWS has
    deprecated fails: the runtime rules run, no configuration ignores them."""
    table = json.loads(LIFECYCLE.read_text(encoding="utf-8"))
    past = [
        r for r, dates in table.items() if r.startswith("python") and dates["deprecated"] < date.today().isoformat()
    ]
    assert past, "cfn-lint's table lists no deprecated Python runtime"
    deprecated = max(past, key=lambda r: table[r]["deprecated"])
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    assert re.search(r"\bpython3\.\d+\b", text)
    canary = tmp_path / "template.yaml"
    canary.write_text(re.sub(r"\bpython3\.\d+\b", deprecated, text), encoding="utf-8")

    rc, output = _cfn_lint(canary)

    assert rc != 0, output
    assert _RUNTIME_RULES & set(re.findall(r"\b[EW]\d{4}\b", output)), output


def test_sam_validate() -> None:
    # Offline: sam needs a region and some credentials, never uses them for --lint.
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SAM_CLI_TELEMETRY": "0",
    }
    rc, output = _run([_executable(SAM), "validate", "--lint", "--template-file", "template.yaml"], env)
    assert rc == 0, output


def _asl_validator(path: Path) -> tuple[int, str]:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH; install Node.js, then run `make setup`")
    return _run([_executable(ASL_VALIDATOR), "--json-path", str(path)])


def _substitutions(asl: Path) -> dict[str, Any]:
    """The DefinitionSubstitutions of the state machine in template.yaml that deploys `asl`."""
    resources = load_template(ROOT / "template.yaml")["Resources"]
    uri = asl.relative_to(ROOT).as_posix()
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::StateMachine" and properties.get("DefinitionUri") == uri:
            substitutions: dict[str, Any] = properties.get("DefinitionSubstitutions", {})
            return substitutions
    pytest.fail(f"no AWS::Serverless::StateMachine in template.yaml has DefinitionUri {uri}")


def _sample_value(name: str) -> str:
    for suffix, pattern in _SAMPLE_VALUES.items():
        if name.endswith(suffix):
            return pattern.format(resource=re.sub(r"(Arn|Url|Name)$", "", name))
    pytest.fail(f"no sample value for DefinitionSubstitutions key {name}; add its suffix to _SAMPLE_VALUES")


def test_state_machines_exist() -> None:
    assert STATE_MACHINES, "no statemachines/*.asl.json to validate"


@pytest.mark.parametrize("asl", STATE_MACHINES, ids=lambda path: path.name)
def test_asl_validator_committed(asl: Path) -> None:
    rc, output = _asl_validator(asl)
    assert rc == 0, output


@pytest.mark.parametrize("asl", STATE_MACHINES, ids=lambda path: path.name)
def test_asl_validator_substituted(asl: Path, tmp_path: Path) -> None:
    values = {name: _sample_value(name) for name in _substitutions(asl)}
    text = _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), asl.read_text(encoding="utf-8"))
    unfilled = sorted(set(_PLACEHOLDER.findall(text)))
    assert not unfilled, f"{asl.name} uses placeholders that template.yaml does not substitute: {unfilled}"
    deployed = tmp_path / asl.name
    deployed.write_text(text, encoding="utf-8")
    rc, output = _asl_validator(deployed)
    assert rc == 0, output
