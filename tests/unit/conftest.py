"""Fixtures shared by the unit tests: images made in memory, Telegram messages
as the Bot API sends them, and the Bot API on this machine so that no test
reaches Telegram: the project's one stand-in (`telegram`, which records every
call) and a port that refuses connections."""

from __future__ import annotations

import io
import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import telebot
from PIL import Image
from telebot import apihelper

from local.telegram_standin import TelegramStandIn
from polybot.settings import Settings
from polybot.telegram import make_bot


def _image_bytes(
    image_format: str, size: tuple[int, int] = (64, 48), color: tuple[int, ...] = (10, 200, 30), **save: Any
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, image_format, **save)
    return buffer.getvalue()


@pytest.fixture
def image_bytes() -> Callable[..., bytes]:
    """image_bytes("PNG", size=(w, h), color=(r, g, b), **save_options) -> encoded image."""
    return _image_bytes


def _telegram_message(content: dict[str, Any], *, chat_id: int = 4242, message_id: int = 77) -> dict[str, Any]:
    message = {
        "message_id": message_id,
        "date": 1_714_557_600,
        "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
        "from": {"id": 1001, "is_bot": False, "first_name": "Ada", "language_code": "en"},
    }
    message.update(content)
    return message


@pytest.fixture
def telegram_message() -> Callable[..., dict[str, Any]]:
    """telegram_message({"photo": [...]}, chat_id=..., message_id=...) -> a Bot API Message object."""
    return _telegram_message


@pytest.fixture
def photo_sizes() -> list[dict[str, Any]]:
    """The sizes Telegram makes of one photo, deliberately not smallest first."""
    return [
        {"file_id": "photo-m", "file_unique_id": "u-m", "width": 320, "height": 240, "file_size": 15_000},
        {"file_id": "photo-xl", "file_unique_id": "u-xl", "width": 1280, "height": 960, "file_size": 180_000},
        {"file_id": "photo-s", "file_unique_id": "u-s", "width": 90, "height": 67, "file_size": 1_200},
    ]


@pytest.fixture
def refused_api_url(monkeypatch: pytest.MonkeyPatch) -> str:
    """Point telebot at a local port nobody listens on: any Bot API call fails
    at once with a connection error instead of reaching the internet."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setattr(apihelper, "API_URL", base + "/bot{0}/{1}")
    monkeypatch.setattr(apihelper, "FILE_URL", base + "/file/bot{0}/{1}")
    return base


@pytest.fixture
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo what polybot.logs.configure does to the process: root handlers and
    level, the levels of the loggers it quietens, and the registered secrets."""
    from polybot import logs

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quietened = {name: logging.getLogger(name).level for name in _QUIETENED}
    monkeypatch.setattr(logs, "_secrets", set())
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in quietened.items():
        logging.getLogger(name).setLevel(old)


_QUIETENED = ("TeleBot", "urllib3", "botocore", "boto3", "werkzeug", "ultralytics")


STANDIN_TOKEN = "7000000009:STANDIN-TEST-TOKEN"
"""The bot token of the `telegram` stand-in and the `bot` that talks to it."""


@pytest.fixture
def telegram() -> Iterator[TelegramStandIn]:
    """The Bot API stand-in (local/telegram_standin/) over HTTP on this machine."""
    stand_in = TelegramStandIn(STANDIN_TOKEN)
    stand_in.start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def bot(telegram: TelegramStandIn, monkeypatch: pytest.MonkeyPatch) -> telebot.TeleBot:
    """A TeleBot that talks to the stand-in."""
    # make_bot points telebot's module-wide endpoint and timeouts at the stand-in: put them back after.
    for name in ("API_URL", "FILE_URL", "CONNECT_TIMEOUT", "READ_TIMEOUT", "RETRY_ON_ERROR", "CUSTOM_REQUEST_SENDER"):
        monkeypatch.setattr(apihelper, name, getattr(apihelper, name))
    return make_bot(STANDIN_TOKEN, Settings(telegram_api_url=telegram.api_url))
