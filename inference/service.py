"""Wires a YOLO worker from settings: the models offered (the production one
loaded now), and the clients of the queue, the images bucket and Step
Functions (the last, and the queue's lease renewals, on the heartbeat's call
budget). The one place the worker
is built: used by `python -m inference` (inference/__main__.py) and by the
local stack (local/polybot_stack.py).
"""

from __future__ import annotations

from inference.detector import Detector, Detectors
from inference.overlap import REPORTERS
from inference.worker import DetectionWorker
from polybot import aws
from polybot.settings import Settings


def build_worker(settings: Settings, production: Detector | None = None) -> DetectionWorker:
    """The worker for `settings`. `production`: the production model, already
    loaded (the local stack keeps it across worker restarts); None: load it now."""
    detectors = Detectors(settings, production if production is not None else Detector.from_settings(settings))
    calls = calls_at_once(settings.prefetch)
    return DetectionWorker(
        settings,
        detectors,
        sqs=aws.client("sqs", settings, connections=calls),
        s3=aws.client("s3", settings, connections=calls),
        sfn=aws.client("stepfunctions", settings, aws.WITHIN_HEARTBEAT, connections=calls),
        leases=aws.client("sqs", settings, aws.WITHIN_HEARTBEAT, connections=calls),
    )


def calls_at_once(prefetch: int) -> int:
    """The most calls one client of the worker makes at the same time: a download for
    each message prefetched, an upload (or report, or delete) for each reporting, and a
    heartbeat or lease renewal for each message in hand, the one on the model included."""
    return max(aws.DEFAULT_CONNECTIONS, prefetch + max(REPORTERS, prefetch) + 1)
