"""bot.wsgi: the module gunicorn serves in the bot's container (`bot.wsgi:app`).

Importing it must not call Telegram or AWS: here both are unreachable (local
ports nobody listens on), as when an instance boots while Secrets Manager or
Telegram misbehave, and the app still comes up and answers its health check.
"""

from __future__ import annotations

import importlib
import socket
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from bot import app as webhook


def refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture
def wsgi(monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> Iterator[ModuleType]:
    monkeypatch.setenv("POLYBOT_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:p")
    monkeypatch.setenv("POLYBOT_TELEGRAM_SECRET_ID", "arn:aws:secretsmanager:us-east-1:123456789012:secret:s")
    monkeypatch.setenv("POLYBOT_AWS_ENDPOINT_URL", refused_url())
    monkeypatch.setenv("POLYBOT_TELEGRAM_API_URL", refused_url())
    monkeypatch.setenv("POLYBOT_PUBLIC_URL", "https://bot.example.com:8443")
    sys.modules.pop("bot.wsgi", None)
    yield importlib.import_module("bot.wsgi")
    sys.modules.pop("bot.wsgi", None)


def test_the_app_comes_up_and_is_healthy_with_aws_and_telegram_unreachable(wsgi: ModuleType) -> None:
    response = wsgi.app.test_client().get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "telegram": "not ready: not connected yet"}


def test_webhook_calls_are_refused_with_503_until_the_secret_can_be_read(wsgi: ModuleType) -> None:
    client = wsgi.app.test_client()

    response = client.post(webhook.WEBHOOK_PATH, json={"update_id": 1}, headers={webhook.SECRET_HEADER: "x"})
    health = client.get("/healthz").get_json()

    assert response.status_code == 503
    assert health["telegram"].startswith("not ready: cannot read the secret from Secrets Manager")
