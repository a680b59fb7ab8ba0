"""terraform/ as committed: formatted, every variable typed and described, and
each configuration (the root, the bootstrap root and every module on its own)
valid offline.

`init` runs in a temporary copy against the provider mirror (tests/auxil/terraform.py),
so nothing lands in the repository; the two root configurations init with their
committed lock files, read-only, so a lock the mirror's provider does not match
fails here. Skips only where the terraform binary is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.auxil.terraform import LOCK_FILE, TERRAFORM_DIR, Terraform, copy_configuration, write_cli_config

pytestmark = pytest.mark.tools

MODULES = sorted(path.name for path in (TERRAFORM_DIR / "modules").iterdir() if path.is_dir())
ROOTS = [".", "bootstrap"]
CONFIGURATIONS = [*ROOTS, *(f"modules/{name}" for name in MODULES)]
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")

_VARIABLE_BLOCK = re.compile(r'^variable "([^"]+)" \{\n(.*?)^\}', re.MULTILINE | re.DOTALL)


def test_expected_modules_exist() -> None:
    assert {"network", "load_balancer", "bot", "yolo", "bastion", "iam"} <= set(MODULES)


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_configuration_has_the_standard_files(configuration: str) -> None:
    missing = [name for name in MODULE_FILES if not (TERRAFORM_DIR / configuration / name).is_file()]
    assert not missing, f"terraform/{configuration} lacks {missing}"


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_every_variable_has_type_and_description(configuration: str) -> None:
    text = (TERRAFORM_DIR / configuration / "variables.tf").read_text()
    blocks = _VARIABLE_BLOCK.findall(text)
    assert blocks, f"no variables parsed in terraform/{configuration}/variables.tf"
    lacking = [
        name
        for name, body in blocks
        if not re.search(r"^  type\s*=", body, re.MULTILINE) or not re.search(r"^  description\s*=", body, re.MULTILINE)
    ]
    assert not lacking, f"terraform/{configuration}: variables without type or description: {lacking}"


@pytest.mark.parametrize("configuration", ROOTS)
def test_root_configurations_commit_their_lock_file(configuration: str) -> None:
    """The provider version and checksums CI and every operator install are the reviewed ones."""
    lock = (TERRAFORM_DIR / configuration / LOCK_FILE).read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert re.search(r'"h1:[A-Za-z0-9+/=]+"', lock), "a lock without checksums checks nothing"


def test_fmt_check(tmp_path: Path) -> None:
    terraform = Terraform(TERRAFORM_DIR, write_cli_config(tmp_path))
    terraform.run("fmt", "-check", "-recursive", "-diff", "-no-color", str(TERRAFORM_DIR), timeout_s=60)


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_init_and_validate_offline(configuration: str, tmp_path: Path) -> None:
    work = copy_configuration(tmp_path / "terraform")
    terraform = Terraform(work / configuration, write_cli_config(tmp_path))
    terraform.init()
    output = terraform.validate()
    assert "Success!" in output
