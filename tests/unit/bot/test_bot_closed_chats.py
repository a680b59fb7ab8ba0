"""A chat that closed itself to the bot (its user blocked it, its group kicked it
out or muted it, the chat is gone), and updates whose fields have any type: every
update through the real webhook (bot/app.py) and the real handlers answers 200 or
400, never 500 (which Telegram would redeliver for ever). Against the Telegram
stand-in, which answers such calls with Telegram's own texts, and moto."""

from __future__ import annotations

import json
from typing import Any

import flask
import pytest
import telebot
from hypothesis import HealthCheck, given, settings

from bot import app as webhook
from local.telegram_standin import TelegramStandIn
from polybot import naming
from tests.auxil.updates import odd_updates
from tests.unit.bot import test_bot_conversation as conversation
from tests.unit.bot.test_bot_conversation import CHAT, RecordingPipeline, jpeg, put_result

# The conversation's fixtures: a bot with every handler, a results table in moto, a recording pipeline.
aws, pipeline, chats, bot = conversation.aws, conversation.pipeline, conversation.chats, conversation.bot

SECRET = "closed-chats-secret"
CLOSED = ("blocked", "kicked", "muted", "gone")


@pytest.fixture
def client(bot: telebot.TeleBot) -> flask.testing.FlaskClient:
    return webhook.create_app(lambda: (bot, SECRET)).test_client()


def post(client: flask.testing.FlaskClient, update: dict[str, Any]) -> int:
    headers = {webhook.SECRET_HEADER: SECRET}
    body = json.dumps(update)
    answer = client.post(webhook.WEBHOOK_PATH, data=body, headers=headers, content_type="application/json")
    return int(answer.status_code)


def deliver_all(client: flask.testing.FlaskClient, telegram: TelegramStandIn) -> list[int]:
    """Each queued update through the webhook, as Telegram delivers it; their statuses."""
    return [post(client, update) for update in telegram.take_updates()]


USER_DOES = {
    "/start": lambda t: t.user_sends_text(CHAT, "/start"),
    "/help": lambda t: t.user_sends_text(CHAT, "/help"),
    "/history": lambda t: t.user_sends_text(CHAT, "/history"),
    "/settings": lambda t: t.user_sends_text(CHAT, "/settings"),
    "text": lambda t: t.user_sends_text(CHAT, "hello"),
    "photo": lambda t: t.user_sends_photo(CHAT, jpeg()),
    "album": lambda t: t.user_sends_album(CHAT, [jpeg(), jpeg((0, 0, 200))], at_once=False),
    "image file": lambda t: t.user_sends_document(CHAT, jpeg(), "cat.jpg", "image/jpeg"),
    "other file": lambda t: t.user_sends_document(CHAT, b"%PDF-1.4", "a.pdf", "application/pdf"),
}


@pytest.mark.parametrize("how", CLOSED)
@pytest.mark.parametrize("what", list(USER_DOES))
def test_every_update_from_a_chat_closed_to_the_bot_is_answered_200(
    client: flask.testing.FlaskClient,
    telegram: TelegramStandIn,
    aws: tuple[Any, Any],
    how: str,
    what: str,
) -> None:
    dynamodb, _ = aws
    # Something for /history to list (and send again), so it makes every call it can.
    put_result(dynamodb, CHAT, 5, "2026-12-01T10:00:00.000Z", detections={"S": "[]"}, photo_file_id={"S": "AgAD"})
    telegram.chat_closes(CHAT, how)

    USER_DOES[what](telegram)
    statuses = deliver_all(client, telegram)

    assert statuses and set(statuses) == {200}, statuses
    # Telegram refused the bot's calls as it does in such a chat: nothing reached the chat.
    assert [m for m in telegram.sent if m.chat_id == CHAT] == []


@pytest.mark.parametrize("how", CLOSED)
@pytest.mark.parametrize("button", ["Settings", "History", "Details"])
def test_a_tap_in_a_chat_that_closed_since_is_answered_200(
    client: flask.testing.FlaskClient,
    telegram: TelegramStandIn,
    aws: tuple[Any, Any],
    how: str,
    button: str,
) -> None:
    dynamodb, _ = aws
    name = put_result(dynamodb, CHAT, 5, "2026-12-01T10:00:00.000Z", detections={"S": "[]"}, photo_file_id={"S": "A"})
    assert name == naming.execution_name(CHAT, 5)
    command = {"Settings": "/settings", "History": "/history", "Details": "/history"}[button]
    telegram.user_sends_text(CHAT, command)
    assert deliver_all(client, telegram) == [200]
    [shown] = [m for m in telegram.sent if m.chat_id == CHAT]
    buttons = [b for row in (shown.reply_markup or {}).get("inline_keyboard", []) for b in row]
    telegram.chat_closes(CHAT, how)

    telegram.user_taps(CHAT, shown.message_id, buttons[-1]["text"])

    assert deliver_all(client, telegram) == [200]


def test_telegram_failing_still_answers_500_so_the_update_comes_again(
    client: flask.testing.FlaskClient, telegram: TelegramStandIn
) -> None:
    """The other side of the line: a failure a redelivery may not meet is still 500."""
    telegram.user_sends_text(CHAT, "/history")
    telegram.fail_next("sendMessage", 502, "Bad Gateway")

    assert deliver_all(client, telegram) == [500]


# --- updates whose fields have any type -----------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(update=odd_updates(CHAT))
def test_an_update_with_fields_of_any_type_is_answered_200_or_400_never_500(
    client: flask.testing.FlaskClient, update: dict[str, Any]
) -> None:
    assert post(client, update) in (200, 400), update


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (("message_id",), "abc"),
        (("message_id",), 1.5),
        (("chat", "id"), 1.5),
        (("chat", "id"), "not a chat"),
        (("chat",), "not a chat"),
        (("from", "id"), [1]),
        (("photo",), "AgAD"),
        (("photo",), [{"file_id": 5}]),
    ],
)
def test_the_issues_odd_fields_are_answered_200_or_400(
    client: flask.testing.FlaskClient,
    telegram: TelegramStandIn,
    pipeline: RecordingPipeline,
    field: tuple[str, ...],
    value: Any,
) -> None:
    message = telegram.photo_message(CHAT, jpeg())
    where = message
    for key in field[:-1]:
        where = where[key]
    where[field[-1]] = value

    assert post(client, {"update_id": 1, "message": message}) in (200, 400)
    assert post(client, {"update_id": 2, "message": {**message, "text": "/history"}}) in (200, 400)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (("message_id",), "12"),
        (("message_id",), 1.5),
        (("message_id",), True),
        (("chat", "id"), "4242"),
        (("chat", "id"), 1.5),
        (("from", "id"), "1001"),
    ],
)
@pytest.mark.parametrize("text", ["/history", "/settings", "/start", None])
def test_a_message_whose_ids_are_not_integers_is_answered_200_without_a_call(
    client: flask.testing.FlaskClient,
    telegram: TelegramStandIn,
    pipeline: RecordingPipeline,
    field: tuple[str, ...],
    value: Any,
    text: str | None,
) -> None:
    """Nobody can be answered, and AWS refuses a chat id of the wrong type (a string
    for the results index's number key; moto does not): nothing is called at all."""
    message = telegram.photo_message(CHAT, jpeg())
    if text is not None:
        del message["photo"]
        message["text"] = text
    where = message
    for key in field[:-1]:
        where = where[key]
    where[field[-1]] = value
    calls = len(telegram.calls)

    assert post(client, {"update_id": 3, "message": message}) == 200
    assert telegram.calls[calls:] == [] and pipeline.started == {}


@pytest.mark.parametrize("chat", ["4242", 4242.0, 1.5])
def test_a_tap_on_a_message_whose_chat_id_is_not_an_integer_changes_nothing(
    client: flask.testing.FlaskClient, telegram: TelegramStandIn, aws: tuple[Any, Any], chat: Any
) -> None:
    dynamodb, _ = aws
    message = {**telegram.photo_message(CHAT, jpeg()), "chat": {"id": chat, "type": "private"}}
    user = {"id": 1001, "is_bot": False, "first_name": "Ada"}
    query = {"id": "q1", "from": user, "chat_instance": "ci", "data": "s:confidence:0.4", "message": message}
    calls = len(telegram.calls)

    assert post(client, {"update_id": 4, "callback_query": query}) == 200
    # Only the answer to the tap ("expired"); no preference written under an odd key.
    assert [c for c in telegram.calls[calls:] if c != "answerCallbackQuery"] == []
    assert dynamodb.scan(TableName=conversation.TABLE)["Items"] == []
