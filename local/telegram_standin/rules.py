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
from polybot.telegram import PHOTO_MAX_BYTES, PHOTO_MAX_RATIO, PHOTO_MAX_SIDES, PHOTO_SHOWN_SIDE, UPLOAD_MAX_BYTES

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


def as_kept(photo: bytes) -> bytes:
    """A photo as Telegram keeps and shows it (after check_photo): re-encoded as a
    JPEG no longer than PHOTO_SHOWN_SIDE on its long side when it is larger, so a
    photo sent larger arrives smaller, as in any Telegram client."""
    with Image.open(io.BytesIO(photo)) as image:
        if max(image.size) <= PHOTO_SHOWN_SIDE:
            return photo
        scale = PHOTO_SHOWN_SIDE / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        shown = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    shown.save(buffer, "JPEG", quality=87)
    return buffer.getvalue()


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


# --- groups: who is in them, and which of their messages reach the bot ---------------

GROUP_TYPES = ("group", "supergroup")
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
ADMIN_STATUSES = ("creator", "administrator")
SERVICE_FIELDS = (
    "new_chat_members",
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "supergroup_chat_created",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "pinned_message",
)
"""The service messages a group shows (people added or removed, a new title, ...)."""

_COMMAND = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{5,32})?(?![\w/@])")
_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{5,32}")


def utf16_length(text: str) -> int:
    """A length as Telegram counts it in entities: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def entities_of(text: str) -> list[dict[str, Any]]:
    """The `bot_command` and `mention` entities Telegram finds in a text or caption
    (offsets and lengths in UTF-16 code units, as the Bot API gives them). A
    `text_mention` (a name linked to a user without a username) is the sender's
    choice, not found in the text: a caller adds it."""
    found = [("bot_command", m) for m in _COMMAND.finditer(text)] + [("mention", m) for m in _MENTION.finditer(text)]
    found.sort(key=lambda pair: pair[1].start())
    return [
        {"type": kind, "offset": utf16_length(text[: m.start()]), "length": utf16_length(m.group())}
        for kind, m in found
    ]


def entity_text(text: str, entity: dict[str, Any]) -> str:
    """The part of `text` an entity covers (its offsets count UTF-16 code units)."""
    units = text.encode("utf-16-le")
    start, length = int(entity.get("offset", 0)), int(entity.get("length", 0))
    return units[2 * start : 2 * (start + length)].decode("utf-16-le", errors="replace")


def _words_and_entities(message: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    if "text" in message:
        return str(message["text"]), list(message.get("entities") or [])
    return str(message.get("caption") or ""), list(message.get("caption_entities") or [])


def commands_in(message: dict[str, Any]) -> list[tuple[str, str]]:
    """Each bot command of a message as (command, the bot it names or "")."""
    text, entities = _words_and_entities(message)
    commands = []
    for entity in entities:
        if entity.get("type") == "bot_command":
            command, _, bot = entity_text(text, entity).partition("@")
            commands.append((command.lower(), bot.lower()))
    return commands


def mentions(message: dict[str, Any], bot: dict[str, Any]) -> bool:
    """Whether the message mentions `bot`: by @username (a `mention` entity), or by a
    name linked to it (a `text_mention` entity naming its user)."""
    text, entities = _words_and_entities(message)
    username = "@" + str(bot.get("username", "")).lower()
    for entity in entities:
        if entity.get("type") == "mention" and entity_text(text, entity).lower() == username:
            return True
        if entity.get("type") == "text_mention" and (entity.get("user") or {}).get("id") == bot.get("id"):
            return True
    return False


def explicitly_for(message: dict[str, Any], bot: dict[str, Any]) -> bool:
    """Whether a message is explicitly meant for `bot`: sent by it, a command naming
    it (/command@bot) or a mention of it."""
    if (message.get("from") or {}).get("id") == bot.get("id"):
        return True
    username = str(bot.get("username", "")).lower()
    return any(named == username for _, named in commands_in(message)) or mentions(message, bot)


def reaches_bot(
    message: dict[str, Any],
    bot: dict[str, Any],
    *,
    privacy_mode: bool,
    bot_status: str,
    last_bot_id: int | None,
    other_bots: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
) -> bool:
    """Whether Telegram delivers a group's `message` to `bot` (a User), whose status
    in the group is `bot_status`, with privacy mode on or off; `last_bot_id` is the
    last bot that sent a message to the group (None: none yet), `other_bots` the
    group's other bots. Telegram's Bot FAQ, "What messages will my bot get?"
    (https://core.telegram.org/bots/faq#what-messages-will-my-bot-get):

        1. All bots, regardless of settings, will receive: All service messages.
           All messages from private chats with users. All messages from channels
           where they are a member.
        2. Bot admins and bots with privacy mode disabled will receive all messages
           except messages sent by other bots.
        3. Bots with privacy mode enabled will receive: Commands explicitly meant
           for them (e.g., /command@this_bot). General commands from users (e.g.
           /start) if the bot was the last bot to send a message to the group.
           Messages sent via this bot. Replies to any messages implicitly or
           explicitly meant for this bot.
        Note that each particular message can only be available to one
        privacy-enabled bot at a time, i.e., a reply to bot A containing an
        explicit command for bot B or sent via bot C will only be available to
        bot A. Replies have the highest priority.

    and BotFather's /setprivacy: "'Enable' - your bot will only receive messages
    that either start with the '/' symbol or mention the bot by username."

    Choices where the sources are silent: a group where no bot has spoken yet
    counts its one bot as the last (a bare /start reaches a group's only bot);
    a `text_mention` of the bot is a mention, as its @username is; "implicitly
    meant" is played as "explicitly meant" (the bot's own messages, commands
    naming it, mentions of it); inline mode ("sent via") is not played; the
    other bots are privacy-enabled too (a reply to one goes to it alone)."""
    if bot_status in ("left", "kicked"):
        return False
    sender = message.get("from") or {}
    if sender.get("is_bot") and sender.get("id") != bot.get("id"):
        return False
    if any(name in message for name in SERVICE_FIELDS):
        return True
    if not privacy_mode or bot_status in ADMIN_STATUSES:
        return True
    replied = message.get("reply_to_message")
    if replied:
        if explicitly_for(replied, bot):
            return True
        if any(explicitly_for(replied, other) for other in other_bots):
            return False  # Replies have the highest priority: it is the other bot's.
    username = str(bot.get("username", "")).lower()
    for _, named in commands_in(message):
        if named == username or (not named and last_bot_id in (None, bot.get("id"))):
            return True
    return mentions(message, bot)


def chat_member(user: dict[str, Any], status: str) -> dict[str, Any]:
    """getChatMember's ChatMember for `user` with `status`, with the fields the Bot
    API gives each kind (an owner, an administrator with its rights, a restricted
    member with its permissions, ...)."""
    if status not in MEMBER_STATUSES:
        raise ValueError(f"a member's status is one of {MEMBER_STATUSES}, not {status!r}")
    member: dict[str, Any] = {"user": user, "status": status}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            dict.fromkeys(
                (
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_pin_messages",
                ),
                True,
            ),
            can_be_edited=False,
            is_anonymous=False,
            can_promote_members=False,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
        )
    elif status == "restricted":
        member.update(
            dict.fromkeys(
                (
                    "can_send_messages",
                    "can_send_audios",
                    "can_send_documents",
                    "can_send_photos",
                    "can_send_videos",
                    "can_send_video_notes",
                    "can_send_voice_notes",
                    "can_send_polls",
                    "can_send_other_messages",
                    "can_add_web_page_previews",
                    "can_change_info",
                    "can_invite_users",
                    "can_pin_messages",
                    "can_manage_topics",
                ),
                False,
            ),
            is_member=True,
            until_date=0,
        )
    elif status == "kicked":
        member["until_date"] = 0
    return member
