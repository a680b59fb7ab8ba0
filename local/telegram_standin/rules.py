"""The Bot API's rules as Telegram enforces them, as pure functions over a call's
parameters: the limits on texts, captions, photos, uploads, media groups, inline
buttons, callback answers and bot commands, each refused with the description
Telegram gives (`Refused`).

Called by the stand-in's Bot API methods (methods.py) and the simulated user
(user.py); the unit tests call them directly.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

from polybot.summary import CAPTION_LIMIT, TEXT_LIMIT
from polybot.telegram import PHOTO_MAX_BYTES, PHOTO_MAX_RATIO, PHOTO_MAX_SIDES, UPLOAD_MAX_BYTES

CALLBACK_DATA_MAX_BYTES = 64
MEDIA_GROUP_SIZES = range(2, 11)
CALLBACK_ANSWER_S = 15.0
"""How long a callback query can be answered; Telegram gives no figure, clients give up after about this."""
CALLBACK_TEXT_LIMIT = 200
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
COMMANDS_LIMIT = 100
COMMAND_DESCRIPTION_LIMIT = 256
LANGUAGE_CODE = re.compile(r"[a-z]{2}")

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


BAD_WEBHOOK = "Bad Request: bad webhook: {reason}"
"""setWebhook's 400 when Telegram's own check of the address fails: it resolves the
name and connects before it answers."""
UNRESOLVABLE_HOST = "Failed to resolve host: Name or service not known"
"""The reason Telegram gives while the address's name does not resolve (a DNS record
not created yet, or a missing name its resolver still remembers)."""


def webhook_host(url: Any) -> str:
    """The host name of a webhook address ("" for none)."""
    return urlsplit(str(url or "")).hostname or ""


class Refused(Exception):
    """A Bot API call Telegram refuses: 400 (or `code`) with Telegram's description,
    and for a 429 the seconds it asks the caller to wait (`retry_after`)."""

    def __init__(self, description: str, code: int = 400, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.description, self.code, self.retry_after = description, code, retry_after


def json_param(value: Any, name: str) -> Any:
    """A parameter that carries JSON (media, reply_markup, commands, scope), parsed
    if it came as a string (a query string or a form) rather than in a JSON body."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise Refused(f"Bad Request: can't parse {name} JSON object") from None
    if value is None:
        raise Refused(f"Bad Request: parameter {name} is required")
    return value


def message_text(value: Any, too_long: str) -> str:
    """The text of sendMessage or editMessageText: not blank, at most TEXT_LIMIT
    characters (the two methods say "too long" in their own words)."""
    text = str(value or "")
    if not text.strip():
        raise Refused("Bad Request: message text is empty")
    if len(text) > TEXT_LIMIT:
        raise Refused(f"Bad Request: {too_long}")
    return text


def caption(value: Any) -> str | None:
    if value is not None and len(str(value)) > CAPTION_LIMIT:
        raise Refused("Bad Request: message caption is too long")
    return None if value is None else str(value)


def markup(params: dict[str, Any]) -> dict[str, Any] | None:
    """The inline keyboard of a call, refused as Telegram refuses bad buttons."""
    if not params.get("reply_markup"):
        return None
    keyboard = json_param(params["reply_markup"], "reply_markup")
    for row in keyboard.get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text", "")).strip():
                raise Refused("Bad Request: BUTTON_TEXT_INVALID")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_MAX_BYTES:
                raise Refused("Bad Request: BUTTON_DATA_INVALID")
    return dict(keyboard)


def reply_to_message_id(params: dict[str, Any]) -> int | None:
    """The message a call answers: `reply_parameters` (Bot API 7), or the older `reply_to_message_id`."""
    reply = params.get("reply_parameters")
    if reply:
        reply = json_param(reply, "reply parameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        if isinstance(message_id, bool) or not isinstance(message_id, int | str):
            raise Refused('Bad Request: field "message_id" must be of type Integer')
        try:
            return int(message_id)
        except ValueError:
            raise Refused('Bad Request: field "message_id" must be of type Integer') from None
    if params.get("reply_to_message_id"):
        return int(params["reply_to_message_id"])
    return None


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def check_photo(photo: bytes) -> None:
    """sendPhoto's limits, for edited media too: 10 MB, width + height 10000, ratio 20."""
    if len(photo) > PHOTO_MAX_BYTES:
        raise Refused("Bad Request: PHOTO_INVALID_DIMENSIONS")
    try:
        width, height = image_size(photo)
    except Exception:
        raise Refused("Bad Request: IMAGE_PROCESS_FAILED") from None
    if width + height > PHOTO_MAX_SIDES or max(width, height) > PHOTO_MAX_RATIO * min(width, height):
        raise Refused("Bad Request: PHOTO_INVALID_DIMENSIONS")


def check_upload(data: bytes) -> None:
    """The 50 MB a bot may upload; Telegram's front end refuses more with a 413."""
    if len(data) > UPLOAD_MAX_BYTES:
        raise Refused("Request Entity Too Large", 413)


def check_download(size: int, limit: int) -> None:
    """getFile serves files of at most `limit` bytes (20 MB on Telegram's Bot API)."""
    if size > limit:
        raise Refused("Bad Request: file is too big")


def media_group(params: dict[str, Any]) -> list[dict[str, Any]]:
    """sendMediaGroup's `media`: 2 to 10 photos, and no inline keyboard."""
    media = json_param(params.get("media"), "media")
    if not isinstance(media, list) or len(media) not in MEDIA_GROUP_SIZES:
        raise Refused("Bad Request: media group must include 2-10 items")
    if "reply_markup" in params:
        raise Refused("Bad Request: sendMediaGroup has no reply_markup")
    if any(item.get("type") != "photo" for item in media):
        raise Refused("Bad Request: the stand-in serves photo media groups only")
    return media


def callback_answer_text(value: Any) -> Any:
    """answerCallbackQuery's `text` (the toast), at most CALLBACK_TEXT_LIMIT characters."""
    if value is not None and len(str(value)) > CALLBACK_TEXT_LIMIT:
        raise Refused("Bad Request: MESSAGE_TOO_LONG")
    return value


def bot_commands(value: Any) -> list[dict[str, Any]]:
    """setMyCommands' `commands`: at most COMMANDS_LIMIT, each named as Telegram
    allows (lower-case letters, digits, underscores) with a 1-256 character description."""
    commands = json_param(value, "commands")
    if not isinstance(commands, list) or len(commands) > COMMANDS_LIMIT:
        raise Refused("Bad Request: too many commands")
    for command in commands:
        name, description = str(command.get("command", "")), str(command.get("description", ""))
        if not COMMAND_NAME.fullmatch(name):
            raise Refused("Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= COMMAND_DESCRIPTION_LIMIT:
            raise Refused("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
    return [{"command": c["command"], "description": c["description"]} for c in commands]


def commands_scope(params: dict[str, Any]) -> tuple[str, str]:
    """Which command menu a call means: (scope type, language code); "" is every language."""
    scope = json_param(params.get("scope"), "scope") if params.get("scope") else {"type": "default"}
    language = str(params.get("language_code") or "")
    if language and not LANGUAGE_CODE.fullmatch(language):
        raise Refused("Bad Request: invalid language code specified")
    return str(scope.get("type", "default")), language


BLOCKED = "Forbidden: bot was blocked by the user"
KICKED = "Forbidden: bot was kicked from the group chat"
CHAT_NOT_FOUND = "Bad Request: chat not found"
NOT_ENOUGH_RIGHTS = "Bad Request: not enough rights to send {what} to the chat"
"""What a group that took the bot's right to write answers a send (the group muted it)."""
MUTED_SENDS = {
    "sendMessage": "text messages",
    "sendPhoto": "photos",
    "sendMediaGroup": "photos",
    "sendDocument": "documents",
}
CHAT_WRITE_FORBIDDEN = "Bad Request: CHAT_WRITE_FORBIDDEN"
"""A muted group's answer to the calls that have no "not enough rights" text of their own."""
CLOSED_CHAT_STATES = ("blocked", "kicked", "muted", "gone")
"""How a chat can close itself to the bot: its user blocked it, its group kicked it
out or took its right to write, or the chat was deleted."""


CHAT_METHODS = ("sendChatAction", "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "deleteMessage")
"""The methods that always name a chat (edits may name an inline message instead)."""


def chat_id(params: dict[str, Any], method: str = "") -> int | None:
    """The call's chat, None for a call without one; an id that is not an integer names
    no chat Telegram knows (400 "chat not found")."""
    value = params.get("chat_id")
    if value is None or value == "":
        if method in CHAT_METHODS:
            raise Refused("Bad Request: chat_id is empty")
        return None
    try:
        return int(str(value))
    except ValueError:
        raise Refused(CHAT_NOT_FOUND) from None


def check_chat_open(method: str, closed: str | None) -> None:
    """Refuse `method` in a chat that closed itself to the bot (`closed`, one of
    CLOSED_CHAT_STATES) with Telegram's own answer."""
    if closed == "blocked":
        raise Refused(BLOCKED, 403)
    if closed == "kicked":
        raise Refused(KICKED, 403)
    if closed == "gone":
        raise Refused(CHAT_NOT_FOUND)
    if closed == "muted" and method != "deleteMessage":
        # A muted member may still delete its own messages; it may not write or edit.
        what = MUTED_SENDS.get(method)
        raise Refused(NOT_ENOUGH_RIGHTS.format(what=what) if what else CHAT_WRITE_FORBIDDEN)
