"""bot.webhook: the deploy step that registers the webhook, against the
project's Telegram stand-in over HTTP (with its 429 and error answers)."""

from __future__ import annotations

import pytest
import telebot

from bot.webhook import (
    ALLOWED_UPDATES,
    Outcome,
    WebhookNotRegistered,
    ensure_commands,
    ensure_webhook,
    register_with_telegram,
    webhook_url,
)
from local.telegram_standin import TelegramStandIn
from polybot import i18n
from tests.unit.conftest import STANDIN_TOKEN

TOKEN = STANDIN_TOKEN
PUBLIC_URL = "https://bot.example.com:8443"


class Waits:
    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.seconds.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def test_the_first_registration_sets_the_webhook_and_the_next_ones_change_nothing(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    first = ensure_webhook(bot, PUBLIC_URL, "secret-1")
    second = ensure_webhook(bot, PUBLIC_URL, "secret-1")

    assert (first, second) == (Outcome.REGISTERED, Outcome.UNCHANGED)
    assert telegram.set_webhook_calls == 1
    assert telegram.webhook_url == webhook_url(PUBLIC_URL) == "https://bot.example.com:8443/telegram/webhook"
    assert telegram.webhook_secret == "secret-1"
    assert telegram.webhook_allowed_updates == ALLOWED_UPDATES


def test_a_new_address_is_registered_again(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    ensure_webhook(bot, PUBLIC_URL, "secret-1")

    outcome = ensure_webhook(bot, "https://other.example.com:8443", "secret-1")

    assert outcome is Outcome.REGISTERED
    assert telegram.webhook_url == "https://other.example.com:8443/telegram/webhook"


def test_a_webhook_telegram_reports_as_answering_403_gets_the_secret_again(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    ensure_webhook(bot, PUBLIC_URL, "old-secret")
    telegram.webhook_last_error = "Wrong response from the webhook: 403 Forbidden"

    outcome = ensure_webhook(bot, PUBLIC_URL, "rotated-secret")

    assert outcome is Outcome.REGISTERED
    assert telegram.webhook_secret == "rotated-secret"


def test_a_rate_limit_is_waited_out_for_the_time_telegram_names(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    waits = Waits()
    telegram.fail_next("setWebhook", 429, "Too Many Requests: retry after 7", times=2, retry_after=7)

    outcome = ensure_webhook(bot, PUBLIC_URL, "s", sleep=waits.sleep, clock=waits.clock)

    assert outcome is Outcome.REGISTERED
    assert waits.seconds == [7.0, 7.0]


def test_telegram_errors_are_retried_with_backoff(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    waits = Waits()
    telegram.fail_next("getWebhookInfo", 502, "Bad Gateway", times=3)

    outcome = ensure_webhook(bot, PUBLIC_URL, "s", sleep=waits.sleep, clock=waits.clock)

    assert outcome is Outcome.REGISTERED
    assert waits.seconds == [2.0, 4.0, 8.0]


def test_it_gives_up_when_the_wait_would_pass_its_limit(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    waits = Waits()
    telegram.fail_next("setWebhook", 429, "Too Many Requests: retry after 200", times=5, retry_after=200)

    with pytest.raises(WebhookNotRegistered, match="429"):
        ensure_webhook(bot, PUBLIC_URL, "s", max_wait_s=300, sleep=waits.sleep, clock=waits.clock)

    assert waits.seconds == [200.0]


def test_a_refusal_is_not_retried_and_the_error_never_shows_the_token(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    waits = Waits()
    telegram.fail_next("setWebhook", 400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")

    with pytest.raises(WebhookNotRegistered) as raised:
        ensure_webhook(bot, "http://insecure.example.com", "s", sleep=waits.sleep, clock=waits.clock)

    assert waits.seconds == []
    assert TOKEN not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


# --- the command menu ------------------------------------------------------


def test_the_command_menu_is_set_once_per_language_and_then_left_alone(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    first = ensure_commands(bot)
    second = ensure_commands(bot)

    assert (first, second) == (Outcome.REGISTERED, Outcome.UNCHANGED)
    assert telegram.set_commands_calls == 4
    assert set(telegram.commands) == {("default", ""), ("default", "en"), ("default", "es"), ("default", "ru")}
    assert [c["command"] for c in telegram.commands[("default", "")]] == ["start", "help", "history", "settings"]
    assert telegram.commands[("default", "ru")][2]["description"] == i18n.text("commands.history", "ru")


def test_a_changed_menu_is_set_again_only_where_it_differs(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    ensure_commands(bot)
    telegram.commands[("default", "es")] = [{"command": "start", "description": "viejo"}]

    assert ensure_commands(bot) == Outcome.REGISTERED
    assert telegram.set_commands_calls == 5
    assert telegram.commands[("default", "es")][0]["description"] == i18n.text("commands.start", "es")


def test_the_command_menu_waits_out_a_rate_limit(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    telegram.fail_next("setMyCommands", 429, "Too Many Requests: retry after 7", retry_after=7)
    waits = Waits()

    assert ensure_commands(bot, sleep=waits.sleep, clock=waits.clock) == Outcome.REGISTERED
    assert waits.seconds == [7.0]
    assert telegram.set_commands_calls == 4


def test_the_deploy_step_registers_the_webhook_and_the_menu(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    assert register_with_telegram(bot, PUBLIC_URL, "s") == Outcome.REGISTERED
    assert register_with_telegram(bot, PUBLIC_URL, "s") == Outcome.UNCHANGED
    assert telegram.webhook_allowed_updates == ["message", "callback_query"]
    assert telegram.set_commands_calls == 4
