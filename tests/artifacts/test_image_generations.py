"""Builds leave the disk as they found it, but for what they tag.

Docker's legacy builder (Debian's docker.io, as on CI's machines) keeps the
image a tag named before each rebuild, and every untagged stage of a
multi-stage build: a test run left 8.7 GB behind (the worker's export stage,
with PyPI's torch, is 7.5 GB) until CI's disk was full. So every build goes
through local.images (`make bot-image`, `make worker-image`, and `sam local
invoke` through local.invoke):

- a rebuild removes the image its tag named before, and not one that another
  tag still names;
- after the session's `make bot-image` and `make worker-image`, no untagged
  image of any Polybot stage is left (each stage carries the label
  org.opencontainers.image.title), and the worker's export stage is tagged:
  the next build's cache, not a leftover.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.containers import docker as docker_command
from local.containers import image_size_bytes, inspected
from local.images import main, tagged
from tests.auxil.builds import WORKER_EXPORT_IMAGE

pytestmark = [pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "polybot-replacing-check"
ELSEWHERE = f"{REPOSITORY}-elsewhere:kept"
TITLE = re.compile(r'^LABEL org\.opencontainers\.image\.title="([\w.-]+)"$', re.MULTILINE)


def exists(image_id: str) -> bool:
    return inspected(image_id, "{{.Id}}") is not None


@pytest.fixture
def context(docker: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A build context with the smallest Dockerfile on a base image `make test` provides; its images removed after."""
    (tmp_path / "Dockerfile").write_text("FROM python:3.13-slim\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    left = tagged(REPOSITORY) | tagged(ELSEWHERE.split(":")[0])
    if left:
        subprocess.run(
            [docker_command(), "image", "rm", "--force", *left], capture_output=True, timeout=120, check=False
        )


def generation(number: int) -> str:
    assert main([f"{REPOSITORY}:dev", "--label", f"generation={number}"]) == 0
    [image_id] = tagged(REPOSITORY)
    return image_id


def test_a_rebuild_removes_the_image_it_replaces(context: Path) -> None:
    first = generation(1)
    second = generation(2)

    assert second != first
    assert exists(second)
    assert not exists(first), "the image the tag named before is still on disk"


def test_a_rebuild_keeps_the_image_another_tag_names(context: Path) -> None:
    first = generation(1)
    subprocess.run([docker_command(), "tag", first, ELSEWHERE], capture_output=True, timeout=60, check=True)

    second = generation(2)

    assert second != first
    assert exists(first)
    assert tagged(ELSEWHERE.split(":")[0]) == {first}


def test_the_builds_leave_no_untagged_polybot_image(bot_image: str, worker_image: str) -> None:
    dockerfiles = sorted(ROOT.glob("*/Dockerfile"))
    titles = [title for path in dockerfiles for title in TITLE.findall(path.read_text(encoding="utf-8"))]
    stages = sum(len(re.findall(r"^FROM ", path.read_text(encoding="utf-8"), re.MULTILINE)) for path in dockerfiles)
    assert len(titles) == stages, "every stage of every Dockerfile names itself (LABEL org.opencontainers.image.title)"

    for title in titles:
        done = subprocess.run(
            [
                docker_command(),
                "images",
                "--quiet",
                "--filter",
                "dangling=true",
                "--filter",
                f"label=org.opencontainers.image.title={title}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert not done.stdout.split(), f"untagged {title} images left on disk: {done.stdout.split()}"
    assert image_size_bytes(WORKER_EXPORT_IMAGE) > 0
