"""The user at the other end of every chat: sends photos (with the sizes Telegram
makes of them), albums, image files, texts and commands in real-shaped Updates,
presses the bot's inline buttons, deletes the bot's messages, and has Telegram in
a language of their own. In a group or supergroup, its members do the same
(`by`), replying to messages (`reply_to`), with stickers too, and the group's
other bots speak; Telegram delivers to the bot only what its group rules let
through (rules.reaches_bot: privacy mode, the bot's status).

Used through TelegramStandIn (user_sends_photo, user_taps, ...) by the local run,
the tests and the benchmarks.
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local.telegram_standin import rules
from local.telegram_standin.delivery import Delivery
from local.telegram_standin.rules import MEDIA_GROUP_SIZES, image_size
from local.telegram_standin.state import BOT_USER, CallbackQuery, ChatState, Group


class ChatUser:
    def __init__(self, state: ChatState, delivery: Delivery) -> None:
        self.state = state
        self.delivery = delivery
        self.names: dict[int, str] = {}
        """Group members' first names, by user id."""

    def speaks(self, chat_id: int, language_code: str) -> None:
        """The chat's user has Telegram in this language from now on."""
        self.state.languages[chat_id] = language_code

    def sends_photo(
        self,
        chat_id: int,
        image: bytes,
        caption: str | None = None,
        *,
        by: int | None = None,
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A photo; in a group, sent `by` a member, replying to `reply_to`, with the
        caption's `entities` (those Telegram finds in it when not given)."""
        message = self._photo_in_sizes(chat_id, image, by)
        if caption:
            message["caption"] = caption
            self._add_entities(message, "caption_entities", caption, entities)
        self._log(message, f"[photo]{' ' + caption if caption else ''}", reply_to)
        return self._deliver(message, reply_to)

    def sends_album(
        self,
        chat_id: int,
        images: list[bytes],
        *,
        at_once: bool = True,
        by: int | None = None,
        caption: str | None = None,
    ) -> list[dict[str, Any]]:
        """An album: one message per photo, sharing a media_group_id, each in its own
        update. `at_once`: delivered concurrently, as a client uploads an album and
        Telegram hands its updates to the webhook's connections. `caption`: the
        album's caption, which Telegram's clients put on its first photo alone."""
        if len(images) not in MEDIA_GROUP_SIZES:
            raise ValueError(f"an album holds 2 to 10 items, not {len(images)}")
        group = str(self.delivery.next_update_id() * 1_000_003)
        messages = [self._photo_in_sizes(chat_id, image, by) for image in images]
        for message in messages:
            message["media_group_id"] = group
        if caption:
            messages[0]["caption"] = caption
            self._add_entities(messages[0], "caption_entities", caption, None)
        ids = [m["message_id"] for m in messages]
        said = f" {caption}" if caption else ""
        self.state.log(
            chat_id, f"{self._who(messages[0])} #{ids[0]}..#{ids[-1]}: [album of {len(images)} photos]{said}"
        )
        if at_once:
            with ThreadPoolExecutor(max_workers=len(messages)) as pool:
                list(pool.map(self._deliver, messages))
        else:
            for message in messages:
                self._deliver(message)
        return messages

    def sends_document(
        self,
        chat_id: int,
        data: bytes,
        file_name: str,
        mime_type: str | None,
        file_size: int | None = None,
        *,
        by: int | None = None,
    ) -> dict[str, Any]:
        stored = self.state.add_file(data, extension=file_name.rsplit(".", 1)[-1])
        message = self._message(chat_id, by)
        message["document"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data) if file_size is None else file_size,
        }
        if mime_type is None:
            del message["document"]["mime_type"]  # optional in the Bot API: a client that did not say
        self._log(message, f"[file {file_name}]")
        return self._deliver(message)

    def sends_text(
        self,
        chat_id: int,
        text: str,
        *,
        by: int | None = None,
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A text (a command too); in a group, sent `by` a member, replying to
        `reply_to`, with `entities` (those Telegram finds in it when not given)."""
        message = self._message(chat_id, by)
        message["text"] = text
        self._add_entities(message, "entities", text, entities)
        self._log(message, text, reply_to)
        return self._deliver(message, reply_to)

    def sends_sticker(self, chat_id: int, *, by: int | None = None, reply_to: int | None = None) -> dict[str, Any]:
        message = self._message(chat_id, by)
        unique = secrets.token_hex(4)
        message["sticker"] = {
            "file_id": f"STICKER-{unique}",
            "file_unique_id": unique,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        self._log(message, "[sticker 👍]", reply_to)
        return self._deliver(message, reply_to)

    # --- groups ----------------------------------------------------------------
    def opens_group(
        self,
        chat_id: int,
        members: dict[int, str],
        *,
        title: str = "Photos",
        kind: str = "supergroup",
        bot_status: str = "member",
        other_bots: tuple[str, ...] = (),
        names: dict[int, str] | None = None,
    ) -> Group:
        """A group (or supergroup) with the bot in it as `bot_status`, `members` (user
        id: status, first `names` where given) and `other_bots` (their usernames), each a member."""
        if kind not in rules.GROUP_TYPES:
            raise ValueError(f"a group is one of {rules.GROUP_TYPES}, not {kind!r}")
        group = Group(chat={"id": chat_id, "type": kind, "title": title})
        group.members[BOT_USER["id"]] = dict(BOT_USER)
        group.statuses[BOT_USER["id"]] = bot_status
        for user_id, status in members.items():
            self.names[user_id] = (names or {}).get(user_id, f"Member{user_id}")
            group.members[user_id] = self._person(user_id)
            group.statuses[user_id] = status
        for number, username in enumerate(other_bots, start=1):
            other = {"id": BOT_USER["id"] + number, "is_bot": True, "first_name": username, "username": username}
            group.members[other["id"]] = other
            group.statuses[other["id"]] = "member"
        with self.state.change():
            self.state.groups[chat_id] = group
        self.state.log(chat_id, f"{kind} {title!r}: the bot is {bot_status}, privacy mode {self._privacy()}")
        return group

    def other_bot_says(self, chat_id: int, username: str, text: str) -> dict[str, Any]:
        """One of the group's other bots sends a text (it becomes the last bot to speak)."""
        group = self.state.groups[chat_id]
        other = next(u for u in group.other_bots if u.get("username") == username)
        message = self._message(chat_id, other["id"])
        message["from"] = other
        message["text"] = text
        self._add_entities(message, "entities", text, None)
        with self.state.change():
            group.last_bot_id = other["id"]
        self.state.log(chat_id, f"@{username} #{message['message_id']}: {text}")
        return self._deliver(message)

    def _privacy(self) -> str:
        return "on" if self.state.privacy_mode else "off"

    def taps(self, chat_id: int, message_id: int, button: str, *, by: int | None = None) -> CallbackQuery:
        """The user (in a group: the member `by`) presses the inline button whose text
        (or callback_data) is `button` on the bot's message `message_id`, as the chat shows it now."""
        shown = self.state.message(chat_id, message_id)
        data = [d for text, d in shown.buttons if button in (text, d)]
        if shown.deleted or not data:
            raise LookupError(f"message {message_id} shows no button {button!r}: {shown.buttons}")
        query = CallbackQuery(secrets.token_hex(8), chat_id, message_id, data[0], time.monotonic())
        with self.state.changed:
            self.state.callbacks[query.id] = query
        sender = self._person(by) if by is not None and chat_id in self.state.groups else self._sender(chat_id)
        who = "user" if chat_id not in self.state.groups else sender["first_name"]
        self.state.log(chat_id, f"{who} taps [{button}] on #{message_id}")
        update = {
            "update_id": self.delivery.next_update_id(),
            "callback_query": {
                "id": query.id,
                "from": sender,
                "message": shown.as_message(),
                "chat_instance": str(chat_id),
                "data": query.data,
            },
        }
        self.delivery.deliver_update(update)
        return query

    def deletes(self, chat_id: int, message_id: int) -> None:
        """The user deletes one of the bot's messages (for both sides, as a private chat allows)."""
        self.state.message(chat_id, message_id).deleted = True
        self.state.log(chat_id, f"user deletes #{message_id}")

    def photo_message(self, chat_id: int, image: bytes) -> dict[str, Any]:
        """The message a user's photo arrives in, in one size, not yet delivered (see sends_photo)."""
        stored = self.state.add_file(image)
        width, height = image_size(image)
        message = self._message(chat_id)
        message["photo"] = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": width,
                "height": height,
                "file_size": len(image),
            }
        ]
        return message

    def _photo_in_sizes(self, chat_id: int, image: bytes, by: int | None = None) -> dict[str, Any]:
        stored = self.state.add_file(image)
        width, height = image_size(image)
        message = self._message(chat_id, by)
        # Telegram offers several sizes; the largest is last. A small thumbnail
        # would be a separate file; the stand-in serves the same bytes.
        message["photo"] = [
            {
                "file_id": stored.file_id + "-thumb",
                "file_unique_id": stored.file_unique_id + "t",
                "width": max(1, width // 4),
                "height": max(1, height // 4),
                "file_size": len(image) // 8 or 1,
            },
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": width,
                "height": height,
                "file_size": len(image),
            },
        ]
        self.state.files[stored.file_id + "-thumb"] = stored
        return message

    def _sender(self, chat_id: int) -> dict[str, Any]:
        language = self.state.languages.get(chat_id, "en")
        return {"id": chat_id, "is_bot": False, "first_name": "Local", "language_code": language}

    def _person(self, user_id: int) -> dict[str, Any]:
        """A group member's User object (their language: as `speaks` set it for their id)."""
        language = self.state.languages.get(user_id, "en")
        name = self.names.get(user_id, f"Member{user_id}")
        return {"id": user_id, "is_bot": False, "first_name": name, "language_code": language}

    def _message(self, chat_id: int, by: int | None = None) -> dict[str, Any]:
        group = self.state.groups.get(chat_id)
        if group is None:
            return {
                "message_id": self.state.next_message_id(),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "Local", "username": "local_user"},
                "from": self._sender(chat_id),
            }
        if by is None or by not in group.members:
            raise ValueError(f"a message in group {chat_id} is sent by one of its members, not {by!r}")
        return {
            "message_id": self.state.next_message_id(),
            "date": int(time.time()),
            "chat": dict(group.chat),
            "from": self._person(by),
        }

    @staticmethod
    def _add_entities(message: dict[str, Any], field: str, words: str, entities: list[dict[str, Any]] | None) -> None:
        found = rules.entities_of(words) if entities is None else entities
        if found:
            message[field] = found

    def _who(self, message: dict[str, Any]) -> str:
        if message["chat"].get("type") == "private":
            return "user"
        return str(message["from"].get("username") or message["from"].get("first_name"))

    def _log(self, message: dict[str, Any], what: str, reply_to: int | None = None) -> None:
        answering = f" ↩#{reply_to}" if reply_to else ""
        self.state.log(message["chat"]["id"], f"{self._who(message)} #{message['message_id']}{answering}: {what}")

    def _deliver(self, message: dict[str, Any], reply_to: int | None = None) -> dict[str, Any]:
        """Hand the message to Telegram's delivery; in a group, only if its rules
        let it reach the bot (rules.reaches_bot), quoting the message it replies to."""
        chat_id = message["chat"]["id"]
        group = self.state.groups.get(chat_id)
        if reply_to is not None:
            message["reply_to_message"] = self.state.quoted(chat_id, reply_to)
        with self.state.change():
            self.state.posted[(chat_id, message["message_id"])] = message
        if group is None:
            return self.delivery.deliver(message)
        bot_status = group.statuses.get(BOT_USER["id"], "left")
        if not rules.reaches_bot(
            message,
            BOT_USER,
            privacy_mode=self.state.privacy_mode,
            bot_status=bot_status,
            last_bot_id=group.last_bot_id,
            other_bots=group.other_bots,
        ):
            self.state.log(chat_id, f"  (Telegram does not deliver #{message['message_id']} to the bot)")
            return message
        return self.delivery.deliver(message)
