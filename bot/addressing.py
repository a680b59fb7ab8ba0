"""Whether a message is meant for Polybot, and what it asks of it: the decision
that keeps Polybot quiet in groups unless addressed, the same under Telegram's
privacy mode on (Telegram delivers only messages meant for the bot, and every
bare command) and off or as an admin (Telegram delivers everything).

In a group or supergroup a photo (or image file) is analysed when its caption
mentions Polybot or carries /detect, or when it replies to one of Polybot's
messages; /detect or a mention replying to a photo asks for that photo; a
command naming another bot (/help@other_bot) is never Polybot's; everything else
(chatter, stickers, unaddressed photos, replies to Polybot that are not photos)
gets nothing. A private chat keeps its conversation: every photo is analysed and
other messages get a hint. Pure: `route` reads the message and who Polybot is
(`Identity`, from getMe); bot/handlers.py acts on the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from telebot import types

GROUP_CHATS = ("group", "supergroup")
DETECT = "detect"
"""The command that asks for the photo it replies to."""
COMMANDS = frozenset({"start", "help", "history", "settings", "privacy", "forget", DETECT})
"""The commands Polybot answers; in a group, another bare command belongs to some other bot."""
ADMINS_ONLY = frozenset({"settings", "forget"})
"""In a group, only its administrators may use these (they change or delete the group's own records)."""


class Route(Enum):
    IGNORE = "not meant for Polybot"
    COMMAND = "a command for Polybot: its handler answers"
    IMAGE = "analyse this message's image"
    REPLIED_IMAGE = "analyse the image of the message it replies to"
    USAGE = "meant for Polybot, with no image to look at: say how to ask"
    CONVERSATION = "a private chat's other message: the private handlers answer"


@dataclass(frozen=True)
class Identity:
    """Who Polybot is on Telegram (getMe)."""

    id: int
    username: str


def in_group(message: types.Message | types.InaccessibleMessage) -> bool:
    return getattr(message.chat, "type", None) in GROUP_CHATS


GENERIC_MIME_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
"""What a client says of a file whose type it does not know (or nothing): a real
JPEG arrives so from some apps and file managers. Such a file may be an image,
and only its bytes tell: StageImage reads them (polybot.imaging sniffs the
format) and refuses a non-image there, with the workflow's plain refusal."""


def may_be_image(mime_type: str | None) -> bool:
    """Whether a file with this MIME type is worth fetching to look at its bytes:
    an image type, or one that says nothing. A type that names something else
    (application/pdf, text/*, video/*) is refused by the bot at once."""
    essence = str(mime_type or "").split(";", 1)[0].strip().lower()
    return essence.startswith("image/") or essence in GENERIC_MIME_TYPES


def has_image(message: types.Message | None) -> bool:
    """A photo, or a file that may be an image (may_be_image)."""
    if not isinstance(message, types.Message):
        return False
    if message.photo:
        return True
    document = message.document
    return isinstance(document, types.Document) and may_be_image(document.mime_type)


def text_of(message: types.Message) -> str | None:
    """The message's text; None for a message without one (a photo, a sticker)."""
    return message.text if isinstance(message.text, str) else None


def _words(message: types.Message) -> tuple[str, list[types.MessageEntity]]:
    text = text_of(message)
    if text is not None:
        entities = message.entities
    else:
        text = message.caption if isinstance(message.caption, str) else ""
        entities = message.caption_entities
    return text, [e for e in entities or [] if isinstance(e, types.MessageEntity)]


def _covered(text: str, entity: types.MessageEntity) -> str:
    """The words an entity covers (Telegram counts its offsets in UTF-16 code units);
    "" for an entity whose offsets are not numbers."""
    start, length = entity.offset, entity.length
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (start, length)):
        return ""
    units = text.encode("utf-16-le")
    return units[2 * start : 2 * (start + length)].decode("utf-16-le", errors="replace")


def commands(message: types.Message) -> list[tuple[str, str, int]]:
    """Each bot command of a text or caption as (command, the bot it names or "", offset)."""
    text, entities = _words(message)
    found = []
    for entity in entities:
        if entity.type == "bot_command":
            command, _, named = _covered(text, entity).lstrip("/").partition("@")
            found.append((command.lower(), named.lower(), entity.offset))
    return found


def mentions(message: types.Message, me: Identity) -> bool:
    """Whether the text or caption mentions Polybot: @username, or a name linked to it."""
    text, entities = _words(message)
    for entity in entities:
        if entity.type == "mention" and _covered(text, entity).lower() == "@" + me.username.lower():
            return True
        user = entity.user
        if entity.type == "text_mention" and isinstance(user, types.User) and user.id == me.id:
            return True
    return False


def replies_to_me(message: types.Message, me: Identity) -> bool:
    replied = message.reply_to_message
    sender = getattr(replied, "from_user", None)
    return isinstance(sender, types.User) and sender.id == me.id


def leading_command(message: types.Message, me: Identity) -> tuple[str, bool] | None:
    """The command a text starts with (as telebot routes commands), and whether it
    is Polybot's to answer: bare, or naming Polybot."""
    if text_of(message) is None:
        return None
    leading = [(command, named) for command, named, offset in commands(message) if offset == 0]
    if not leading:
        return None
    command, named = leading[0]
    return command, named in ("", me.username.lower())


def route(message: types.Message, me: Callable[[], Identity]) -> Route:
    """What Polybot does with `message`; `me()` (getMe, cached by the caller) is
    asked only where the answer depends on who Polybot is."""
    group = in_group(message)
    needs_me = group or "@" in (text_of(message) or "")
    identity = me() if needs_me else Identity(0, "")
    command = leading_command(message, identity)
    if command is not None:
        name, ours = command
        if not ours or (group and name not in COMMANDS):
            return Route.IGNORE
        if name == DETECT:
            return Route.REPLIED_IMAGE if has_image(message.reply_to_message) else Route.USAGE
        return Route.COMMAND
    if not group:
        if has_image(message):
            return Route.IMAGE
        if text_of(message) is not None and mentions(message, identity):
            return Route.REPLIED_IMAGE if has_image(message.reply_to_message) else Route.USAGE
        return Route.CONVERSATION
    asks_for_this = mentions(message, identity) or any(
        name == DETECT and named in ("", identity.username.lower()) for name, named, _ in commands(message)
    )
    if has_image(message):
        return Route.IMAGE if asks_for_this or replies_to_me(message, identity) else Route.IGNORE
    if text_of(message) is not None and asks_for_this:
        return Route.REPLIED_IMAGE if has_image(message.reply_to_message) else Route.USAGE
    return Route.IGNORE


def needs_admin(message: types.Message, me: Callable[[], Identity]) -> bool:
    """Whether `message` is a group command only the group's administrators may use."""
    if not in_group(message):
        return False
    command = leading_command(message, me())
    return command is not None and command[1] and command[0] in ADMINS_ONLY


def sent_as_the_group(message: types.Message) -> bool:
    """An anonymous administrator writes as the group itself (`sender_chat` is the chat)."""
    sender_chat = getattr(message, "sender_chat", None)
    return sender_chat is not None and sender_chat.id == message.chat.id
