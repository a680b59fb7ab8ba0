"""The network between a worker and AWS, for the bench: each call of a chosen
service and operation waits as long as it would on AWS before the embedded AWS
answers it (S3 GetObject about 150 ms, SQS ReceiveMessage about 30 ms, ...;
the values and their sources are in docs/performance.md and
`benchmarks.networked.AWS_LATENCY_MS`).

WSGI middleware in front of the embedded AWS (local/aws_server.py), beside the
fault injection (local/aws_faults.py), whose reading of a request's service
and operation it shares. The wait is a sleep in the request's own thread (the
server runs one thread per request): it costs no CPU and holds back no other
call, as a round trip on a real network does not. It counts the calls waiting
at once, so a test can tell calls that overlap from calls in a row without
timing anything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from local.aws_faults import service_and_operation

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def key(service: str, operation: str) -> str:
    """How a latency is named: `s3:GetObject`, `sqs:ReceiveMessage`, `states:SendTaskSuccess`."""
    return f"{service}:{operation}"


class NetworkLatency:
    """Holds back each call of an operation given a latency, by that many milliseconds."""

    def __init__(self, app: WsgiApp, sleep: Callable[[float], None] = time.sleep) -> None:
        """`sleep`: how a call waits (the tests pass one that blocks until several wait together)."""
        self._app = app
        self._sleep = sleep
        self._latency_ms: dict[str, float] = {}
        self._lock = threading.Lock()
        self._waiting = 0
        self.peak_waiting = 0
        """The most calls that waited at the same time since the latencies were last set."""
        self.delayed: dict[str, int] = {}
        """Calls held back, by `service:operation`, since the latencies were last set."""

    def set(self, latency_ms: dict[str, float]) -> None:
        """The latencies from now on, by `service:operation` (an empty dict: none); counts restart."""
        with self._lock:
            self._latency_ms = {name: float(ms) for name, ms in latency_ms.items() if ms > 0}
            self.peak_waiting = 0
            self.delayed = {}

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latency_ms": dict(self._latency_ms),
                "peak_waiting": self.peak_waiting,
                "delayed": dict(self.delayed),
            }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self._latency_ms:
            return self._app(environ, start_response)
        found = service_and_operation(environ)
        name = key(*found) if found else ""
        latency_ms = self._latency_ms.get(name, 0.0)
        if latency_ms:
            with self._lock:
                self._waiting += 1
                self.peak_waiting = max(self.peak_waiting, self._waiting)
                self.delayed[name] = self.delayed.get(name, 0) + 1
            try:
                self._sleep(latency_ms / 1000)
            finally:
                with self._lock:
                    self._waiting -= 1
        return self._app(environ, start_response)
