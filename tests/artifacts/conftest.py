"""What ships, built and run on this machine, with the commands the README
shows: `make build` (sam build), `make invoke` (each function in its Lambda
container), `make bot-image` and `make worker-image`.

The builds start in the background as soon as the session's tests are
collected and run while the other tests do; these tests run last (both
arranged in tests/conftest.py; the builds are tests/auxil/builds.py's). Docker is needed; where no engine answers,
these tests skip and say why in pytest's summary (on machines like CI's, `make test` first runs
../shared/docker/make-base-images.sh, so Docker is there). The figures they
measure (build times, image sizes, the worker container's execution trace)
are written to out/artifacts.json at the end of the session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.containers import docker_problem, image_size_bytes
from tests.auxil.builds import BOT_IMAGE, BUILDS, WORKER_IMAGE, built

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "out" / "artifacts.json"


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


@pytest.fixture(scope="session")
def sam_build(docker: None, report: dict[str, Any]) -> Path:
    report["sam_build_s"] = round(built("build"), 1)
    return ROOT / ".aws-sam" / "build"


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
