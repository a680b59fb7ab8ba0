"""NotifyFailure: tell the user, in plain words, why their photo got no result.

Every Catch of the workflow leads here, so every photo ends in exactly one
reply. Input: NotifyFailureInput. Output: ReplyReceipt.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import telebot

from polybot import aws, contracts, logs
from polybot.settings import Settings
from polybot.telegram import bot_from_secret, reply_to, telegram_errors

TRY_AGAIN = "Sorry, something went wrong on my side while analysing your photo. Please send it again in a few minutes."


def plain_message(error: str, max_download_bytes: int) -> str:
    """What the user reads for a failure named `error` (see polybot.errors)."""
    megabytes = max_download_bytes // (1024 * 1024)
    messages = {
        "NotAnImage": ("That file is not an image I can read. Please send a photo (JPEG, PNG or WebP work best)."),
        "FileTooLarge": (
            f"That file is larger than {megabytes} MB, the most Telegram lets me download. "
            "Please send it as a photo (not as a file), or a smaller image."
        ),
        "ImageTooLarge": "That image has too many pixels for me to analyse. Please send a smaller version.",
        "ImageNotDecodable": "I could not open that image; the file seems damaged. Please try another one.",
    }
    return messages.get(error, TRY_AGAIN)


@cache
def _services() -> tuple[Settings, telebot.TeleBot]:
    settings = Settings.from_env()
    logs.configure("functions", settings.log_level, keep_existing=True)
    bot, _ = bot_from_secret(settings, aws.client("secretsmanager", settings))
    return settings, bot


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job = contracts.validate("NotifyFailureInput", event)
    with logs.correlate(job["execution_name"]):
        settings, bot = _services()
        text = plain_message(job["failure"]["Error"], settings.max_download_bytes)
        # The reference lets support find the execution by name in the console.
        text += f"\n(ref {job['execution_name']})"
        with telegram_errors():
            sent = bot.send_message(job["request"]["chat_id"], text, reply_parameters=reply_to(job["request"]))
    return contracts.validate("ReplyReceipt", {"kind": "failure_notice", "message_id": sent.message_id})
