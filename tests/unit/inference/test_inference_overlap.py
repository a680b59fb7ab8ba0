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
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from inference import worker as worker_module
from inference.decoded_budget import PREFETCHED_PIXELS
from inference.detector import DetectionOutput, Detectors
from inference.overlap import START_DEPTH, Depth
from inference.worker import DetectionWorker
from polybot import imaging
from polybot.settings import Settings


def photo_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 20, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


class Aws:
    """SQS, S3 and Step Functions in memory, recording each call in order."""

    def __init__(self, messages: int, pixels: tuple[int, int] = (32, 24)) -> None:
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.waiting = [self._message(i, pixels) for i in range(messages)]
        self.photo = photo_bytes()
        self.gone: set[str] = set()
        self.asked: list[int] = []
        """MaxNumberOfMessages of each receive that found messages."""
        self.received = 0
        self.after_receive: Callable[[], None] = lambda: None
        self.uploads: Any = None
        """A threading.Barrier each upload waits at, if set."""
        self.deletes: list[int] = []
        """Messages each delete call carried (DeleteMessage: 1)."""

    @staticmethod
    def _message(index: int, pixels: tuple[int, int]) -> dict[str, Any]:
        task = {
            "task_token": f"token-{index}",
            "execution_name": f"tg1_{index}",
            "image": {
                "bucket": "images",
                "original_key": f"originals/{index}.jpg",
                "annotated_key": f"annotated/{index}.jpg",
                "content_type": "image/jpeg",
                "size_bytes": 700,
                "width": pixels[0],
                "height": pixels[1],
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
    def receive_message(self, MaxNumberOfMessages: int = 1, **_: Any) -> dict[str, Any]:
        with self.lock:
            taken = self.waiting[:MaxNumberOfMessages]
            del self.waiting[:MaxNumberOfMessages]
            self.received += len(taken)
            if taken:
                self.asked.append(MaxNumberOfMessages)
        self.after_receive()
        for message in taken:
            self.record("receive", message["ReceiptHandle"])
        if not taken:
            time.sleep(0.01)
        return {"Messages": taken}

    def delete_message(self, ReceiptHandle: str, **_: Any) -> None:
        self.deletes.append(1)
        self.record("delete", ReceiptHandle)

    def delete_message_batch(self, Entries: list[dict[str, str]], **_: Any) -> dict[str, Any]:
        assert 1 <= len(Entries) <= 10, "SQS takes one to ten entries"
        assert len({entry["Id"] for entry in Entries}) == len(Entries), "ids unique within the batch"
        self.deletes.append(len(Entries))
        for entry in Entries:
            self.record("delete", entry["ReceiptHandle"])
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}

    # S3
    def get_object(self, Key: str, **_: Any) -> dict[str, Any]:
        self.record("download", "token-" + Key.split("/")[1].split(".")[0])
        return {"Body": io.BytesIO(self.photo)}

    def put_object(self, Key: str, **_: Any) -> None:
        if self.uploads is not None:
            self.uploads.wait()
        self.record("upload", "token-" + Key.split("/")[1].split(".")[0])

    # Step Functions
    def send_task_heartbeat(self, taskToken: str) -> None:
        self.record("heartbeat", taskToken)
        if taskToken in self.gone:
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "gone"}}, "SendTaskHeartbeat")

    def send_task_success(self, taskToken: str, output: str) -> None:
        self.record("success", taskToken)
        if taskToken in self.gone:
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "gone"}}, "SendTaskSuccess")

    def delivered_before(self, index: int) -> None:
        """Message `index` comes as SQS hands out a message received once before."""
        self.waiting[index]["Attributes"] = {"ApproximateReceiveCount": "2"}

    def send_task_failure(self, taskToken: str, **_: Any) -> None:
        self.record("failure", taskToken)


class HeldDetector:
    """Detects nothing; holds the first image until `release` is set."""

    name = "held"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.holding = threading.Event()
        self.seen = 0
        self.finished = 0
        self.only: list[list[str]] = []

    def detect(
        self, image_bgr: np.ndarray, confidence: float | None = None, language: str = "en", only: Any = ()
    ) -> DetectionOutput:
        self.only.append(list(only))
        self.seen += 1
        if self.seen == 1:
            self.holding.set()
            assert self.release.wait(10)
        self.finished += 1
        return DetectionOutput([], b"\xff\xd8jpeg", inference_ms=1)


def serve(
    aws: Aws,
    detector: HeldDetector,
    prefetch: int,
    stop: threading.Event,
    depth: Depth | None = None,
    ready: Callable[[DetectionWorker], None] = lambda _: None,
) -> threading.Thread:
    """The worker serving `aws` on a thread; `depth`: its measurements so far (None: none)."""
    settings = Settings(detection_queue_url="https://queue", queue_wait_s=0, heartbeat_interval_s=60, prefetch=prefetch)
    worker = DetectionWorker(settings, Detectors(settings, detector), sqs=aws, s3=aws, sfn=aws)
    if depth is not None:
        worker.depth = depth
    ready(worker)
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    return thread


def measured(most: int, prepare_s: float, model_s: float) -> Depth:
    depth = Depth(most)
    depth.prepared(prepare_s)
    depth.modelled(model_s)
    return depth


def wait_until(condition: Any, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.mark.parametrize("prefetch", [0, 1, 2])
def test_each_message_is_downloaded_and_deleted_after_its_report(prefetch: int) -> None:
    aws, detector, stop = Aws(messages=6), HeldDetector(), threading.Event()
    detector.release.set()
    thread = serve(aws, detector, prefetch, stop)
    wait_until(lambda: all("delete" in aws.of(f"token-{i}") for i in range(6)))
    stop.set()
    thread.join(10)

    for index in range(6):
        # A task just sent is awaited: its first beat would come after an interval
        # (60 s here), and the image is reported long before.
        assert aws.of(f"token-{index}") == ["receive", "download", "upload", "success", "delete"]
    assert detector.seen == 6


@pytest.mark.parametrize("prefetch", [0, 2])
def test_a_message_delivered_before_or_long_queued_is_beaten_at_once(prefetch: int) -> None:
    aws, detector, stop = Aws(messages=3), HeldDetector(), threading.Event()
    detector.release.set()
    aws.delivered_before(0)
    # Sent so long ago that a beat after an interval would land after HeartbeatSeconds.
    sent_ms = (time.time() - Settings().task_heartbeat_timeout_s + Settings().heartbeat_interval_s) * 1000
    aws.waiting[1]["Attributes"] = {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(sent_ms))}
    thread = serve(aws, detector, prefetch, stop)
    wait_until(lambda: all("delete" in aws.of(f"token-{i}") for i in range(3)))
    stop.set()
    thread.join(10)

    for index in (0, 1):
        # The first heartbeat goes out once the original is in hand, and is
        # answered before anything is uploaded or reported.
        assert aws.of(f"token-{index}") == ["receive", "download", "heartbeat", "upload", "success", "delete"]
    assert aws.of("token-2") == ["receive", "download", "upload", "success", "delete"]


def test_the_classes_a_task_draws_alone_reach_the_detector() -> None:
    aws, detector, stop = Aws(messages=2), HeldDetector(), threading.Event()
    detector.release.set()
    first = json.loads(aws.waiting[0]["Body"])
    first["options"]["only"] = ["dog"]
    aws.waiting[0]["Body"] = json.dumps(first)
    thread = serve(aws, detector, prefetch=0, stop=stop)
    wait_until(lambda: all("delete" in aws.of(f"token-{i}") for i in range(2)))
    stop.set()
    thread.join(10)

    assert detector.only == [["dog"], []], "a find's class, then every class (no `only` in the options)"


def test_reported_messages_are_deleted_together_each_once_and_all_before_the_stop_returns() -> None:
    aws, detector, stop = Aws(messages=24), HeldDetector(), threading.Event()
    thread = serve(aws, detector, prefetch=4, stop=stop)
    assert detector.holding.wait(10)
    detector.release.set()
    wait_until(lambda: all("success" in aws.of(f"token-{i}") for i in range(24)))
    stop.set()
    thread.join(10)

    assert not thread.is_alive()
    for index in range(24):
        # Deleted once, after its report, by the time the worker stopped.
        assert aws.of(f"token-{index}")[-2:] == ["success", "delete"]
        assert aws.of(f"token-{index}").count("delete") == 1
    # 24 reported messages, a call for up to ten of them: at most a third of the calls
    # one DeleteMessage each would make (the images are reported about as fast as they
    # are received here, so each batch fills or waits out its hold).
    assert sum(aws.deletes) == 24
    assert len(aws.deletes) <= 24 // 3


def test_a_task_nobody_awaits_is_never_uploaded_nor_reported() -> None:
    aws, detector, stop = Aws(messages=3), HeldDetector(), threading.Event()
    detector.release.set()
    aws.gone = {"token-1"}
    aws.delivered_before(1)
    thread = serve(aws, detector, prefetch=1, stop=stop)
    wait_until(lambda: all("delete" in aws.of(f"token-{i}") for i in range(3)))
    stop.set()
    thread.join(10)

    assert aws.of("token-1") == ["receive", "download", "heartbeat", "delete"]
    for index in (0, 2):
        assert aws.of(f"token-{index}")[-2:] == ["success", "delete"]


def test_a_fresh_task_found_gone_by_its_report_is_dropped_and_deleted() -> None:
    # An operator's StopExecution: nothing tells the worker before its report.
    aws, detector, stop = Aws(messages=3), HeldDetector(), threading.Event()
    detector.release.set()
    aws.gone = {"token-1"}
    thread = serve(aws, detector, prefetch=1, stop=stop)
    wait_until(lambda: all("delete" in aws.of(f"token-{i}") for i in range(3)))
    stop.set()
    thread.join(10)

    assert aws.of("token-1") == ["receive", "download", "upload", "success", "delete"]
    assert aws.of("token-1").count("success") == 1, "not reported again"
    for index in (0, 2):
        assert aws.of(f"token-{index}")[-2:] == ["success", "delete"]


def test_a_task_found_gone_while_it_waited_for_the_model_is_not_run() -> None:
    aws, detector, stop = Aws(messages=3), HeldDetector(), threading.Event()
    aws.gone = {"token-1"}
    aws.delivered_before(1)
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


# --- how many messages in flight ------------------------------------------------


def test_the_depth_is_what_keeps_the_model_busy_no_more() -> None:
    assert Depth(16).target == START_DEPTH, "before anything is measured"
    assert Depth(1).target == 1, "never more than `prefetch`"
    # Downloads ten times as long as the model's turn: ten on their way, one ready.
    assert measured(16, prepare_s=0.2, model_s=0.02).target == 11
    assert measured(8, prepare_s=0.2, model_s=0.02).target == 8
    # A model slower than the downloads (a busy machine, a larger model): one on deck.
    assert measured(16, prepare_s=0.05, model_s=0.2).target == 2


def test_the_receive_calls_time_counts_too() -> None:
    depth = measured(16, prepare_s=0.15, model_s=0.02)
    depth.received(0.05)

    assert depth.target == 11


def test_the_depth_follows_the_network_and_the_model() -> None:
    depth = measured(16, prepare_s=0.2, model_s=0.02)
    for _ in range(40):  # the network got faster
        depth.prepared(0.01)
        depth.modelled(0.02)

    assert depth.target == 2


def test_the_worker_takes_the_room_its_depth_leaves_in_one_call_and_holds_no_more() -> None:
    aws, detector, stop = Aws(messages=20), HeldDetector(), threading.Event()
    most = 6
    outstanding: list[int] = []
    # In the worker after each receive: received, less what the model is done with.
    aws.after_receive = lambda: outstanding.append(aws.received - detector.finished)
    thread = serve(aws, detector, prefetch=most, stop=stop, depth=measured(most, prepare_s=1.0, model_s=0.1))
    assert detector.holding.wait(10)
    detector.release.set()
    wait_until(lambda: all("delete" in aws.of(f"token-{i}") for i in range(20)))
    stop.set()
    thread.join(10)

    assert aws.asked[0] == most, "all the room in one receive"
    # `most` waiting at most, and the one on the model.
    assert max(outstanding) <= most + 1
    for index in range(20):
        assert aws.of(f"token-{index}") == ["receive", "download", "upload", "success", "delete"]


def test_a_model_slower_than_its_downloads_has_one_message_on_deck_however_deep_it_may_go() -> None:
    aws, detector, stop = Aws(messages=12), HeldDetector(), threading.Event()
    thread = serve(aws, detector, prefetch=16, stop=stop, depth=measured(16, prepare_s=0.01, model_s=1.0))
    assert detector.holding.wait(10)
    detector.release.set()
    wait_until(lambda: all("delete" in aws.of(f"token-{i}") for i in range(12)))
    stop.set()
    thread.join(10)

    assert aws.asked[0] == 2
    assert detector.seen == 12


def test_uploads_and_reports_of_several_images_go_out_side_by_side() -> None:
    aws, detector, stop = Aws(messages=8), HeldDetector(), threading.Event()
    detector.release.set()
    # Each upload ends only once four are under way: uploads one or two at a time never get there.
    aws.uploads = threading.Barrier(4, timeout=10)
    thread = serve(aws, detector, prefetch=4, stop=stop)
    wait_until(lambda: all("delete" in aws.of(f"token-{i}") for i in range(8)), timeout_s=30)
    stop.set()
    thread.join(10)

    for index in range(8):
        assert aws.of(f"token-{index}")[-3:] == ["upload", "success", "delete"]


def test_images_waiting_for_the_model_hold_two_of_the_largest_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every message says its image has the most pixels StageImage accepts.
    side = int(imaging.MAX_PIXELS**0.5)
    aws, detector, stop = Aws(messages=8, pixels=(side, side)), HeldDetector(), threading.Event()
    decoded = 0
    in_worker: list[int] = []
    decode = worker_module.decode_original

    def counted(data: bytes) -> Any:
        nonlocal decoded
        decoded += 1
        # Decoded images in the worker now: waiting for the model, or on it.
        in_worker.append(decoded - detector.finished)
        return decode(data)

    monkeypatch.setattr(worker_module, "decode_original", counted)
    thread = serve(aws, detector, prefetch=6, stop=stop, depth=measured(6, prepare_s=1.0, model_s=0.1))
    assert detector.holding.wait(10)
    wait_until(lambda: aws.received >= 7)  # image 0 on the model, six more in hand
    detector.release.set()
    wait_until(lambda: all("delete" in aws.of(f"token-{i}") for i in range(8)))
    stop.set()
    thread.join(10)

    assert PREFETCHED_PIXELS // (side * side) == 2
    assert max(in_worker) <= 2 + 1
    assert detector.seen == 8


def test_a_receive_that_waited_for_messages_to_arrive_does_not_deepen_the_worker() -> None:
    aws, detector, stop = Aws(messages=1), HeldDetector(), threading.Event()
    detector.release.set()
    depth = measured(16, prepare_s=0.01, model_s=0.01)
    thread = serve(aws, detector, prefetch=16, stop=stop, depth=depth)
    wait_until(lambda: "delete" in aws.of("token-0"))
    stop.set()
    thread.join(10)

    # Every receive asked for more than the queue held (on SQS, a long poll waits for them).
    assert aws.asked == [2]
    assert depth._receive_s == 0.0
