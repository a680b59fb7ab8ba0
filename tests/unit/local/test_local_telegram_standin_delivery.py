"""local.telegram_standin.delivery: updates queued for getUpdates without a webhook,
or posted to the webhook (round-robin over the instances behind a balancer), and
what getWebhookInfo then reports."""

from __future__ import annotations

import socket
import threading

from local.telegram_standin.delivery import Delivery


def refusing_url() -> str:
    """A webhook address nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/telegram/webhook"


def test_without_a_webhook_updates_wait_for_get_updates_until_confirmed() -> None:
    delivery = Delivery(threading.Condition())
    first = delivery.deliver({"message_id": 1})
    delivery.deliver({"message_id": 2})

    updates = delivery.updates_from(offset=0, limit=100, wait_s=0)
    assert [u["message"] for u in updates] == [first, {"message_id": 2}]
    # An offset past an update confirms it; getUpdates never sees it again.
    assert [u["message"]["message_id"] for u in delivery.updates_from(updates[1]["update_id"], 100, 0)] == [2]
    assert delivery.webhook_info()["pending_update_count"] == 1
    assert [u["message"]["message_id"] for u in delivery.take_pending()] == [2]
    assert delivery.updates_from(0, 100, wait_s=0) == []


def test_setting_the_webhook_counts_and_forgets_its_last_error() -> None:
    delivery = Delivery(threading.Condition())
    delivery.webhook.last_error = "Wrong response from the webhook: 502"

    delivery.register("https://bot.example.com/telegram/webhook", "s", ["message"])
    info = delivery.webhook_info()
    delivery.unregister()

    assert (info["url"], info["allowed_updates"], "last_error_message" in info) == (
        "https://bot.example.com/telegram/webhook",
        ["message"],
        False,
    )
    assert (delivery.webhook.url, delivery.webhook.secret, delivery.webhook.set_calls) == ("", "", 1)


def test_deliveries_go_round_robin_and_a_failed_one_is_reported_as_telegram_does() -> None:
    delivery = Delivery(threading.Condition())
    registered, other = refusing_url(), refusing_url()
    delivery.register(registered, "", None)
    delivery.balance_across(other)

    statuses = [delivery.post_update(delivery.new_update({"message_id": 5})) for _ in range(3)]

    assert statuses == [599, 599, 599] and delivery.deliveries == statuses
    assert delivery.deliveries_of == {5: [599, 599, 599]}
    assert delivery.delivered_to == {5: [registered, other, registered]}
    assert delivery.webhook_info()["last_error_message"] == "Wrong response from the webhook: 599"
