"""A local stand-in for the Telegram Bot API, spoken to over real HTTP.

Polybot's bot and Lambda functions talk to it exactly as to Telegram (or a
self-hosted Bot API server): `POLYBOT_TELEGRAM_API_URL` points at it. It
serves the methods Polybot uses (getMe, setWebhook, deleteWebhook,
getWebhookInfo, getUpdates, getFile and file downloads, sendChatAction,
sendMessage, sendPhoto, sendDocument, sendMediaGroup, editMessageText,
editMessageMedia, deleteMessage, answerCallbackQuery, setMyCommands,
getMyCommands), and keeps Telegram's documented rules: the 20 MB `getFile`
limit; sendPhoto's 10 MB, width + height 10000 and ratio 20 (for edited
media too); 50 MB uploads; 1024-character captions and 4096-character texts;
media groups of 2 to 10; callback_data of 1 to 64 bytes; an edit that changes
nothing is refused ("message is not modified"), as is an edit of a message
that is gone or of text in a media message; a callback query is answered
once, within CALLBACK_ANSWER_S; bot commands as Telegram allows them; 401 for
a wrong token; parameters in the query string, a form or a multipart body.

It plays the user's side too: `user_sends_photo` (`_album`, `_document`,
`_text`) delivers real-shaped Updates to the registered webhook (with the
secret header) or to `getUpdates`; `user_taps` presses an inline button;
`user_deletes` deletes a message. `replies_to` returns the messages the bot
answered a message with, as the chat shows them now (edited, not deleted),
and `transcript` the whole conversation of a chat. The webhook's address may
be served by several bot instances behind a load balancer (`balance_across`):
deliveries then go round-robin, as the balancer spreads them.

It fails as Telegram and its network do, per method and for the next calls
only (`inject`): a Bot API error (429 with `parameters.retry_after`), an HTML
error page from the front end (502), a connection dropped before the call or
after it took effect (the answer lost), a slow answer.

Used by the local run (`python -m local`) and the tests.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import logging
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, Response, request
from PIL import Image
from werkzeug.serving import BaseWSGIServer, make_server

from polybot.settings import TELEGRAM_DOWNLOAD_LIMIT_BYTES
from polybot.summary import CAPTION_LIMIT, TEXT_LIMIT
from polybot.telegram import PHOTO_MAX_BYTES, PHOTO_MAX_RATIO, PHOTO_MAX_SIDES, UPLOAD_MAX_BYTES

CALLBACK_DATA_MAX_BYTES = 64
MEDIA_GROUP_SIZES = range(2, 11)
CALLBACK_ANSWER_S = 15.0
"""How long a callback query can be answered; Telegram gives no figure, clients give up after about this."""
CALLBACK_TEXT_LIMIT = 200
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
COMMANDS_LIMIT = 100
COMMAND_DESCRIPTION_LIMIT = 256

log = logging.getLogger(__name__)

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Polybot", "username": "polybot_local_bot"}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


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


@dataclass
class Fault:
    """What the next `times` calls of one Bot API method (or "file" downloads) meet.

    kind "api_error": the Bot API's JSON error (`status`, `description`, `retry_after`);
    "html": an HTML error page with `status`, as Telegram's front end sends;
    "drop": the connection closes without an answer, before the call takes
    effect, or after it (`after_effect`: the message is sent, the answer lost);
    "slow": the answer comes `seconds` late."""

    kind: str
    status: int = 0
    description: str = ""
    retry_after: int | None = None
    after_effect: bool = False
    seconds: float = 0.0
    times: int = 1


class _Dropped(Exception):
    """Raised to close the caller's connection without an answer."""


class _Refused(Exception):
    """A Bot API call Telegram refuses: 400 (or `code`) with Telegram's description."""

    def __init__(self, description: str, code: int = 400) -> None:
        super().__init__(description)
        self.description, self.code = description, code


class TelegramStandIn:
    def __init__(
        self,
        token: str,
        max_download_bytes: int = TELEGRAM_DOWNLOAD_LIMIT_BYTES,
        pending_texts: Collection[str] = (),
    ) -> None:
        """`pending_texts`: what the bot says while it works (its progress messages);
        `wait_for_reply` waits until a reply says something else."""
        self.token = token
        self.max_download_bytes = max_download_bytes
        self.pending_texts = frozenset(pending_texts)
        self.sent: list[SentMessage] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_allowed_updates: list[str] | None = None
        self.webhook_last_error = ""
        self.set_webhook_calls = 0
        self.instances: list[str] = []
        """Other addresses that serve the webhook's address (see balance_across)."""
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        """The bot's command menu by (scope type, language code); "" is every language."""
        self.set_commands_calls = 0
        self.calls: list[str] = []
        """Every Bot API method called, in order."""
        self.deliveries: list[int] = []
        self.deliveries_of: dict[int, list[int]] = {}
        """The webhook's answers to each message's update, by message id (redeliveries included)."""
        self.delivered_to: dict[int, list[str]] = {}
        """Which webhook address each message's update was delivered to, by message id."""
        self.callbacks: dict[str, CallbackQuery] = {}
        self.languages: dict[int, str] = {}
        """The Telegram language of each chat's user (default "en")."""
        self._events: list[tuple[int, str]] = []
        self._files: dict[str, StoredFile] = {}
        self._updates: list[dict[str, Any]] = []
        self._faults: dict[str, list[Fault]] = {}
        self._ids = itertools.count(1000)
        self._update_ids = itertools.count(500000)
        self._rotation = itertools.count()
        self._changed = threading.Condition()
        self._server: BaseWSGIServer | None = None
        self.app = self._build_app()

    # --- server -----------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host` (all interfaces with "0.0.0.0", for containers); the
        URL returned is this machine's own."""
        self._server = make_server(host, port, self.app, threaded=True)
        threading.Thread(target=self._server.serve_forever, name="telegram-standin", daemon=True).start()
        return self.api_url

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.server_port)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def balance_across(self, *addresses: str) -> None:
        """The webhook's address is served by these other bot instances too (full
        webhook URLs): deliveries go round-robin over the registered URL and them."""
        self.instances = list(addresses)

    # --- the user's side -------------------------------------------------
    def add_file(self, data: bytes, extension: str = "jpg", file_id: str | None = None) -> StoredFile:
        """Store a file users can send; `file_id` names it as a sample event does."""
        unique = secrets.token_hex(8)
        stored = StoredFile(
            file_id=file_id or f"FILE-{unique}",
            file_unique_id=unique,
            file_path=f"files/{unique}.{extension}",
            data=data,
        )
        self._files[stored.file_id] = stored
        return stored

    def user_speaks(self, chat_id: int, language_code: str) -> None:
        """The chat's user has Telegram in this language from now on."""
        self.languages[chat_id] = language_code

    def user_sends_photo(self, chat_id: int, image: bytes, caption: str | None = None) -> dict[str, Any]:
        message = self._photo_message(chat_id, image)
        if caption:
            message["caption"] = caption
        self._event(chat_id, f"user #{message['message_id']}: [photo]{' ' + caption if caption else ''}")
        return self.deliver(message)

    def _photo_message(self, chat_id: int, image: bytes) -> dict[str, Any]:
        stored = self.add_file(image)
        width, height = _image_size(image)
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
        self._files[stored.file_id + "-thumb"] = stored
        return message

    def user_sends_album(self, chat_id: int, images: list[bytes], *, at_once: bool = True) -> list[dict[str, Any]]:
        """An album: one message per photo, sharing a media_group_id, each in its own
        update. `at_once`: delivered concurrently, as a client uploads an album and
        Telegram hands its updates to the webhook's connections."""
        if len(images) not in MEDIA_GROUP_SIZES:
            raise ValueError(f"an album holds 2 to 10 items, not {len(images)}")
        group = str(next(self._update_ids) * 1_000_003)
        messages = [self._photo_message(chat_id, image) for image in images]
        for message in messages:
            message["media_group_id"] = group
        ids = [m["message_id"] for m in messages]
        self._event(chat_id, f"user #{ids[0]}..#{ids[-1]}: [album of {len(images)} photos]")
        if at_once:
            with ThreadPoolExecutor(max_workers=len(messages)) as pool:
                list(pool.map(self.deliver, messages))
        else:
            for message in messages:
                self.deliver(message)
        return messages

    def user_sends_document(
        self, chat_id: int, data: bytes, file_name: str, mime_type: str, file_size: int | None = None
    ) -> dict[str, Any]:
        stored = self.add_file(data, extension=file_name.rsplit(".", 1)[-1])
        message = self._message(chat_id)
        message["document"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data) if file_size is None else file_size,
        }
        self._event(chat_id, f"user #{message['message_id']}: [file {file_name}]")
        return self.deliver(message)

    def user_sends_text(self, chat_id: int, text: str) -> dict[str, Any]:
        message = self._message(chat_id)
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self._event(chat_id, f"user #{message['message_id']}: {text}")
        return self.deliver(message)

    def user_taps(self, chat_id: int, message_id: int, button: str) -> CallbackQuery:
        """The user presses the inline button whose text (or callback_data) is `button`
        on the bot's message `message_id`, as the chat shows it now."""
        shown = self.message(chat_id, message_id)
        data = [d for text, d in shown.buttons if button in (text, d)]
        if shown.deleted or not data:
            raise LookupError(f"message {message_id} shows no button {button!r}: {shown.buttons}")
        query = CallbackQuery(secrets.token_hex(8), chat_id, message_id, data[0], time.monotonic())
        with self._changed:
            self.callbacks[query.id] = query
        self._event(chat_id, f"user taps [{button}] on #{message_id}")
        update = {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": query.id,
                "from": self._user(chat_id),
                "message": self._as_message(shown),
                "chat_instance": str(chat_id),
                "data": query.data,
            },
        }
        self._deliver_update(update)
        return query

    def user_deletes(self, chat_id: int, message_id: int) -> None:
        """The user deletes one of the bot's messages (for both sides, as a private chat allows)."""
        self.message(chat_id, message_id).deleted = True
        self._event(chat_id, f"user deletes #{message_id}")

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        for sent in self.sent:
            if (sent.chat_id, sent.message_id) == (chat_id, message_id):
                return sent
        raise LookupError(f"the bot sent no message {message_id} to chat {chat_id}")

    def replies_to(self, chat_id: int, message_id: int) -> list[SentMessage]:
        """The bot's messages in answer to `message_id` that the chat still shows."""
        return [m for m in self.sent if m.chat_id == chat_id and m.reply_to_message_id == message_id and not m.deleted]

    def settled(self, message: SentMessage) -> bool:
        """Whether a message says more than that the bot is working."""
        return message.text not in self.pending_texts or message.kind != "text"

    def wait_for(self, condition: Callable[[], Any], timeout: float = 60.0, what: str = "the condition") -> Any:
        """`condition()`'s first true value, re-checked whenever the bot calls the Bot API."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (value := condition()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no {what} after {timeout} s")
                self._changed.wait(remaining)
            return value

    def wait_for_reply(self, chat_id: int, message_id: int, timeout: float = 60.0) -> SentMessage:
        """The bot's answer to `message_id` once it says more than "working on it"."""

        def answered() -> SentMessage | None:
            return next((m for m in self.replies_to(chat_id, message_id) if self.settled(m)), None)

        answer: SentMessage = self.wait_for(answered, timeout, f"reply to message {message_id} in chat {chat_id}")
        return answer

    def transcript(self, chat_id: int) -> list[str]:
        """The conversation in chat `chat_id`, one line per thing the user or the bot did."""
        with self._changed:
            return [line for chat, line in self._events if chat == chat_id]

    def inject(self, method: str, fault: Fault) -> None:
        """The next `fault.times` calls of `method` ("file": downloads) meet `fault`."""
        with self._changed:
            self._faults.setdefault(method, []).append(fault)

    def fail_next(
        self, method: str, error_code: int, description: str, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next `times` calls of `method` with this Bot API error."""
        self.inject(method, Fault("api_error", error_code, description, retry_after, times=times))

    def _next_fault(self, method: str) -> Fault | None:
        with self._changed:
            for fault in self._faults.get(method, []):
                if fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _event(self, chat_id: int, line: str) -> None:
        with self._changed:
            self._events.append((chat_id, line))
            self._changed.notify_all()

    # --- delivery --------------------------------------------------------
    def _user(self, chat_id: int) -> dict[str, Any]:
        language = self.languages.get(chat_id, "en")
        return {"id": chat_id, "is_bot": False, "first_name": "Local", "language_code": language}

    def _message(self, chat_id: int) -> dict[str, Any]:
        return {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Local", "username": "local_user"},
            "from": self._user(chat_id),
        }

    def deliver(self, message: dict[str, Any]) -> dict[str, Any]:
        """Deliver `message` in a new update: to the webhook if one is set (with
        Telegram's redelivery of a failed call), else to getUpdates. Delivering
        the same message twice is what Telegram does when a webhook is slow."""
        self._deliver_update({"update_id": next(self._update_ids), "message": message})
        return message

    def _deliver_update(self, update: dict[str, Any]) -> None:
        if not self.webhook_url:
            with self._changed:
                self._updates.append(update)
                self._changed.notify_all()
            return
        # Like Telegram, redeliver an update the webhook did not accept.
        for attempt in range(3):
            if self.post_update(update) < 300:
                break
            time.sleep(0.2 * (attempt + 1))

    def post_update(self, update: dict[str, Any]) -> int:
        """One delivery of `update` to the webhook, as Telegram makes it; its HTTP status."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret} if self.webhook_secret else {}
        targets = [self.webhook_url, *self.instances]
        target = targets[next(self._rotation) % len(targets)]
        try:
            status = requests.post(target, json=update, headers=headers, timeout=30).status_code
        except requests.RequestException:
            status = 599
        with self._changed:
            self.deliveries.append(status)
            message_id = (update.get("message") or {}).get("message_id")
            if isinstance(message_id, int):
                self.deliveries_of.setdefault(message_id, []).append(status)
                self.delivered_to.setdefault(message_id, []).append(target)
        if status >= 300:
            # As getWebhookInfo reports it on Telegram.
            self.webhook_last_error = f"Wrong response from the webhook: {status}"
        return status

    def new_update(self, message: dict[str, Any]) -> dict[str, Any]:
        """An update carrying `message`, with the next update id, not yet delivered."""
        return {"update_id": next(self._update_ids), "message": message}

    def photo_message(self, chat_id: int, image: bytes) -> dict[str, Any]:
        """The message a user's photo arrives in, not yet delivered (see user_sends_photo)."""
        stored = self.add_file(image)
        width, height = _image_size(image)
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

    # --- the Bot API -----------------------------------------------------
    def _build_app(self) -> Flask:
        app = Flask("telegram-standin")

        @app.route("/bot<token>/<method>", methods=["GET", "POST"])
        def bot_api(token: str, method: str) -> Response:
            if token != self.token:
                return _error(401, "Unauthorized")
            self.calls.append(method)
            params: dict[str, Any] = {**request.args.to_dict(), **request.form.to_dict()}
            if request.is_json:
                params.update(request.get_json(silent=True) or {})
            files = {name: f.read() for name, f in request.files.items()}
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                return _error(404, "Not Found: method not found")
            return self._answer(method, lambda: handler(params, files))

        @app.route("/file/bot<token>/<path:file_path>")
        def download(token: str, file_path: str) -> Response:
            if token != self.token:
                return _error(401, "Unauthorized")
            return self._answer("file", lambda: self._file(file_path))

        @app.errorhandler(_Dropped)
        def dropped(error: _Dropped) -> Response:
            # The socket is already shut; werkzeug's attempt to answer goes nowhere.
            return Response(status=500)

        @app.errorhandler(_Refused)
        def refused(error: _Refused) -> Response:
            return _error(error.code, error.description)

        return app

    def _answer(self, method: str, call: Any) -> Response:
        """`call`'s answer, or what the next injected fault for `method` makes of it."""
        fault = self._next_fault(method)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        elif fault is not None and fault.kind == "api_error":
            extra = {"retry_after": fault.retry_after} if fault.retry_after else None
            return _error(fault.status, fault.description, extra)
        elif fault is not None and fault.kind == "html":
            return Response(_HTML_ERROR.format(status=fault.status), status=fault.status, mimetype="text/html")
        elif fault is not None and fault.kind == "drop" and not fault.after_effect:
            _drop_connection()
        result = call()
        if fault is not None and fault.kind == "drop":
            _drop_connection()
        if isinstance(result, Response):
            return result
        return _json({"ok": True, "result": result})

    def _file(self, file_path: str) -> Response:
        for stored in self._files.values():
            if stored.file_path == file_path:
                return Response(stored.data, mimetype="application/octet-stream")
        return _error(404, "Not Found")

    def _api_getMe(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return BOT_USER

    def _api_setWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self.webhook_url = params.get("url", "")
        self.webhook_secret = params.get("secret_token", "")
        allowed = params.get("allowed_updates")
        self.webhook_allowed_updates = json.loads(allowed) if isinstance(allowed, str) else allowed
        self.webhook_last_error = ""
        self.set_webhook_calls += 1
        return True

    def _api_deleteWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self.webhook_url = ""
        self.webhook_secret = ""
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_allowed_updates is not None:
            info["allowed_updates"] = self.webhook_allowed_updates
        if self.webhook_last_error:
            info["last_error_date"] = int(time.time())
            info["last_error_message"] = self.webhook_last_error
        return info

    def _api_getUpdates(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if self.webhook_url:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 10.0)
        deadline = time.monotonic() + wait
        with self._changed:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            return list(self._updates[: int(params.get("limit") or 100)])

    def _api_getFile(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            return _error(400, "Bad Request: invalid file_id")
        if len(stored.data) > self.max_download_bytes:
            return _error(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _api_sendChatAction(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        with self._changed:
            self.chat_actions.append((int(params["chat_id"]), str(params.get("action"))))
            self._changed.notify_all()
        self._event(int(params["chat_id"]), f"bot: ({params.get('action')}…)")
        return True

    def _api_sendMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        text = _text(params.get("text"), "message text is empty", TEXT_LIMIT, "message is too long")
        sent = SentMessage("sendMessage", int(params["chat_id"]), 0, text=text, reply_markup=_markup(params))
        return self._record(sent, params)

    def _api_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        photo = self._upload(params.get("photo"), files, "photo")
        _check_photo(photo)
        caption = _caption(params.get("caption"))
        sent = SentMessage(
            "sendPhoto", int(params["chat_id"]), 0, caption=caption, photo=photo, reply_markup=_markup(params)
        )
        return self._record(sent, params)

    def _api_sendDocument(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        document = files.get("document")
        if document is None:
            return _error(400, "Bad Request: there is no document in the request")
        if len(document) > UPLOAD_MAX_BYTES:
            return _error(413, "Request Entity Too Large")
        name = request.files["document"].filename
        sent = SentMessage(
            "sendDocument",
            int(params["chat_id"]),
            0,
            caption=_caption(params.get("caption")),
            document=document,
            file_name=name,
            reply_markup=_markup(params),
        )
        return self._record(sent, params)

    def _api_sendMediaGroup(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        media = _json_param(params.get("media"), "media")
        if not isinstance(media, list) or len(media) not in MEDIA_GROUP_SIZES:
            raise _Refused("Bad Request: media group must include 2-10 items")
        if "reply_markup" in params:
            raise _Refused("Bad Request: sendMediaGroup has no reply_markup")
        group = secrets.token_hex(6)
        items = []
        for item in media:
            if item.get("type") != "photo":
                raise _Refused("Bad Request: the stand-in serves photo media groups only")
            photo = self._upload(item.get("media"), files, "photo")
            _check_photo(photo)
            items.append((photo, _caption(item.get("caption"))))
        messages = []
        for photo, caption in items:
            sent = SentMessage(
                "sendMediaGroup", int(params["chat_id"]), 0, caption=caption, photo=photo, media_group_id=group
            )
            messages.append(self._record(sent, params))
        return messages

    def _api_editMessageText(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        shown = self._editable(params)
        text = _text(params.get("text"), "message text is empty", TEXT_LIMIT, "MESSAGE_TOO_LONG")
        if shown.kind != "text":
            raise _Refused("Bad Request: there is no text in the message to edit")
        markup = _markup(params)
        if (shown.text, shown.reply_markup) == (text, markup):
            raise _Refused(NOT_MODIFIED)
        with self._changed:
            shown.text, shown.reply_markup = text, markup
            shown.edits.append("editMessageText")
            shown.edited_at = time.monotonic()
            self._changed.notify_all()
        self._event(shown.chat_id, f"bot edits #{shown.message_id}: {shown.shown()}")
        return self._as_message(shown)

    def _api_editMessageMedia(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        shown = self._editable(params)
        media = _json_param(params.get("media"), "media")
        if not isinstance(media, dict) or media.get("type") not in ("photo", "document"):
            raise _Refused("Bad Request: the stand-in edits into a photo or a document only")
        if shown.media_group_id is not None:
            raise _Refused("Bad Request: the stand-in does not edit media in an album")
        data = self._upload(media.get("media"), files, media["type"])
        caption = _caption(media.get("caption"))
        markup = _markup(params)
        with self._changed:
            if media["type"] == "photo":
                _check_photo(data)
                shown.photo, shown.document = data, None
            else:
                shown.document, shown.photo = data, None
            shown.text, shown.caption, shown.reply_markup = None, caption, markup
            shown.edits.append("editMessageMedia")
            shown.edited_at = time.monotonic()
            self._changed.notify_all()
        self._event(shown.chat_id, f"bot edits #{shown.message_id}: {shown.shown()}")
        return self._as_message(shown)

    def _api_deleteMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        try:
            shown = self.message(int(params["chat_id"]), int(params["message_id"]))
        except LookupError:
            raise _Refused("Bad Request: message to delete not found") from None
        if shown.deleted:
            raise _Refused("Bad Request: message to delete not found")
        with self._changed:
            shown.deleted = True
            self._changed.notify_all()
        self._event(shown.chat_id, f"bot deletes #{shown.message_id}")
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        query = self.callbacks.get(str(params.get("callback_query_id")))
        late = query is not None and time.monotonic() - query.at > CALLBACK_ANSWER_S
        if query is None or query.answered or late:
            raise _Refused("Bad Request: query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > CALLBACK_TEXT_LIMIT:
            raise _Refused("Bad Request: MESSAGE_TOO_LONG")
        with self._changed:
            query.answered, query.answer = True, text
            self._changed.notify_all()
        if text:
            self._event(query.chat_id, f"bot (toast): {text}")
        return True

    def _api_setMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        commands = _json_param(params.get("commands"), "commands")
        if not isinstance(commands, list) or len(commands) > COMMANDS_LIMIT:
            raise _Refused("Bad Request: too many commands")
        for command in commands:
            name, description = str(command.get("command", "")), str(command.get("description", ""))
            if not _COMMAND.fullmatch(name):
                raise _Refused("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= COMMAND_DESCRIPTION_LIMIT:
                raise _Refused("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        with self._changed:
            self.commands[self._commands_key(params)] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
            self.set_commands_calls += 1
        return True

    def _api_getMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return self.commands.get(self._commands_key(params), [])

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = _json_param(params.get("scope"), "scope") if params.get("scope") else {"type": "default"}
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _Refused("Bad Request: invalid language code specified")
        return str(scope.get("type", "default")), language

    # --- messages --------------------------------------------------------
    def _upload(self, media: Any, files: dict[str, bytes], field_name: str) -> bytes:
        """The bytes of a photo or document parameter: an upload (in `files`, or
        "attach://<name>"), or the file_id of a file Telegram already has."""
        if isinstance(media, str) and media.startswith("attach://"):
            data = files.get(media.removeprefix("attach://"))
        elif media is None:
            data = files.get(field_name)
        else:
            data = self._sent_file(str(media))
        if data is None:
            raise _Refused(f"Bad Request: there is no {field_name} in the request")
        if len(data) > UPLOAD_MAX_BYTES:
            raise _Refused("Request Entity Too Large", 413)
        return data

    def _sent_file(self, file_id: str) -> bytes | None:
        """A file sent before, by the file_id Telegram gave it (SENT-<message>)."""
        if not file_id.startswith("SENT-"):
            stored = self._files.get(file_id)
            return stored.data if stored else None
        for sent in self.sent:
            if f"SENT-{sent.message_id}" == file_id:
                return sent.photo if sent.photo is not None else sent.document
        raise _Refused("Bad Request: wrong file identifier/HTTP URL specified")

    def _editable(self, params: dict[str, Any]) -> SentMessage:
        try:
            shown = self.message(int(params["chat_id"]), int(params["message_id"]))
        except (LookupError, KeyError, ValueError):
            raise _Refused("Bad Request: message to edit not found") from None
        if shown.deleted:
            raise _Refused("Bad Request: message to edit not found")
        return shown

    def _record(self, sent: SentMessage, params: dict[str, Any]) -> dict[str, Any]:
        reply = params.get("reply_parameters")
        if reply:
            reply = json.loads(reply) if isinstance(reply, str) else reply
            sent.reply_to_message_id = int(reply["message_id"])
        elif params.get("reply_to_message_id"):
            sent.reply_to_message_id = int(params["reply_to_message_id"])
        sent.message_id = next(self._ids)
        sent.at = time.monotonic()
        with self._changed:
            self.sent.append(sent)
            self._changed.notify_all()
        answering = f" ↩#{sent.reply_to_message_id}" if sent.reply_to_message_id else ""
        self._event(sent.chat_id, f"bot #{sent.message_id}{answering}: {sent.shown()}")
        return self._as_message(sent)

    def _as_message(self, sent: SentMessage) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "from": BOT_USER,
            "chat": {"id": sent.chat_id, "type": "private"},
        }
        if sent.edits:
            message["edit_date"] = int(time.time())
        if sent.text is not None:
            message["text"] = sent.text
        if sent.photo is not None:
            width, height = _image_size(sent.photo)
            message["photo"] = [
                {
                    "file_id": f"SENT-{sent.message_id}",
                    "file_unique_id": f"S{sent.message_id}",
                    "width": width,
                    "height": height,
                    "file_size": len(sent.photo),
                }
            ]
        if sent.document is not None:
            message["document"] = {
                "file_id": f"SENT-{sent.message_id}",
                "file_unique_id": f"S{sent.message_id}",
                "file_name": sent.file_name,
                "file_size": len(sent.document),
            }
        if sent.caption and sent.kind != "text":
            message["caption"] = sent.caption
        if sent.media_group_id:
            message["media_group_id"] = sent.media_group_id
        if sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        return message


def _json_param(value: Any, name: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _Refused(f"Bad Request: can't parse {name} JSON object") from None
    if value is None:
        raise _Refused(f"Bad Request: parameter {name} is required")
    return value


def _text(value: Any, empty: str, limit: int, too_long: str) -> str:
    text = str(value or "")
    if not text.strip():
        raise _Refused(f"Bad Request: {empty}")
    if len(text) > limit:
        raise _Refused(f"Bad Request: {too_long}")
    return text


def _caption(value: Any) -> str | None:
    if value is not None and len(str(value)) > CAPTION_LIMIT:
        raise _Refused("Bad Request: message caption is too long")
    return None if value is None else str(value)


def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
    """The inline keyboard of a call, refused as Telegram refuses bad buttons."""
    if not params.get("reply_markup"):
        return None
    markup = _json_param(params["reply_markup"], "reply_markup")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text", "")).strip():
                raise _Refused("Bad Request: BUTTON_TEXT_INVALID")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_MAX_BYTES:
                raise _Refused("Bad Request: BUTTON_DATA_INVALID")
    return dict(markup)


def _check_photo(photo: bytes) -> None:
    if len(photo) > PHOTO_MAX_BYTES:
        raise _Refused("Bad Request: PHOTO_INVALID_DIMENSIONS")
    try:
        width, height = _image_size(photo)
    except Exception:
        raise _Refused("Bad Request: IMAGE_PROCESS_FAILED") from None
    if width + height > PHOTO_MAX_SIDES or max(width, height) > PHOTO_MAX_RATIO * min(width, height):
        raise _Refused("Bad Request: PHOTO_INVALID_DIMENSIONS")


_HTML_ERROR = """<html>
<head><title>{status} Bad Gateway</title></head>
<body>
<center><h1>{status} Bad Gateway</h1></center>
<hr><center>nginx/1.18.0</center>
</body>
</html>
"""


def _drop_connection() -> None:
    """Close the caller's connection now, with no answer (a network failure, as the caller sees it)."""
    connection = request.environ.get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
    raise _Dropped()


def _image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return _json(body, status=code)
