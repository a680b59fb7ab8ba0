"""The worker's heartbeat: the first beat decides whether a task is still awaited."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from inference.worker import FIRST_BEAT_ATTEMPTS, Heartbeat, TaskGone


class StepFunctions:
    """Answers SendTaskHeartbeat with the given error codes, then succeeds."""

    def __init__(self, *errors: str) -> None:
        self.errors = list(errors)
        self.beats = 0

    def send_task_heartbeat(self, taskToken: str) -> dict[str, Any]:
        self.beats += 1
        if self.errors:
            code = self.errors.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": code}}, "SendTaskHeartbeat")
        return {}


def test_first_beat_is_sent_at_once() -> None:
    sfn = StepFunctions()
    with Heartbeat(sfn, "token", interval_s=60):
        assert sfn.beats == 1


def test_a_token_not_yet_accepted_is_tried_again() -> None:
    sfn = StepFunctions("InvalidToken", "InvalidToken")
    with Heartbeat(sfn, "token", interval_s=60):
        assert sfn.beats == 3


def test_a_token_that_stays_invalid_means_the_task_is_gone() -> None:
    sfn = StepFunctions(*["InvalidToken"] * FIRST_BEAT_ATTEMPTS)
    with pytest.raises(TaskGone), Heartbeat(sfn, "token", interval_s=60):
        pytest.fail("no work for a task nobody awaits")
    assert sfn.beats == FIRST_BEAT_ATTEMPTS


def test_a_timed_out_task_is_gone_at_once() -> None:
    sfn = StepFunctions("TaskTimedOut")
    with pytest.raises(TaskGone), Heartbeat(sfn, "token", interval_s=60):
        pytest.fail("no work for a task nobody awaits")
    assert sfn.beats == 1


def test_beats_continue_while_the_work_goes_on() -> None:
    sfn = StepFunctions()
    with Heartbeat(sfn, "token", interval_s=0.01):
        deadline = time.monotonic() + 5
        while sfn.beats < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
    assert sfn.beats >= 3
