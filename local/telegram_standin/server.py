"""The stand-in's HTTP side: a Flask app at the Bot API's addresses
(/bot<token>/<method> and /file/bot<token>/<file_path>) that checks the token,
reads a call's parameters from the query string, a form, a JSON or a multipart
body, records the call, plays any injected fault, and answers in the Bot API's
JSON envelope; and the threaded werkzeug server it runs in.

Built by TelegramStandIn; the bot and the Lambda functions reach it over HTTP.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, make_server

from local.telegram_standin.faults import Dropped, Faults, play
from local.telegram_standin.methods import BotApiMethods, Upload
from local.telegram_standin.rules import Refused

STOP_POLL_S = 0.05

MINIMAL_SERVER_LACKS = frozenset({"editMessageMedia", "getMyCommands", "setMyCommands", "sendChatAction"})
"""What a minimal Bot API server (a third-party mock, an alternative server) may not
do: editing a message's media, the command menu, chat actions."""
MINIMAL_NOT_FOUND = {"detail": "Not Found"}
"""How such a server answers a method it lacks (404): its web framework's page for an
unknown address (FastAPI's), JSON without the Bot API's "ok"."""


class BotApiCall(NamedTuple):
    """One Bot API call as it arrived: the method and its parameters (uploads left out)."""

    method: str
    params: dict[str, Any]


class BotApiServer:
    def __init__(self, token: str, methods: BotApiMethods, faults: Faults) -> None:
        self.token = token
        self.methods = methods
        self.faults = faults
        self.calls: list[BotApiCall] = []
        """Every Bot API call with a valid token, in order (methods the stand-in lacks too)."""
        self.lacking: frozenset[str] = frozenset()
        """Methods answered as a minimal Bot API server answers one it lacks (serve_as_minimal)."""
        self.minimal = False
        self.app = self._build_app()
        self._server: BaseWSGIServer | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host` (all interfaces with "0.0.0.0", for containers); the
        URL returned is this machine's own."""
        self._server = make_server(host, port, self.app, threaded=True)
        # A short poll interval: stop() (once per unit test) waits up to one interval.
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": STOP_POLL_S},
            name="telegram-standin",
            daemon=True,
        ).start()
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

    def serve_as_minimal(self, lacking: frozenset[str] = MINIMAL_SERVER_LACKS) -> None:
        """From now on, answer `lacking` and every unknown method as a minimal Bot
        API server does (404, MINIMAL_NOT_FOUND); serve_as_telegram() ends it."""
        self.lacking, self.minimal = frozenset(lacking), True

    def serve_as_telegram(self) -> None:
        self.lacking, self.minimal = frozenset(), False

    def _build_app(self) -> Flask:
        app = Flask("telegram-standin")

        @app.route("/bot<token>/<method>", methods=["GET", "POST"])
        def bot_api(token: str, method: str) -> Response:
            if token != self.token:
                return _error(401, "Unauthorized")
            params: dict[str, Any] = {**request.args.to_dict(), **request.form.to_dict()}
            if request.is_json:
                params.update(request.get_json(silent=True) or {})
            self.calls.append(BotApiCall(method, dict(params)))
            files = {name: Upload(f.read(), f.filename) for name, f in request.files.items()}
            serve = None if method in self.lacking else self.methods.served.get(method)
            if serve is None and self.minimal:
                return _json(MINIMAL_NOT_FOUND, status=404)
            if serve is None:
                return _error(404, "Not Found: method not found")
            return self._answer(method, lambda: self.methods.call(method, serve, params, files))

        @app.route("/file/bot<token>/<path:file_path>")
        def download(token: str, file_path: str) -> Response:
            if token != self.token:
                return _error(401, "Unauthorized")

            def the_file() -> Response:
                return Response(self.methods.download(file_path), mimetype="application/octet-stream")

            return self._answer("file", the_file)

        @app.errorhandler(Dropped)
        def dropped(error: Dropped) -> Response:
            # The socket is already shut; werkzeug's attempt to answer goes nowhere.
            return Response(status=500)

        @app.errorhandler(Refused)
        def refused(error: Refused) -> Response:
            parameters = {"retry_after": error.retry_after} if error.retry_after else None
            return _error(error.code, error.description, parameters)

        return app

    def _answer(self, method: str, call: Callable[[], Any]) -> Response:
        """`call`'s answer, or what the next injected fault for `method` makes of it."""
        result = play(self.faults.next(method), call)
        if isinstance(result, Response):
            return result
        return _json({"ok": True, "result": result})


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return _json(body, status=code)
