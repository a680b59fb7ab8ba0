"""SendReply: answer the user's photo with the annotated image and its summary,
or a friendly "nothing recognised" when the model found nothing.

Input: SendReplyInput. Output: ReplyReceipt.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import telebot

from polybot import aws, contracts, logs, summary
from polybot.settings import Settings
from polybot.telegram import bot_from_secret, reply_to, telegram_errors


@cache
def _services() -> tuple[telebot.TeleBot, Any]:
    settings = Settings.from_env()
    logs.configure("functions", settings.log_level, keep_existing=True)
    bot, _ = bot_from_secret(settings, aws.client("secretsmanager", settings))
    return bot, aws.client("s3", settings)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job = contracts.validate("SendReplyInput", event)
    with logs.correlate(job["execution_name"]):
        bot, s3 = _services()
        receipt = send_reply(job["request"], job["staged"], job["detection"], bot, s3)
    return contracts.validate("ReplyReceipt", receipt)


def send_reply(
    request: dict[str, Any], staged: dict[str, Any], detection: dict[str, Any], bot: telebot.TeleBot, s3: Any
) -> dict[str, Any]:
    detections = detection["detections"]
    text = summary.caption(detections)
    if not detections:
        with telegram_errors():
            sent = bot.send_message(request["chat_id"], text, reply_parameters=reply_to(request))
        return {"kind": "nothing_found", "message_id": sent.message_id}
    annotated = s3.get_object(Bucket=staged["bucket"], Key=detection["annotated_key"])["Body"].read()
    with telegram_errors():
        sent = bot.send_photo(request["chat_id"], annotated, caption=text, reply_parameters=reply_to(request))
    return {"kind": "annotated_photo", "message_id": sent.message_id}
