"""bot.wsgi: the module gunicorn serves in the bot's container (`bot.wsgi:app`)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from bot import service
from polybot.settings import Settings


class BuiltService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = Flask("built")
        self.webhooks: list[str] = []

    def register_webhook(self, public_url: str) -> None:
        self.webhooks.append(public_url)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> Iterator[list[BuiltService]]:
    """service.build replaced by one that records what it was given; bot.wsgi imported afresh."""
    services: list[BuiltService] = []

    def build(settings: Settings) -> Any:
        services.append(BuiltService(settings))
        return services[-1]

    monkeypatch.setattr(service, "build", build)
    sys.modules.pop("bot.wsgi", None)
    yield services
    sys.modules.pop("bot.wsgi", None)


def test_importing_the_module_builds_the_app_from_the_environment(
    built: list[BuiltService], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLYBOT_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:1:stateMachine:p")
    monkeypatch.delenv("POLYBOT_PUBLIC_URL", raising=False)

    wsgi = importlib.import_module("bot.wsgi")

    [only] = built
    assert wsgi.app is only.app
    assert only.settings.state_machine_arn == "arn:aws:states:us-east-1:1:stateMachine:p"
    assert only.webhooks == []


def test_a_public_url_registers_the_webhook(built: list[BuiltService], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLYBOT_PUBLIC_URL", raising=False)
    wsgi = importlib.import_module("bot.wsgi")

    wsgi.create_app(Settings(public_url="https://bot.example.com:8443"))

    assert built[-1].webhooks == ["https://bot.example.com:8443"]
