"""Pointing Telegram at the bot, and its command menu: one idempotent deploy
step, never part of serving.

`python -m bot register-webhook` runs once per bot instance boot (its user
data) with the instance's settings; the local stack calls `ensure_webhook`
too. It reads getWebhookInfo first and calls setWebhook only when Telegram's
registration differs from ours (address, update types) or Telegram reports
that our webhook refuses its calls with 403 (the secret it holds is stale,
e.g. after a rotation). A 429 is waited out for the `retry_after` Telegram
names, 5xx and network errors are retried with backoff, all within
`max_wait_s`, so many instances booting at once settle instead of failing.

`ensure_commands` does the same for the command menu (setMyCommands): the
default list and one per language the bot speaks, each set only when
getMyCommands shows something else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import Enum
from typing import TypeVar

import requests
import telebot
from telebot.apihelper import ApiTelegramException
from telebot.types import BotCommand

from bot.app import WEBHOOK_PATH
from polybot import i18n

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
"""The update types the handlers serve; Telegram sends nothing else."""


class Outcome(Enum):
    UNCHANGED = "already registered"
    REGISTERED = "registered"


COMMANDS = ("start", "help", "history", "settings")
"""The command menu, in this order; each described by the catalogs' `commands.<name>`."""
T = TypeVar("T")


class WebhookNotRegistered(RuntimeError):
    """Telegram refused the registration, or kept failing for longer than allowed."""


def webhook_url(public_url: str) -> str:
    return public_url.rstrip("/") + WEBHOOK_PATH


def _needs_registration(info: telebot.types.WebhookInfo, url: str) -> bool:
    registered = info.allowed_updates if isinstance(info.allowed_updates, list) else ["message"]
    if info.url != url or sorted(registered) != sorted(ALLOWED_UPDATES):
        return True
    # Telegram cannot show the secret it holds; a webhook answering it 403 means it is not ours.
    return "403" in str(info.last_error_message or "")


def _wait_s(exc: Exception, attempt: int) -> float | None:
    """Seconds to wait before trying again after `exc`, or None if trying again cannot help."""
    if isinstance(exc, ApiTelegramException):
        if exc.error_code == 429:
            return float((exc.result_json or {}).get("parameters", {}).get("retry_after", 1))
        if exc.error_code < 500:
            return None
    elif not isinstance(exc, requests.RequestException):
        return None
    return min(2.0**attempt, 30.0)


def commands(language: str) -> list[BotCommand]:
    return [BotCommand(name, i18n.text(f"commands.{name}", language)) for name in COMMANDS]


def _settle(
    what: str,
    call: Callable[[], T],
    max_wait_s: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> T:
    """`call()`, tried again after a 429's retry_after, a 5xx or a network error while
    `max_wait_s` allows; WebhookNotRegistered when Telegram refuses or time runs out."""
    deadline = clock() + max_wait_s
    attempt = 0
    while True:
        try:
            return call()
        except (ApiTelegramException, requests.RequestException) as exc:
            attempt += 1
            wait_s = _wait_s(exc, attempt)
            # Only the error's kind: a requests error's text holds the URL, and the URL the token.
            kind = (
                f"Telegram answered {exc.error_code}" if isinstance(exc, ApiTelegramException) else type(exc).__name__
            )
            if wait_s is None or clock() + wait_s > deadline:
                raise WebhookNotRegistered(f"could not {what}: {kind}") from None
            log.warning("%s failed (%s); trying again in %.0f s", what, kind, wait_s)
            sleep(wait_s)


def ensure_webhook(
    bot: telebot.TeleBot,
    public_url: str,
    secret: str,
    *,
    max_wait_s: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Make Telegram deliver updates to `public_url`'s webhook with `secret`."""
    url = webhook_url(public_url)

    def register() -> Outcome:
        if not _needs_registration(bot.get_webhook_info(), url):
            log.info("webhook already registered at %s", url)
            return Outcome.UNCHANGED
        bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        log.info("webhook registered at %s", url)
        return Outcome.REGISTERED

    return _settle(f"register the webhook at {url}", register, max_wait_s, sleep, clock)


def ensure_commands(
    bot: telebot.TeleBot,
    *,
    max_wait_s: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Make Telegram show the command menu: the default (English) list and one per
    language; REGISTERED when any list had to be set."""
    changed = False
    deadline = clock() + max_wait_s
    for language_code in ("", *i18n.LANGUAGES):
        wanted = commands(language_code or i18n.DEFAULT_LANGUAGE)

        def put(code: str = language_code, wanted: list[BotCommand] = wanted) -> bool:
            shown = bot.get_my_commands(language_code=code or None)
            if [(c.command, c.description) for c in shown] == [(c.command, c.description) for c in wanted]:
                return False
            bot.set_my_commands(wanted, language_code=code or None)
            return True

        what = f"set the commands for {language_code or 'every language'}"
        changed |= _settle(what, put, max(0.0, deadline - clock()), sleep, clock)
    log.info("command menu %s", "set" if changed else "already set")
    return Outcome.REGISTERED if changed else Outcome.UNCHANGED


def register_with_telegram(bot: telebot.TeleBot, public_url: str, secret: str, *, max_wait_s: float = 300.0) -> Outcome:
    """The whole deploy step (`python -m bot register-webhook`): the webhook, then the command menu."""
    webhook = ensure_webhook(bot, public_url, secret, max_wait_s=max_wait_s)
    menu = ensure_commands(bot, max_wait_s=max_wait_s)
    return Outcome.REGISTERED if Outcome.REGISTERED in (webhook, menu) else Outcome.UNCHANGED
