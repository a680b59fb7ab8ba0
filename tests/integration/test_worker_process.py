"""The YOLO worker as its own process (`python -m inference`), as on an
instance of the auto-scaling group: it serves the queue on every core, and
SIGTERM makes it exit cleanly, finishing every message it has received (the
one on the model and the one prefetched) and leaving the rest to others."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from inference.backends import cores
from local.polybot_stack import REPO_ROOT, PolybotStack
from polybot import naming
from tests.auxil.images import ultralytics_asset
from tests.auxil.pipeline import execution_trace, wait_for_execution

pytestmark = [pytest.mark.aws, pytest.mark.model]


def test_worker_process_serves_the_queue_and_stops_on_sigterm(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    environment = {**os.environ, **stack.settings.as_env(), "POLYBOT_LOG_LEVEL": "INFO"}
    stack.stop_worker()  # the process is the only worker now
    worker = subprocess.Popen(
        [sys.executable, "-m", "inference"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
        reply = stack.telegram.wait_for_reply(chat_id, message["message_id"], timeout=120)
        assert reply.caption == "I see 2 people, and maybe a tie."
        name = naming.execution_name(chat_id, message["message_id"])
        assert wait_for_execution(stack, name)["status"] == "SUCCEEDED"

        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
        assert worker.returncode == 0, output
        # It was waiting on an empty queue: it stops within one long poll.
        assert time.monotonic() - started < stack.settings.queue_wait_s + 10
        assert f'"execution": "{name}"' in output, "the worker's log lines carry the execution name"
        assert "worker stopped" in output
        assert f"with {cores()} threads" in output, "the model runs on every core, as its runtime reports"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
        stack.start_worker()


def worker_process(stack: PolybotStack) -> tuple[subprocess.Popen[str], list[str]]:
    """`python -m inference` against the stack; its output lines as they come."""
    environment = {**os.environ, **stack.settings.as_env(), "POLYBOT_LOG_LEVEL": "INFO"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "inference"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    stream = worker.stdout
    assert stream is not None
    threading.Thread(target=lambda: lines.extend(iter(stream.readline, "")), daemon=True).start()
    return worker, lines


def test_sigterm_with_photos_waiting_finishes_what_it_took_and_loses_nothing(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    sqs = stack.client("sqs")
    stack.stop_worker()
    # More than it may hold at once: one reported, one on the model, `prefetch` received ahead.
    count = stack.settings.prefetch + 4
    photos = [stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg")) for _ in range(count)]
    deadline = time.monotonic() + 60
    while int(
        sqs.get_queue_attributes(
            QueueUrl=stack.settings.detection_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
    ) < len(photos):
        assert time.monotonic() < deadline, "the photos did not reach the queue"
        time.sleep(0.1)
    worker, lines = worker_process(stack)
    try:
        while not any("served in" in line for line in lines):
            assert worker.poll() is None and time.monotonic() < deadline + 120, "".join(lines)
            time.sleep(0.01)
        worker.send_signal(signal.SIGTERM)  # one reported; others on the model or prefetched
        assert worker.wait(timeout=60) == 0, "".join(lines)
        served = sum("served in" in line for line in lines)
        assert 1 <= served <= stack.settings.prefetch + 2 < len(photos), "it stops taking messages; the rest stay"
    finally:
        if worker.poll() is None:
            worker.kill()
        stack.start_worker()  # serves what the stopped process left in the queue

    for photo in photos:
        reply = stack.telegram.wait_for_reply(chat_id, photo["message_id"], timeout=120)
        name = naming.execution_name(chat_id, photo["message_id"])
        assert wait_for_execution(stack, name)["status"] == "SUCCEEDED"
        assert len(stack.telegram.replies_to(chat_id, photo["message_id"])) == 1
        assert reply.caption == "I see 2 people, and maybe a tie."
        detect = next(row for row in execution_trace(stack, name) if row.name == "DetectObjects")
        assert detect.retries == 0, "no task was lost and retried after its heartbeat timed out"
