"""What ships, built and run on this machine, with the commands the README
shows: `make build` (sam build), `make invoke` (each function in its Lambda
container), `make bot-image` and `make worker-image`.

The builds start in the background as soon as the session's tests are
collected and run while the other tests do; these tests run last (both
arranged in tests/conftest.py). Docker is needed; where no engine answers,
these tests skip and say why in pytest's summary (on machines like CI's, `make test` first runs
../shared/docker/make-base-images.sh, so Docker is there). The figures they
measure (build times, image sizes, the worker container's execution trace)
are written to out/artifacts.json at the end of the session.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
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
# From a build's start, not from each wait: a hung build costs CI this once.
BUILD_TIMEOUT_S = 1200


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


class Make:
    """`make <args>` in the background: started when the session's tests are
    collected (tests/conftest.py), so the images build while other tests run;
    the fixtures below wait for it."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.log = tempfile.NamedTemporaryFile("w+", prefix="polybot-make-", suffix=".log")  # noqa: SIM115
        self.started = time.perf_counter()
        self.ended: float | None = None
        self.process = subprocess.Popen(["make", *args], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        threading.Thread(target=self._note_end, daemon=True).start()

    def _note_end(self) -> None:
        self.process.wait()
        self.ended = time.perf_counter()

    def seconds(self) -> float:
        """Seconds the command took, once it has ended; fails with its output if it
        failed or did not end within BUILD_TIMEOUT_S of its start."""
        try:
            self.process.wait(timeout=max(1.0, self.started + BUILD_TIMEOUT_S - time.perf_counter()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self.log.seek(0)
            pytest.fail(
                f"make {' '.join(self.args)} did not end within {BUILD_TIMEOUT_S} s:\n{self.log.read()[-8000:]}"
            )
        while self.ended is None:
            time.sleep(0.05)
        self.log.seek(0)
        assert self.process.returncode == 0, f"make {' '.join(self.args)} failed:\n{self.log.read()[-8000:]}"
        return self.ended - self.started

    def close(self) -> None:
        """Stop the command if it still runs (the session ended first) and drop its log."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()


BUILDS: dict[str, Make] = {}


def start_builds() -> None:
    """Start `make build`, `make bot-image` and `make worker-image` (once), if Docker answers."""
    if BUILDS or docker_problem() is not None:
        return
    index = torch_index()
    BUILDS["build"] = Make("build")
    BUILDS["bot-image"] = Make("bot-image", f"BOT_IMAGE={BOT_IMAGE}")
    BUILDS["worker-image"] = Make("worker-image", f"WORKER_IMAGE={WORKER_IMAGE}", f"TORCH_INDEX_URL={index}")
    BUILDS["worker-image"].index = index  # type: ignore[attr-defined]


def stop_builds() -> None:
    for build in BUILDS.values():
        build.close()


def built(target: str) -> float:
    start_builds()
    return BUILDS[target].seconds()


@pytest.fixture(scope="session")
def sam_build(docker: None, report: dict[str, Any]) -> Path:
    report["sam_build_s"] = round(built("build"), 1)
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
    report["bot_image_build_s"] = round(built("bot-image"), 1)
    report["bot_image_mb"] = round(image_size_bytes(BOT_IMAGE) / 1e6)
    return BOT_IMAGE


@pytest.fixture(scope="session")
def worker_image(docker: None, report: dict[str, Any]) -> str:
    report["worker_image_build_s"] = round(built("worker-image"), 1)
    report["worker_image_torch_index"] = BUILDS["worker-image"].index  # type: ignore[attr-defined]
    report["worker_image_mb"] = round(image_size_bytes(WORKER_IMAGE) / 1e6)
    return WORKER_IMAGE
