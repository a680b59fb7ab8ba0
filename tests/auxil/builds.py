"""The builds the container tests wait for (`make build`, `make bot-image`,
`make worker-image`), run in the background: started once per session when its
tests are collected (tests/conftest.py), waited for by the fixtures of
tests/artifacts/conftest.py, stopped when the session ends.

Here and not in a conftest: pytest loads each conftest.py as a module of its
own, apart from the `tests.artifacts.conftest` that another file would import,
so state kept in a conftest is kept twice and every build ran twice.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from local.containers import docker_problem

ROOT = Path(__file__).resolve().parents[2]
BOT_IMAGE = "polybot-bot:test"
WORKER_IMAGE = "polybot-worker:test"
WORKER_EXPORT_IMAGE = "polybot-worker:test-export"
PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYPI_INDEX = "https://pypi.org/simple"
# From a build's start, not from each wait: a hung build costs CI this once.
BUILD_TIMEOUT_S = 1200


class Make:
    """`make <args>` in the background: started when the session's tests are
    collected (tests/conftest.py), so the images build while other tests run;
    the fixtures of tests/artifacts/conftest.py wait for it."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.log = tempfile.NamedTemporaryFile("w+", prefix="polybot-make-", suffix=".log")  # noqa: SIM115
        self.started = time.perf_counter()
        self.ended: float | None = None
        # A session of its own: close() stops make's children (sam, docker) with it.
        self.process = subprocess.Popen(
            ["make", *args], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
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
            self._kill()
            self.log.seek(0)
            pytest.fail(
                f"make {' '.join(self.args)} did not end within {BUILD_TIMEOUT_S} s:\n{self.log.read()[-8000:]}"
            )
        while self.ended is None:
            time.sleep(0.05)
        self.log.seek(0)
        assert self.process.returncode == 0, f"make {' '.join(self.args)} failed:\n{self.log.read()[-8000:]}"
        return self.ended - self.started

    def _kill(self) -> None:
        """Stop make and what it started (its process group)."""
        with contextlib.suppress(ProcessLookupError):  # ended meanwhile
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        """Stop the command if it still runs (the session ended first) and drop its log."""
        if self.process.poll() is None:
            self._kill()
        self.log.close()


BUILDS: dict[str, Make] = {}


def start_builds() -> None:
    """Start `make build`, `make bot-image` and `make worker-image` (once), if Docker answers."""
    if BUILDS or docker_problem() is not None:
        return
    index = torch_index()
    BUILDS["build"] = Make("build")
    BUILDS["bot-image"] = Make("bot-image", f"BOT_IMAGE={BOT_IMAGE}")
    BUILDS["worker-image"] = Make(
        "worker-image",
        f"WORKER_IMAGE={WORKER_IMAGE}",
        f"WORKER_EXPORT_IMAGE={WORKER_EXPORT_IMAGE}",
        f"TORCH_INDEX_URL={index}",
    )
    BUILDS["worker-image"].index = index  # type: ignore[attr-defined]


def stop_builds() -> None:
    for build in BUILDS.values():
        build.close()


def built(target: str) -> float:
    start_builds()
    return BUILDS[target].seconds()


def torch_index() -> str:
    """PyTorch's CPU index, as production builds use, where this machine reaches it; else PyPI's."""
    try:
        with urllib.request.urlopen(PYTORCH_CPU_INDEX + "/torch/", timeout=5):
            return PYTORCH_CPU_INDEX
    except OSError:
        return PYPI_INDEX
