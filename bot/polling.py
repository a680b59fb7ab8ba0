"""Long polling: the bot's way to get updates where Telegram cannot reach a
webhook (no public HTTPS address). Used by `python -m bot poll` and by the local
stack when it serves real Telegram; the handlers are the webhook's.

Telegram answers getUpdates only while no webhook is set, so polling deletes it
first; it asks for the update types the webhook is registered for.
"""

from __future__ import annotations

import threading

import telebot

from bot.webhook import ALLOWED_UPDATES

LONG_POLLING_TIMEOUT_S = 20
"""How long Telegram holds a getUpdates open when there is nothing new."""
REQUEST_TIMEOUT_S = 30
"""telebot's read timeout for one getUpdates (at least the long poll and 10 s for the answer)."""


def poll(bot: telebot.TeleBot, long_polling_timeout_s: int = LONG_POLLING_TIMEOUT_S) -> None:
    """Serve updates by long polling until `bot.stop_polling()`; telebot logs a
    failed getUpdates and tries again."""
    bot.delete_webhook()
    _get_updates(bot, long_polling_timeout_s)


def start_polling(bot: telebot.TeleBot, long_polling_timeout_s: int = LONG_POLLING_TIMEOUT_S) -> threading.Thread:
    """`poll` in a daemon thread (the local stack, tests), returning once the webhook
    is gone: every update from then on is the thread's. `bot.stop_polling()` ends it."""
    bot.delete_webhook()
    thread = threading.Thread(target=_get_updates, args=(bot, long_polling_timeout_s), name="bot-polling", daemon=True)
    thread.start()
    return thread


def _get_updates(bot: telebot.TeleBot, long_polling_timeout_s: int) -> None:
    bot.infinity_polling(
        timeout=max(REQUEST_TIMEOUT_S, long_polling_timeout_s + 10),
        long_polling_timeout=long_polling_timeout_s,
        allowed_updates=ALLOWED_UPDATES,
    )
