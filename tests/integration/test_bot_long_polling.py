"""The bot without a public HTTPS address: long polling (`python -m bot --polling`)
serves the same handlers as the webhook."""

from __future__ import annotations

import threading

import pytest

from bot import service
from local.polybot_stack import PolybotStack
from polybot import naming
from tests.auxil.images import ultralytics_asset

pytestmark = [pytest.mark.aws, pytest.mark.model]


def test_long_polling_serves_commands_and_photos(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None and stack.bot is not None
    webhook = (stack.telegram.webhook_url, stack.telegram.webhook_secret)
    polling_bot = service.build(stack.settings).bot
    polling_bot.delete_webhook()  # as `python -m bot --polling` does
    poller = threading.Thread(target=polling_bot.infinity_polling, kwargs={"timeout": 10, "long_polling_timeout": 1})
    poller.start()
    try:
        help_message = stack.telegram.user_sends_text(chat_id, "/help")
        photo_message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
        assert "/history" in str(stack.telegram.wait_for_reply(chat_id, help_message["message_id"], 30).text)
        reply = stack.telegram.wait_for_reply(chat_id, photo_message["message_id"], 120)
        assert reply.caption == "I see 2 people, and maybe a tie."
        name = naming.execution_name(chat_id, photo_message["message_id"])
        assert stack.wait_for_execution(name)["status"] == "SUCCEEDED"
    finally:
        polling_bot.stop_polling()
        poller.join(timeout=30)
        stack.telegram.webhook_url, stack.telegram.webhook_secret = webhook
    assert not poller.is_alive()
