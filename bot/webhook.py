"""Pointing Telegram at the bot: one idempotent deploy step, never part of serving.

`python -m bot register-webhook` runs once per bot instance boot (its user
data) with the instance's settings; the local stack calls `ensure_webhook`
too. It reads getWebhookInfo first and calls setWebhook only when Telegram's
registration differs from ours (address, update types) or Telegram reports
that our webhook refuses its calls with 403 (the secret it holds is stale,
e.g. after a rotation). A 429 is waited out for the `retry_after` Telegram
names, 5xx and network errors are retried with backoff, all within
`max_wait_s`, so many instances booting at once settle instead of failing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import Enum

import requests
import telebot
from telebot.apihelper import ApiTelegramException

from bot.app import WEBHOOK_PATH

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message"]
"""The update types the handlers serve; Telegram sends nothing else."""


class Outcome(Enum):
    UNCHANGED = "already registered"
    REGISTERED = "registered"


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
    deadline = clock() + max_wait_s
    attempt = 0
    while True:
        try:
            if not _needs_registration(bot.get_webhook_info(), url):
                log.info("webhook already registered at %s", url)
                return Outcome.UNCHANGED
            bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
            log.info("webhook registered at %s", url)
            return Outcome.REGISTERED
        except (ApiTelegramException, requests.RequestException) as exc:
            attempt += 1
            wait_s = _wait_s(exc, attempt)
            # Only the error's kind: a requests error's text holds the URL, and the URL the token.
            kind = (
                f"Telegram answered {exc.error_code}" if isinstance(exc, ApiTelegramException) else type(exc).__name__
            )
            if wait_s is None or clock() + wait_s > deadline:
                raise WebhookNotRegistered(f"could not register the webhook at {url}: {kind}") from None
            log.warning("registering the webhook failed (%s); trying again in %.0f s", kind, wait_s)
            sleep(wait_s)
