"""polybot.telegram: the answer never depends on an edit of the progress message,
and an answer that is no Bot API answer is a named error (TelegramAnswerMalformed),
never telebot's KeyError. Driven over HTTP through the stand-in, whose faults
play each way an edit can fail (local/telegram_standin/faults.py)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import pytest
import telebot
from PIL import Image
from telebot.types import ReplyParameters

from local.telegram_standin import Fault, SentMessage, TelegramStandIn
from polybot import errors
from polybot import telegram as polybot_telegram
from polybot.contracts.messages import ImageRequest

CHAT = 4242
PROGRESS = "Looking at your photo…"
ANSWER = "I see a bus and 4 people."

NOT_JSON_PAGE = "<html><body><h1>404 Not Found</h1></body></html>"
MINIMAL_404 = '{"detail": "Not Found"}'


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 20, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def asked(telegram_standin: TelegramStandIn, bot: telebot.TeleBot) -> tuple[ImageRequest, int]:
    """A user's photo (its request) and the bot's progress message answering it."""
    message = telegram_standin.user_sends_text(CHAT, "a photo, say")
    progress = bot.send_message(CHAT, PROGRESS, reply_parameters=ReplyParameters(message["message_id"]))
    return cast(ImageRequest, {"chat_id": CHAT, "message_id": message["message_id"]}), progress.message_id


def shown(telegram_standin: TelegramStandIn, request: ImageRequest) -> list[SentMessage]:
    return telegram_standin.replies_to(CHAT, request["message_id"])


# Every way an edit fails for good, as a Bot API server answers it: the answer goes anew.
EDIT_REFUSED_FOR_GOOD = {
    "400 other than not modified": Fault("api_error", 400, "Bad Request: MEDIA_EMPTY"),
    "400 message can't be edited": Fault("api_error", 400, "Bad Request: message can't be edited"),
    "404 from Telegram (method not found)": Fault("api_error", 404, "Not Found: method not found"),
    "404 without ok (a server that lacks the method)": Fault("raw", 404, body=MINIMAL_404),
    "200 without ok": Fault("raw", 200, body='{"result": true}'),
    "200 ok without result": Fault("raw", 200, body='{"ok": true}'),
    "an error without error_code": Fault("raw", 400, body='{"ok": false}'),
    "JSON that is not an object": Fault("raw", 200, body="[1, 2]"),
    "404 that is not JSON": Fault("raw", 404, body=NOT_JSON_PAGE, content_type="text/html"),
    "200 that is not JSON": Fault("raw", 200, body="OK", content_type="text/plain"),
}

Answer = Callable[[telebot.TeleBot, ImageRequest, int], Any]
ANSWERS: dict[str, tuple[str, str, Answer]] = {
    "photo": (
        "editMessageMedia",
        "sendPhoto",
        lambda bot, request, progress: polybot_telegram.answer_with_photo(bot, request, progress, jpeg(), ANSWER),
    ),
    "text": (
        "editMessageText",
        "sendMessage",
        lambda bot, request, progress: polybot_telegram.answer_with_text(bot, request, progress, ANSWER),
    ),
}


@pytest.mark.parametrize("fault", EDIT_REFUSED_FOR_GOOD.values(), ids=EDIT_REFUSED_FOR_GOOD.keys())
@pytest.mark.parametrize("kind", ANSWERS)
def test_an_edit_refused_for_good_sends_the_answer_as_a_new_message_once(
    telegram: TelegramStandIn, bot: telebot.TeleBot, kind: str, fault: Fault
) -> None:
    edit, send, answer = ANSWERS[kind]
    request, progress = asked(telegram, bot)
    telegram.inject(edit, replace(fault))  # a fresh one: each counts its own `times` down

    message = answer(bot, request, progress)

    [reply] = shown(telegram, request)
    assert (reply.method, reply.message_id) == (send, message.message_id)
    assert (reply.caption if kind == "photo" else reply.text) == ANSWER
    # The progress message does not stay above the answer.
    assert telegram.message(CHAT, progress).deleted
    assert telegram.calls[-3:] == [edit, send, "deleteMessage"]


def test_an_edit_whose_message_the_user_deleted_is_sent_anew_without_deleting(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    request, progress = asked(telegram, bot)
    telegram.user_deletes(CHAT, progress)

    telegram_answer(bot, request, progress)

    assert [m.text for m in shown(telegram, request)] == [ANSWER]
    assert telegram.calls[-2:] == ["editMessageText", "sendMessage"]


def telegram_answer(bot: telebot.TeleBot, request: ImageRequest, progress: int) -> Any:
    return polybot_telegram.answer_with_text(bot, request, progress, ANSWER)


def test_a_progress_message_that_cannot_be_deleted_leaves_the_answer_out(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    request, progress = asked(telegram, bot)
    telegram.inject("editMessageMedia", Fault("raw", 404, body=MINIMAL_404))
    telegram.inject("deleteMessage", Fault("raw", 404, body=MINIMAL_404))

    polybot_telegram.answer_with_photo(bot, request, progress, jpeg(), ANSWER)

    assert [m.method for m in shown(telegram, request)] == ["sendMessage", "sendPhoto"]


# What the caller retries (the workflow's Retry, the wait for a 429) or what a new message would meet too.
EDIT_NOT_REFUSED_FOR_GOOD = {
    "HTML 502": (Fault("html", 502), errors.TelegramUnavailable),
    "500 that is not JSON": (Fault("raw", 500, body="oops", content_type="text/plain"), errors.TelegramUnavailable),
    "503 without ok": (Fault("raw", 503, body=MINIMAL_404), errors.TelegramUnavailable),
    "Bot API 500": (Fault("api_error", 500, "Internal Server Error"), errors.TelegramUnavailable),
    "429": (Fault("api_error", 429, "Too Many Requests: retry after 3", retry_after=3), errors.TelegramRateLimited),
    "HTML 429": (Fault("raw", 429, body="slow down", content_type="text/plain"), errors.TelegramRateLimited),
    "403 blocked": (Fault("api_error", 403, "Forbidden: bot was blocked by the user"), errors.ChatUnavailable),
    "dropped connection": (Fault("drop"), errors.TelegramUnavailable),
}


@pytest.mark.parametrize(("fault", "named"), EDIT_NOT_REFUSED_FOR_GOOD.values(), ids=EDIT_NOT_REFUSED_FOR_GOOD.keys())
@pytest.mark.parametrize("kind", ANSWERS)
def test_an_edit_that_fails_for_now_or_for_the_whole_chat_sends_nothing_new(
    telegram: TelegramStandIn, bot: telebot.TeleBot, kind: str, fault: Fault, named: type[errors.PolybotError]
) -> None:
    edit, _, answer = ANSWERS[kind]
    request, progress = asked(telegram, bot)
    telegram.inject(edit, replace(fault))  # a fresh one: each counts its own `times` down

    with pytest.raises(named), polybot_telegram.telegram_errors():
        answer(bot, request, progress)

    assert [m.message_id for m in shown(telegram, request)] == [progress]
    assert telegram.calls[-1] == edit


def test_an_edit_already_made_is_not_sent_again(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    request, progress = asked(telegram, bot)
    telegram_answer(bot, request, progress)

    again = telegram_answer(bot, request, progress)

    assert again == polybot_telegram.Unchanged(progress)
    assert [m.text for m in shown(telegram, request)] == [ANSWER]


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (404, MINIMAL_404, "application/json"),
        (200, '{"result": {}}', "application/json"),
        (200, '{"ok": true}', "application/json"),
        (400, '{"ok": false, "description": "Bad Request"}', "application/json"),
        (200, "null", "application/json"),
        (200, "fine", "text/plain"),
        (403, NOT_JSON_PAGE, "text/html"),
    ],
)
def test_an_answer_that_is_no_bot_api_answer_is_a_named_error(
    telegram: TelegramStandIn, bot: telebot.TeleBot, status: int, body: str, content_type: str
) -> None:
    telegram.answer_next("sendMessage", status, body, content_type)

    with pytest.raises(errors.TelegramAnswerMalformed) as raised, polybot_telegram.telegram_errors():
        bot.send_message(CHAT, "hello")

    assert raised.value.name == "TelegramAnswerMalformed" and not raised.value.retryable
    assert raised.value.status == status
    assert str(raised.value).startswith(f"sendMessage: the Bot API server answered HTTP {status} with ")
    assert telegram.server.token not in str(raised.value)
