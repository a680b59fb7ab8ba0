"""The user at the other end of every chat: sends photos (with the sizes Telegram
makes of them), albums, image files, texts and commands in real-shaped Updates,
presses the bot's inline buttons, deletes the bot's messages, and has Telegram in
a language of their own.

Used through TelegramStandIn (user_sends_photo, user_taps, ...) by the local run,
the tests and the benchmarks.
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local.telegram_standin.delivery import Delivery
from local.telegram_standin.rules import MEDIA_GROUP_SIZES, image_size
from local.telegram_standin.state import CallbackQuery, ChatState


class ChatUser:
    def __init__(self, state: ChatState, delivery: Delivery) -> None:
        self.state = state
        self.delivery = delivery

    def speaks(self, chat_id: int, language_code: str) -> None:
        """The chat's user has Telegram in this language from now on."""
        self.state.languages[chat_id] = language_code

    def sends_photo(self, chat_id: int, image: bytes, caption: str | None = None) -> dict[str, Any]:
        message = self._photo_in_sizes(chat_id, image)
        if caption:
            message["caption"] = caption
        self.state.log(chat_id, f"user #{message['message_id']}: [photo]{' ' + caption if caption else ''}")
        return self.delivery.deliver(message)

    def sends_album(self, chat_id: int, images: list[bytes], *, at_once: bool = True) -> list[dict[str, Any]]:
        """An album: one message per photo, sharing a media_group_id, each in its own
        update. `at_once`: delivered concurrently, as a client uploads an album and
        Telegram hands its updates to the webhook's connections."""
        if len(images) not in MEDIA_GROUP_SIZES:
            raise ValueError(f"an album holds 2 to 10 items, not {len(images)}")
        group = str(self.delivery.next_update_id() * 1_000_003)
        messages = [self._photo_in_sizes(chat_id, image) for image in images]
        for message in messages:
            message["media_group_id"] = group
        ids = [m["message_id"] for m in messages]
        self.state.log(chat_id, f"user #{ids[0]}..#{ids[-1]}: [album of {len(images)} photos]")
        if at_once:
            with ThreadPoolExecutor(max_workers=len(messages)) as pool:
                list(pool.map(self.delivery.deliver, messages))
        else:
            for message in messages:
                self.delivery.deliver(message)
        return messages

    def sends_document(
        self, chat_id: int, data: bytes, file_name: str, mime_type: str, file_size: int | None = None
    ) -> dict[str, Any]:
        stored = self.state.add_file(data, extension=file_name.rsplit(".", 1)[-1])
        message = self._message(chat_id)
        message["document"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data) if file_size is None else file_size,
        }
        self.state.log(chat_id, f"user #{message['message_id']}: [file {file_name}]")
        return self.delivery.deliver(message)

    def sends_text(self, chat_id: int, text: str) -> dict[str, Any]:
        message = self._message(chat_id)
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self.state.log(chat_id, f"user #{message['message_id']}: {text}")
        return self.delivery.deliver(message)

    def taps(self, chat_id: int, message_id: int, button: str) -> CallbackQuery:
        """The user presses the inline button whose text (or callback_data) is `button`
        on the bot's message `message_id`, as the chat shows it now."""
        shown = self.state.message(chat_id, message_id)
        data = [d for text, d in shown.buttons if button in (text, d)]
        if shown.deleted or not data:
            raise LookupError(f"message {message_id} shows no button {button!r}: {shown.buttons}")
        query = CallbackQuery(secrets.token_hex(8), chat_id, message_id, data[0], time.monotonic())
        with self.state.changed:
            self.state.callbacks[query.id] = query
        self.state.log(chat_id, f"user taps [{button}] on #{message_id}")
        update = {
            "update_id": self.delivery.next_update_id(),
            "callback_query": {
                "id": query.id,
                "from": self._sender(chat_id),
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

    def _photo_in_sizes(self, chat_id: int, image: bytes) -> dict[str, Any]:
        stored = self.state.add_file(image)
        width, height = image_size(image)
        message = self._message(chat_id)
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

    def _message(self, chat_id: int) -> dict[str, Any]:
        return {
            "message_id": self.state.next_message_id(),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Local", "username": "local_user"},
            "from": self._sender(chat_id),
        }
