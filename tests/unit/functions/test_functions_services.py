"""The functions' one wiring (functions/services.py): installed by the local
stack, built from the environment on Lambda, and on a cold start only what the
invoked function uses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws
from telebot import apihelper

from functions import gather_album, services
from functions.services import FunctionServices
from polybot import aws
from polybot.settings import MissingSetting, Settings
from tests.auxil.requests import image_request

REGION = "eu-west-1"
TOKEN = "7000000001:SERVICES-TEST-TOKEN"


@pytest.fixture(autouse=True)
def nothing_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a fresh Lambda execution environment, and leaves none behind."""
    monkeypatch.setattr(services, "_current", None)


def test_installed_settings_are_the_ones_the_functions_use() -> None:
    first, second = Settings(region=REGION, results_table="first"), Settings(region=REGION, results_table="second")

    services.install(first)
    installed = services.current()
    services.install(second)

    assert installed.settings is first
    assert services.current().settings is second, "installing again replaces what was there"
    assert services.current() is services.current()


def test_on_lambda_they_are_built_once_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    monkeypatch.setenv("POLYBOT_RESULTS_TABLE", "from-the-environment")
    monkeypatch.setenv("AWS_REGION", REGION)

    with ThreadPoolExecutor(max_workers=8) as pool:
        built = list(pool.map(lambda _: services.current(), range(16)))

    assert all(each is built[0] for each in built), "invocations starting together share one"
    assert built[0].settings.results_table == "from-the-environment"


def test_a_cold_start_builds_only_what_the_function_uses() -> None:
    services.install(Settings(region=REGION, results_table="results"))
    job = {
        "execution_name": "tg7_album_42",
        "request": image_request(7, 1, media_group_id="42"),
        "started_at": datetime.now(UTC).isoformat(),
    }

    outcome = gather_album.handler(job, None)

    assert outcome["kind"] == "waiting"
    built = services.current().__dict__
    assert "albums" in built and "dynamodb" in built
    assert "secrets" not in built and built.get("_bot") is None and "s3" not in built, (
        "GatherAlbum neither reads the secret nor makes an S3 client"
    )


def test_each_client_is_made_once_however_many_invocations_ask_at_once() -> None:
    wired = FunctionServices(Settings(region=REGION, results_table="results"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        ledgers = list(pool.map(lambda _: wired.ledger, range(16)))
        albums = list(pool.map(lambda _: wired.albums, range(16)))

    assert all(ledger is ledgers[0] for ledger in ledgers)
    assert all(album is albums[0] for album in albums)
    assert ledgers[0].dynamodb is albums[0].dynamodb is wired.dynamodb


def test_the_clients_keep_the_functions_call_budget() -> None:
    wired = FunctionServices(Settings(region=REGION))

    for client in (wired.s3, wired.dynamodb):
        config = client.meta.config
        assert (config.connect_timeout, config.read_timeout) == (
            aws.IN_FUNCTION.connect_timeout_s,
            aws.IN_FUNCTION.read_timeout_s,
        )
        assert client.meta.region_name == REGION


def test_the_stores_need_the_results_table() -> None:
    wired = FunctionServices(Settings(region=REGION))

    with pytest.raises(MissingSetting, match="POLYBOT_RESULTS_TABLE"):
        _ = wired.ledger
    with pytest.raises(MissingSetting, match="POLYBOT_RESULTS_TABLE"):
        _ = wired.albums


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The Telegram secret in moto's Secrets Manager; its ARN."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # make_bot points telebot's module-wide endpoint at the settings' API URL: put it back after.
    monkeypatch.setattr(apihelper, "API_URL", apihelper.API_URL)
    monkeypatch.setattr(apihelper, "FILE_URL", apihelper.FILE_URL)
    with mock_aws():
        created = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="telegram", SecretString=json.dumps({"telegram_token": TOKEN, "webhook_secret": "hook"})
        )
        yield created["ARN"]


def test_the_bot_carries_the_token_from_the_secret(secret: str, restore_logging: None) -> None:
    services.install(Settings(region=REGION, telegram_secret_id=secret))

    bot = services.current().bot

    assert bot.token == TOKEN
    assert services.current().bot is bot


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def put_token(secret: str, token: str) -> None:
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=secret, SecretString=json.dumps({"telegram_token": token, "webhook_secret": "hook"})
    )


def test_a_rotated_token_reaches_a_warm_environment_within_the_reread_period(secret: str) -> None:
    clock = Clock()
    wired = FunctionServices(Settings(region=REGION, telegram_secret_id=secret), clock=clock)
    first = wired.bot
    put_token(secret, "7000000001:ROTATED-TOKEN")

    clock.now += services.TOKEN_REREAD_S - 1
    within = wired.bot
    clock.now += 1
    after = wired.bot

    assert within is first and first.token == TOKEN, "one secret read per period"
    assert after.token == "7000000001:ROTATED-TOKEN"
    assert wired.bot is after


def test_a_failed_reread_keeps_the_token_in_hand(secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    wired = FunctionServices(Settings(region=REGION, telegram_secret_id=secret), clock=clock)
    first = wired.bot

    def unavailable(*args: object, **kwargs: object) -> None:
        raise services.aws.AwsUnavailable("Secrets Manager answered 503")

    monkeypatch.setattr(services, "bot_from_secret", unavailable)
    clock.now += services.TOKEN_REREAD_S
    kept = wired.bot

    assert kept is first
