"""The Bot API methods the stand-in serves, one function each: getMe, setWebhook,
deleteWebhook, getWebhookInfo, getUpdates, getFile (and file downloads),
sendChatAction, sendMessage, sendPhoto, sendDocument, sendMediaGroup,
editMessageText, editMessageMedia, deleteMessage, answerCallbackQuery,
setMyCommands, getMyCommands, getChatMember.

Each checks its parameters by Telegram's rules (rules.py), changes what Telegram
keeps (state.py, delivery.py) and returns the method's result, or raises Refused
as Telegram refuses it. Called by the server (server.py), by method name
(`served`), with the call's parameters and uploads already read from HTTP.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.telegram_standin import rules
from local.telegram_standin.delivery import Delivery
from local.telegram_standin.rules import Refused
from local.telegram_standin.state import BOT_USER, ChatState, SentMessage

GET_UPDATES_MAX_WAIT_S = 10.0
"""The longest getUpdates long poll the stand-in holds (Telegram's is longer; tests need not wait)."""


@dataclass(frozen=True)
class Upload:
    """A file uploaded with a call (a multipart part)."""

    data: bytes = field(repr=False)
    file_name: str | None = None


Params = dict[str, Any]
Uploads = dict[str, Upload]
Method = Callable[[Params, Uploads], Any]


class BotApiMethods:
    def __init__(self, state: ChatState, delivery: Delivery, max_download_bytes: int) -> None:
        self.state = state
        self.delivery = delivery
        self.max_download_bytes = max_download_bytes
        self.unresolved: dict[str, int] = {}
        """Webhook host names Telegram cannot resolve yet, with the setWebhook calls
        naming each that still fail before it resolves."""
        self.closed: dict[int, str] = {}
        """Chats closed to the bot, and how (rules.CLOSED_CHAT_STATES)."""
        self.served: dict[str, Method] = {
            "getMe": self.get_me,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "getUpdates": self.get_updates,
            "getFile": self.get_file,
            "sendChatAction": self.send_chat_action,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendMediaGroup": self.send_media_group,
            "editMessageText": self.edit_message_text,
            "editMessageMedia": self.edit_message_media,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "getChatMember": self.get_chat_member,
        }

    def call(self, method: str, serve: Method, params: Params, files: Uploads) -> Any:
        """`serve` the call, unless its chat is not one the bot may write to."""
        chat = rules.chat_id(params, method)
        if chat is not None:
            rules.check_chat_open(method, self.closed.get(chat))
        return serve(params, files)

    # --- the bot, its webhook and its updates -----------------------------------
    def get_me(self, params: Params, files: Uploads) -> Any:
        # can_read_all_group_messages: "True, if privacy mode is disabled for the bot" (Bot API, User).
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.state.privacy_mode,
            "supports_inline_queries": False,
        }

    def set_webhook(self, params: Params, files: Uploads) -> Any:
        host = rules.webhook_host(params.get("url"))
        with self.state.changed:
            if self.unresolved.get(host, 0) > 0:
                self.unresolved[host] -= 1
                raise Refused(rules.BAD_WEBHOOK.format(reason=rules.UNRESOLVABLE_HOST))
        allowed = params.get("allowed_updates")
        self.delivery.register(
            params.get("url", ""),
            params.get("secret_token", ""),
            json.loads(allowed) if isinstance(allowed, str) else allowed,
        )
        return True

    def delete_webhook(self, params: Params, files: Uploads) -> Any:
        self.delivery.unregister()
        return True

    def get_webhook_info(self, params: Params, files: Uploads) -> Any:
        return self.delivery.webhook_info()

    def get_updates(self, params: Params, files: Uploads) -> Any:
        if self.delivery.webhook.url:
            raise Refused("Conflict: can't use getUpdates method while webhook is active", 409)
        return self.delivery.updates_from(
            offset=int(params.get("offset") or 0),
            limit=int(params.get("limit") or 100),
            wait_s=min(float(params.get("timeout") or 0), GET_UPDATES_MAX_WAIT_S),
        )

    # --- files -------------------------------------------------------------
    def get_file(self, params: Params, files: Uploads) -> Any:
        stored = self.state.files.get(str(params.get("file_id")))
        if stored is None:
            raise Refused("Bad Request: invalid file_id")
        rules.check_download(len(stored.data), self.max_download_bytes)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def download(self, file_path: str) -> bytes:
        """The file at a download URL (/file/bot<token>/<file_path>)."""
        stored = self.state.file_at(file_path)
        if stored is None:
            raise Refused("Not Found", 404)
        return stored.data

    # --- sending -----------------------------------------------------------
    def send_chat_action(self, params: Params, files: Uploads) -> Any:
        with self.state.change():
            self.state.chat_actions.append((int(params["chat_id"]), str(params.get("action"))))
        self.state.log(int(params["chat_id"]), f"bot: ({params.get('action')}…)")
        return True

    def send_message(self, params: Params, files: Uploads) -> Any:
        text = rules.message_text(params.get("text"), too_long="message is too long")
        sent = SentMessage("sendMessage", int(params["chat_id"]), 0, text=text, reply_markup=rules.markup(params))
        return self._record(sent, params)

    def send_photo(self, params: Params, files: Uploads) -> Any:
        photo = self._upload(params.get("photo"), files, "photo")
        rules.check_photo(photo)
        photo = rules.as_kept(photo)
        caption = rules.caption(params.get("caption"))
        sent = SentMessage(
            "sendPhoto", int(params["chat_id"]), 0, caption=caption, photo=photo, reply_markup=rules.markup(params)
        )
        return self._record(sent, params)

    def send_document(self, params: Params, files: Uploads) -> Any:
        document = files.get("document")
        if document is None:
            raise Refused("Bad Request: there is no document in the request")
        rules.check_upload(document.data)
        sent = SentMessage(
            "sendDocument",
            int(params["chat_id"]),
            0,
            caption=rules.caption(params.get("caption")),
            document=document.data,
            file_name=document.file_name,
            reply_markup=rules.markup(params),
        )
        return self._record(sent, params)

    def send_media_group(self, params: Params, files: Uploads) -> Any:
        items = []
        for item in rules.media_group(params):
            photo = self._upload(item.get("media"), files, "photo")
            rules.check_photo(photo)
            items.append((rules.as_kept(photo), rules.caption(item.get("caption"))))
        group = secrets.token_hex(6)
        messages = []
        for photo, caption in items:
            sent = SentMessage(
                "sendMediaGroup", int(params["chat_id"]), 0, caption=caption, photo=photo, media_group_id=group
            )
            messages.append(self._record(sent, params))
        return messages

    # --- changing what was sent ------------------------------------------------
    def edit_message_text(self, params: Params, files: Uploads) -> Any:
        shown = self._editable(params)
        text = rules.message_text(params.get("text"), too_long="MESSAGE_TOO_LONG")
        if shown.kind != "text":
            raise Refused("Bad Request: there is no text in the message to edit")
        markup = rules.markup(params)
        if (shown.text, shown.reply_markup) == (text, markup):
            raise Refused(rules.NOT_MODIFIED)
        with self.state.change():
            shown.text, shown.reply_markup = text, markup
            shown.edits.append("editMessageText")
            shown.edited_at = time.monotonic()
        self.state.log(shown.chat_id, f"bot edits #{shown.message_id}: {shown.shown()}")
        return shown.as_message()

    def edit_message_media(self, params: Params, files: Uploads) -> Any:
        shown = self._editable(params)
        media = rules.json_param(params.get("media"), "media")
        if not isinstance(media, dict) or media.get("type") not in ("photo", "document"):
            raise Refused("Bad Request: the stand-in edits into a photo or a document only")
        if shown.media_group_id is not None:
            raise Refused("Bad Request: the stand-in does not edit media in an album")
        data = self._upload(media.get("media"), files, media["type"])
        caption = rules.caption(media.get("caption"))
        markup = rules.markup(params)
        if media["type"] == "photo":
            rules.check_photo(data)
            data = rules.as_kept(data)
        with self.state.change():
            if media["type"] == "photo":
                shown.photo, shown.document = data, None
            else:
                shown.document, shown.photo = data, None
            shown.text, shown.caption, shown.reply_markup = None, caption, markup
            shown.edits.append("editMessageMedia")
            shown.edited_at = time.monotonic()
        self.state.log(shown.chat_id, f"bot edits #{shown.message_id}: {shown.shown()}")
        return shown.as_message()

    def delete_message(self, params: Params, files: Uploads) -> Any:
        try:
            shown = self.state.message(int(params["chat_id"]), int(params["message_id"]))
        except LookupError:
            raise Refused("Bad Request: message to delete not found") from None
        if shown.deleted:
            raise Refused("Bad Request: message to delete not found")
        with self.state.change():
            shown.deleted = True
        self.state.log(shown.chat_id, f"bot deletes #{shown.message_id}")
        return True

    def answer_callback_query(self, params: Params, files: Uploads) -> Any:
        query = self.state.callbacks.get(str(params.get("callback_query_id")))
        late = query is not None and time.monotonic() - query.at > rules.CALLBACK_ANSWER_S
        if query is None or query.answered or late:
            raise Refused("Bad Request: query is too old and response timeout expired or query ID is invalid")
        text = rules.callback_answer_text(params.get("text"))
        with self.state.change():
            query.answered, query.answer = True, text
        if text:
            self.state.log(query.chat_id, f"bot (toast): {text}")
        return True

    # --- the command menu ------------------------------------------------------
    def set_my_commands(self, params: Params, files: Uploads) -> Any:
        commands = rules.bot_commands(params.get("commands"))
        with self.state.changed:
            self.state.commands[rules.commands_scope(params)] = commands
            self.state.set_commands_calls += 1
        return True

    def get_my_commands(self, params: Params, files: Uploads) -> Any:
        return self.state.commands.get(rules.commands_scope(params), [])

    # --- groups ------------------------------------------------------------------
    def get_chat_member(self, params: Params, files: Uploads) -> Any:
        chat = rules.chat_id(params)
        group = self.state.groups.get(chat) if chat is not None else None
        try:
            user_id = int(str(params.get("user_id")))
        except ValueError:
            raise Refused("Bad Request: invalid user_id specified") from None
        if group is None:
            raise Refused(rules.CHAT_NOT_FOUND)
        user = group.members.get(user_id)
        if user is None:
            # Telegram knows users who never joined; the stand-in only its members.
            raise Refused("Bad Request: user not found")
        return rules.chat_member(user, group.statuses.get(user_id, "left"))

    # --- parts of several methods -----------------------------------------------
    def _upload(self, media: Any, files: Uploads, field_name: str) -> bytes:
        """The bytes of a photo or document parameter: an upload (in `files`, or
        "attach://<name>"), or the file_id of a file Telegram already has."""
        if isinstance(media, str) and media.startswith("attach://"):
            upload = files.get(media.removeprefix("attach://"))
            data = upload.data if upload else None
        elif media is None:
            upload = files.get(field_name)
            data = upload.data if upload else None
        else:
            data = self.state.file_data(str(media))
        if data is None:
            raise Refused(f"Bad Request: there is no {field_name} in the request")
        rules.check_upload(data)
        return data

    def _editable(self, params: Params) -> SentMessage:
        try:
            shown = self.state.message(int(params["chat_id"]), int(params["message_id"]))
        except (LookupError, KeyError, ValueError):
            raise Refused("Bad Request: message to edit not found") from None
        if shown.deleted:
            raise Refused("Bad Request: message to edit not found")
        return shown

    def _record(self, sent: SentMessage, params: Params) -> dict[str, Any]:
        sent.reply_to_message_id = rules.reply_to_message_id(params)
        return self.state.record(sent).as_message()
