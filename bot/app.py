"""The Flask webhook Telegram calls (through the load balancer, HTTPS on 8443).

`POST /telegram/webhook` checks Telegram's secret header in constant time and
runs the handlers in the request (they only start an execution, so it answers
fast, within the deadline of bot/deadline.py counted from the request's
arrival); an error answers 500 and Telegram redelivers the update, which the
execution name makes harmless. Until the bot's credentials can be loaded
(Secrets Manager unreachable, token not set yet) it answers 503, which
Telegram also redelivers later. `GET /healthz` is the load balancer's check:
the server is up, whatever Telegram or AWS are doing. Each update received
is logged once (UPDATE_RECEIVED), so a webhook that hears nothing shows.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable

import requests
import telebot
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, Response, jsonify, request
from telebot import types
from telebot.apihelper import ApiException

from bot.deadline import WEBHOOK_BUDGET_S, Deadline, DeadlineExceeded, webhook_deadline
from polybot.telegram import named_error

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_UPDATE_BYTES = 1024 * 1024
RETRY_AFTER_S = 30
"""What a 503 asks callers to wait while the credentials cannot be loaded."""
UPDATE_RECEIVED = "update_received"
"""The `event` of the one log line per update Telegram delivered (with the right
secret, and an update): a metric filter counts them, and an alarm fires after
hours without one (terraform/modules/bot)."""

log = logging.getLogger(__name__)


class BotNotReady(RuntimeError):
    """The bot cannot serve Telegram yet; the message says why (no token, no secret)."""


TRANSIENT = (ApiException, requests.RequestException, BotoCoreError, ClientError, DeadlineExceeded)
"""Failures of Telegram or AWS, which a redelivery of the same update may not meet again."""

Connect = Callable[[], tuple[telebot.TeleBot, str]]
"""Returns the bot with its handlers and the webhook secret, or raises BotNotReady."""


def create_app(
    connect: Connect, status: Callable[[], str] = lambda: "ready", clock: Callable[[], float] = time.monotonic
) -> Flask:
    app = Flask("polybot")
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPDATE_BYTES

    @app.post(WEBHOOK_PATH)
    def webhook() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
        # From the request's arrival: loading the credentials (the first update) counts too.
        deadline = Deadline(WEBHOOK_BUDGET_S, clock)
        try:
            bot, webhook_secret = connect()
        except BotNotReady as exc:
            log.error("webhook call refused, the bot is not ready: %s", exc)
            return "not ready", 503, {"Retry-After": str(RETRY_AFTER_S)}
        offered = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(offered.encode(), webhook_secret.encode()):
            log.warning("webhook call without the right secret from %s", request.remote_addr)
            return "forbidden", 403
        body = request.get_data(as_text=True)
        try:
            update = types.Update.de_json(body)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            update = None
        if update is None:
            # 400, not 500: redelivering a body that is not an update cannot help.
            return "not an update", 400
        log.info(
            "update %s received", update.update_id, extra={"event": UPDATE_RECEIVED, "update_id": update.update_id}
        )
        try:
            with webhook_deadline(deadline):
                bot.process_new_updates([update])
        except ApiException as exc:
            refusal = named_error(exc)
            if refusal.retryable:
                raise  # 500: Telegram (5xx, 429, unreachable) may answer a redelivery
            # Telegram refused our call for good: a chat that takes no messages from
            # the bot (the user's choice), or an update whose fields make a call it
            # refuses (400). A redelivery meets the same refusal: take it off the queue.
            log.warning("update %s not answered: %s (%s)", update.update_id, refusal, refusal.name)
        except TRANSIENT:
            raise  # 500: Telegram delivers the update again, when AWS or Telegram may be back
        except Exception:
            # A bug or an update shape nobody foresaw: redelivering it would fail the
            # same way, forever. Log it for us, and take it off Telegram's queue.
            log.exception("update %s could not be handled", update.update_id)
        return "", 200

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", telegram=status())

    return app
