"""What the bot does with each message: images start the pipeline, /start and
/help get the welcome, anything else a short hint. Registered on a TeleBot by
`register`; the same handlers serve the webhook and long polling.

Every message gets its answer here or from the workflow, never a crash: an
image message Telegram sent without usable file details is told so, a chat
over its photo quota is asked to slow down, and only when neither the
pipeline nor Telegram can be reached does an error leave the handler (the
webhook answers 500 and Telegram delivers the update again)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Protocol

import telebot
from botocore.exceptions import ReadTimeoutError
from telebot import types, util

from bot import texts
from polybot import contracts, logs, naming
from polybot.errors import ContractViolation

log = logging.getLogger(__name__)


class Pipeline(Protocol):
    def start(self, request: dict[str, Any]) -> bool: ...


class Quota(Protocol):
    def allow(self, chat_id: int) -> bool: ...


class Unlimited:
    def allow(self, chat_id: int) -> bool:
        return True


def is_image_document(message: types.Message) -> bool:
    return bool(message.document and (message.document.mime_type or "").startswith("image/"))


def image_request(message: types.Message, received_at: datetime | None = None) -> dict[str, Any]:
    """The ImageRequest for a photo, or for an image sent as a file."""
    received = (received_at or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    common = {
        "chat_id": message.chat.id,
        "message_id": message.message_id,
        "user_id": message.from_user.id if message.from_user else None,
        "language_code": message.from_user.language_code if message.from_user else None,
        "received_at": received,
    }
    if message.content_type == "photo":
        if not message.photo:
            raise ValueError("a photo message without any size")
        # Telegram lists the sizes it made, smallest first; analyse the largest.
        largest = max(message.photo, key=lambda p: p.width * p.height)
        return {
            **common,
            "file_id": largest.file_id,
            "file_unique_id": largest.file_unique_id,
            "file_size": largest.file_size,
            "file_name": None,
            "mime_type": "image/jpeg",
            "source": "photo",
        }
    document = message.document
    if document is None:
        raise ValueError("message carries no image")
    return {
        **common,
        "file_id": document.file_id,
        "file_unique_id": document.file_unique_id,
        "file_size": document.file_size,
        "file_name": document.file_name,
        "mime_type": document.mime_type,
        "source": "document",
    }


def register(bot: telebot.TeleBot, pipeline: Pipeline, quota: Quota | None = None) -> None:
    quota = quota or Unlimited()

    @bot.message_handler(commands=["start", "help"])
    def welcome(message: types.Message) -> None:
        bot.reply_to(message, texts.WELCOME)

    @bot.message_handler(content_types=["photo"])
    @bot.message_handler(content_types=["document"], func=is_image_document)
    def analyse(message: types.Message) -> None:
        start_analysis(bot, pipeline, quota, message)

    @bot.message_handler(content_types=["document"])
    def not_an_image(message: types.Message) -> None:
        bot.reply_to(message, texts.NOT_AN_IMAGE_FILE)

    @bot.message_handler(func=lambda message: True, content_types=list(util.content_type_media))
    def hint(message: types.Message) -> None:
        bot.reply_to(message, texts.HINT)


def start_analysis(bot: telebot.TeleBot, pipeline: Pipeline, quota: Quota, message: types.Message) -> None:
    try:
        request = contracts.validate("ImageRequest", image_request(message))
    except (ValueError, ContractViolation) as exc:
        # Redelivering this update cannot make it readable: answer it now.
        log.warning("image message %s without usable file details: %s", message.message_id, exc)
        bot.reply_to(message, texts.UNREADABLE_IMAGE_MESSAGE)
        return
    if not quota.allow(request["chat_id"]):
        bot.reply_to(message, texts.SLOW_DOWN)
        return
    with logs.correlate(naming.execution_name(request["chat_id"], request["message_id"])):
        try:
            started = pipeline.start(request)
        except ReadTimeoutError:
            # AWS took the call but its answer never came: the execution may be
            # running. Let Telegram deliver the update again; by then the start
            # either happened (ExecutionAlreadyExists, it will answer) or not.
            log.warning("no answer from StartExecution in time; Telegram will redeliver")
            raise
        except Exception:
            # Nothing started: tell the user now. If this reply fails too, the
            # error reaches the webhook, which answers 500 and Telegram redelivers.
            log.exception("could not start the image pipeline")
            bot.reply_to(message, texts.UNAVAILABLE)
            return
        if started:
            try:
                bot.send_chat_action(request["chat_id"], "upload_photo")
            except Exception as exc:  # progress is a courtesy; the reply still comes
                log.warning("chat action failed: %s", type(exc).__name__)
