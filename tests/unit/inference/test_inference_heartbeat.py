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


def test_without_a_first_beat_at_once_the_first_goes_out_after_an_interval() -> None:
    sfn = StepFunctions()
    heartbeat = Heartbeat(sfn, "token", interval_s=1.0, beat_first=False).start()
    assert heartbeat.gone() == "", "answered at once: no beat to wait for"
    assert sfn.beats == 0, "none for an interval (a second: room for a busy machine)"
    wait_until(lambda: sfn.beats == 1)
    heartbeat.stop()
    assert heartbeat.first_beat_ms == 0


def test_without_a_first_beat_at_once_a_later_beat_still_finds_the_task_gone() -> None:
    sfn = StepFunctions("TaskTimedOut")
    heartbeat = Heartbeat(sfn, "token", interval_s=0.05, beat_first=False).start()
    assert heartbeat.gone(wait=False) == ""
    wait_until(lambda: heartbeat.gone() != "")
    heartbeat.stop()
    assert heartbeat.gone() == "TaskTimedOut"


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


class Lease:
    """A queue message's lease: renewals counted, the given ones failing."""

    def __init__(self, *failing: int) -> None:
        self.failing = set(failing)
        self.renewals = 0
        self.threads: set[str] = set()

    def renew(self) -> None:
        self.renewals += 1
        self.threads.add(threading.current_thread().name)
        if self.renewals in self.failing:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "503"}}, "ChangeMessageVisibility")


def wait_until(condition: Any, timeout_s: float = 5) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def test_a_failed_beat_and_a_failed_renewal_are_each_tried_again_at_the_next() -> None:
    # Beat 2 (the first after the first beat) and renewal 1 fail, after their own retries.
    sfn, lease = StepFunctions(), Lease(1)
    heartbeat = Heartbeat(sfn, "token", interval_s=0.01, renew_lease=lease.renew).start()
    wait_until(lambda: sfn.beats >= 1)
    sfn.errors.append("ServiceUnavailable")
    wait_until(lambda: sfn.beats >= 5 and lease.renewals >= 5)
    heartbeat.stop()
    assert sfn.beats >= 5 and lease.renewals >= 5, "neither failure ends the beats or the renewals"
    assert heartbeat.gone() == ""
    assert lease.threads == {"lease"}, "renewals keep their own clock, whatever a beat takes"


def test_renewals_go_on_while_every_beat_fails() -> None:
    sfn, lease = StepFunctions(*["ServiceUnavailable"] * 1000), Lease()
    heartbeat = Heartbeat(sfn, "token", interval_s=0.01, renew_lease=lease.renew).start()
    wait_until(lambda: lease.renewals >= 5)
    heartbeat.stop()
    assert lease.renewals >= 5


def test_a_task_found_gone_later_stops_beats_and_renewals() -> None:
    sfn, lease = StepFunctions(), Lease()
    heartbeat = Heartbeat(sfn, "token", interval_s=0.01, renew_lease=lease.renew).start()
    wait_until(lambda: sfn.beats >= 2)
    sfn.errors.append("TaskTimedOut")
    wait_until(lambda: heartbeat.gone() != "")
    beats = sfn.beats
    time.sleep(0.1)
    renewals = lease.renewals
    time.sleep(0.1)
    heartbeat.stop()
    assert heartbeat.gone() == "TaskTimedOut"
    assert sfn.beats == beats and lease.renewals == renewals, "nothing more once the task is gone"
