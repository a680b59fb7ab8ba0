"""checkov's security scan of both halves of the infrastructure: template.yaml
(CloudFormation/SAM) and terraform/. Skipped checks are listed in .checkov.yaml,
each with the reason it does not apply. A missing checkov fails the test;
`make setup` installs it (in its own venv, .tools/checkov)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
CONFIG = ROOT / ".checkov.yaml"
TIMEOUT_S = 300


def checkov(*arguments: str) -> tuple[int, str]:
    if not os.access(CHECKOV, os.X_OK):
        pytest.fail(f"{CHECKOV.relative_to(ROOT)} is not installed; run `make setup` first")
    # --skip-download: otherwise checkov first tries to reach its vendor's API.
    argv = [str(CHECKOV), "--skip-download", "--config-file", str(CONFIG), *arguments]
    try:
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"checkov ran longer than {TIMEOUT_S} s:\n{exc.output or ''}")
    return done.returncode, done.stdout + done.stderr


def test_every_skipped_check_has_its_reason() -> None:
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    skips = [i for i, line in enumerate(lines) if re.match(r"\s*- CKV2?_\w+\s*$", line)]

    assert skips, ".checkov.yaml skips nothing: remove the skip-check key instead"
    for index in skips:
        above = lines[index - 1].strip()
        assert above.startswith("#") and len(above) > 20, f"{lines[index].strip()} has no reason above it"


def test_checkov_template() -> None:
    rc, output = checkov("-f", "template.yaml", "--framework", "cloudformation")

    assert rc == 0, output
    assert "cloudformation scan results" in output, output


def test_checkov_terraform() -> None:
    if not any((ROOT / "terraform").rglob("*.tf")):
        pytest.fail("terraform/ has no .tf files to scan; the Terraform configuration is missing")
    rc, output = checkov("-d", "terraform", "--framework", "terraform")

    assert rc == 0, output
    assert "terraform scan results" in output, output
