"""bot.webhook: the deploy step that registers the webhook, against the
project's Telegram stand-in over HTTP (with its 429 and error answers, and a
webhook name it cannot resolve yet, as on a first deploy), and the JSON line
it ends with, held to the Terraform metric filter that alarms on a failure."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
import telebot
from telebot import apihelper

from bot import __main__ as bot_main
from bot.app import BotNotReady
from bot.webhook import (
    ALLOWED_UPDATES,
    MENU_LISTS,
    REGISTERED,
    REGISTRATION_FAILED,
    REGISTRATION_WINDOW_S,
    Outcome,
    WebhookNotRegistered,
    deploy_step,
    ensure_commands,
    ensure_webhook,
    register_with_telegram,
    webhook_url,
)
from local.telegram_standin import Fault, TelegramStandIn
from polybot import i18n, logs
from polybot.settings import Settings
from polybot.telegram import BotCredentials, make_bot
from tests.auxil.metric_filters import bot_metric_filters, matches
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
    assert telegram.set_commands_calls == MENU_LISTS
    languages = ("", *i18n.LANGUAGES)
    assert set(telegram.commands) == {(scope, code) for scope in ("default", "all_group_chats") for code in languages}
    assert [c["command"] for c in telegram.commands[("default", "")]] == [
        "start",
        "help",
        "history",
        "settings",
        "privacy",
        "forget",
    ]
    assert telegram.commands[("default", "ru")][2]["description"] == i18n.text("commands.history", "ru")
    # Groups get their own menu: asking for a photo, and how.
    assert [c["command"] for c in telegram.commands[("all_group_chats", "")]] == ["detect", "help"]
    assert telegram.commands[("all_group_chats", "es")][0]["description"] == i18n.text("commands.detect", "es")


def test_a_changed_menu_is_set_again_only_where_it_differs(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    ensure_commands(bot)
    telegram.commands[("default", "es")] = [{"command": "start", "description": "viejo"}]

    assert ensure_commands(bot) == Outcome.REGISTERED
    assert telegram.set_commands_calls == MENU_LISTS + 1
    assert telegram.commands[("default", "es")][0]["description"] == i18n.text("commands.start", "es")


def test_the_command_menu_waits_out_a_rate_limit(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    telegram.fail_next("setMyCommands", 429, "Too Many Requests: retry after 7", retry_after=7)
    waits = Waits()

    assert ensure_commands(bot, sleep=waits.sleep, clock=waits.clock) == Outcome.REGISTERED
    assert waits.seconds == [7.0]
    assert telegram.set_commands_calls == MENU_LISTS


def test_the_deploy_step_registers_the_webhook_and_the_menu(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    assert register_with_telegram(bot, PUBLIC_URL, "s") == Outcome.REGISTERED
    assert register_with_telegram(bot, PUBLIC_URL, "s") == Outcome.UNCHANGED
    assert telegram.webhook_allowed_updates == ["message", "callback_query"]
    assert telegram.set_commands_calls == MENU_LISTS


# --- a Bot API server that lacks the optional methods ------------------------


def test_a_server_without_a_command_menu_gets_the_webhook_and_the_step_says_what_it_skipped(
    telegram: TelegramStandIn, bot: telebot.TeleBot, log_lines: Callable[[], list[str]]
) -> None:
    telegram.serve_as_minimal()

    status = deploy_step(lambda: (bot, BotCredentials(TOKEN, "s")), PUBLIC_URL, sleep=Waits().sleep)

    assert status == 0
    assert telegram.webhook_url == webhook_url(PUBLIC_URL)
    assert telegram.set_commands_calls == 0
    assert any("command menu skipped" in line and "setMyCommands" in line for line in log_lines())
    [registered] = events(log_lines())
    assert registered["event"] == REGISTERED


@pytest.mark.parametrize(
    "answer",
    [
        ("raw", 404, '{"detail": "Not Found"}'),
        ("raw", 200, '{"result": []}'),
        ("raw", 404, "<html>Not Found</html>"),
        ("api_error", 404, "Not Found: method not found"),
    ],
    ids=["404 without ok", "200 without ok", "404 not JSON", "Telegram's 404"],
)
@pytest.mark.parametrize("method", ["getMyCommands", "setMyCommands"])
def test_a_missing_menu_method_never_fails_the_menu(
    telegram: TelegramStandIn, bot: telebot.TeleBot, method: str, answer: tuple[str, int, str]
) -> None:
    kind, status, body = answer
    if kind == "raw":
        telegram.answer_next(method, status, body, "application/json" if body.startswith("{") else "text/html", 8)
    else:
        telegram.fail_next(method, status, body, times=8)

    outcome = ensure_commands(bot, sleep=Waits().sleep)

    if method == "getMyCommands":
        # Each list set without reading what Telegram shows.
        assert outcome == Outcome.REGISTERED and telegram.set_commands_calls == MENU_LISTS
    else:
        assert outcome == Outcome.SKIPPED and telegram.set_commands_calls == 0


def test_a_server_without_get_webhook_info_gets_the_webhook_set(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    telegram.serve_as_minimal(lacking={"getWebhookInfo"})

    assert ensure_webhook(bot, PUBLIC_URL, "s") == Outcome.REGISTERED
    assert telegram.webhook_url == webhook_url(PUBLIC_URL)


@pytest.mark.parametrize("method", ["getWebhookInfo", "setWebhook", "getMyCommands", "setMyCommands"])
def test_an_html_error_page_from_the_front_end_is_retried(
    telegram: TelegramStandIn, bot: telebot.TeleBot, method: str
) -> None:
    waits = Waits()
    telegram.inject(method, Fault("html", 502, times=2))

    outcome = register_with_telegram(bot, PUBLIC_URL, "s", sleep=waits.sleep, clock=waits.clock)

    assert outcome == Outcome.REGISTERED
    assert waits.seconds == [2.0, 4.0]


def test_an_answer_that_is_no_bot_api_answer_fails_the_step_by_name(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    telegram.answer_next("setWebhook", 200, "<html>captive portal</html>", "text/html")

    with pytest.raises(WebhookNotRegistered, match="setWebhook: the Bot API server answered HTTP 200"):
        ensure_webhook(bot, PUBLIC_URL, "s", sleep=Waits().sleep)


def test_a_rotated_secret_reaches_telegram_only_when_forced(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    """Telegram cannot show the secret it holds: after a rotation, a webhook nobody
    has sent to yet looks registered, and only the operator's --force sets the new one."""
    register_with_telegram(bot, PUBLIC_URL, "old-secret")

    unforced = register_with_telegram(bot, PUBLIC_URL, "new-secret")
    kept = telegram.webhook_secret
    forced = register_with_telegram(bot, PUBLIC_URL, "new-secret", force=True)

    assert (unforced, kept) == (Outcome.UNCHANGED, "old-secret")
    assert (forced, telegram.webhook_secret) == (Outcome.REGISTERED, "new-secret")
    assert telegram.set_webhook_calls == 2


# --- a first deploy: the name does not resolve yet -------------------------------

HOST = "bot.example.com"


def test_a_webhook_telegram_cannot_resolve_yet_is_registered_once_its_name_resolves(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    waits = Waits()
    telegram.webhook_host_resolves_after(HOST, tries=3)

    outcome = ensure_webhook(bot, PUBLIC_URL, "s", sleep=waits.sleep, clock=waits.clock)

    assert outcome is Outcome.REGISTERED
    assert waits.seconds == [2.0, 4.0, 8.0]
    assert telegram.calls.count("setWebhook") == 4 and telegram.set_webhook_calls == 1
    assert telegram.webhook_url == webhook_url(PUBLIC_URL)


@pytest.mark.parametrize(
    "reason",
    [
        # What Telegram answers while its resolver finds no such name (as reported by its users).
        "Failed to resolve host: Name or service not known",
        "Failed to resolve host: Temporary failure in name resolution",
        "Failed to resolve host: Name does not resolve",
    ],
)
def test_every_bad_webhook_that_waiting_can_cure_is_retried(
    telegram: TelegramStandIn, bot: telebot.TeleBot, reason: str
) -> None:
    waits = Waits()
    telegram.fail_next("setWebhook", 400, f"Bad Request: bad webhook: {reason}", times=2)

    assert ensure_webhook(bot, PUBLIC_URL, "s", sleep=waits.sleep, clock=waits.clock) is Outcome.REGISTERED
    assert waits.seconds == [2.0, 4.0]


def test_a_name_that_does_not_resolve_within_the_window_is_given_up(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    waits = Waits()
    telegram.webhook_host_resolves_after(HOST, tries=1000)

    with pytest.raises(WebhookNotRegistered, match="Failed to resolve host"):
        ensure_webhook(bot, PUBLIC_URL, "s", max_wait_s=120, sleep=waits.sleep, clock=waits.clock)

    assert waits.seconds and sum(waits.seconds) <= 120
    assert telegram.webhook_url == ""


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"),
        (400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"),
        (400, "Bad Request: bad webhook: IP address 10.0.0.7 is reserved"),
        (400, "Bad Request: bad webhook: IPv6-only addresses are not allowed"),
        (400, "Bad Request: can't parse URL"),
        (403, "Forbidden: bot was blocked by the user"),
    ],
)
def test_a_refusal_that_waiting_cannot_cure_is_final(
    telegram: TelegramStandIn, bot: telebot.TeleBot, code: int, description: str
) -> None:
    waits = Waits()
    telegram.fail_next("setWebhook", code, description, times=5)

    with pytest.raises(WebhookNotRegistered, match=str(code)):
        ensure_webhook(bot, PUBLIC_URL, "s", sleep=waits.sleep, clock=waits.clock)

    assert waits.seconds == []


# --- the deploy step: its exit status and the line the alarm counts ---------------


@pytest.fixture
def log_lines(restore_logging: None) -> Callable[[], list[str]]:
    stream = io.StringIO()
    logs.configure("bot", "INFO", stream)
    return lambda: stream.getvalue().splitlines()


def events(lines: list[str]) -> list[dict[str, Any]]:
    return [entry for entry in map(json.loads, lines) if "event" in entry]


def test_the_deploy_step_registers_once_the_name_resolves_and_says_so(
    telegram: TelegramStandIn, bot: telebot.TeleBot, log_lines: Callable[[], list[str]]
) -> None:
    waits = Waits()
    telegram.webhook_host_resolves_after(HOST, tries=3)

    status = deploy_step(
        lambda: (bot, BotCredentials(TOKEN, "s")), PUBLIC_URL, window_s=60, sleep=waits.sleep, clock=waits.clock
    )

    assert status == 0
    assert telegram.webhook_url == webhook_url(PUBLIC_URL) and telegram.set_commands_calls == MENU_LISTS
    [registered] = events(log_lines())
    assert registered["event"] == REGISTERED and registered["level"] == "INFO"
    filters = bot_metric_filters()
    assert not [line for line in log_lines() if matches(filters["webhook-registration-failed"], line)]


def test_the_deploy_step_fails_with_an_event_the_alarms_metric_filter_counts(
    telegram: TelegramStandIn, bot: telebot.TeleBot, log_lines: Callable[[], list[str]]
) -> None:
    waits = Waits()
    telegram.webhook_host_resolves_after(HOST, tries=1000)

    status = deploy_step(
        lambda: (bot, BotCredentials(TOKEN, "s")),
        PUBLIC_URL,
        window_s=REGISTRATION_WINDOW_S,
        sleep=waits.sleep,
        clock=waits.clock,
    )

    assert status == 1
    assert sum(waits.seconds) <= REGISTRATION_WINDOW_S
    [failed] = events(log_lines())
    assert failed["event"] == REGISTRATION_FAILED and failed["level"] == "ERROR"
    assert "Failed to resolve host" in failed["message"] and TOKEN not in json.dumps(failed)
    pattern = bot_metric_filters()["webhook-registration-failed"]
    counted = [line for line in log_lines() if matches(pattern, line)]
    assert [json.loads(line) for line in counted] == [failed]


def test_credentials_that_never_load_fail_the_deploy_step_within_its_window(
    telegram: TelegramStandIn, log_lines: Callable[[], list[str]]
) -> None:
    waits = Waits()

    def not_ready() -> tuple[telebot.TeleBot, BotCredentials]:
        raise BotNotReady("the secret's telegram_token is not a bot token (still the placeholder?)")

    status = deploy_step(not_ready, PUBLIC_URL, window_s=60, sleep=waits.sleep, clock=waits.clock)

    assert status == 1
    assert waits.seconds == [15.0, 15.0, 15.0, 15.0]
    [failed] = events(log_lines())
    assert failed["event"] == REGISTRATION_FAILED and "placeholder" in failed["message"]
    assert telegram.calls == []


def as_deploy_step(monkeypatch: pytest.MonkeyPatch, telegram: TelegramStandIn, connection: SimpleNamespace) -> None:
    """`python -m bot register-webhook` as an instance's boot runs it, its bot service
    connecting with `connection` (the bot and its credentials); telebot's settings,
    which the command sets, put back after the test."""
    for name in ("API_URL", "FILE_URL", "CONNECT_TIMEOUT", "READ_TIMEOUT", "RETRY_ON_ERROR"):
        monkeypatch.setattr(apihelper, name, getattr(apihelper, name))
    monkeypatch.setattr(bot_main.service, "build", lambda _settings: SimpleNamespace(telegram=connection))
    for variable, value in {
        "POLYBOT_TELEGRAM_API_URL": telegram.api_url,
        "POLYBOT_PUBLIC_URL": PUBLIC_URL,
        "POLYBOT_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:polybot",
        "POLYBOT_TELEGRAM_SECRET_ID": "polybot/telegram",
    }.items():
        monkeypatch.setenv(variable, value)


def test_python_m_bot_register_webhook_exits_1_at_once_on_a_wrong_token(
    telegram: TelegramStandIn,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: Callable[[], list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """401 is final: the command does not wait out its window, and its last line on
    stderr (the container's log) is the event the alarm counts."""
    settings = Settings(telegram_api_url=telegram.api_url)
    wrong = "7000000009:SOME-OTHER-BOTS-TOKEN-xxxxxxxxxxxxxxxxxxx"
    connection = SimpleNamespace(connect=lambda: (make_bot(wrong, settings), BotCredentials(wrong, "s")))
    as_deploy_step(monkeypatch, telegram, connection)

    status = bot_main.main(["register-webhook"])

    assert status == 1
    assert telegram.webhook_url == ""
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert json.loads(last)["event"] == REGISTRATION_FAILED and "401" in last
    assert matches(bot_metric_filters()["webhook-registration-failed"], last)


def test_python_m_bot_register_webhook_force_sets_the_secret_of_the_credentials(
    telegram: TelegramStandIn, bot: telebot.TeleBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_with_telegram(bot, PUBLIC_URL, "old-secret")
    connection = SimpleNamespace(connect=lambda: (bot, BotCredentials(TOKEN, "new-secret")))
    as_deploy_step(monkeypatch, telegram, connection)

    statuses = [bot_main.main(["register-webhook"]), telegram.webhook_secret]
    statuses += [bot_main.main(["register-webhook", "--force"]), telegram.webhook_secret]

    assert statuses == [0, "old-secret", 0, "new-secret"]
