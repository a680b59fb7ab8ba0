"""The AWS client factory: one boto3 Session per process, each client with its
own call budget, safe to call from many threads at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from polybot import aws
from polybot.settings import Settings

SETTINGS = Settings(region="eu-west-1")


def test_clients_share_the_service_data_parsed_once() -> None:
    s3 = aws.client("s3", SETTINGS)
    sqs = aws.client("sqs", SETTINGS, aws.IN_FUNCTION)

    # botocore's loader holds the parsed endpoint and service files.
    assert s3._loader is sqs._loader


def test_each_client_keeps_its_own_budget_and_region() -> None:
    webhook = aws.client("stepfunctions", SETTINGS, aws.IN_WEBHOOK)
    worker = aws.client("stepfunctions", SETTINGS, aws.LONG_RUNNING)

    assert (webhook.meta.config.connect_timeout, webhook.meta.config.read_timeout) == (
        aws.IN_WEBHOOK.connect_timeout_s,
        aws.IN_WEBHOOK.read_timeout_s,
    )
    assert webhook.meta.config.retries["total_max_attempts"] == aws.IN_WEBHOOK.attempts
    assert worker.meta.config.read_timeout == aws.LONG_RUNNING.read_timeout_s
    assert webhook.meta.region_name == worker.meta.region_name == "eu-west-1"


def test_the_endpoint_is_read_for_each_client(monkeypatch: pytest.MonkeyPatch) -> None:
    # The local stack sets AWS_ENDPOINT_URL once its embedded AWS listens, which
    # may be after the process made its first client.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4001")
    first = aws.client("s3", SETTINGS)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4002")
    second = aws.client("s3", SETTINGS)
    named = aws.client("s3", Settings(region="eu-west-1", aws_endpoint_url="http://127.0.0.1:4003"))

    assert first.meta.endpoint_url == "http://127.0.0.1:4001"
    assert second.meta.endpoint_url == "http://127.0.0.1:4002"
    assert named.meta.endpoint_url == "http://127.0.0.1:4003"


def test_many_threads_can_make_clients_at_once() -> None:
    services = ["s3", "sqs", "dynamodb", "stepfunctions", "secretsmanager"] * 8

    with ThreadPoolExecutor(max_workers=16) as pool:
        clients = list(pool.map(lambda name: aws.client(name, SETTINGS, aws.IN_FUNCTION), services))

    assert [c.meta.service_model.service_name for c in clients] == services
