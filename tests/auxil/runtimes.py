"""The Python that ships, and AWS's rules about it, for the tests that hold every
part on one supported runtime: the Lambda runtimes template.yaml names (as
written and as the SAM translator hands them to CloudFormation), the runtime
lifecycle table that cfn-lint ships, the glibc of each runtime's operating
system, the base images of the Dockerfiles, and the oldest glibc a wheel's
platform tag runs on.

Dates come from cfn-lint's table, never from here: upgrading cfn-lint brings
AWS's current dates (pyproject.toml bounds it to a release that knows them).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


def _cfn_lint_data() -> Path:
    """cfn-lint's data folder, found without importing cfn-lint (a second's imports)."""
    spec = importlib.util.find_spec("cfnlint")
    assert spec is not None and spec.origin is not None, "cfn-lint is not installed; run `make setup`"
    return Path(spec.origin).parent / "data"


LIFECYCLE = _cfn_lint_data() / "AdditionalSpecs" / "LmbdRuntimeLifecycle.json"
"""cfn-lint's Lambda runtime lifecycle table (its rules W2531, E2531 and E2533 read it)."""

LAMBDA_OS_GLIBC: dict[str, tuple[str, tuple[int, int]]] = {
    "python3.11": ("Amazon Linux 2", (2, 26)),
    "python3.12": ("Amazon Linux 2023", (2, 34)),
    "python3.13": ("Amazon Linux 2023", (2, 34)),
    "python3.14": ("Amazon Linux 2023", (2, 34)),
}
"""Each Python runtime's operating system and its glibc (AWS Lambda's "Supported
runtimes" table; Amazon Linux 2 has glibc 2.26, Amazon Linux 2023 glibc 2.34).
A wheel needing a newer glibc imports on this machine and fails on Lambda."""

_NOT_SOURCE = {".git", ".venv", ".tools", "node_modules", "out", ".aws-sam", "build"}


@dataclass(frozen=True)
class Lifecycle:
    """When AWS deprecates a runtime, then blocks creating and updating functions with it."""

    runtime: str
    deprecated: date
    create_block: date
    update_block: date
    successor: str | None

    @property
    def first_restriction(self) -> date:
        return min(self.deprecated, self.create_block, self.update_block)


def lifecycle(runtime: str) -> Lifecycle | None:
    """The runtime's dates in cfn-lint's table; None for a runtime the table does not know."""
    table: dict[str, dict[str, Any]] = json.loads(LIFECYCLE.read_text(encoding="utf-8"))
    entry = table.get(runtime)
    if entry is None:
        return None
    return Lifecycle(
        runtime=runtime,
        deprecated=date.fromisoformat(entry["deprecated"]),
        create_block=date.fromisoformat(entry["create-block"]),
        update_block=date.fromisoformat(entry["update-block"]),
        successor=entry.get("successor"),
    )


SUPPORT_NOTICE = timedelta(days=365)
"""How long before AWS restricts a runtime the tests fail: a year to move to the
next one, before Lambda stops patching it (deprecation) and then refuses to
create (create-block) or update (update-block) functions on it."""


def support_problem(runtime: str) -> str | None:
    """Why `runtime` is not supported for SUPPORT_NOTICE more from today by cfn-lint's
    table (unknown to it, or deprecated or blocked within it); None when it is."""
    dates = lifecycle(runtime)
    if dates is None:
        return f"{runtime} is not in cfn-lint's runtime table (upgrade cfn-lint, or a typo)"
    if dates.first_restriction <= date.today() + SUPPORT_NOTICE:
        return (
            f"{runtime} is deprecated on {dates.deprecated}, creating functions is blocked on "
            f"{dates.create_block}, updating on {dates.update_block} (within {SUPPORT_NOTICE.days} days of "
            f"{date.today()}); move to {dates.successor}"
        )
    return None


def named_runtimes(value: Any, where: str = "") -> dict[str, str]:
    """Every Lambda runtime a template names, by where it stands: each `Runtime`
    (Globals, functions of any type) and each of a layer's `CompatibleRuntimes`,
    wherever in the document."""
    found: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if key == "Runtime" and isinstance(item, str):
                found[path] = item
            elif key == "CompatibleRuntimes" and isinstance(item, list):
                found.update({f"{path}[{i}]": r for i, r in enumerate(item) if isinstance(r, str)})
            else:
                found.update(named_runtimes(item, path))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.update(named_runtimes(item, f"{where}[{i}]"))
    return found


class _NoManagedPolicyLookups:
    """The translator asks IAM for managed policy ARNs by name; none is needed here."""

    def load(self) -> dict[str, str]:
        return {}


def translated_template() -> dict[str, Any]:
    """template.yaml as `sam deploy` hands it to CloudFormation (code locations as `sam package` leaves them)."""
    from samtranslator.translator.transform import transform  # a second's imports, only where needed

    template = copy.deepcopy(load_template(TEMPLATE))
    for section in [template.get("Globals", {}).get("Function", {})] + [
        r.get("Properties", {}) for r in template["Resources"].values()
    ]:
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if key in section:
                section[key] = f"s3://artifacts/{key}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        return transform(template, {}, _NoManagedPolicyLookups())  # type: ignore[no-any-return]


def template_runtimes() -> dict[str, str]:
    """Every runtime template.yaml names, as written and after the SAM transform."""
    written = {f"template.yaml: {k}": v for k, v in named_runtimes(load_template(TEMPLATE)).items()}
    deployed = {f"transformed: {k}": v for k, v in named_runtimes(translated_template()).items()}
    return written | deployed


def python_minor(runtime: str) -> str:
    """ "python3.13" -> "3.13"."""
    match = re.fullmatch(r"python(\d+\.\d+)", runtime)
    assert match, f"{runtime} is not a Python Lambda runtime"
    return match[1]


def shipped_runtime(template: dict[str, Any] | None = None) -> str:
    """The one Lambda runtime the template's functions and layers name (template.yaml's by default)."""
    runtimes = set(named_runtimes(load_template(TEMPLATE) if template is None else template).values())
    assert len(runtimes) == 1, f"the template names several runtimes: {sorted(runtimes)}"
    return runtimes.pop()


def dockerfiles() -> list[Path]:
    """Every Dockerfile in the repository (Dockerfile, Dockerfile.*, *.Dockerfile)."""
    found = []
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [s for s in subfolders if s not in _NOT_SOURCE]
        found += [
            Path(folder) / n
            for n in names
            if n == "Dockerfile" or n.startswith("Dockerfile.") or n.endswith(".Dockerfile")
        ]
    return sorted(found)


_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", re.IGNORECASE | re.MULTILINE)


def base_images(dockerfile: Path) -> list[str]:
    """The images a Dockerfile's stages start from (a stage built on an earlier stage is left out)."""
    stages: set[str] = set()
    bases = []
    for image, stage in _FROM.findall(dockerfile.read_text(encoding="utf-8")):
        if image.lower() not in stages:
            bases.append(image)
        if stage:
            stages.add(stage.lower())
    return bases


def image_python(image: str) -> str | None:
    """The Python minor of an official Python image ("python:3.13-slim-trixie" -> "3.13"); None for another image."""
    match = re.fullmatch(r"(?:docker\.io/)?(?:library/)?python:(\d+\.\d+)[\w.-]*", image)
    return match[1] if match else None


_PLATFORM = re.compile(r"manylinux(1|2010|2014)_(\w+)|manylinux_(\d+)_(\d+)_(\w+)")
_LEGACY_GLIBC = {"1": (2, 5), "2010": (2, 12), "2014": (2, 17)}


def platform_glibc(tag: str) -> tuple[int, int] | None:
    """The oldest glibc a wheel's tag (or a pip --platform value) runs on; None for a
    pure-Python tag. A tag naming several platforms runs wherever any one does."""
    if tag.endswith("-any") or tag == "any":
        return None
    oldest = []
    for legacy, _, major, minor, _ in _PLATFORM.findall(tag):
        oldest.append(_LEGACY_GLIBC[legacy] if legacy else (int(major), int(minor)))
    assert oldest, f"{tag} is not a manylinux tag"
    return min(oldest)


def platform_machine(tag: str) -> str:
    """The machine of a manylinux tag ("manylinux_2_28_x86_64" -> "x86_64")."""
    machines = {legacy_machine or machine for _, legacy_machine, _, _, machine in _PLATFORM.findall(tag)}
    assert len(machines) == 1, f"{tag}: {machines}"
    return machines.pop()
