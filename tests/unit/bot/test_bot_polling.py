"""Long polling (bot/polling.py) against the Bot API stand-in: the webhook goes,
updates reach the bot's handlers, and stop_polling ends the thread."""

from __future__ import annotations

import telebot

from bot.polling import start_polling
from local.telegram_standin import TelegramStandIn

CHAT = 4242


def test_polling_takes_over_from_the_webhook_and_serves_the_handlers(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    # Telegram refuses getUpdates while a webhook is set.
    bot.set_webhook(url="https://bot.example/telegram")

    @bot.message_handler(commands=["ping"])
    def pong(message: telebot.types.Message) -> None:
        bot.reply_to(message, "pong")

    poller = start_polling(bot, long_polling_timeout_s=1)
    try:
        sent = telegram.user_sends_text(CHAT, "/ping")
        assert telegram.wait_for_reply(CHAT, sent["message_id"], 10).text == "pong"
        assert telegram.webhook_url == ""
    finally:
        bot.stop_polling()
        poller.join(timeout=15)
    assert not poller.is_alive()
