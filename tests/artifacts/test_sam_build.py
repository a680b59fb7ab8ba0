"""`make build` (sam build) and what it produces: each function's handler on
its own, and one layer with the shared `polybot` package and every
third-party dependency, all of which runs on the Lambda runtime the built
template names (python3.13: Amazon Linux 2023, glibc 2.34)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local.stack import load_template
from tests.auxil.runtimes import LAMBDA_OS_GLIBC, platform_glibc, python_minor, shipped_runtime

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = {
    logical_id: resource["Properties"]["Handler"].rsplit(".", 1)[0]
    for logical_id, resource in load_template(ROOT / "template.yaml")["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}


def runs_on(interpreter_tag: str, abi_tag: str, python: str) -> bool:
    """Whether a wheel's interpreter and ABI tags run on CPython `python` ("3.13"):
    pure Python (py3), that exact CPython (cp313), or the stable ABI of an older one (cp312-abi3)."""
    version = tuple(int(part) for part in python.split("."))
    cpython = re.fullmatch(r"cp(\d)(\d+)", interpreter_tag)
    if interpreter_tag.startswith("py"):
        return interpreter_tag in ("py3", f"py{version[0]}{version[1]}") and abi_tag == "none"
    if cpython is None:
        return False
    built_for = (int(cpython[1]), int(cpython[2]))
    return built_for == version or (abi_tag == "abi3" and built_for <= version)


def test_each_function_package_holds_only_its_handler(sam_build: Path) -> None:
    for logical_id, module in FUNCTIONS.items():
        files = sorted(p.name for p in (sam_build / logical_id).iterdir())
        assert files == [f"{module}.py"], logical_id


def test_the_layer_carries_the_shared_package_with_its_message_schemas(sam_build: Path) -> None:
    package = sam_build / "PolybotLayer" / "python" / "polybot"

    assert (package / "__init__.py").is_file()
    assert (package / "contracts" / "messages.schema.json").is_file()
    assert sorted(p.name for p in package.glob("*.py")) == sorted(p.name for p in (ROOT / "polybot").glob("*.py"))


def test_the_layer_holds_bytecode_for_the_runtimes_python_only(sam_build: Path) -> None:
    """Lambda cannot write bytecode into /opt: what the layer lacks is compiled on every
    cold start (functions/Makefile). A .pyc of any other Python (this machine's) is dead weight."""
    layer = sam_build / "PolybotLayer" / "python"
    tag = "cpython-" + python_minor(shipped_runtime()).replace(".", "")
    sources = [p for p in layer.rglob("*.py") if "__pycache__" not in p.parts]
    uncompiled = [
        str(p.relative_to(layer)) for p in sources if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").is_file()
    ]
    foreign = [str(p.relative_to(layer)) for p in layer.rglob("*.pyc") if f".{tag}." not in p.name]

    assert sources
    assert not uncompiled, f"{len(uncompiled)} modules without {tag} bytecode, e.g. {uncompiled[:5]}"
    assert not foreign, foreign[:5]


def test_the_built_template_keeps_the_runtime(sam_build: Path) -> None:
    assert shipped_runtime(load_template(sam_build / "template.yaml")) == shipped_runtime()


def test_every_dependency_runs_on_the_lambda_runtime_and_its_os(sam_build: Path) -> None:
    runtime = shipped_runtime(load_template(sam_build / "template.yaml"))
    os_name, os_glibc = LAMBDA_OS_GLIBC[runtime]
    python = python_minor(runtime)
    tags = {
        wheel.parent.name: [
            line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")
        ]
        for wheel in (sam_build / "PolybotLayer" / "python").glob("*.dist-info/WHEEL")
    }

    assert {"pillow", "pi_heif", "pytelegrambotapi", "jsonschema_rs"} <= {name.split("-")[0].lower() for name in tags}
    for distribution, wheel_tags in tags.items():
        # A wheel runs wherever any one of its tags does.
        fitting = [tag for tag in wheel_tags if runs_on(*tag.split("-")[:2], python)]
        assert fitting, f"{distribution}: {wheel_tags} is built for another Python than {runtime}'s {python}"
        needs = [platform_glibc(tag) for tag in fitting]
        if None not in needs:
            oldest = min(glibc for glibc in needs if glibc is not None)
            assert oldest <= os_glibc, f"{distribution} needs glibc {oldest}; {os_name} has {os_glibc}"


def test_the_built_template_deploys_the_built_folders(sam_build: Path) -> None:
    built = load_template(sam_build / "template.yaml")["Resources"]

    assert built["PolybotLayer"]["Properties"]["ContentUri"] == "PolybotLayer"
    for logical_id in FUNCTIONS:
        assert built[logical_id]["Properties"]["CodeUri"] == logical_id
