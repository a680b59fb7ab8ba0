"""How Telegram hands updates to the bot: to the registered webhook (with the
secret header, redelivering a call the webhook did not accept, round-robin over
the bot instances behind a load balancer), or, with no webhook, into the queue
that getUpdates reads. Keeps what getWebhookInfo reports and what each delivery
met.

Used by the simulated user (user.py), the webhook and getUpdates methods
(methods.py), and through TelegramStandIn by tests that post updates themselves.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

REDELIVERIES = 3
"""How many times an update is posted before Telegram gives up on it (here)."""


@dataclass
class Webhook:
    """The webhook as setWebhook left it."""

    url: str = ""
    secret: str = ""
    allowed_updates: list[str] | None = None
    last_error: str = ""
    """As getWebhookInfo reports the last failed delivery; "": none since setWebhook."""
    set_calls: int = 0


class Delivery:
    def __init__(self, changed: threading.Condition) -> None:
        """`changed`: the stand-in's one condition (state.ChatState.changed)."""
        self.webhook = Webhook()
        self.instances: list[str] = []
        """Other addresses that serve the webhook's address (see balance_across)."""
        self.deliveries: list[int] = []
        """The webhook's HTTP status for each delivery, in order (599: no answer)."""
        self.deliveries_of: dict[int, list[int]] = {}
        """The webhook's answers to each message's update, by message id (redeliveries included)."""
        self.delivered_to: dict[int, list[str]] = {}
        """Which webhook address each message's update was delivered to, by message id."""
        self.pending: list[dict[str, Any]] = []
        """Updates getUpdates has not yet confirmed (no webhook)."""
        self._changed = changed
        self._update_ids = itertools.count(500000)
        self._rotation = itertools.count()

    # --- the webhook, as the Bot API methods set it --------------------------
    def register(self, url: str, secret: str, allowed_updates: list[str] | None) -> None:
        self.webhook.url, self.webhook.secret = url, secret
        self.webhook.allowed_updates = allowed_updates
        self.webhook.last_error = ""
        self.webhook.set_calls += 1

    def unregister(self) -> None:
        self.webhook.url = ""
        self.webhook.secret = ""

    def webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }
        if self.webhook.allowed_updates is not None:
            info["allowed_updates"] = self.webhook.allowed_updates
        if self.webhook.last_error:
            info["last_error_date"] = int(time.time())
            info["last_error_message"] = self.webhook.last_error
        return info

    def balance_across(self, *addresses: str) -> None:
        """The webhook's address is served by these other bot instances too (full
        webhook URLs): deliveries go round-robin over the registered URL and them."""
        self.instances[:] = addresses

    # --- updates -----------------------------------------------------------
    def next_update_id(self) -> int:
        return next(self._update_ids)

    def new_update(self, message: dict[str, Any]) -> dict[str, Any]:
        """An update carrying `message`, with the next update id, not yet delivered."""
        return {"update_id": self.next_update_id(), "message": message}

    def deliver(self, message: dict[str, Any]) -> dict[str, Any]:
        """Deliver `message` in a new update: to the webhook if one is set (with
        Telegram's redelivery of a failed call), else to getUpdates. Delivering
        the same message twice is what Telegram does when a webhook is slow."""
        self.deliver_update(self.new_update(message))
        return message

    def deliver_update(self, update: dict[str, Any]) -> None:
        if not self.webhook.url:
            with self._changed:
                self.pending.append(update)
                self._changed.notify_all()
            return
        # Like Telegram, redeliver an update the webhook did not accept.
        for attempt in range(REDELIVERIES):
            if self.post_update(update) < 300:
                break
            time.sleep(0.2 * (attempt + 1))

    def post_update(self, update: dict[str, Any]) -> int:
        """One delivery of `update` to the webhook, as Telegram makes it; its HTTP status."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook.secret} if self.webhook.secret else {}
        targets = [self.webhook.url, *self.instances]
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
            self.webhook.last_error = f"Wrong response from the webhook: {status}"
        return status

    def updates_from(self, offset: int, limit: int, wait_s: float) -> list[dict[str, Any]]:
        """getUpdates: forget the updates before `offset` (confirmed), then the next
        `limit`, waiting up to `wait_s` for one to come."""
        deadline = time.monotonic() + wait_s
        with self._changed:
            self.pending[:] = [u for u in self.pending if u["update_id"] >= offset]
            while not self.pending and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            return list(self.pending[:limit])

    def take_pending(self) -> list[dict[str, Any]]:
        """Every queued update, taken out of the queue (a test hands them to the bot itself)."""
        with self._changed:
            taken = list(self.pending)
            self.pending.clear()
            return taken
