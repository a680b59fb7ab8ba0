"""The worker's overlap of the network with the model: receive+prepare ->
model -> upload+report, each message's steps in order.

The model is the only part that needs the CPU; the rest waits on the network.
So they overlap (`prefetch` >= 1): while the model works on one image, the
next messages (`prefetch` at most) are received and downloaded, and the
previous ones uploaded and reported. On stop no new message is received, and
every message already received, prefetched ones included, is finished and
reported before `run` returns.

Run by `inference.worker.DetectionWorker.run` when `prefetch` > 0; the steps
themselves are the worker's (`WorkerSteps`).
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

JobT = TypeVar("JobT")

_DONE = object()

PACING_S = 0.5
"""How long the next receive waits at most for the messages in hand to be downloaded."""

REPORTERS = 2
"""Threads uploading and reporting: two, so that one slow answer from S3 or
Step Functions does not hold back the next image's report."""


class WorkerSteps(Protocol[JobT]):
    """The steps of one message, as the worker runs them (network, CPU, network)."""

    def receive(self, stop: threading.Event, max_messages: int = 1) -> list[JobT]: ...

    def prepare(self, job: JobT) -> bool: ...

    def process(self, job: JobT) -> None: ...

    def finish(self, job: JobT) -> None: ...


class OverlappedLoop(Generic[JobT]):
    """receive+prepare -> model -> upload+report; each message's steps in order.

    The fetcher receives as many messages as there are free slots (at most
    `prefetch` received and not yet on the model) and prepares them (first
    heartbeat, download, decode) side by side; the model takes them one at a
    time; REPORTERS threads upload and report. On stop nothing more is
    received, and every message received is prepared, run and reported before
    `run` returns."""

    def __init__(self, worker: WorkerSteps[JobT], prefetch: int) -> None:
        self._worker = worker
        self._prefetch = prefetch
        self._slots = threading.Semaphore(prefetch)
        self._ready: queue.Queue[Any] = queue.Queue()
        self._done: queue.Queue[Any] = queue.Queue(maxsize=2 * REPORTERS)
        self._preparing = ThreadPoolExecutor(max_workers=prefetch, thread_name_prefix="worker-prepare")

    def run(self, stop: threading.Event) -> None:
        fetcher = threading.Thread(target=self._fetch, args=(stop,), name="worker-fetch", daemon=True)
        reporters = [
            threading.Thread(target=self._report, name=f"worker-report-{n}", daemon=True) for n in range(REPORTERS)
        ]
        for thread in (fetcher, *reporters):
            thread.start()
        try:
            self._model()
        finally:
            for _ in reporters:
                self._done.put(_DONE)
            fetcher.join()
            for thread in reporters:
                thread.join()

    def _fetch(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                if not self._slots.acquire(timeout=0.2):
                    continue
                free = 1
                while free < self._prefetch and self._slots.acquire(blocking=False):
                    free += 1
                if stop.is_set():  # stopped while waiting for the model: take nothing more
                    break
                jobs = self._worker.receive(stop, max_messages=free)
                for _ in range(free - len(jobs)):
                    self._slots.release()
                # The next receive waits until these are downloaded (a stalled download
                # for PACING_S at most): going out beside them, it would take CPU and
                # the emulator's or AWS's attention from the downloads the model waits
                # for, and its messages would reach the model no sooner.
                futures.wait([self._preparing.submit(self._prepare, job) for job in jobs], timeout=PACING_S)
        finally:
            self._preparing.shutdown(wait=True)
            self._ready.put(_DONE)

    def _prepare(self, job: JobT) -> None:
        try:
            ready = self._worker.prepare(job)
        except Exception:
            log.exception("preparing a message failed; it returns after its visibility timeout")
            ready = False
        if ready:
            self._ready.put(job)
        else:
            self._slots.release()

    def _model(self) -> None:
        while (job := self._ready.get()) is not _DONE:
            self._slots.release()
            self._worker.process(job)
            self._done.put(job)

    def _report(self) -> None:
        while (job := self._done.get()) is not _DONE:
            try:
                self._worker.finish(job)
            except Exception:
                log.exception("reporting failed; the message returns after its visibility timeout")
