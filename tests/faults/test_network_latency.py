"""A worker across a network: AWS's latencies (S3 150 ms, SQS 30 ms, Step
Functions 50 ms a call, `benchmarks.networked.AWS_LATENCY_MS`) in front of the
embedded AWS, and a worker process with the production depth (`prefetch` 16)
serving photos sent at once. Each is answered exactly once, as a photo."""

from __future__ import annotations

import dataclasses
import statistics
import time

import pytest

from benchmarks.networked import AWS_LATENCY_MS
from local.polybot_stack import PolybotStack
from polybot.settings import Settings
from tests.auxil.images import ultralytics_asset
from tests.auxil.pipeline import only_reply
from tests.faults.conftest import FaultSession, worker_processes

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]

PHOTOS = 10


def test_photos_across_aws_latencies_are_answered_once_each(
    stack: PolybotStack, chat_id: int, faults: FaultSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stack.telegram is not None
    # The production default, not the local stack's two: the depth follows the latencies.
    monkeypatch.setattr(stack, "settings", dataclasses.replace(stack.settings, prefetch=Settings().prefetch))
    photos = [ultralytics_asset("bus.jpg"), ultralytics_asset("zidane.jpg")]
    stack.aws.latency.set(AWS_LATENCY_MS)
    try:
        with worker_processes(stack, faults, 1):
            sent = {}
            for n in range(PHOTOS):
                message = stack.telegram.user_sends_photo(chat_id, photos[n % 2])
                sent[message["message_id"]] = time.monotonic()
            replies = {message_id: only_reply(stack, chat_id, message_id) for message_id in sent}
        held_back = stack.aws.latency.state()
    finally:
        stack.aws.latency.set({})

    assert all(reply.kind == "photo" for reply in replies.values())
    to_reply = [(r.edited_at or r.at) - sent[m] for m, r in replies.items()]
    faults.record(
        f"AWS's latencies on every worker call (S3 150 ms, SQS 30 ms, Step Functions 50 ms); "
        f"{PHOTOS} photos at once, one worker holding up to {Settings().prefetch} ahead",
        "every photo answered exactly once, as a photo",
        f"time to reply p50 {statistics.median(to_reply):.1f} s, max {max(to_reply):.1f} s; "
        f"{held_back['delayed'].get('sqs:ReceiveMessage', 0)} receives held back, "
        f"{held_back['peak_waiting']} calls waiting at once at most",
    )
