"""ImageRequests as the bot builds them, for tests that start executions or
call functions directly: every request carries the chat's Preferences."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from polybot import contracts, naming, retention
from polybot.settings import Settings


def preferences(**overrides: Any) -> dict[str, Any]:
    """A chat's Preferences when it never changed them (/settings), with `overrides`."""
    defaults = {
        "language": "en",
        "confidence": Settings().confidence,
        "model": Settings().model,
        "album_reply": "album",
    }
    return contracts.validate("Preferences", {**defaults, **overrides})


def image_request(chat_id: int, message_id: int, file_id: str = "file", **fields: Any) -> dict[str, Any]:
    """An ImageRequest for a photo; `fields` replace any field ("preferences" too)."""
    request = {
        "chat_id": chat_id,
        "message_id": message_id,
        "user_id": chat_id,
        "language_code": "en",
        "file_id": file_id,
        "file_unique_id": f"u-{file_id}",
        "file_size": None,
        "file_name": None,
        "mime_type": "image/jpeg",
        "source": "photo",
        "received_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "expires_at": retention.expires_at(time.time(), Settings().retention_days),
        "preferences": preferences(),
        **fields,
    }
    return contracts.validate("ImageRequest", request)


def execution_name(request: dict[str, Any]) -> str:
    return naming.execution_name(request["chat_id"], request["message_id"])
