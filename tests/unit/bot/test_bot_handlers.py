from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import telebot
from botocore.exceptions import ReadTimeoutError
from telebot import types

from bot import handlers, texts
from local.telegram_standin import TelegramStandIn
from polybot import contracts, i18n
from polybot.settings import Settings
from polybot.telegram import make_bot

KEPT = {language: texts.keeping(language, Settings().retention_days, Settings().region) for language in i18n.LANGUAGES}
"""What /start and /help say of how long and where things are kept, in each language."""


Message = Callable[..., dict[str, Any]]

PNG_DOCUMENT = {
    "file_id": "doc-1",
    "file_unique_id": "u-doc-1",
    "file_name": "holiday.png",
    "mime_type": "image/png",
    "file_size": 2_345_678,
}


class RecordingPipeline:
    """Stands in for the Step Functions client behind bot.pipeline."""

    def __init__(self, started: bool = True, error: Exception | None = None) -> None:
        self.started, self.error = started, error
        self.requests: list[dict[str, Any]] = []

    def start(self, request: dict[str, Any]) -> bool:
        self.requests.append(request)
        if self.error:
            raise self.error
        return self.started

    def start_album(self, name: str, request: dict[str, Any]) -> bool:
        return self.start(request)


def with_preferences(request: dict[str, Any]) -> dict[str, Any]:
    """The request as the handler sends it: with the chat's preferences (here the defaults)."""
    return {**request, "preferences": handlers.Defaults().get(request["chat_id"], request["language_code"])}


def message_of(data: dict[str, Any]) -> types.Message:
    return types.Message.de_json(json.dumps(data))


def deliver(bot: telebot.TeleBot, message: dict[str, Any]) -> None:
    bot.process_new_updates([types.Update.de_json({"update_id": 9001, "message": message})])


# --- image_request ---------------------------------------------------------


def test_a_photo_becomes_a_request_for_its_largest_size(
    telegram_message: Message, photo_sizes: list[dict[str, Any]]
) -> None:
    message = message_of(telegram_message({"photo": photo_sizes}, chat_id=-1001234567890, message_id=77))
    when = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)

    request = handlers.image_request(message, received_at=when, retention_days=30)

    assert request == {
        "chat_id": -1001234567890,
        "message_id": 77,
        "user_id": 1001,
        "language_code": "en",
        "file_id": "photo-xl",
        "file_unique_id": "u-xl",
        "file_size": 180_000,
        "file_name": None,
        "mime_type": "image/jpeg",
        "source": "photo",
        "received_at": "2024-05-01T10:00:00.123Z",
        "expires_at": int(when.timestamp()) + 30 * 24 * 3600,
        "only": [],
    }
    contracts.validate("ImageRequest", with_preferences(request))


def test_an_image_document_becomes_a_request_for_the_original_file(telegram_message: Message) -> None:
    message = message_of(telegram_message({"document": PNG_DOCUMENT}))

    request = handlers.image_request(message)

    assert request["source"] == "document"
    assert request["file_id"] == "doc-1"
    assert request["file_unique_id"] == "u-doc-1"
    assert request["file_name"] == "holiday.png"
    assert request["mime_type"] == "image/png"
    assert request["file_size"] == 2_345_678
    contracts.validate("ImageRequest", with_preferences(request))


def test_a_text_message_is_not_an_image_request(telegram_message: Message) -> None:
    with pytest.raises(ValueError, match="no image"):
        handlers.image_request(message_of(telegram_message({"text": "hello"})))


def test_a_message_without_a_sender_has_no_user(telegram_message: Message, photo_sizes: list[dict[str, Any]]) -> None:
    data = telegram_message({"photo": photo_sizes})
    del data["from"]  # a channel post

    request = handlers.image_request(message_of(data))

    assert request["user_id"] is None
    assert request["language_code"] is None
    contracts.validate("ImageRequest", with_preferences(request))


def test_received_at_defaults_to_now_in_utc_as_rfc3339(
    telegram_message: Message, photo_sizes: list[dict[str, Any]]
) -> None:
    before = datetime.now(UTC)
    request = handlers.image_request(message_of(telegram_message({"photo": photo_sizes})))
    after = datetime.now(UTC)

    stamp = request["received_at"]
    assert stamp.endswith("Z")
    parsed = datetime.fromisoformat(stamp)
    assert parsed.utcoffset() == timedelta(0)
    assert before - timedelta(milliseconds=1) <= parsed <= after
    contracts.validate("ImageRequest", with_preferences(request))


def test_received_at_in_another_zone_is_still_a_valid_timestamp(
    telegram_message: Message, photo_sizes: list[dict[str, Any]]
) -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))

    request = handlers.image_request(message_of(telegram_message({"photo": photo_sizes})), received_at=when)

    assert request["received_at"] == "2024-05-01T12:00:00.000+02:00"
    contracts.validate("ImageRequest", with_preferences(request))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"document": PNG_DOCUMENT}, True),
        ({"document": {**PNG_DOCUMENT, "mime_type": "image/jpeg", "file_name": "a.jpg"}}, True),
        ({"document": {**PNG_DOCUMENT, "mime_type": "application/pdf", "file_name": "a.pdf"}}, False),
        ({"document": {**PNG_DOCUMENT, "mime_type": "text/plain", "file_name": "a.txt"}}, False),
        ({"document": {**PNG_DOCUMENT, "mime_type": "video/mp4", "file_name": "a.mp4"}}, False),
        # A type that says nothing: the bytes decide (StageImage sniffs the format).
        ({"document": {k: v for k, v in PNG_DOCUMENT.items() if k != "mime_type"}}, True),
        ({"document": {**PNG_DOCUMENT, "mime_type": "application/octet-stream", "file_name": "IMG_1.jpg"}}, True),
        ({"document": {**PNG_DOCUMENT, "mime_type": "binary/octet-stream", "file_name": "IMG_1"}}, True),
        ({"document": {**PNG_DOCUMENT, "mime_type": "Application/Octet-Stream", "file_name": "IMG_1"}}, True),
        ({"document": {**PNG_DOCUMENT, "mime_type": "", "file_name": "IMG_1"}}, True),
        ({"text": "hello"}, False),
    ],
    ids=[
        "png",
        "jpeg",
        "pdf",
        "text-plain",
        "video",
        "no-mime-type",
        "octet-stream",
        "binary-octet-stream",
        "octet-stream-capitalised",
        "empty-mime-type",
        "text",
    ],
)
def test_is_image_document(telegram_message: Message, content: dict[str, Any], expected: bool) -> None:
    assert handlers.is_image_document(message_of(telegram_message(content))) is expected


def test_a_photo_is_not_an_image_document(telegram_message: Message, photo_sizes: list[dict[str, Any]]) -> None:
    assert handlers.is_image_document(message_of(telegram_message({"photo": photo_sizes}))) is False


# --- what the registered handlers do --------------------------------------


@pytest.fixture
def pipeline() -> RecordingPipeline:
    return RecordingPipeline()


@pytest.fixture
def bot(bot: telebot.TeleBot, pipeline: RecordingPipeline) -> telebot.TeleBot:
    """The bot of tests/unit/conftest.py (talking to the `telegram` stand-in) with the handlers."""
    handlers.register(bot, handlers.Chats(pipeline))
    return bot


def test_a_photo_starts_the_pipeline_and_shows_progress(
    bot: telebot.TeleBot,
    pipeline: RecordingPipeline,
    telegram: TelegramStandIn,
    telegram_message: Message,
    photo_sizes: list,
) -> None:
    deliver(bot, telegram_message({"photo": photo_sizes}, chat_id=4242, message_id=77))

    [request] = pipeline.requests
    assert (request["chat_id"], request["message_id"], request["file_id"]) == (4242, 77, "photo-xl")
    # The progress message goes first, and the execution carries its id for the workflow to edit.
    [(method, params)] = telegram.api_calls
    assert (method, params["text"], json.loads(params["reply_parameters"])) == (
        "sendMessage",
        i18n.text("progress", "en"),
        {"message_id": 77},
    )
    [progress] = telegram.sent
    assert request["progress_message_id"] == progress.message_id


def test_an_image_document_starts_the_pipeline(
    bot: telebot.TeleBot, pipeline: RecordingPipeline, telegram: TelegramStandIn, telegram_message: Message
) -> None:
    deliver(bot, telegram_message({"document": PNG_DOCUMENT}))

    [request] = pipeline.requests
    assert request["source"] == "document"
    assert telegram.calls == ["sendMessage"]


MB = 1024 * 1024


@pytest.mark.parametrize(
    ("limit", "size", "shown"),
    [
        (20 * MB, int(23.7 * 1000 * 1000), "20 MB"),  # the 23.7 MB document, against the Bot API's limit
        (20 * MB, 20 * MB + 1, "20 MB"),
        (50 * MB, 60 * MB, "50 MB"),  # a self-hosted Bot API server's limit, as configured
    ],
    ids=["23.7MB", "one-byte-over", "configured-limit"],
)
@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_file_over_the_download_limit_is_refused_at_once_without_progress_or_execution(
    bot: telebot.TeleBot,
    pipeline: RecordingPipeline,
    telegram: TelegramStandIn,
    telegram_message: Message,
    limit: int,
    size: int,
    shown: str,
    language: str,
) -> None:
    """Its size is in the update: neither "Looking at your photo…" nor an execution
    that StageImage would end with the same refusal."""
    limited = make_bot(bot.token, Settings(telegram_api_url=telegram.api_url))
    handlers.register(limited, handlers.Chats(pipeline, max_download_bytes=limit))
    message = telegram_message({"document": {**PNG_DOCUMENT, "file_size": size}})
    message["from"]["language_code"] = language

    deliver(limited, message)

    assert pipeline.requests == []
    reply = i18n.text("failure.FileTooLarge", language, megabytes=limit // MB)
    assert shown.split()[0] in reply
    assert [(method, params["text"]) for method, params in telegram.api_calls] == [("sendMessage", reply)]


def test_a_file_at_the_download_limit_is_analysed(
    bot: telebot.TeleBot, pipeline: RecordingPipeline, telegram: TelegramStandIn, telegram_message: Message
) -> None:
    deliver(bot, telegram_message({"document": {**PNG_DOCUMENT, "file_size": Settings().max_download_bytes}}))

    assert len(pipeline.requests) == 1
    assert telegram.api_calls[0][1]["text"] == i18n.text("progress", "en")


@pytest.mark.parametrize("mime_type", ["application/octet-stream", "binary/octet-stream", None])
def test_a_file_of_unknown_type_starts_the_pipeline_for_its_bytes_to_decide(
    bot: telebot.TeleBot,
    pipeline: RecordingPipeline,
    telegram: TelegramStandIn,
    telegram_message: Message,
    mime_type: str | None,
) -> None:
    document = {**PNG_DOCUMENT, "file_name": "IMG_0001.jpg", "mime_type": mime_type}
    if mime_type is None:
        del document["mime_type"]

    deliver(bot, telegram_message({"document": document}))

    [request] = pipeline.requests
    assert (request["source"], request["mime_type"]) == ("document", mime_type)
    assert [(method, params["text"]) for method, params in telegram.api_calls] == [
        ("sendMessage", i18n.text("progress", "en"))
    ]


def test_a_redelivered_image_starts_nothing_and_takes_back_its_progress_message(
    bot: telebot.TeleBot,
    pipeline: RecordingPipeline,
    telegram: TelegramStandIn,
    telegram_message: Message,
    photo_sizes: list,
) -> None:
    pipeline.started = False  # the execution of this name already exists: it answers in the first progress message

    deliver(bot, telegram_message({"photo": photo_sizes}))

    assert len(pipeline.requests) == 1
    [progress] = telegram.sent
    assert [(method, params.get("message_id")) for method, params in telegram.api_calls] == [
        ("sendMessage", None),
        ("deleteMessage", str(progress.message_id)),
    ]


def test_a_failed_progress_indicator_does_not_fail_the_update(
    bot: telebot.TeleBot,
    pipeline: RecordingPipeline,
    telegram: TelegramStandIn,
    telegram_message: Message,
    photo_sizes: list,
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram.fail_next("sendMessage", 502, "Bad Gateway")

    with caplog.at_level(logging.WARNING, logger="bot.handlers"):
        deliver(bot, telegram_message({"photo": photo_sizes}))

    [request] = pipeline.requests
    assert request["progress_message_id"] is None  # the workflow then answers with a new message
    assert "progress message failed: ApiTelegramException" in caplog.text


def test_when_the_pipeline_cannot_start_the_user_is_told(
    bot: telebot.TeleBot,
    pipeline: RecordingPipeline,
    telegram: TelegramStandIn,
    telegram_message: Message,
    photo_sizes: list,
) -> None:
    pipeline.error = RuntimeError("Step Functions is down")

    deliver(bot, telegram_message({"photo": photo_sizes}, chat_id=4242, message_id=77))

    # The progress message becomes the notice.
    [(_, progress), (method, params)] = telegram.api_calls
    assert json.loads(progress["reply_parameters"])["message_id"] == 77
    assert method == "editMessageText"
    [notice] = telegram.sent
    assert (params["chat_id"], params["message_id"]) == ("4242", str(notice.message_id))
    assert params["text"] == i18n.text("unavailable", "en")


def test_when_step_functions_does_not_answer_in_time_the_progress_message_says_so_and_is_kept(
    bot: telebot.TeleBot,
    pipeline: RecordingPipeline,
    telegram: TelegramStandIn,
    telegram_message: Message,
    photo_sizes: list,
) -> None:
    # The execution may have started, and may answer in the progress message: it is
    # not deleted, but it no longer says "Looking…" while the update waits for its redelivery.
    pipeline.error = ReadTimeoutError(endpoint_url="https://states.us-east-1.amazonaws.com/")

    with pytest.raises(ReadTimeoutError):
        deliver(bot, telegram_message({"photo": photo_sizes}, chat_id=4242))

    [progress] = telegram.sent
    assert telegram.calls == ["sendMessage", "editMessageText"]
    assert progress.text == i18n.text("unavailable_retrying", "en")


@pytest.mark.parametrize(
    ("second_start", "outcome"),
    [(None, "started"), (False, "already started by the first delivery")],
)
def test_a_redelivery_after_an_unanswered_start_uses_the_first_progress_message(
    bot: telebot.TeleBot,
    pipeline: RecordingPipeline,
    telegram: TelegramStandIn,
    telegram_message: Message,
    photo_sizes: list,
    second_start: bool | None,
    outcome: str,
) -> None:
    photo = telegram_message({"photo": photo_sizes}, chat_id=4242, message_id=77)
    pipeline.error = ReadTimeoutError(endpoint_url="https://states.us-east-1.amazonaws.com/")
    with pytest.raises(ReadTimeoutError):
        deliver(bot, photo)
    for _ in range(2):  # AWS still away: redeliveries add nothing
        with pytest.raises(ReadTimeoutError):
            deliver(bot, photo)
    pipeline.error, pipeline.started = None, second_start  # type: ignore[assignment]

    deliver(bot, photo)

    # One message in the chat, whatever the last start found, and every start carried it.
    [progress] = telegram.sent
    assert {r["progress_message_id"] for r in pipeline.requests} == {progress.message_id}, outcome
    assert telegram.calls == ["sendMessage", "editMessageText"], outcome


def test_when_neither_the_pipeline_nor_the_reply_works_the_update_fails(
    bot: telebot.TeleBot,
    pipeline: RecordingPipeline,
    refused_api_url: str,
    telegram_message: Message,
    photo_sizes: list,
) -> None:
    # The webhook then answers 500 and Telegram delivers the update again.
    pipeline.error = RuntimeError("Step Functions is down")

    with pytest.raises(requests.ConnectionError):
        deliver(bot, telegram_message({"photo": photo_sizes}))


@pytest.mark.parametrize(
    ("content", "reply"),
    [
        (
            {"text": "/start", "entities": [{"type": "bot_command", "offset": 0, "length": 6}]},
            i18n.text("start", "en", **KEPT["en"]),
        ),
        (
            {"text": "/help", "entities": [{"type": "bot_command", "offset": 0, "length": 5}]},
            i18n.text("help", "en", **KEPT["en"]),
        ),
        (
            {"document": {**PNG_DOCUMENT, "mime_type": "application/pdf", "file_name": "cv.pdf"}},
            i18n.text("not_an_image_file", "en"),
        ),
        (
            {"document": {**PNG_DOCUMENT, "mime_type": "text/plain", "file_name": "notes.txt"}},
            i18n.text("not_an_image_file", "en"),
        ),
        (
            {"document": {**PNG_DOCUMENT, "mime_type": "video/mp4", "file_name": "clip.mp4"}},
            i18n.text("not_an_image_file", "en"),
        ),
        ({"text": "what can you do?"}, i18n.text("hint", "en")),
        (
            {
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "us",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                }
            },
            i18n.text("hint", "en"),
        ),
    ],
    ids=["start", "help", "pdf-document", "text-document", "video-document", "text", "sticker"],
)
def test_anything_else_gets_one_reply_and_starts_nothing(
    bot: telebot.TeleBot,
    pipeline: RecordingPipeline,
    telegram: TelegramStandIn,
    telegram_message: Message,
    content: dict[str, Any],
    reply: str,
) -> None:
    deliver(bot, telegram_message(content))

    assert pipeline.requests == []
    assert [(method, params["text"]) for method, params in telegram.api_calls] == [("sendMessage", reply)]
