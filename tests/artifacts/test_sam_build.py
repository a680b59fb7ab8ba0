"""`make build` (sam build) and what it produces: each function's handler on
its own, and one layer with the shared `polybot` package and every
third-party dependency, all of which runs on the python3.11 Lambda runtime
(Amazon Linux 2, glibc 2.26)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local.stack import load_template

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = {
    logical_id: resource["Properties"]["Handler"].rsplit(".", 1)[0]
    for logical_id, resource in load_template(ROOT / "template.yaml")["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}
# glibc versions Amazon Linux 2 satisfies: manylinux1 (2.5), manylinux2010 (2.12),
# manylinux2014 (2.17) and manylinux_2_X up to 2.26.
_AL2_GLIBC = (2, 26)
_PLATFORM = re.compile(r"manylinux(1|2010|2014)_x86_64|manylinux_(\d+)_(\d+)_x86_64")
_LEGACY_GLIBC = {"1": (2, 5), "2010": (2, 12), "2014": (2, 17)}


def platform_glibc(tag: str) -> tuple[int, int] | None:
    """The oldest glibc a wheel's platform tag runs on; None for a pure-Python wheel."""
    if tag.endswith("-any"):
        return None
    oldest = []
    for match in _PLATFORM.finditer(tag):
        legacy, major, minor = match.groups()
        oldest.append(_LEGACY_GLIBC[legacy] if legacy else (int(major), int(minor)))
    assert oldest, f"{tag} is not a Linux x86_64 wheel"
    return min(oldest)


def test_each_function_package_holds_only_its_handler(sam_build: Path) -> None:
    for logical_id, module in FUNCTIONS.items():
        files = sorted(p.name for p in (sam_build / logical_id).iterdir())
        assert files == [f"{module}.py"], logical_id


def test_the_layer_carries_the_shared_package_with_its_message_schemas(sam_build: Path) -> None:
    package = sam_build / "PolybotLayer" / "python" / "polybot"

    assert (package / "__init__.py").is_file()
    assert (package / "contracts" / "messages.schema.json").is_file()
    assert sorted(p.name for p in package.glob("*.py")) == sorted(p.name for p in (ROOT / "polybot").glob("*.py"))
    assert not list(package.rglob("__pycache__"))


def test_every_compiled_dependency_runs_on_amazon_linux_2(sam_build: Path) -> None:
    tags = {
        wheel.parent.name: [
            line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")
        ]
        for wheel in (sam_build / "PolybotLayer" / "python").glob("*.dist-info/WHEEL")
    }

    assert {"pillow", "pi_heif", "pytelegrambotapi", "jsonschema"} <= {name.split("-")[0].lower() for name in tags}
    for distribution, wheel_tags in tags.items():
        assert all(tag.startswith(("py", "cp311")) for tag in wheel_tags), f"{distribution}: {wheel_tags}"
        # A wheel runs wherever any one of its tags does.
        needs = [platform_glibc(tag) for tag in wheel_tags]
        if None not in needs:
            oldest = min(glibc for glibc in needs if glibc is not None)
            assert oldest <= _AL2_GLIBC, f"{distribution} needs glibc {oldest}"


def test_the_built_template_deploys_the_built_folders(sam_build: Path) -> None:
    built = load_template(sam_build / "template.yaml")["Resources"]

    assert built["PolybotLayer"]["Properties"]["ContentUri"] == "PolybotLayer"
    for logical_id in FUNCTIONS:
        assert built[logical_id]["Properties"]["CodeUri"] == logical_id
