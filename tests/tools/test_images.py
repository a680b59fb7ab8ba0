"""The container images: bot/Dockerfile and inference/Dockerfile.

Each Dockerfile is linted with hadolint and checked against the repository:
what it copies exists (and is not excluded by .dockerignore), the extras it
installs are declared in pyproject.toml, and the module it runs is one the
tests import. tests/artifacts builds and runs both images. A missing hadolint
fails the test; `make setup` installs it.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pytest

from tests.auxil.runtimes import python_minor, shipped_runtime

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = Path(sys.executable).parent / "hadolint"
# Each image, by the module its container runs.
IMAGES = {"bot/Dockerfile": "bot.wsgi:app", "inference/Dockerfile": "inference"}
_NOT_SOURCE = {".git", ".venv", ".tools", "node_modules", "out"}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def instructions(dockerfile: Path) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    joined: list[str] = []
    pending = ""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        joined.append(pending + stripped)
        pending = ""
    if pending:
        joined.append(pending)
    return [Instruction(*[*text.split(None, 1), ""][:2]) for text in joined]


def of_kind(dockerfile: Path, keyword: str) -> list[str]:
    return [i.arguments for i in instructions(dockerfile) if i.keyword.upper() == keyword]


def exec_form(arguments: str) -> list[str]:
    """The argv of an exec-form CMD/ENTRYPOINT (a JSON array)."""
    argv = json.loads(arguments)
    assert isinstance(argv, list), arguments
    return [str(a) for a in argv]


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def copy_sources(dockerfile: Path) -> list[str]:
    sources: list[str] = []
    for arguments in of_kind(dockerfile, "COPY"):
        words = [w for w in arguments.split() if not w.startswith("--")]
        if any(w.startswith("--from") for w in arguments.split()):
            continue  # from another stage, not from the build context
        sources += words[:-1]
    return sources


def test_every_dockerfile_is_known() -> None:
    found = {
        path.relative_to(ROOT).as_posix()
        for path in ROOT.rglob("Dockerfile")
        if not _NOT_SOURCE & set(path.relative_to(ROOT).parts)
    }

    assert found == set(IMAGES), "a new Dockerfile needs its entry in IMAGES"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_hadolint(name: str) -> None:
    if not os.access(HADOLINT, os.X_OK):
        pytest.fail(f"{HADOLINT.relative_to(ROOT)} is not installed; run `make setup` first")
    done = subprocess.run([str(HADOLINT), name], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_what_the_image_copies_is_in_the_build_context(name: str) -> None:
    sources = copy_sources(ROOT / name)
    ignored = dockerignore()

    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")

    assert sources
    for source in sources:
        path = source.rstrip("/")
        if path == "build/models":
            # Not in git: `make models` stages the weights, and the image's make target depends on it.
            assert "-m local.models build/models" in makefile
            assert re.search(r"^worker-image: models\b", makefile, re.MULTILINE)
        else:
            assert (ROOT / path).exists(), f"{name} copies {source}, which the repository does not have"
        assert not any(fnmatch(path, pattern) for pattern in ignored), f".dockerignore excludes {source}"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_the_extras_the_image_installs_are_declared(name: str) -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    installs = re.findall(r'pip install "\.\[([a-z,]+)\]"', " ".join(of_kind(ROOT / name, "RUN")))

    assert installs, f'{name} does not install the project (pip install ".[extra]")'
    for extras in installs:
        assert set(extras.split(",")) <= set(declared)


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_the_image_runs_the_module_the_tests_import(name: str) -> None:
    [cmd] = of_kind(ROOT / name, "CMD")
    argv = exec_form(cmd)
    target = IMAGES[name]
    module, _, attribute = target.partition(":")

    # A shell form (`sh -c "exec gunicorn ... bot.wsgi:app"`) counts by its words.
    words = [word for arg in argv for word in arg.split()]
    assert target in words or words[-2:] == ["-m", module], f"{name} runs {argv}, expected {target}"
    spec = importlib.util.find_spec(f"{module}.__main__" if not attribute else module)
    assert spec is not None and spec.origin is not None, f"{module} is not importable"
    origin = Path(spec.origin)
    package = origin.relative_to(ROOT).parts[0]
    assert any(s.rstrip("/") == package for s in copy_sources(ROOT / name)), f"{name} does not copy {package}/"
    if attribute:
        tree = ast.parse(origin.read_text(encoding="utf-8"))
        assigned = {
            t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
        }
        assert attribute in assigned, f"{module} defines no module-level {attribute}"
    if "gunicorn" in words:
        assert importlib.util.find_spec("gunicorn") is not None, "gunicorn is not installed; run `make setup`"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_the_image_runs_as_a_non_root_user_with_a_health_check(name: str) -> None:
    bases = of_kind(ROOT / name, "FROM")  # a build stage may come first (inference/Dockerfile's export)
    users = of_kind(ROOT / name, "USER")
    python = python_minor(shipped_runtime())  # the Lambda functions' (tests/unit/test_template_runtime.py)

    assert bases
    for base in bases:
        # A Debian release named (-slim-trixie), so that the next one comes in on purpose.
        assert re.fullmatch(rf"python:{re.escape(python)}-slim-[a-z]+( AS [\w-]+)?", base, re.IGNORECASE), (
            f"{name}: base {base} is not a pinned python:{python}-slim-<release> tag"
        )
    assert users and users[-1].split(":")[0] not in ("root", "0"), f"{name} runs as root"
    assert of_kind(ROOT / name, "HEALTHCHECK"), f"{name} has no HEALTHCHECK"


def test_the_worker_image_bakes_its_model_and_stays_offline() -> None:
    dockerfile = ROOT / "inference/Dockerfile"
    environment = " ".join(of_kind(dockerfile, "ENV"))

    for variable in ("YOLO_OFFLINE=1", "YOLO_AUTOINSTALL=0", "POLYBOT_MODEL_DIR=/", "POLYBOT_LIVENESS_FILE=/"):
        assert variable in environment
    assert "POLYBOT_MODEL=" not in environment, "the model is named in polybot/settings.py only"
    assert "build/models/ /opt/polybot/models/" in of_kind(dockerfile, "COPY")


def test_the_worker_image_takes_cpu_torch_from_an_index_given_as_a_build_argument() -> None:
    dockerfile = ROOT / "inference/Dockerfile"

    assert "TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in of_kind(dockerfile, "ARG")
    assert any('--index-url "${TORCH_INDEX_URL}"' in run for run in of_kind(dockerfile, "RUN"))
