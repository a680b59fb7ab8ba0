"""The embedded AWS as the bench runs it (`python -m local.aws_server`): with a
network latency set, calls from several threads wait side by side (the server
answers each request on a thread of its own), and each still gets AWS's answer."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from local.embedded_aws import EmbeddedAws
from polybot import aws
from polybot.settings import Settings

pytestmark = [pytest.mark.aws]


@pytest.fixture(scope="module")
def embedded() -> Iterator[EmbeddedAws]:
    running = EmbeddedAws()
    running.start()
    yield running
    running.stop()


def test_downloads_held_back_by_the_network_wait_side_by_side(embedded: EmbeddedAws) -> None:
    s3 = aws.client("s3", Settings.from_env(aws_endpoint_url=embedded.endpoint_url), aws.LONG_RUNNING, connections=8)
    s3.create_bucket(Bucket="latency")
    s3.put_object(Bucket="latency", Key="photo.jpg", Body=b"jpeg")
    # Long enough that eight calls started together are all still waiting when the last one arrives.
    embedded.latency.set({"s3:GetObject": 3000})
    bodies: list[bytes] = []

    def download() -> None:
        bodies.append(s3.get_object(Bucket="latency", Key="photo.jpg")["Body"].read())

    try:
        threads = [threading.Thread(target=download) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        state = embedded.latency.state()
    finally:
        embedded.latency.set({})

    assert bodies == [b"jpeg"] * 8
    assert state["delayed"] == {"s3:GetObject": 8}
    assert state["peak_waiting"] >= 4, "calls in flight at once are not held back one after another"


def test_an_embedded_aws_stopped_gives_the_process_back_the_one_it_pointed_at_before() -> None:
    # The test session's stack starts one first; a test (or the bench) starting and stopping
    # its own must not leave the session's clients pointing at a server that is gone.
    outer, inner = EmbeddedAws(), EmbeddedAws()
    outer.start()
    try:
        inner.start()
        assert os.environ["AWS_ENDPOINT_URL"] == inner.endpoint_url
        inner.stop()
        assert os.environ["AWS_ENDPOINT_URL"] == outer.endpoint_url
        sqs = aws.client("sqs", Settings.from_env(), aws.LONG_RUNNING)
        assert "QueueUrl" in sqs.create_queue(QueueName="reached")
    finally:
        inner.stop()
        outer.stop()
