from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

import flask
import pytest
import requests
import telebot
from telebot import types

from bot import app as webhook
from polybot import logs
from tests.auxil.metric_filters import bot_metric_filters, matches

SECRET = "s3cr3t-webhook-value"
Message = Callable[..., dict[str, Any]]


class Received:
    def __init__(self) -> None:
        self.messages: list[types.Message] = []
        self.error: Exception | None = None


@pytest.fixture
def received() -> Received:
    return Received()


@pytest.fixture
def client(received: Received, refused_api_url: str) -> flask.testing.FlaskClient:
    # Any Bot API call would fail at once: these handlers make none.
    bot = telebot.TeleBot("123:ABC", threaded=False)

    @bot.message_handler(func=lambda message: True, content_types=["text", "photo"])
    def record(message: types.Message) -> None:
        if received.error:
            raise received.error
        received.messages.append(message)

    return webhook.create_app(lambda: (bot, SECRET)).test_client()


@pytest.fixture
def update(telegram_message: Message) -> str:
    return json.dumps({"update_id": 5001, "message": telegram_message({"text": "hello"}, message_id=77)})


def post(client: flask.testing.FlaskClient, body: str, secret: str | None = SECRET) -> Any:
    headers = {} if secret is None else {webhook.SECRET_HEADER: secret}
    return client.post(webhook.WEBHOOK_PATH, data=body, headers=headers, content_type="application/json")


def test_an_update_with_the_secret_reaches_the_handlers(
    client: flask.testing.FlaskClient, received: Received, update: str
) -> None:
    response = post(client, update)

    assert response.status_code == 200
    [message] = received.messages
    assert message.message_id == 77
    assert message.text == "hello"


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET[:-1], SECRET.upper()])
def test_without_the_right_secret_the_update_is_forbidden(
    client: flask.testing.FlaskClient, received: Received, update: str, secret: str | None
) -> None:
    response = post(client, update, secret=secret)

    assert response.status_code == 403
    assert received.messages == []


def test_the_secret_is_not_accepted_in_the_query_string(
    client: flask.testing.FlaskClient, received: Received, update: str
) -> None:
    response = client.post(f"{webhook.WEBHOOK_PATH}?{webhook.SECRET_HEADER}={SECRET}", data=update)

    assert response.status_code == 403
    assert received.messages == []


@pytest.mark.parametrize("body", ["", "not json", '{"update_id": '])
def test_a_body_that_is_not_json_is_a_bad_request(
    client: flask.testing.FlaskClient, received: Received, body: str
) -> None:
    response = post(client, body)

    assert response.status_code == 400
    assert received.messages == []


@pytest.mark.parametrize("body", ["{}", "[]", "null", "42"])
def test_json_that_is_not_an_update_is_a_bad_request(
    client: flask.testing.FlaskClient, received: Received, body: str
) -> None:
    response = post(client, body)

    assert response.status_code == 400
    assert received.messages == []


def test_an_update_without_a_message_is_accepted_and_ignored(
    client: flask.testing.FlaskClient, received: Received
) -> None:
    response = post(client, json.dumps({"update_id": 5002}))

    assert response.status_code == 200
    assert received.messages == []


def test_an_update_larger_than_the_limit_is_refused(
    client: flask.testing.FlaskClient, received: Received, telegram_message: Message
) -> None:
    text = "x" * webhook.MAX_UPDATE_BYTES
    response = post(client, json.dumps({"update_id": 5003, "message": telegram_message({"text": text})}))

    assert response.status_code == 413
    assert received.messages == []


def test_a_handler_failing_on_telegram_or_aws_answers_500_so_telegram_redelivers(
    client: flask.testing.FlaskClient, received: Received, update: str, caplog: pytest.LogCaptureFixture
) -> None:
    received.error = requests.ConnectionError("Telegram is unreachable")

    with caplog.at_level(logging.CRITICAL):  # Flask logs the traceback; it is expected here
        response = post(client, update)

    assert response.status_code == 500


def test_a_handler_failing_on_the_update_itself_answers_200_so_it_is_not_redelivered_forever(
    client: flask.testing.FlaskClient, received: Received, update: str, caplog: pytest.LogCaptureFixture
) -> None:
    received.error = KeyError("a field nobody foresaw")

    with caplog.at_level(logging.ERROR, logger="bot.app"):
        response = post(client, update)

    assert response.status_code == 200
    assert "update 5001 could not be handled" in caplog.text


def test_deeply_nested_json_is_a_bad_request(client: flask.testing.FlaskClient, received: Received) -> None:
    response = post(client, "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400


def test_only_post_reaches_the_webhook(client: flask.testing.FlaskClient, received: Received) -> None:
    response = client.get(webhook.WEBHOOK_PATH, headers={webhook.SECRET_HEADER: SECRET})

    assert response.status_code == 405
    assert received.messages == []


def test_healthz_is_ok_without_a_secret(client: flask.testing.FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "telegram": "ready"}


def not_ready() -> tuple[telebot.TeleBot, str]:
    raise webhook.BotNotReady("the secret's telegram_token is not a bot token")


def test_until_the_bot_is_ready_webhooks_answer_503_and_health_is_still_ok(update: str) -> None:
    app = webhook.create_app(not_ready, status=lambda: "not ready: no token").test_client()

    response = post(app, update)
    health = app.get("/healthz")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(webhook.RETRY_AFTER_S)
    assert health.status_code == 200
    assert health.get_json() == {"status": "ok", "telegram": "not ready: no token"}


# --- a deaf webhook shows: one line per update, counted by a metric filter ---------


@pytest.fixture
def log_lines(restore_logging: None) -> Callable[[], list[str]]:
    stream = io.StringIO()
    logs.configure("bot", "INFO", stream)
    return lambda: stream.getvalue().splitlines()


def test_each_update_received_is_one_line_the_silence_alarms_metric_filter_counts(
    client: flask.testing.FlaskClient, update: str, telegram_message: Message, log_lines: Callable[[], list[str]]
) -> None:
    """terraform/modules/bot counts these lines; hours without one raise its webhook-silent alarm."""
    filters = bot_metric_filters()
    assert set(filters) == {"update-received", "webhook-registration-failed"}

    post(client, update)
    post(client, json.dumps({"update_id": 5002, "message": telegram_message({"text": "again"}, message_id=78)}))
    post(client, update, secret="not-the-secret")  # not Telegram: 403
    post(client, "not json")  # 400

    counted = [json.loads(line) for line in log_lines() if matches(filters["update-received"], line)]
    assert [(line["event"], line["update_id"]) for line in counted] == [
        (webhook.UPDATE_RECEIVED, 5001),
        (webhook.UPDATE_RECEIVED, 5002),
    ]
    assert not [line for line in log_lines() if matches(filters["webhook-registration-failed"], line)]
