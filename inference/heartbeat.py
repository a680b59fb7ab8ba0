"""The heartbeat of one DetectObjects task: SendTaskHeartbeat from a thread of
its own, and the worker's lease on the task's queue message renewed from
another; and what Step Functions answers for a task nobody awaits any more.

For a task the workflow may have given up on (a message delivered before, or
one that waited in the queue nearly as long as the task's HeartbeatSeconds:
`inference.worker.DetectionWorker.beats_first`), the first beat goes out as
soon as the original is in hand (beside the decoding and the model, not in
front of them), and a task it finds gone is dropped by the worker. Any other
task is awaited, and its first beat comes after an interval like the rest:
one every few seconds until the report (an image served within the interval
makes no heartbeat call at all). A taken message stays hidden from other workers
for a short lease (`task_lease_s`), renewed every few seconds while the worker
works (a renewal that fails is tried again at the next): a worker that dies
stops renewing, and within one lease another worker takes the same
message, whose task token the workflow is still waiting on. (Step Functions'
HeartbeatSeconds cannot tell a dead worker from a task still waiting in a
backlog: it counts from the moment the message is sent. It is the last
resort, sized for backlogs.)

Started and stopped by `inference.worker` for each message.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

log = logging.getLogger(__name__)

GONE_CODES = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
"""Answers of Step Functions meaning "nobody waits for this token any more"."""

FIRST_BEAT_ATTEMPTS = 4
"""A token can reach a worker before Step Functions accepts its heartbeats:
moto's interpreter sends the message before it sets up the task's heartbeat
(AWS does not), so `InvalidToken` on a first beat at once is retried a few
times, within a second, before the task is taken for gone."""


class TaskGone(Exception):
    """The workflow no longer waits for this task (timed out, or already retried)."""

    @property
    def code(self) -> str:
        return str(self.args[0]) if self.args else ""


def raise_if_gone(exc: ClientError) -> None:
    """TaskGone from `exc` where its error says the task is no longer awaited."""
    if exc.response["Error"]["Code"] in GONE_CODES:
        raise TaskGone(exc.response["Error"]["Code"]) from exc


class Heartbeat:
    """SendTaskHeartbeat for one task from a thread of its own, from `start()`
    until `stop()`: one every `interval_s`, the first at once if `beat_first`
    (else `gone()` answers "" at once until a beat finds the task gone); and,
    from a second thread, the lease on the task's queue message renewed every
    `interval_s`. Each on its own clock, so a slow heartbeat never delays a
    renewal past the lease (tests/unit/test_timeouts.py). A beat or a renewal
    that fails is logged and tried again at the next one: the lease and
    Step Functions' HeartbeatSeconds each outlast several, and a thread that
    stopped at the first failure would hand the message to a second worker.
    Only a task found gone stops them. `gone()` tells whether a beat found the
    task no longer awaited (the first beat's answer is waited for)."""

    def __init__(
        self,
        sfn: SFNClient,
        task_token: str,
        interval_s: float,
        renew_lease: Callable[[], None] = lambda: None,
        beat_first: bool = True,
    ) -> None:
        self._sfn = sfn
        self._token = task_token
        self._interval_s = interval_s
        self._beat_first = beat_first
        self._renew_lease = renew_lease
        self._done = threading.Event()
        self._first_answered = threading.Event()
        self._gone = ""
        self.first_beat_ms = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> Heartbeat:
        # The threads log with the caller's context (the execution's correlation id).
        for name, target in (("heartbeat", self._beat_until_done), ("lease", self._renew_until_done)):
            thread = threading.Thread(target=contextvars.copy_context().run, args=(target,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def gone(self, wait: bool = True) -> str:
        """The error that says the workflow no longer awaits the task ("" while it
        does, or no beat has said otherwise yet). `wait`: until a first beat at once
        is answered; else "" if it is not yet."""
        if wait:
            self._first_answered.wait()
        return self._gone

    def stop(self) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join()

    def _beat(self) -> None:
        try:
            self._sfn.send_task_heartbeat(taskToken=self._token)
        except ClientError as exc:
            raise_if_gone(exc)
            raise

    def _first_beat(self) -> None:
        started = time.perf_counter()
        try:
            for attempt in range(1, FIRST_BEAT_ATTEMPTS + 1):
                try:
                    self._beat()
                    return
                except TaskGone as gone:
                    if gone.code != "InvalidToken" or attempt == FIRST_BEAT_ATTEMPTS:
                        self._gone = gone.code
                        return
                    if self._done.wait(0.1 * attempt):
                        return
        except Exception as exc:  # not a "gone": work on; the report will tell
            log.warning("first heartbeat failed: %s", type(exc).__name__)
        finally:
            self.first_beat_ms = int((time.perf_counter() - started) * 1000)
            self._first_answered.set()

    def _beat_until_done(self) -> None:
        if self._beat_first:
            self._first_beat()
        else:
            self._first_answered.set()
        while not self._gone and not self._done.wait(self._interval_s):
            try:
                self._beat()
            except TaskGone as gone:
                self._gone = gone.code
                log.warning("task no longer awaited (%s); heartbeats stop", gone.code)
            except Exception as exc:
                log.warning("heartbeat failed, next in %.0f s: %s", self._interval_s, type(exc).__name__)

    def _renew_until_done(self) -> None:
        while not self._gone and not self._done.wait(self._interval_s):
            try:
                self._renew_lease()
            except Exception as exc:
                log.warning("lease renewal failed, next in %.0f s: %s", self._interval_s, type(exc).__name__)
