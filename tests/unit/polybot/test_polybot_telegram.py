from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
import requests
import telebot
from telebot import apihelper
from telebot.apihelper import ApiTelegramException

from polybot import errors, logs, telegram
from polybot.settings import MissingSetting, Settings

TOKEN = "123456789:AAEhBOweik6ad6PsVMRxjeQKEXAMPLEtoken"


def api_error(code: int, description: str, **parameters: Any) -> ApiTelegramException:
    result_json: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        result_json["parameters"] = parameters
    return ApiTelegramException("getFile", None, result_json)


class SecretsManagerStandIn:
    """The one call of boto3's Secrets Manager client that the code makes."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.asked: list[str] = []

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        self.asked.append(SecretId)
        return {"Name": SecretId, "SecretString": self.secrets[SecretId]}


@pytest.fixture
def api_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test change telebot's endpoint globals; they are restored after it."""
    monkeypatch.setattr(apihelper, "API_URL", apihelper.API_URL)
    monkeypatch.setattr(apihelper, "FILE_URL", apihelper.FILE_URL)


def test_credentials_repr_never_shows_the_values() -> None:
    credentials = telegram.BotCredentials(telegram_token=TOKEN, webhook_secret="hook-secret-value")

    assert TOKEN not in repr(credentials)
    assert "hook-secret-value" not in repr(credentials)
    assert TOKEN not in str(credentials)


def test_credentials_from_secret_string() -> None:
    secret = json.dumps({"telegram_token": TOKEN, "webhook_secret": "hook-secret-value"})

    credentials = telegram.BotCredentials.from_secret_string(secret)

    assert credentials.telegram_token == TOKEN
    assert credentials.webhook_secret == "hook-secret-value"


def test_credentials_without_a_webhook_secret_have_an_empty_one() -> None:
    credentials = telegram.BotCredentials.from_secret_string(json.dumps({"telegram_token": TOKEN}))

    assert credentials.webhook_secret == ""


def test_credentials_without_a_token_are_refused() -> None:
    with pytest.raises(KeyError, match="telegram_token"):
        telegram.BotCredentials.from_secret_string(json.dumps({"webhook_secret": "x"}))


def test_rate_limit_is_retryable_and_says_when() -> None:
    error = telegram.named_error(api_error(429, "Too Many Requests: retry after 7", retry_after=7))

    assert isinstance(error, errors.TelegramRateLimited)
    assert error.retryable
    assert str(error) == "Telegram asks to retry after 7 s"


def test_file_too_big_is_file_too_large() -> None:
    error = telegram.named_error(api_error(400, "Bad Request: file is too big"))

    assert isinstance(error, errors.FileTooLarge)
    assert not error.retryable
    assert str(error) == "Bad Request: file is too big"


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_server_errors_are_telegram_unavailable(code: int) -> None:
    error = telegram.named_error(api_error(code, "Bad Gateway"))

    assert isinstance(error, errors.TelegramUnavailable)
    assert str(error) == f"Telegram answered {code}: Bad Gateway"


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (403, "Forbidden: bot was blocked by the user"),
        (400, "Bad Request: chat not found"),
        (400, "Bad Request: message to be replied not found"),
        (401, "Unauthorized"),
        (404, "Not Found"),
    ],
)
def test_other_refusals_are_telegram_refused(code: int, description: str) -> None:
    error = telegram.named_error(api_error(code, description))

    assert isinstance(error, errors.TelegramRefused)
    assert not error.retryable
    assert str(error) == f"Telegram answered {code}: {description}"


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (403, "Forbidden: bot was blocked by the user"),
        (403, "Forbidden: user is deactivated"),
        (403, "Forbidden: bot was kicked from the group chat"),
        (403, "Forbidden: bot is not a member of the supergroup chat"),
        # A group that mutes the bot, a channel that took its right to post, a chat deleted since.
        (400, "Bad Request: not enough rights to send text messages to the chat"),
        (400, "Bad Request: not enough rights to send photos to the chat"),
        (400, "Bad Request: CHAT_WRITE_FORBIDDEN"),
        (400, "Bad Request: have no rights to send a message"),
        (400, "Bad Request: need administrator rights in the channel chat"),
        (400, "Bad Request: chat not found"),
    ],
)
def test_a_chat_that_takes_no_messages_from_the_bot_is_the_users_doing(code: int, description: str) -> None:
    error = telegram.named_error(api_error(code, description))

    assert isinstance(error, errors.ChatUnavailable)
    assert error.user_caused and not error.retryable


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (401, "Unauthorized"),
        (400, "Bad Request: message to be replied not found"),
        (400, "Bad Request: can't parse entities: unsupported start tag"),
        (400, "Bad Request: message text is empty"),
    ],
)
def test_a_refusal_that_may_be_ours_is_not_the_users_doing(code: int, description: str) -> None:
    # A revoked token (401), or a call of ours that breaks a rule of the Bot API.
    error = telegram.named_error(api_error(code, description))

    assert not error.user_caused and not error.retryable


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError(
            f"HTTPSConnectionPool(host='api.telegram.org', port=443): Max retries exceeded with url: "
            f"/bot{TOKEN}/getFile?file_id=abc (Caused by NewConnectionError('Connection refused'))"
        ),
        requests.ReadTimeout(
            f"Read timed out. (read timeout=30) https://api.telegram.org/file/bot{TOKEN}/photos/1.jpg"
        ),
    ],
    ids=["connection", "timeout"],
)
def test_a_network_error_is_unavailable_without_the_url_or_token(failure: Exception) -> None:
    error = telegram.named_error(failure)

    assert isinstance(error, errors.TelegramUnavailable)
    assert TOKEN not in str(error)
    assert "api.telegram.org" not in str(error)
    assert str(error) == f"network error talking to Telegram: {type(failure).__name__}"


def test_an_unexpected_error_is_unavailable_naming_only_its_type() -> None:
    error = telegram.named_error(RuntimeError(f"something about {TOKEN}"))

    assert isinstance(error, errors.TelegramUnavailable)
    assert str(error) == "error talking to Telegram: RuntimeError"


def test_telegram_errors_reraises_an_api_error_as_the_named_error() -> None:
    original = api_error(403, "Forbidden: bot was blocked by the user")

    with pytest.raises(errors.TelegramRefused) as raised, telegram.telegram_errors():
        raise original

    # Not chained: the original's text and traceback may hold the URL, and the URL the token.
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert str(raised.value) == "Telegram answered 403: Forbidden: bot was blocked by the user"


def test_telegram_errors_reraises_a_network_error_without_the_token() -> None:
    with pytest.raises(errors.TelegramUnavailable) as raised, telegram.telegram_errors():
        raise requests.ConnectionError(f"Max retries exceeded with url: /bot{TOKEN}/sendPhoto")

    assert TOKEN not in str(raised.value)


def test_telegram_errors_lets_other_errors_through() -> None:
    with pytest.raises(KeyError, match="file_path"), telegram.telegram_errors():
        raise KeyError("file_path")


def test_telegram_errors_is_silent_without_an_error() -> None:
    with telegram.telegram_errors():
        value = 1 + 1

    assert value == 2


def test_use_api_url_points_calls_and_file_downloads_at_the_server(api_urls: None) -> None:
    telegram.use_api_url("http://127.0.0.1:8081/")

    assert apihelper.API_URL == "http://127.0.0.1:8081/bot{0}/{1}"
    assert apihelper.FILE_URL == "http://127.0.0.1:8081/file/bot{0}/{1}"
    assert apihelper.API_URL.format(TOKEN, "getMe") == f"http://127.0.0.1:8081/bot{TOKEN}/getMe"
    assert apihelper.FILE_URL.format(TOKEN, "photos/file_1.jpg") == (
        f"http://127.0.0.1:8081/file/bot{TOKEN}/photos/file_1.jpg"
    )


def test_make_bot_uses_the_configured_api_and_runs_handlers_inline(api_urls: None) -> None:
    bot = telegram.make_bot(TOKEN, Settings(telegram_api_url="https://bot-api.internal"))

    assert isinstance(bot, telebot.TeleBot)
    assert bot.token == TOKEN
    assert bot.threaded is False
    assert bot.parse_mode is None
    assert apihelper.API_URL == "https://bot-api.internal/bot{0}/{1}"


def test_bot_from_secret_needs_the_secret_id() -> None:
    with pytest.raises(MissingSetting, match="POLYBOT_TELEGRAM_SECRET_ID"):
        telegram.bot_from_secret(Settings(), SecretsManagerStandIn({}))


def test_bot_from_secret_reads_the_secret_and_masks_its_values_in_logs(api_urls: None, restore_logging: None) -> None:
    secret = json.dumps({"telegram_token": TOKEN, "webhook_secret": "hook-secret-value"})
    secrets_manager = SecretsManagerStandIn({"polybot/telegram": secret})
    settings = Settings(telegram_secret_id="polybot/telegram", telegram_api_url="http://127.0.0.1:8081")

    bot, credentials = telegram.bot_from_secret(settings, secrets_manager)

    assert secrets_manager.asked == ["polybot/telegram"]
    assert bot.token == TOKEN
    assert credentials.webhook_secret == "hook-secret-value"
    assert apihelper.API_URL == "http://127.0.0.1:8081/bot{0}/{1}"
    stream = io.StringIO()
    logs.configure("test", stream=stream)
    logging.getLogger("test").warning("GET /bot%s/getMe with %s", TOKEN, "hook-secret-value")
    line = stream.getvalue()
    assert TOKEN not in line
    assert "hook-secret-value" not in line
    assert "GET /bot***/getMe with ***" in line


def test_reply_to_quotes_the_users_message_even_if_it_is_gone() -> None:
    parameters = telegram.reply_to({"chat_id": 4242, "message_id": 77})

    assert parameters.message_id == 77
    assert parameters.allow_sending_without_reply is True
