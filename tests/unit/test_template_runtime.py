"""Everything that ships runs on one Python that AWS supports for a while yet.

Every Lambda runtime template.yaml names (Globals, each function, each layer's
CompatibleRuntimes, as written and after the SAM transform) is neither
deprecated nor blocked within a year (SUPPORT_NOTICE) of today, by the lifecycle table
cfn-lint ships (tests/auxil/runtimes.py; dates are never written here). The
bot and worker images start from the same Python, and PolybotLayer is built
(functions/Makefile) for that Python and its Lambda operating system.
tests/tools runs cfn-lint itself; tests/artifacts builds and runs all of it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from typing import Any

import pytest

from local.stack import load_template
from tests.auxil.runtimes import (
    LAMBDA_OS_GLIBC,
    ROOT,
    TEMPLATE,
    base_images,
    dockerfiles,
    image_python,
    platform_glibc,
    platform_machine,
    python_minor,
    shipped_runtime,
    support_problem,
    template_runtimes,
)

_MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}
"""Lambda's architecture names -> the machine in manylinux tags."""


@pytest.fixture(scope="module")
def runtimes() -> dict[str, str]:
    return template_runtimes()


def test_the_template_names_its_runtimes(runtimes: dict[str, str]) -> None:
    resources = load_template(TEMPLATE)["Resources"]
    layers = [
        k for k, v in resources.items() if v["Type"] in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
    ]

    assert any(where.startswith("transformed: Resources.") and where.endswith(".Runtime") for where in runtimes)
    for layer in layers:
        assert f"template.yaml: Resources.{layer}.Properties.CompatibleRuntimes[0]" in runtimes, layer


def test_every_runtime_stays_supported_for_a_year_more(runtimes: dict[str, str]) -> None:
    problems = [
        f"{where}: {problem}" for where, runtime in sorted(runtimes.items()) if (problem := support_problem(runtime))
    ]
    assert not problems, "\n".join(problems)


def test_the_images_run_the_python_of_the_lambda_runtime() -> None:
    python = python_minor(shipped_runtime())
    found = dockerfiles()

    assert {p.relative_to(ROOT).as_posix() for p in found} >= {"bot/Dockerfile", "inference/Dockerfile"}
    for dockerfile in found:
        bases = base_images(dockerfile)
        assert bases, f"{dockerfile.relative_to(ROOT)} has no FROM"
        for base in bases:
            assert image_python(base) == python, (
                f"{dockerfile.relative_to(ROOT)} starts from {base}; the Lambda functions run Python {python}"
            )


def _layer_build_lines() -> list[str]:
    """What functions/Makefile runs for PolybotLayer, as `sam build` would (make -n: nothing runs), a command a line."""
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-n",
            "-f",
            "functions/Makefile",
            "build-PolybotLayer",
            "ARTIFACTS_DIR=/layer",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.replace("\\\n", " ").splitlines()


def _layer_build_command() -> list[str]:
    """The pip command functions/Makefile runs for PolybotLayer."""
    [pip] = [line for line in _layer_build_lines() if " pip install " in line]
    return shlex.split(pip)


def _options(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, word in enumerate(argv) if word == name] + [
        word.split("=", 1)[1] for word in argv if word.startswith(name + "=")
    ]


def _architectures(value: Any) -> set[str]:
    """Every architecture a template names for its functions and layers (Lambda's default: x86_64)."""
    if isinstance(value, list):
        return set().union(*map(_architectures, value))
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, item in value.items():
        found |= set(item) if key in ("Architectures", "CompatibleArchitectures") else _architectures(item)
    return found


def test_the_layer_is_built_for_the_lambda_runtime_and_its_os() -> None:
    """Wheels for the runtime's Python and every manylinux glibc its OS runs, up to its
    own: pip expands no perennial tag, so a gap refuses wheels Lambda would run."""
    runtime = shipped_runtime()
    os_name, glibc = LAMBDA_OS_GLIBC[runtime]
    [architecture] = _architectures(load_template(TEMPLATE)) or {"x86_64"}
    pip = _layer_build_command()
    platforms = _options(pip, "--platform")

    assert _options(pip, "--python-version") == [python_minor(runtime)]
    assert _options(pip, "--implementation") == ["cp"]
    assert _options(pip, "--only-binary") == [":all:"], "no source builds: they would compile for this machine"
    assert platforms
    assert {platform_machine(p) for p in platforms} == {_MACHINE[architecture]}
    needs = sorted({g for g in map(platform_glibc, platforms) if g is not None})
    assert needs[-1] == glibc, f"{runtime} runs on {os_name} (glibc {glibc}); the layer takes wheels up to {needs[-1]}"
    perennial = {(2, int(m)) for p in platforms for m in re.findall(r"manylinux_2_(\d+)_", p)}
    missing = [f"manylinux_2_{minor}" for minor in range(5, glibc[1] + 1) if (2, minor) not in perennial]
    assert not missing, f"pip takes no wheel tagged only {missing} for {os_name}"


def test_the_layer_is_compiled_to_bytecode_by_the_runtimes_python() -> None:
    """Lambda's /opt is read-only: bytecode the layer lacks is compiled again on every
    cold start. Bytecode is for one Python version, so the layer's must come from the
    runtime's Python (here, else its Lambda base image), and hold without a timestamp
    check (the zip keeps file times to 2 s)."""
    minor = python_minor(shipped_runtime())
    [compile_step] = [line for line in _layer_build_lines() if "compileall" in line]
    words = shlex.split(compile_step.replace(";", " ; "))
    compilers = [w for w in words if re.fullmatch(r"(/var/lang/bin/)?python3(\.\d+)?", w)]
    images = [w for w in words if w.startswith("public.ecr.aws/lambda/python:")]

    assert compilers and set(compilers) <= {f"python{minor}", f"/var/lang/bin/python{minor}"}, compilers
    assert images and all(i.startswith(f"public.ecr.aws/lambda/python:{minor}-") for i in images), images
    assert words.count("--invalidation-mode") == words.count("compileall") == 2
    assert {words[i + 1] for i, w in enumerate(words) if w == "--invalidation-mode"} == {"unchecked-hash"}
