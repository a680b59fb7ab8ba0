"""A local stand-in for the Telegram Bot API, spoken to over real HTTP.

Polybot's bot and Lambda functions talk to it exactly as to Telegram (or a
self-hosted Bot API server): `POLYBOT_TELEGRAM_API_URL` points at it. It
serves the methods Polybot uses (getMe, setWebhook, deleteWebhook,
getWebhookInfo, getUpdates, getFile and file downloads, sendChatAction,
sendMessage, sendPhoto, sendDocument), keeps Telegram's documented rules (the
20 MB `getFile` limit; sendPhoto's 10 MB, width + height 10000 and ratio 20;
50 MB uploads; 1024-character captions and 4096-character texts; 401 for a
wrong token; parameters in the query string, a form or a multipart body), and
plays the user's side: `user_sends_photo` delivers a real-shaped Update to the
registered webhook (with the secret header) or to `getUpdates`, and
`replies_to` returns what the bot sent back.

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
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, Response, request
from PIL import Image
from werkzeug.serving import BaseWSGIServer, make_server

from polybot.settings import TELEGRAM_DOWNLOAD_LIMIT_BYTES
from polybot.summary import CAPTION_LIMIT
from polybot.telegram import PHOTO_MAX_BYTES, PHOTO_MAX_RATIO, PHOTO_MAX_SIDES, UPLOAD_MAX_BYTES

TEXT_LIMIT = 4096
"""Telegram's limit on a message's text, in characters."""

log = logging.getLogger(__name__)

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Polybot", "username": "polybot_local_bot"}


@dataclass
class SentMessage:
    """One message the bot sent to a chat."""

    method: str
    chat_id: int
    message_id: int
    text: str | None = None
    caption: str | None = None
    photo: bytes | None = None
    reply_to_message_id: int | None = None
    document: bytes | None = None
    file_name: str | None = None
    at: float = 0.0
    """When the stand-in received it (time.monotonic())."""


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = field(repr=False)


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


class TelegramStandIn:
    def __init__(self, token: str, max_download_bytes: int = TELEGRAM_DOWNLOAD_LIMIT_BYTES) -> None:
        self.token = token
        self.max_download_bytes = max_download_bytes
        self.sent: list[SentMessage] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_allowed_updates: list[str] | None = None
        self.webhook_last_error = ""
        self.set_webhook_calls = 0
        self.calls: list[str] = []
        """Every Bot API method called, in order."""
        self.deliveries: list[int] = []
        self.deliveries_of: dict[int, list[int]] = {}
        """The webhook's answers to each message's update, by message id (redeliveries included)."""
        self._files: dict[str, StoredFile] = {}
        self._updates: list[dict[str, Any]] = []
        self._faults: dict[str, list[Fault]] = {}
        self._ids = itertools.count(1000)
        self._update_ids = itertools.count(500000)
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

    def user_sends_photo(self, chat_id: int, image: bytes, caption: str | None = None) -> dict[str, Any]:
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
        if caption:
            message["caption"] = caption
        return self.deliver(message)

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
        return self.deliver(message)

    def user_sends_text(self, chat_id: int, text: str) -> dict[str, Any]:
        message = self._message(chat_id)
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self.deliver(message)

    def replies_to(self, chat_id: int, message_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id and m.reply_to_message_id == message_id]

    def wait_for_reply(self, chat_id: int, message_id: int, timeout: float = 60.0) -> SentMessage:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self.replies_to(chat_id, message_id):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no reply to message {message_id} in chat {chat_id} after {timeout} s")
                self._changed.wait(remaining)
            return self.replies_to(chat_id, message_id)[0]

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

    # --- delivery --------------------------------------------------------
    def _message(self, chat_id: int) -> dict[str, Any]:
        return {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Local", "username": "local_user"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Local", "language_code": "en"},
        }

    def deliver(self, message: dict[str, Any]) -> dict[str, Any]:
        """Deliver `message` in a new update: to the webhook if one is set (with
        Telegram's redelivery of a failed call), else to getUpdates. Delivering
        the same message twice is what Telegram does when a webhook is slow."""
        update: dict[str, Any] = {"update_id": next(self._update_ids), "message": message}
        if not self.webhook_url:
            with self._changed:
                self._updates.append(update)
                self._changed.notify_all()
            return message
        # Like Telegram, redeliver an update the webhook did not accept.
        for attempt in range(3):
            if self.post_update(update) < 300:
                break
            time.sleep(0.2 * (attempt + 1))
        return message

    def post_update(self, update: dict[str, Any]) -> int:
        """One delivery of `update` to the webhook, as Telegram makes it; its HTTP status."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret} if self.webhook_secret else {}
        try:
            status = requests.post(self.webhook_url, json=update, headers=headers, timeout=30).status_code
        except requests.RequestException:
            status = 599
        with self._changed:
            self.deliveries.append(status)
            message_id = (update.get("message") or {}).get("message_id")
            if isinstance(message_id, int):
                self.deliveries_of.setdefault(message_id, []).append(status)
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
        return True

    def _api_sendMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        text = str(params.get("text") or "")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            return _error(400, "Bad Request: message is too long")
        return self._record(SentMessage("sendMessage", int(params["chat_id"]), 0, text=text), params)

    def _api_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        photo = files.get("photo")
        if photo is None:
            return _error(400, "Bad Request: there is no photo in the request")
        if len(photo) > PHOTO_MAX_BYTES:
            return _error(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        try:
            width, height = _image_size(photo)
        except Exception:
            return _error(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if width + height > PHOTO_MAX_SIDES or max(width, height) > PHOTO_MAX_RATIO * min(width, height):
            return _error(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        if len(params.get("caption") or "") > CAPTION_LIMIT:
            return _error(400, "Bad Request: message caption is too long")
        sent = SentMessage("sendPhoto", int(params["chat_id"]), 0, caption=params.get("caption"), photo=photo)
        return self._record(sent, params)

    def _api_sendDocument(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        document = files.get("document")
        if document is None:
            return _error(400, "Bad Request: there is no document in the request")
        if len(document) > UPLOAD_MAX_BYTES:
            return _error(413, "Request Entity Too Large")
        name = request.files["document"].filename
        sent = SentMessage(
            "sendDocument", int(params["chat_id"]), 0, caption=params.get("caption"), document=document, file_name=name
        )
        return self._record(sent, params)

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
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "from": BOT_USER,
            "chat": {"id": sent.chat_id, "type": "private"},
        }
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
            if sent.caption:
                message["caption"] = sent.caption
        return message


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
