"""The worker's heartbeat: beats from its own thread; the first one tells whether the task is still awaited."""

from __future__ import annotations

import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from inference.heartbeat import FIRST_BEAT_ATTEMPTS, Heartbeat


class StepFunctions:
    """Answers SendTaskHeartbeat with the given error codes, then succeeds."""

    def __init__(self, *errors: str) -> None:
        self.errors = list(errors)
        self.beats = 0
        self.threads: set[str] = set()

    def send_task_heartbeat(self, taskToken: str) -> dict[str, Any]:
        self.beats += 1
        self.threads.add(threading.current_thread().name)
        if self.errors:
            code = self.errors.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": code}}, "SendTaskHeartbeat")
        return {}


def test_the_first_beat_goes_out_at_once_from_the_heartbeat_thread() -> None:
    sfn = StepFunctions()
    heartbeat = Heartbeat(sfn, "token", interval_s=60).start()
    assert heartbeat.gone() == ""
    heartbeat.stop()
    assert sfn.beats == 1
    assert sfn.threads == {"heartbeat"}, "the caller goes on with its work meanwhile"


def test_a_token_not_yet_accepted_is_tried_again() -> None:
    sfn = StepFunctions("InvalidToken", "InvalidToken")
    heartbeat = Heartbeat(sfn, "token", interval_s=60).start()
    assert heartbeat.gone() == ""
    heartbeat.stop()
    assert sfn.beats == 3


def test_a_token_that_stays_invalid_means_the_task_is_gone() -> None:
    sfn = StepFunctions(*["InvalidToken"] * FIRST_BEAT_ATTEMPTS)
    heartbeat = Heartbeat(sfn, "token", interval_s=0.01).start()
    assert heartbeat.gone() == "InvalidToken"
    time.sleep(0.1)
    heartbeat.stop()
    assert sfn.beats == FIRST_BEAT_ATTEMPTS, "no beats for a task nobody awaits"


def test_a_timed_out_task_is_gone_at_once() -> None:
    sfn = StepFunctions("TaskTimedOut")
    heartbeat = Heartbeat(sfn, "token", interval_s=60).start()
    assert heartbeat.gone() == "TaskTimedOut"
    heartbeat.stop()
    assert sfn.beats == 1


def test_before_the_first_answer_a_task_is_not_taken_for_gone() -> None:
    answered = threading.Event()

    class Slow(StepFunctions):
        def send_task_heartbeat(self, taskToken: str) -> dict[str, Any]:
            assert answered.wait(10)
            return super().send_task_heartbeat(taskToken)

    heartbeat = Heartbeat(Slow("TaskTimedOut"), "token", interval_s=60).start()
    assert heartbeat.gone(wait=False) == ""
    answered.set()
    assert heartbeat.gone() == "TaskTimedOut"
    heartbeat.stop()


def test_a_first_beat_that_fails_otherwise_does_not_drop_the_task() -> None:
    sfn = StepFunctions("ThrottlingException")
    heartbeat = Heartbeat(sfn, "token", interval_s=0.01).start()
    assert heartbeat.gone() == ""
    deadline = time.monotonic() + 5
    while sfn.beats < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    heartbeat.stop()
    assert sfn.beats >= 3, "the beats go on"


def test_beats_continue_while_the_work_goes_on() -> None:
    sfn = StepFunctions()
    heartbeat = Heartbeat(sfn, "token", interval_s=0.01).start()
    deadline = time.monotonic() + 5
    while sfn.beats < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    heartbeat.stop()
    beats = sfn.beats
    time.sleep(0.05)
    assert beats >= 3 and sfn.beats == beats, "and stop with stop()"
