"""The bot's side of /privacy and /forget (bot/handlers.py), over the Telegram
stand-in: what /privacy states comes from the settings in force; /forget asks
first; its Delete button says "deleting" before the execution starts (so the
execution's "done" always comes after it), a second tap starts nothing more,
and a start that fails is told."""

from __future__ import annotations

import json
from typing import Any

import pytest
import telebot
from telebot import types

from bot import handlers
from local.telegram_standin import TelegramStandIn
from polybot import callbacks, i18n, naming

CHAT = 5150


class RecordingForgetting:
    """StartExecution of /forget's executions: each name starts once; what the
    confirmation message said when each start was asked for."""

    def __init__(self, telegram: TelegramStandIn, fails: bool = False) -> None:
        self.telegram = telegram
        self.fails = fails
        self.started: dict[str, dict[str, Any]] = {}
        self.shown_at_start: list[str | None] = []

    def start_forget(self, request: Any) -> bool:
        self.shown_at_start.append(self.telegram.message(request["chat_id"], request["message_id"]).text)
        if self.fails:
            raise RuntimeError("Step Functions is away")
        name = naming.forget_execution_name(request["chat_id"], request["message_id"])
        if name in self.started:
            return False
        self.started[name] = request
        return True


class NoImages:
    def start(self, request: Any) -> bool:
        raise AssertionError("no image here")

    def start_album(self, name: str, request: Any) -> bool:
        raise AssertionError("no image here")


def run(bot: telebot.TeleBot, telegram: TelegramStandIn) -> None:
    bot.process_new_updates([types.Update.de_json(json.dumps(u)) for u in telegram.take_updates()])


def ask(bot: telebot.TeleBot, telegram: TelegramStandIn, text: str) -> Any:
    message = telegram.user_sends_text(CHAT, text)
    run(bot, telegram)
    [reply] = telegram.replies_to(CHAT, message["message_id"])
    return reply


def tap(bot: telebot.TeleBot, telegram: TelegramStandIn, message_id: int, button: str) -> Any:
    query = telegram.user_taps(CHAT, message_id, button)
    run(bot, telegram)
    return query


def registered(bot: telebot.TeleBot, chats: handlers.Chats) -> telebot.TeleBot:
    handlers.register(bot, chats)
    return bot


@pytest.mark.parametrize(("days", "region", "language"), [(7, "eu-west-1", "en"), (1, "sa-east-1", "ru")])
def test_privacy_start_and_help_state_the_retention_and_region_in_force(
    bot: telebot.TeleBot, telegram: TelegramStandIn, days: int, region: str, language: str
) -> None:
    registered(bot, handlers.Chats(NoImages(), retention_days=days, region=region))
    telegram.user_speaks(CHAT, language)
    period = i18n.text("retention.days", language, n=days)

    privacy, start, help_text = (ask(bot, telegram, command).text for command in ("/privacy", "/start", "/help"))

    assert period in privacy and region in privacy and "/forget" in privacy
    assert period in start and period in help_text
    assert "/privacy" in help_text and "/forget" in help_text


def test_delete_says_deleting_before_it_starts_and_a_second_tap_starts_nothing_more(
    bot: telebot.TeleBot, telegram: TelegramStandIn
) -> None:
    forgetting = RecordingForgetting(telegram)
    registered(bot, handlers.Chats(NoImages(), forgetting=forgetting))
    confirmation = ask(bot, telegram, "/forget")
    assert confirmation.buttons == [
        (i18n.text("forget.yes", "en"), callbacks.FORGET_YES),
        (i18n.text("forget.cancel", "en"), callbacks.FORGET_NO),
    ]
    update_as_shown = {
        "update_id": 99_001,
        "callback_query": {
            "id": "again",
            "from": {"id": CHAT, "is_bot": False, "first_name": "Ada", "language_code": "en"},
            "message": telegram.message(CHAT, confirmation.message_id).as_message(),
            "chat_instance": str(CHAT),
            "data": callbacks.FORGET_YES,
        },
    }

    query = tap(bot, telegram, confirmation.message_id, callbacks.FORGET_YES)
    bot.process_new_updates([types.Update.de_json(json.dumps(update_as_shown))])  # the same tap again

    working = i18n.text("forget.working", "en")
    assert forgetting.shown_at_start == [working, working], "the message said so before each start"
    [(name, request)] = forgetting.started.items()
    assert name == naming.forget_execution_name(CHAT, confirmation.message_id)
    assert (request["chat_id"], request["message_id"], request["language"]) == (CHAT, confirmation.message_id, "en")
    shown = telegram.message(CHAT, confirmation.message_id)
    assert shown.text == working and shown.buttons == []
    assert query.answered


def test_cancel_starts_nothing_and_a_start_that_fails_is_told(bot: telebot.TeleBot, telegram: TelegramStandIn) -> None:
    forgetting = RecordingForgetting(telegram, fails=True)
    registered(bot, handlers.Chats(NoImages(), forgetting=forgetting))
    cancelled = ask(bot, telegram, "/forget")
    tap(bot, telegram, cancelled.message_id, callbacks.FORGET_NO)
    failed = ask(bot, telegram, "/forget")

    query = tap(bot, telegram, failed.message_id, callbacks.FORGET_YES)

    assert telegram.message(CHAT, cancelled.message_id).text == i18n.text("forget.cancelled", "en")
    assert len(forgetting.shown_at_start) == 1 and forgetting.started == {}
    assert telegram.message(CHAT, failed.message_id).text == i18n.text("forget.unavailable", "en")
    assert query.answered
