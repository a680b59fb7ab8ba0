"""NotifyFailure: tell the user, in plain words, why their photo got no result.

Every Catch of the workflow leads here, so every photo ends in exactly one
reply; it is sent at most once per execution (polybot/reply_ledger.py), and a
429 from Telegram is waited out by the workflow. Input: NotifyFailureInput.
Output: ReplyOutcome.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import telebot

from polybot import aws, contracts, logs
from polybot.errors import TelegramRateLimited
from polybot.reply_ledger import ReplyLedger
from polybot.settings import Settings
from polybot.telegram import bot_from_secret, reply_to

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
def _services() -> tuple[Settings, telebot.TeleBot, ReplyLedger]:
    settings = Settings.from_env()
    logs.configure("functions", settings.log_level, keep_existing=True)
    settings.require("results_table")
    bot, _ = bot_from_secret(settings, aws.client("secretsmanager", settings, aws.IN_FUNCTION))
    return settings, bot, ReplyLedger(aws.client("dynamodb", settings, aws.IN_FUNCTION), settings.results_table)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job = contracts.validate("NotifyFailureInput", event)
    name, request = job["execution_name"], job["request"]
    with logs.correlate(name), aws.aws_errors():
        settings, bot, ledger = _services()
        text = plain_message(job["failure"]["Error"], settings.max_download_bytes)
        # The reference lets support find the execution by name in the console.
        text += f"\n(ref {name})"
        try:
            message_id = ledger.once(name).send(
                "notice", lambda: bot.send_message(request["chat_id"], text, reply_parameters=reply_to(request))
            )
            outcome: dict[str, Any] = {"kind": "failure_notice", "message_id": message_id}
        except TelegramRateLimited as limited:
            outcome = ledger.wait_for_telegram(name, limited)
    return contracts.validate("ReplyOutcome", outcome)
