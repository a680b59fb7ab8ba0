"""The YOLO worker as its own process (`python -m inference`), as on an
instance of the auto-scaling group: it serves the queue, and SIGTERM makes it
exit cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from local.polybot_stack import REPO_ROOT, PolybotStack
from polybot import naming
from tests.auxil.images import ultralytics_asset
from tests.auxil.pipeline import wait_for_execution

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
        assert reply.caption == "I see 2 people and a tie."
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
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
        stack.start_worker()
