"""Access to the Telegram Bot API: credentials from Secrets Manager, a
configured `telebot.TeleBot`, and the translation of Bot API failures into
Polybot's named errors.

The Bot API base URL is a setting (`POLYBOT_TELEGRAM_API_URL`): Telegram's own,
a self-hosted Bot API server, or the local stand-in in `local/`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
import telebot
from telebot import apihelper
from telebot.apihelper import ApiTelegramException
from telebot.types import ReplyParameters

from polybot import logs
from polybot.errors import (
    FileTooLarge,
    PolybotError,
    TelegramRateLimited,
    TelegramRefused,
    TelegramUnavailable,
)
from polybot.settings import Settings


@dataclass(frozen=True)
class BotCredentials:
    """The secret's two values. The secret is a JSON object
    {"telegram_token": "...", "webhook_secret": "..."}; repr never shows them."""

    telegram_token: str = field(repr=False)
    webhook_secret: str = field(repr=False)

    @classmethod
    def from_secret_string(cls, secret: str) -> BotCredentials:
        values = json.loads(secret)
        return cls(telegram_token=values["telegram_token"], webhook_secret=values.get("webhook_secret", ""))


def load_credentials(secrets_client: object, secret_id: str) -> BotCredentials:
    value = secrets_client.get_secret_value(SecretId=secret_id)  # type: ignore[attr-defined]
    credentials = BotCredentials.from_secret_string(value["SecretString"])
    logs.redact(credentials.telegram_token)
    logs.redact(credentials.webhook_secret)
    return credentials


def use_api_url(api_url: str) -> None:
    # telebot keeps the endpoint in module globals; it is the same switch the
    # library documents for a self-hosted Bot API server.
    base = api_url.rstrip("/")
    apihelper.API_URL = base + "/bot{0}/{1}"  # type: ignore[assignment]
    apihelper.FILE_URL = base + "/file/bot{0}/{1}"  # type: ignore[assignment]


def make_bot(token: str, settings: Settings) -> telebot.TeleBot:
    use_api_url(settings.telegram_api_url)
    # threaded=False: handlers run inside the webhook request, so a failure is
    # visible to the caller instead of dying in a worker thread.
    return telebot.TeleBot(token, threaded=False, parse_mode=None)


def named_error(exc: Exception) -> PolybotError:
    """The named error for a failed Bot API call (see polybot.errors)."""
    if isinstance(exc, ApiTelegramException):
        code = exc.error_code
        description = str(exc.description or "")
        if code == 429:
            retry_after = (exc.result_json or {}).get("parameters", {}).get("retry_after")
            return TelegramRateLimited(f"Telegram asks to retry after {retry_after} s")
        if code == 400 and "too big" in description.lower():
            return FileTooLarge(description)
        if code >= 500:
            return TelegramUnavailable(f"Telegram answered {code}: {description}")
        return TelegramRefused(f"Telegram answered {code}: {description}")
    # Only the type: a requests error's text holds the URL, and the URL holds the
    # token, and this text ends up in the execution history.
    kind = "network error" if isinstance(exc, requests.RequestException) else "error"
    return TelegramUnavailable(f"{kind} talking to Telegram: {type(exc).__name__}")


def bot_from_secret(settings: Settings, secrets_client: object) -> tuple[telebot.TeleBot, BotCredentials]:
    settings.require("telegram_secret_id")
    credentials = load_credentials(secrets_client, settings.telegram_secret_id)
    return make_bot(credentials.telegram_token, settings), credentials


@contextmanager
def telegram_errors() -> Iterator[None]:
    """Turn a failed Bot API call inside the block into Polybot's named error."""
    try:
        yield
    except (ApiTelegramException, requests.RequestException) as exc:
        raise named_error(exc) from exc


def reply_to(request: dict[str, Any]) -> ReplyParameters:
    """Reply parameters quoting the user's message of an ImageRequest."""
    # The user may have deleted their message meanwhile: answer anyway.
    return ReplyParameters(message_id=request["message_id"], allow_sending_without_reply=True)
