"""SendReply: answer the user's photo with the annotated image and its summary,
or a friendly "nothing recognised" when the model found nothing.

The photo always fits what Telegram's sendPhoto accepts: an annotated image
larger than a photo is shown (longest side over 2560 px, or beyond the size,
side-sum or ratio limits) goes as a scaled photo, followed by the
full-resolution annotated image as a document. Each message is sent at most
once per execution (polybot/reply_ledger.py). A 429 from Telegram is answered
with a TelegramWait, which the workflow waits out before calling again.

Input: SendReplyInput. Output: ReplyOutcome.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any

import telebot

from polybot import aws, contracts, imaging, logs, summary, telegram
from polybot.errors import TelegramRateLimited
from polybot.reply_ledger import Once, ReplyLedger
from polybot.settings import Settings
from polybot.telegram import bot_from_secret, reply_to


@cache
def _services() -> tuple[telebot.TeleBot, Any, ReplyLedger]:
    settings = Settings.from_env()
    logs.configure("functions", settings.log_level, keep_existing=True)
    settings.require("results_table")
    bot, _ = bot_from_secret(settings, aws.client("secretsmanager", settings, aws.IN_FUNCTION))
    ledger = ReplyLedger(aws.client("dynamodb", settings, aws.IN_FUNCTION), settings.results_table)
    return bot, aws.client("s3", settings, aws.IN_FUNCTION), ledger


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job = contracts.validate("SendReplyInput", event)
    name = job["execution_name"]
    with logs.correlate(name), aws.aws_errors():
        bot, s3, ledger = _services()
        try:
            outcome = send_reply(job["request"], job["staged"], job["detection"], bot, s3, ledger.once(name))
        except TelegramRateLimited as limited:
            outcome = ledger.wait_for_telegram(name, limited)
    return contracts.validate("ReplyOutcome", outcome)


def send_reply(
    request: dict[str, Any],
    staged: dict[str, Any],
    detection: dict[str, Any],
    bot: telebot.TeleBot,
    s3: Any,
    once: Once,
) -> dict[str, Any]:
    chat, quote = request["chat_id"], reply_to(request)
    detections = detection["detections"]
    text = summary.caption(detections)
    if not detections:
        message_id = once.send("reply", lambda: bot.send_message(chat, text, reply_parameters=quote))
        return {"kind": "nothing_found", "message_id": message_id}
    annotated = s3.get_object(Bucket=staged["bucket"], Key=detection["annotated_key"])["Body"].read()
    photo = imaging.photo_rendition(
        annotated,
        longest_side=telegram.PHOTO_SHOWN_SIDE,
        max_sides=telegram.PHOTO_MAX_SIDES,
        max_ratio=telegram.PHOTO_MAX_RATIO,
        max_bytes=telegram.PHOTO_MAX_BYTES,
    )
    message_id = once.send(
        "reply", lambda: bot.send_photo(chat, photo or annotated, caption=text, reply_parameters=quote)
    )
    if photo is not None and len(annotated) <= telegram.UPLOAD_MAX_BYTES:
        # The photo had to be scaled: the full resolution goes along as a file.
        document = telebot.types.InputFile(io.BytesIO(annotated), file_name=f"{once.execution_name}-annotated.jpg")
        once.send("document", lambda: bot.send_document(chat, document, reply_parameters=quote))
    return {"kind": "annotated_photo", "message_id": message_id}
