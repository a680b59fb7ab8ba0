"""The worker's overlap of receive/download and upload/report with the model
(inference/overlap.py, `prefetch`): the task-token contract holds for every
message, and a stop finishes every message already received, prefetched
ones included. AWS is in-memory here (the order of calls is the point); the
local stack runs the same loop against the embedded AWS in the integration
tests."""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from inference.detector import DetectionOutput, Detectors
from inference.worker import DetectionWorker
from polybot.settings import Settings


def photo_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 20, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


class Aws:
    """SQS, S3 and Step Functions in memory, recording each call in order."""

    def __init__(self, messages: int) -> None:
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.waiting = [self._message(i) for i in range(messages)]
        self.photo = photo_bytes()
        self.gone: set[str] = set()

    @staticmethod
    def _message(index: int) -> dict[str, Any]:
        task = {
            "task_token": f"token-{index}",
            "execution_name": f"tg1_{index}",
            "image": {
                "bucket": "images",
                "original_key": f"originals/{index}.jpg",
                "annotated_key": f"annotated/{index}.jpg",
                "content_type": "image/jpeg",
                "size_bytes": 700,
                "width": 32,
                "height": 24,
                "stage_ms": 5,
            },
            "options": {"confidence": 0.25, "model": Settings().model, "language": "en"},
        }
        return {"MessageId": str(index), "ReceiptHandle": f"token-{index}", "Body": json.dumps(task)}

    def record(self, call: str, token: str) -> None:
        with self.lock:
            self.calls.append((call, token))

    def of(self, token: str) -> list[str]:
        return [call for call, t in self.calls if t == token]

    # SQS
    def receive_message(self, **_: Any) -> dict[str, Any]:
        with self.lock:
            taken = self.waiting[:1]
            del self.waiting[:1]
        for message in taken:
            self.record("receive", message["ReceiptHandle"])
        if not taken:
            time.sleep(0.01)
        return {"Messages": taken}

    def delete_message(self, ReceiptHandle: str, **_: Any) -> None:
        self.record("delete", ReceiptHandle)

    # S3
    def get_object(self, Key: str, **_: Any) -> dict[str, Any]:
        self.record("download", "token-" + Key.split("/")[1].split(".")[0])
        return {"Body": io.BytesIO(self.photo)}

    def put_object(self, Key: str, **_: Any) -> None:
        self.record("upload", "token-" + Key.split("/")[1].split(".")[0])

    # Step Functions
    def send_task_heartbeat(self, taskToken: str) -> None:
        self.record("heartbeat", taskToken)
        if taskToken in self.gone:
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "gone"}}, "SendTaskHeartbeat")

    def send_task_success(self, taskToken: str, output: str) -> None:
        self.record("success", taskToken)

    def send_task_failure(self, taskToken: str, **_: Any) -> None:
        self.record("failure", taskToken)


class HeldDetector:
    """Detects nothing; holds the first image until `release` is set."""

    name = "held"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.holding = threading.Event()
        self.seen = 0

    def detect(self, image_bgr: np.ndarray, confidence: float | None = None, language: str = "en") -> DetectionOutput:
        self.seen += 1
        if self.seen == 1:
            self.holding.set()
            assert self.release.wait(10)
        return DetectionOutput([], b"\xff\xd8jpeg", inference_ms=1)


def serve(aws: Aws, detector: HeldDetector, prefetch: int, stop: threading.Event) -> threading.Thread:
    settings = Settings(detection_queue_url="https://queue", queue_wait_s=0, heartbeat_interval_s=60, prefetch=prefetch)
    worker = DetectionWorker(settings, Detectors(settings, detector), sqs=aws, s3=aws, sfn=aws)
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    return thread


def wait_until(condition: Any, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.mark.parametrize("prefetch", [0, 1, 2])
def test_each_message_is_downloaded_beaten_and_deleted_after_its_report(prefetch: int) -> None:
    aws, detector, stop = Aws(messages=6), HeldDetector(), threading.Event()
    detector.release.set()
    thread = serve(aws, detector, prefetch, stop)
    wait_until(lambda: all("delete" in aws.of(f"token-{i}") for i in range(6)))
    stop.set()
    thread.join(10)

    for index in range(6):
        # The first heartbeat goes out once the original is in hand, and is
        # answered before anything is uploaded or reported.
        assert aws.of(f"token-{index}") == ["receive", "download", "heartbeat", "upload", "success", "delete"]
    assert detector.seen == 6


def test_a_task_nobody_awaits_is_never_uploaded_nor_reported() -> None:
    aws, detector, stop = Aws(messages=3), HeldDetector(), threading.Event()
    detector.release.set()
    aws.gone = {"token-1"}
    thread = serve(aws, detector, prefetch=1, stop=stop)
    wait_until(lambda: all("delete" in aws.of(f"token-{i}") for i in range(3)))
    stop.set()
    thread.join(10)

    assert aws.of("token-1") == ["receive", "download", "heartbeat", "delete"]
    for index in (0, 2):
        assert aws.of(f"token-{index}")[-2:] == ["success", "delete"]


def test_a_task_found_gone_while_it_waited_for_the_model_is_not_run() -> None:
    aws, detector, stop = Aws(messages=3), HeldDetector(), threading.Event()
    aws.gone = {"token-1"}
    thread = serve(aws, detector, prefetch=1, stop=stop)
    assert detector.holding.wait(10)  # image 0 on the model; message 1 waits behind it
    wait_until(lambda: "heartbeat" in aws.of("token-1"))
    time.sleep(0.2)  # the answer ("TaskTimedOut") reaches the heartbeat's thread
    detector.release.set()
    wait_until(lambda: all("delete" in aws.of(f"token-{i}") for i in range(3)))
    stop.set()
    thread.join(10)

    assert detector.seen == 2, "images 0 and 2 only"
    assert "upload" not in aws.of("token-1")


def test_while_the_model_works_the_next_message_is_received_and_downloaded_but_no_more() -> None:
    aws, detector, stop = Aws(messages=5), HeldDetector(), threading.Event()
    thread = serve(aws, detector, prefetch=1, stop=stop)
    assert detector.holding.wait(10)
    wait_until(lambda: "download" in aws.of("token-1"))
    time.sleep(0.2)  # time enough to take a third, were it allowed

    assert [c for c, _ in aws.calls].count("receive") == 2
    detector.release.set()
    wait_until(lambda: "delete" in aws.of("token-4"))
    stop.set()
    thread.join(10)


def test_a_stop_finishes_the_message_on_the_model_and_the_prefetched_one() -> None:
    aws, detector, stop = Aws(messages=5), HeldDetector(), threading.Event()
    thread = serve(aws, detector, prefetch=1, stop=stop)
    assert detector.holding.wait(10)
    wait_until(lambda: "download" in aws.of("token-1"))

    stop.set()  # SIGTERM while one image is on the model and the next is in hand
    detector.release.set()
    thread.join(10)

    assert not thread.is_alive()
    for index in (0, 1):
        assert aws.of(f"token-{index}")[-2:] == ["success", "delete"]
    assert [c for c, _ in aws.calls].count("receive") == 2, "nothing more is taken after the stop"
    assert len(aws.waiting) == 3, "the rest stay in the queue for other workers"
