"""The worker's liveness file: what the worker image's HEALTHCHECK tests for freshness."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from inference.detector import Detectors
from inference.worker import DetectionWorker
from polybot.settings import Settings


class IdleQueue:
    """An SQS client whose queue is empty; it ends the loop after `polls` receives."""

    def __init__(self, stop: threading.Event, polls: int = 1, error: Exception | None = None) -> None:
        self.stop, self.polls, self.error = stop, polls, error
        self.received = 0

    def receive_message(self, **arguments: Any) -> dict[str, Any]:
        self.received += 1
        if self.received >= self.polls:
            self.stop.set()
        if self.error is not None:
            raise self.error
        return {"Messages": []}


class UnusedDetector:
    name = "unused"

    def detect(self, image_bgr: Any, confidence: float | None = None, language: str = "en", only: Any = ()) -> Any:
        raise AssertionError("an empty queue has nothing to detect")


def run_worker(settings: Settings, error: Exception | None = None) -> IdleQueue:
    stop = threading.Event()
    queue = IdleQueue(stop, error=error)
    DetectionWorker(settings, Detectors(settings, UnusedDetector()), sqs=queue, s3=None, sfn=None).run(stop)
    return queue


def test_a_successful_poll_touches_the_liveness_file(tmp_path: Path) -> None:
    alive = tmp_path / "alive"
    alive.touch()
    os.utime(alive, (0, 0))

    queue = run_worker(Settings(detection_queue_url="https://queue", liveness_file=str(alive)))

    assert queue.received == 1
    assert alive.stat().st_mtime > 0


def test_a_failing_poll_leaves_the_liveness_file_stale(tmp_path: Path) -> None:
    alive = tmp_path / "alive"

    run_worker(Settings(detection_queue_url="https://queue", liveness_file=str(alive)), error=ConnectionError("no SQS"))

    assert not alive.exists()


def test_an_unwritable_liveness_file_does_not_stop_the_worker(tmp_path: Path) -> None:
    queue = run_worker(Settings(detection_queue_url="https://queue", liveness_file=str(tmp_path / "no" / "alive")))

    assert queue.received == 1


def test_no_liveness_file_by_default() -> None:
    assert Settings.from_env({}).liveness_file == ""
    assert Settings.from_env({"POLYBOT_LIVENESS_FILE": "/tmp/alive"}).liveness_file == "/tmp/alive"
