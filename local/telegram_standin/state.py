"""What Telegram keeps, as the stand-in plays it: the messages the bot sent as the
chats show them now (edited, deleted), the files users sent, callback queries, each
user's language, the bot's command menus, and the chat log (`transcript`).

One condition (`changed`) guards it all and wakes whoever waits on a change: the
waits (waiting.py) and getUpdates (delivery.py). Written by the Bot API methods
(methods.py) and the simulated user (user.py); read through TelegramStandIn.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from local.telegram_standin.rules import Refused, image_size

BOT_USER: dict[str, Any] = {"id": 7000000001, "is_bot": True, "first_name": "Polybot", "username": "polybot_local_bot"}


@dataclass
class Group:
    """A group or supergroup: its Chat object, its members with their statuses (the
    bot's own included, "member" unless made admin), and the last bot that spoke in it."""

    chat: dict[str, Any]
    members: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Each member's User object, by user id."""
    statuses: dict[int, str] = field(default_factory=dict)
    """Each member's status (rules.MEMBER_STATUSES), by user id."""
    last_bot_id: int | None = None
    """The last bot that sent a message to the group (privacy mode's "general commands" rule)."""

    @property
    def other_bots(self) -> list[dict[str, Any]]:
        return [u for i, u in self.members.items() if u.get("is_bot") and i != BOT_USER["id"]]


@dataclass
class SentMessage:
    """One message the bot sent to a chat, as the chat shows it now."""

    method: str
    """How it was first sent (sendMessage, sendPhoto, ...); `kind` says what it is now."""
    chat_id: int
    message_id: int
    text: str | None = None
    caption: str | None = None
    photo: bytes | None = None
    reply_to_message_id: int | None = None
    document: bytes | None = None
    file_name: str | None = None
    reply_markup: dict[str, Any] | None = None
    media_group_id: str | None = None
    at: float = 0.0
    """When the stand-in received it (time.monotonic())."""
    edits: list[str] = field(default_factory=list)
    """The Bot API methods that changed it, in order."""
    edited_at: float | None = None
    """When it was last changed (time.monotonic()); None: never."""
    deleted: bool = False
    chat: dict[str, Any] | None = None
    """The chat's Chat object where it is a group; None: the private chat with its user."""

    @property
    def kind(self) -> str:
        return "photo" if self.photo is not None else "document" if self.document is not None else "text"

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback_data) of each inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]

    def shown(self) -> str:
        """What the chat shows, in one line."""
        words = self.caption if self.photo is not None or self.document is not None else self.text
        what = {"photo": "[photo] ", "document": f"[file {self.file_name}] ", "text": ""}[self.kind]
        buttons = "".join(f" [{text}]" for text, _ in self.buttons)
        return f"{what}{words or ''}{buttons}".strip()

    def as_message(self) -> dict[str, Any]:
        """The Bot API Message object Telegram returns for it (and puts in a callback query)."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "date": int(time.time()),
            "from": BOT_USER,
            "chat": dict(self.chat) if self.chat else {"id": self.chat_id, "type": "private"},
        }
        if self.edits:
            message["edit_date"] = int(time.time())
        if self.text is not None:
            message["text"] = self.text
        if self.photo is not None:
            width, height = image_size(self.photo)
            message["photo"] = [
                {
                    "file_id": f"SENT-{self.message_id}",
                    "file_unique_id": f"S{self.message_id}",
                    "width": width,
                    "height": height,
                    "file_size": len(self.photo),
                }
            ]
        if self.document is not None:
            message["document"] = {
                "file_id": f"SENT-{self.message_id}",
                "file_unique_id": f"S{self.message_id}",
                "file_name": self.file_name,
                "file_size": len(self.document),
            }
        if self.caption and self.kind != "text":
            message["caption"] = self.caption
        if self.media_group_id:
            message["media_group_id"] = self.media_group_id
        if self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = field(repr=False)


@dataclass
class CallbackQuery:
    id: str
    chat_id: int
    message_id: int
    data: str
    at: float
    answered: bool = False
    answer: str | None = None


class ChatState:
    """The chats, their messages and files, and the chat log."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        """Held while anything here changes; notified after (see `change`)."""
        self.sent: list[SentMessage] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.callbacks: dict[str, CallbackQuery] = {}
        self.languages: dict[int, str] = {}
        """The Telegram language of each chat's user (default "en")."""
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        """The bot's command menu by (scope type, language code); "" is every language."""
        self.set_commands_calls = 0
        self.files: dict[str, StoredFile] = {}
        self.events: list[tuple[int, str]] = []
        """The chat log: (chat id, what the user or the bot did)."""
        self.groups: dict[int, Group] = {}
        """The groups and supergroups the bot is in, by chat id."""
        self.privacy_mode = True
        """The bot's group privacy mode, as BotFather's /setprivacy left it (on by default)."""
        self.posted: dict[tuple[int, int], dict[str, Any]] = {}
        """What users sent, by (chat id, message id), delivered or not: a reply quotes it."""
        # One sequence for the user's and the bot's messages, as in a chat.
        self._message_ids = itertools.count(1000)

    @contextlib.contextmanager
    def change(self) -> Iterator[None]:
        """Hold the lock while changing what Telegram keeps; wake whoever waits after."""
        with self.changed:
            yield
            self.changed.notify_all()

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def log(self, chat_id: int, line: str) -> None:
        with self.change():
            self.events.append((chat_id, line))

    def transcript(self, chat_id: int) -> list[str]:
        """The conversation in chat `chat_id`, one line per thing the user or the bot did."""
        with self.changed:
            return [line for chat, line in self.events if chat == chat_id]

    def add_file(self, data: bytes, extension: str = "jpg", file_id: str | None = None) -> StoredFile:
        """Store a file users can send; `file_id` names it as a sample event does."""
        unique = secrets.token_hex(8)
        stored = StoredFile(
            file_id=file_id or f"FILE-{unique}",
            file_unique_id=unique,
            file_path=f"files/{unique}.{extension}",
            data=data,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_at(self, file_path: str) -> StoredFile | None:
        """The file a download URL names (getFile's `file_path`)."""
        return next((stored for stored in self.files.values() if stored.file_path == file_path), None)

    def file_data(self, file_id: str) -> bytes | None:
        """The bytes of a file by its file_id: one a user sent, or one the bot sent
        before, by the file_id Telegram gave it (SENT-<message>)."""
        if not file_id.startswith("SENT-"):
            stored = self.files.get(file_id)
            return stored.data if stored else None
        for sent in self.sent:
            if f"SENT-{sent.message_id}" == file_id:
                return sent.photo if sent.photo is not None else sent.document
        raise Refused("Bad Request: wrong file identifier/HTTP URL specified")

    def record(self, sent: SentMessage) -> SentMessage:
        """A message the bot sends: it gets the chat's next message id and shows now."""
        sent.message_id = self.next_message_id()
        sent.at = time.monotonic()
        group = self.groups.get(sent.chat_id)
        with self.change():
            if group is not None:
                sent.chat = group.chat
                group.last_bot_id = BOT_USER["id"]
            self.sent.append(sent)
        answering = f" ↩#{sent.reply_to_message_id}" if sent.reply_to_message_id else ""
        self.log(sent.chat_id, f"bot #{sent.message_id}{answering}: {sent.shown()}")
        return sent

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        for sent in self.sent:
            if (sent.chat_id, sent.message_id) == (chat_id, message_id):
                return sent
        raise LookupError(f"the bot sent no message {message_id} to chat {chat_id}")

    def quoted(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """The Message object of `message_id` as a reply quotes it: one a user sent, or one the bot sent."""
        posted = self.posted.get((chat_id, message_id))
        if posted is not None:
            return {k: v for k, v in posted.items() if k != "reply_to_message"}
        return self.message(chat_id, message_id).as_message()

    def replies_to(self, chat_id: int, message_id: int) -> list[SentMessage]:
        """The bot's messages in answer to `message_id` that the chat still shows."""
        return [m for m in self.sent if m.chat_id == chat_id and m.reply_to_message_id == message_id and not m.deleted]
