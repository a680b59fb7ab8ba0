"""Access to the Telegram Bot API: credentials from Secrets Manager, a
configured `telebot.TeleBot`, and the translation of Bot API failures into
Polybot's named errors.

The Bot API base URL is a setting (`POLYBOT_TELEGRAM_API_URL`): Telegram's own,
a self-hosted Bot API server, or the local stand-in in `local/`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import requests
import telebot
from telebot import apihelper
from telebot.apihelper import ApiException, ApiHTTPException, ApiInvalidJSONException, ApiTelegramException
from telebot.types import ReplyParameters

from polybot import logs
from polybot.contracts.messages import ImageRequest
from polybot.errors import (
    ChatUnavailable,
    FileTooLarge,
    PolybotError,
    TelegramAnswerMalformed,
    TelegramRateLimited,
    TelegramRefused,
    TelegramUnavailable,
)
from polybot.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

# What the Bot API accepts (core.telegram.org/bots/api#sendphoto, #senddocument).
# The local stand-in refuses what Telegram refuses, with these same numbers.
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDES = 10_000
"""sendPhoto: the photo's width and height must not exceed 10000 in total."""
PHOTO_MAX_RATIO = 20
"""sendPhoto: width and height ratio must be at most 20."""
UPLOAD_MAX_BYTES = 50 * 1024 * 1024
"""What a bot may upload as a document."""
PHOTO_SHOWN_SIDE = 2560
"""Telegram scales photos down to this longest side anyway; a photo rendition need not be larger."""

log = logging.getLogger(__name__)


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


def load_credentials(secrets_client: SecretsManagerClient, secret_id: str) -> BotCredentials:
    value = secrets_client.get_secret_value(SecretId=secret_id)
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


def use_timeouts(settings: Settings) -> None:
    """Every Bot API call of this process: at most these seconds to connect and to
    read (telebot's defaults, 15 and 30 s, outlast a Lambda function), no retry
    inside telebot; retries belong to the caller (the workflow, the webhook)."""
    # telebot annotates them as int; requests takes float seconds.
    apihelper.CONNECT_TIMEOUT = settings.telegram_connect_timeout_s  # type: ignore[assignment]
    apihelper.READ_TIMEOUT = settings.telegram_read_timeout_s  # type: ignore[assignment]
    apihelper.RETRY_ON_ERROR = False


_sessions = threading.local()


def _session() -> requests.Session:
    # One connection pool per thread, as telebot keeps its own.
    session: requests.Session | None = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
    return session


def malformed(answer: requests.Response) -> str | None:
    """What makes `answer` no Bot API answer (telebot would fail on it with KeyError
    or TypeError), or None for an answer telebot can read."""
    try:
        body = answer.json()
    except ValueError:
        return "a body that is not JSON"
    if not isinstance(body, dict):
        return "JSON that is not an object"
    ok = body.get("ok")
    if not isinstance(ok, bool):
        return 'JSON without "ok"'
    if ok and "result" not in body:
        return 'JSON without "result"'
    if not ok and not (isinstance(body.get("error_code"), int) and "description" in body):
        return 'an error without "error_code" or "description"'
    return None


def checked_request(method: str, url: str, **kwargs: Any) -> requests.Response:
    """telebot's request sender (apihelper.CUSTOM_REQUEST_SENDER, installed by
    make_bot): the call as telebot makes it, its answer checked before telebot
    reads it. An answer that is no Bot API answer (a server that lacks the method
    answers 404 so, a proxy its HTML page) is TelegramAnswerMalformed, except with
    429 or 5xx, which stay telebot's ApiHTTPException: transient (named_error)."""
    answer = _session().request(method, url, **kwargs)
    problem = malformed(answer)
    if problem is None:
        return answer
    # The URL's last part is the method; the part before it holds the token.
    bot_method = url.rsplit("/", 1)[-1]
    if answer.status_code == 429 or answer.status_code >= 500:
        raise ApiHTTPException(bot_method, answer)
    raise TelegramAnswerMalformed(
        f"{bot_method}: the Bot API server answered HTTP {answer.status_code} with {problem}",
        status=answer.status_code,
    )


def make_bot(token: str, settings: Settings) -> telebot.TeleBot:
    use_api_url(settings.telegram_api_url)
    use_timeouts(settings)
    # telebot's documented hook for the call itself (annotated as None there).
    apihelper.CUSTOM_REQUEST_SENDER = checked_request  # type: ignore[assignment]
    # threaded=False: handlers run inside the webhook request, so a failure is
    # visible to the caller instead of dying in a worker thread.
    return telebot.TeleBot(token, threaded=False, parse_mode=None)


def _retry_after(exc: ApiTelegramException) -> int | None:
    value = (exc.result_json or {}).get("parameters", {}).get("retry_after")
    return int(value) if isinstance(value, int | float) else None


CHAT_CLOSED = (
    "not enough rights to send",
    "have no rights to send a message",
    "need administrator rights in the channel chat",
    "chat_write_forbidden",
    "chat not found",
)
"""Telegram's 400s for a chat that takes no messages from the bot, lower case: a group
that muted it ("Bad Request: not enough rights to send text messages to the chat",
"... to send photos to the chat", "Bad Request: CHAT_WRITE_FORBIDDEN", "Bad Request:
have no rights to send a message"), a channel that took its right to post, a chat
deleted since ("Bad Request: chat not found": every chat id the bot writes to is
one Telegram sent it). The group's or the user's choice, like a 403: ChatUnavailable."""


def named_error(exc: Exception) -> PolybotError:
    """The named error for a failed Bot API call (see polybot.errors)."""
    if isinstance(exc, ApiTelegramException):
        code = exc.error_code
        description = str(exc.description or "")
        if code == 429:
            retry_after = _retry_after(exc)
            return TelegramRateLimited(f"Telegram asks to retry after {retry_after} s", retry_after)
        if code == 400 and "too big" in description.lower() and exc.function_name == "getFile":
            return FileTooLarge(description)
        if code >= 500:
            return TelegramUnavailable(f"Telegram answered {code}: {description}")
        if code == 403 or (code == 400 and any(closed in description.lower() for closed in CHAT_CLOSED)):
            # "Forbidden: bot was blocked by the user", "user is deactivated", "bot
            # was kicked from the group chat", or a 400 that says the chat takes no
            # messages from the bot: the user's doing. A revoked token is 401.
            return ChatUnavailable(f"Telegram answered {code}: {description}")
        return TelegramRefused(f"Telegram answered {code}: {description}")
    if isinstance(exc, ApiHTTPException):
        # Not the Bot API's JSON: a proxy's HTML error page, or a failed file download.
        status = int(getattr(exc.result, "status_code", 0) or 0)
        if status == 429:
            header = str(getattr(exc.result, "headers", {}).get("Retry-After", ""))
            retry_after = int(header) if header.isdigit() else None
            return TelegramRateLimited(f"Telegram asks to retry after {retry_after} s", retry_after)
        if status >= 500 or status == 0:
            return TelegramUnavailable(f"Telegram answered HTTP {status} without a Bot API answer")
        return TelegramAnswerMalformed(f"Telegram answered HTTP {status} without a Bot API answer", status=status)
    if isinstance(exc, ApiInvalidJSONException):
        # A 200 whose body is not JSON (checked_request catches it first where make_bot installed it).
        return TelegramAnswerMalformed("Telegram answered HTTP 200 with a body that is not JSON", status=200)
    # Only the type: a requests error's text holds the URL, and the URL holds the
    # token, and this text ends up in the execution history.
    kind = "network error" if isinstance(exc, requests.RequestException) else "error"
    return TelegramUnavailable(f"{kind} talking to Telegram: {type(exc).__name__}")


def download(token: str, file_path: str, max_bytes: int, settings: Settings) -> bytes:
    """A file's bytes from the Bot API's file endpoint, read in chunks and refused
    (FileTooLarge) as soon as it passes `max_bytes`, within the Telegram timeouts.
    telebot's own download_file has no timeout and reads everything first."""
    url = apihelper.FILE_URL.format(token, file_path)  # type: ignore[attr-defined]
    timeouts = (settings.telegram_connect_timeout_s, settings.telegram_read_timeout_s)
    deadline = time.monotonic() + settings.telegram_download_timeout_s
    with requests.get(url, stream=True, timeout=timeouts) as answer:
        if answer.status_code != 200:
            raise ApiHTTPException("Download file", answer)
        data = bytearray()
        for chunk in answer.iter_content(chunk_size=256 * 1024):
            data += chunk
            if len(data) > max_bytes:
                raise FileTooLarge(f"the file has more than {max_bytes} bytes; bots may download at most {max_bytes}")
            if time.monotonic() > deadline:
                raise requests.Timeout(f"the download took over {settings.telegram_download_timeout_s} s")
    return bytes(data)


def bot_from_secret(settings: Settings, secrets_client: SecretsManagerClient) -> tuple[telebot.TeleBot, BotCredentials]:
    settings.require("telegram_secret_id")
    credentials = load_credentials(secrets_client, settings.telegram_secret_id)
    return make_bot(credentials.telegram_token, settings), credentials


@contextmanager
def telegram_errors() -> Iterator[None]:
    """Turn a failed Bot API call inside the block into Polybot's named error."""
    try:
        yield
    except (ApiException, requests.RequestException) as exc:
        # No `from exc`: its text and traceback hold the URL, and the URL the token.
        raise named_error(exc) from None


def reply_to(request: ImageRequest) -> ReplyParameters:
    """Reply parameters quoting the user's message of an ImageRequest."""
    # The user may have deleted their message meanwhile: answer anyway.
    return ReplyParameters(message_id=request["message_id"], allow_sending_without_reply=True)


# Telegram's descriptions of the two edits that need no retry (core.telegram.org/bots/api#editmessagetext).
NOT_MODIFIED = "message is not modified"
"""The same edit again: what it asks for is already there."""
EDIT_TARGET_GONE = ("message to edit not found", "message can't be edited")
"""The user deleted the message (or it is too old to edit): send a new one instead."""


@dataclass(frozen=True)
class Unchanged:
    """A repeated edit: the message already shows it."""

    message_id: int
    photo: None = None


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ApiTelegramException) and exc.error_code == 400:
        return str(exc.description or "").lower()
    return ""


def server_lacks_method(exc: Exception) -> bool:
    """Whether a failed call says the Bot API server does not do this method: 404
    (Telegram's JSON or any other body), or an answer that is no Bot API answer.
    A self-hosted or alternative Bot API server may lack the optional ones."""
    if isinstance(exc, ApiTelegramException):
        return exc.error_code == 404
    return isinstance(exc, TelegramAnswerMalformed)


EDIT_FAILURES = (ApiException, requests.RequestException, TelegramAnswerMalformed)
"""What a failed edit raises (telebot's errors, the network's, checked_request's)."""


def edit_or_send(edit: Any, send: Any, progress_id: int | None, withdraw: Any = None) -> Any:
    """`edit()` the progress message into the answer, or `send()` the answer as a
    new message when there is none or it cannot be edited. A repeated edit (a
    retry after its answer was lost) is done already: Unchanged.

    The answer never depends on the edit: whatever refuses it for good (any 400
    but "not modified", a 404 from a server that lacks the method, an answer that
    is no Bot API answer) sends the answer anew, then `withdraw()`s the progress
    message where it can (a courtesy: "Looking at your photo…" should not stay
    above the answer). Transient failures (429, 5xx, the network) are raised for
    the caller to retry, as is a chat that takes no message at all (403): a new
    message would meet the same."""
    if progress_id is None:
        return send()
    try:
        return edit()
    except EDIT_FAILURES as exc:
        refusal = _refusal(exc)
        if NOT_MODIFIED in refusal:
            return Unchanged(progress_id)
        error = exc if isinstance(exc, PolybotError) else named_error(exc)
        if error.retryable or error.user_caused:
            raise
        log.warning("the progress message was not edited (%s: %s); the answer goes as a new message", error.name, error)
        # Nothing to withdraw where the user deleted it; one too old to edit may still go.
        gone = EDIT_TARGET_GONE[0] in refusal
    message = send()
    if withdraw is not None and not gone:
        try:
            withdraw()
        except Exception as exc:  # a courtesy; the answer is out
            log.info("the progress message stays (%s)", type(exc).__name__)
    return message


def answer_with_text(
    bot: telebot.TeleBot,
    request: ImageRequest,
    progress_id: int | None,
    text: str,
    markup: telebot.types.InlineKeyboardMarkup | None = None,
) -> Any:
    chat = request["chat_id"]
    return edit_or_send(
        lambda: bot.edit_message_text(text, chat, progress_id, reply_markup=markup),
        lambda: bot.send_message(chat, text, reply_parameters=reply_to(request), reply_markup=markup),
        progress_id,
        None if progress_id is None else partial(bot.delete_message, chat, progress_id),
    )


def media_photo(photo: bytes, caption: str | None = None) -> telebot.types.InputMediaPhoto:
    """A photo for editMessageMedia / sendMediaGroup from its bytes: telebot sends any
    non-string media as an attachment, though its annotations name only str and InputFile."""
    return telebot.types.InputMediaPhoto(photo, caption=caption)  # type: ignore[arg-type]


def answer_with_photo(
    bot: telebot.TeleBot,
    request: ImageRequest,
    progress_id: int | None,
    photo: bytes,
    caption: str,
    markup: telebot.types.InlineKeyboardMarkup | None = None,
) -> Any:
    chat = request["chat_id"]
    return edit_or_send(
        lambda: bot.edit_message_media(media_photo(photo, caption), chat, progress_id, reply_markup=markup),
        lambda: bot.send_photo(chat, photo, caption=caption, reply_parameters=reply_to(request), reply_markup=markup),
        progress_id,
        None if progress_id is None else partial(bot.delete_message, chat, progress_id),
    )


def photo_file_id(message: Any) -> str | None:
    """The file_id Telegram gave the largest size of a sent photo (to send it again later)."""
    sizes = getattr(message, "photo", None) or []
    return str(sizes[-1].file_id) if sizes else None
