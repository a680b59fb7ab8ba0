"""What ships, built and run on this machine, with the commands the README
shows: `make build` (sam build), `make invoke` (each function in its Lambda
container), `make bot-image` and `make worker-image`.

Docker is needed; where no engine answers, these tests skip and say why in
pytest's summary (on machines like CI's, `make test` first runs
../shared/docker/make-base-images.sh, so Docker is there). The figures they
measure (build times, image sizes, the worker container's execution trace)
are written to out/artifacts.json at the end of the session.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.containers import docker_problem, image_size_bytes

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "out" / "artifacts.json"
BOT_IMAGE = "polybot-bot:test"
WORKER_IMAGE = "polybot-worker:test"
PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYPI_INDEX = "https://pypi.org/simple"
BUILD_TIMEOUT_S = 1500


@pytest.fixture(scope="session")
def report() -> Iterator[dict[str, Any]]:
    figures: dict[str, Any] = {}
    yield figures
    if figures:
        REPORT.parent.mkdir(exist_ok=True)
        REPORT.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def docker() -> None:
    problem = docker_problem()
    if problem:
        pytest.skip(f"no Docker engine here, so nothing is built or run in containers: {problem}")


def make(*targets: str, timeout_s: float = BUILD_TIMEOUT_S) -> float:
    """Seconds `make <targets>` took; its output is in the failure message."""
    started = time.perf_counter()
    done = subprocess.run(["make", *targets], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s, check=False)
    assert done.returncode == 0, f"make {' '.join(targets)} failed:\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
    return time.perf_counter() - started


@pytest.fixture(scope="session")
def sam_build(docker: None, report: dict[str, Any]) -> Path:
    report["sam_build_s"] = round(make("build"), 1)
    return ROOT / ".aws-sam" / "build"


def torch_index() -> str:
    """PyTorch's CPU index, as production builds use, where this machine reaches it; else PyPI's."""
    try:
        with urllib.request.urlopen(PYTORCH_CPU_INDEX + "/torch/", timeout=5):
            return PYTORCH_CPU_INDEX
    except OSError:
        return PYPI_INDEX


@pytest.fixture(scope="session")
def bot_image(docker: None, report: dict[str, Any]) -> str:
    report["bot_image_build_s"] = round(make("bot-image", f"BOT_IMAGE={BOT_IMAGE}"), 1)
    report["bot_image_mb"] = round(image_size_bytes(BOT_IMAGE) / 1e6)
    return BOT_IMAGE


@pytest.fixture(scope="session")
def worker_image(docker: None, report: dict[str, Any]) -> str:
    index = torch_index()
    report["worker_image_torch_index"] = index
    report["worker_image_build_s"] = round(
        make("worker-image", f"WORKER_IMAGE={WORKER_IMAGE}", f"TORCH_INDEX_URL={index}"), 1
    )
    report["worker_image_mb"] = round(image_size_bytes(WORKER_IMAGE) / 1e6)
    return WORKER_IMAGE
