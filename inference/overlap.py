"""The worker's overlap of the network with the model: receive+prepare ->
model -> upload+report, each message's steps in order.

The model is the only part that needs the CPU; the rest waits on the network.
So they overlap (`prefetch` >= 1): while the model works on one image, the
next messages (`prefetch` at most) are received and downloaded, and the
previous ones uploaded and reported, as many side by side as the network's
latency needs for the model never to wait (docs/performance.md, "A worker
across a network"). No more are taken than that: a message received and not
yet on the model waits in this worker, where no other worker can take it. On
stop no new message is received, and every message already received,
prefetched ones included, is finished and reported before `run` returns.

Run by `inference.worker.DetectionWorker.run` when `prefetch` > 0; the steps
themselves are the worker's (`WorkerSteps`).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

JobT = TypeVar("JobT")

_DONE = object()

START_DEPTH = 2
"""Messages held ahead before anything is measured: one on deck while the model works, one on its way."""

SMOOTHING = 0.2
"""Weight of the newest measurement in the running averages of `Depth`."""

RECEIVE_MOST = 10
"""SQS's most messages per ReceiveMessage."""

REPORTERS = 2
"""Threads uploading and reporting at least: two, so that one slow answer from
S3 or Step Functions does not hold back the next image's report. As many as
`prefetch` where that is more: an image's upload, report and delete take about
as long as its receive and download (docs/performance.md), so the model's
rate needs about as many of each in flight."""


class WorkerSteps(Protocol[JobT]):
    """The steps of one message, as the worker runs them (network, CPU, network)."""

    def receive(self, stop: threading.Event, max_messages: int = 1) -> list[JobT]: ...

    def prepare(self, job: JobT) -> bool: ...

    def process(self, job: JobT) -> None: ...

    def finish(self, job: JobT) -> None: ...


class Depth:
    """How many messages the worker holds received and not yet on the model: as
    many as keep the model from ever waiting for a download, and no more.

    A message takes `receive_s + prepare_s` from its receive to being ready
    (the receive call; the download, the first beat's start, the decoding),
    and the model takes one every `model_s`; by Little's law
    ceil((receive_s + prepare_s) / model_s) messages are on their way at any
    time for the model to find one ready, plus one ready. All three are
    running averages of what this worker measures (a receive only when it
    brought all it asked for: one that waited in its long poll for messages
    to arrive says nothing about the network), so the depth follows the
    network and the model: about 2 against the emulator on this machine, about
    ten across a network to AWS (docs/performance.md), 2 again for a model slower
    than its downloads. A message held beyond that would only wait here, where
    no other worker can take it; `most` (`prefetch`) bounds it whatever the
    measurements say."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._lock = threading.Lock()
        self._receive_s = 0.0
        self._prepare_s: float | None = None
        self._model_s: float | None = None

    def received(self, seconds: float) -> None:
        """A receive call brought all the messages it asked for in `seconds`."""
        with self._lock:
            self._receive_s = _average(self._receive_s or None, seconds)

    def prepared(self, seconds: float) -> None:
        """A received message was downloaded and decoded in `seconds`."""
        with self._lock:
            self._prepare_s = _average(self._prepare_s, seconds)

    def modelled(self, seconds: float) -> None:
        """The model took `seconds` over one message."""
        with self._lock:
            self._model_s = _average(self._model_s, seconds)

    @property
    def target(self) -> int:
        with self._lock:
            receive_s, prepare_s, model_s = self._receive_s, self._prepare_s, self._model_s
        if prepare_s is None or model_s is None:
            return min(self.most, START_DEPTH)
        return max(1, min(self.most, math.ceil((receive_s + prepare_s) / max(model_s, 1e-3)) + 1))


def _average(average: float | None, seconds: float) -> float:
    return seconds if average is None else (1 - SMOOTHING) * average + SMOOTHING * seconds


class OverlappedLoop(Generic[JobT]):
    """receive+prepare -> model -> upload+report; each message's steps in order.

    The fetcher receives as many messages as `depth` leaves room for (messages
    received and not yet on the model), in one call of up to ten, as soon as
    there is room, and prepares them (first heartbeat, download, decode) side
    by side; the model takes them one at a time; `reporters` threads upload and
    report (REPORTERS, or `depth.most` where that is more). On stop nothing
    more is received, and every message received is prepared, run and reported
    before `run` returns."""

    def __init__(self, worker: WorkerSteps[JobT], depth: Depth) -> None:
        self._worker = worker
        self.depth = depth
        self.reporters = max(REPORTERS, depth.most)
        self._held = 0
        """Messages received and not yet on the model."""
        self._room = threading.Condition()
        self._ready: queue.Queue[Any] = queue.Queue()
        # A reporter free for each image the model hands over, and no more waiting:
        # the model pauses rather than pile up annotated images nobody uploads yet.
        self._done: queue.Queue[Any] = queue.Queue(maxsize=self.reporters)
        self._preparing = ThreadPoolExecutor(max_workers=depth.most, thread_name_prefix="worker-prepare")

    def run(self, stop: threading.Event) -> None:
        fetcher = threading.Thread(target=self._fetch, args=(stop,), name="worker-fetch", daemon=True)
        reporters = [
            threading.Thread(target=self._report, name=f"worker-report-{n}", daemon=True) for n in range(self.reporters)
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

    def _take_room(self) -> int:
        """Room for this many more messages (0 after a while without any)."""
        with self._room:
            if not self._room.wait_for(lambda: self._held < self.depth.target, timeout=0.2):
                return 0
            free = min(self.depth.target - self._held, RECEIVE_MOST)
            self._held += free
            return free

    def _give_back(self, count: int = 1) -> None:
        with self._room:
            self._held -= count
            self._room.notify_all()

    def _fetch(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                free = self._take_room()
                if not free:
                    continue
                if stop.is_set():  # stopped while waiting for the model: take nothing more
                    self._give_back(free)
                    break
                # No waiting for these downloads before the next receive: room that
                # the model makes is filled at once, so `depth` is all it takes.
                started = time.perf_counter()
                jobs = self._worker.receive(stop, max_messages=free)
                if len(jobs) == free:
                    self.depth.received(time.perf_counter() - started)
                else:
                    self._give_back(free - len(jobs))
                for job in jobs:
                    self._preparing.submit(self._prepare, job)
        finally:
            self._preparing.shutdown(wait=True)
            self._ready.put(_DONE)

    def _prepare(self, job: JobT) -> None:
        started = time.perf_counter()
        try:
            ready = self._worker.prepare(job)
        except Exception:
            log.exception("preparing a message failed; it returns after its visibility timeout")
            ready = False
        self.depth.prepared(time.perf_counter() - started)
        if ready:
            self._ready.put(job)
        else:
            self._give_back()

    def _model(self) -> None:
        while (job := self._ready.get()) is not _DONE:
            self._give_back()
            started = time.perf_counter()
            self._worker.process(job)
            self.depth.modelled(time.perf_counter() - started)
            self._done.put(job)

    def _report(self) -> None:
        while (job := self._done.get()) is not _DONE:
            try:
                self._worker.finish(job)
            except Exception:
                log.exception("reporting failed; the message returns after its visibility timeout")
