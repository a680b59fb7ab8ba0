"""The Flask webhook Telegram calls (through the load balancer, HTTPS on 8443).

`POST /telegram/webhook` checks Telegram's secret header in constant time and
runs the handlers in the request (they only start an execution, so it answers
fast); an error answers 500 and Telegram redelivers the update, which the
execution name makes harmless. `GET /healthz` is the load balancer's check.
"""

from __future__ import annotations

import hmac
import logging

import telebot
from flask import Flask, Response, jsonify, request
from telebot import types

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_UPDATE_BYTES = 1024 * 1024

log = logging.getLogger(__name__)


def create_app(bot: telebot.TeleBot, webhook_secret: str) -> Flask:
    if not webhook_secret:
        raise ValueError("a webhook needs a secret: anyone could post updates otherwise")
    app = Flask("polybot")
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPDATE_BYTES

    @app.post(WEBHOOK_PATH)
    def webhook() -> tuple[str, int]:
        offered = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(offered.encode(), webhook_secret.encode()):
            log.warning("webhook call without the right secret from %s", request.remote_addr)
            return "forbidden", 403
        body = request.get_data(as_text=True)
        try:
            update = types.Update.de_json(body)
        except (ValueError, KeyError, TypeError, AttributeError):
            update = None
        if update is None:
            # 400, not 500: redelivering a body that is not an update cannot help.
            return "not an update", 400
        bot.process_new_updates([update])
        return "", 200

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    return app
