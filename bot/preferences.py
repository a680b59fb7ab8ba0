"""Each chat's preferences (/settings): the confidence threshold, the model and
how an album is answered, kept on the results-table item `prefs:<chat_id>` so
that every bot instance (and a restarted one) reads the same.

The bot reads them once per photo, while Telegram waits for the webhook's
answer, and puts them into the photo's ImageRequest (`preferences`, with the
language of the sender's Telegram). A chat that never changed anything, or
whose stored choice is no longer offered (a model taken out of
POLYBOT_EXTRA_MODELS), gets the deployment's defaults from Settings. When the
item cannot be read the photo is analysed with the defaults: a missing
preference should not stop an answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from polybot import i18n
from polybot.settings import Settings

log = logging.getLogger(__name__)

CONFIDENCE_CHOICES = (0.25, 0.4, 0.6)
"""The thresholds /settings offers (the deployment's default is added if it is not one of them)."""
ALBUM_REPLIES = ("album", "each")


def prefs_key(chat_id: int) -> dict[str, Any]:
    return {"image_id": {"S": f"prefs:{chat_id}"}}


@dataclass(frozen=True)
class Choices:
    """What a chat may choose, and what it gets when it chose nothing."""

    confidences: tuple[float, ...]
    models: tuple[str, ...]
    default_confidence: float
    default_model: str
    default_album_reply: str = "album"

    @classmethod
    def from_settings(cls, settings: Settings) -> Choices:
        confidences = tuple(sorted({*CONFIDENCE_CHOICES, settings.confidence}))
        return cls(confidences, settings.offered_models, settings.confidence, settings.model)

    def allows(self, field: str, value: Any) -> bool:
        offered: tuple[Any, ...] = {
            "confidence": self.confidences,
            "model": self.models,
            "album_reply": ALBUM_REPLIES,
        }.get(field, ())
        return value in offered

    def defaults(self) -> dict[str, Any]:
        return {
            "confidence": self.default_confidence,
            "model": self.default_model,
            "album_reply": self.default_album_reply,
        }


def _from_item(item: dict[str, Any], choices: Choices) -> dict[str, Any]:
    chosen = choices.defaults()
    stored: dict[str, Any] = {
        "confidence": float(item["confidence"]["N"]) if "confidence" in item else None,
        "model": item.get("model", {}).get("S"),
        "album_reply": item.get("album_reply", {}).get("S"),
    }
    for field, value in stored.items():
        if value is not None and choices.allows(field, value):
            chosen[field] = value
    return chosen


@dataclass
class ChatPreferences:
    dynamodb: Any
    table: str
    choices: Choices

    def get(self, chat_id: int, language_code: str | None = None) -> dict[str, Any]:
        """The chat's Preferences (polybot/contracts: Preferences), in the language of `language_code`."""
        try:
            item = self.dynamodb.get_item(TableName=self.table, Key=prefs_key(chat_id)).get("Item", {})
        except (BotoCoreError, ClientError) as exc:
            log.warning("cannot read the chat's preferences (%s); using the defaults", type(exc).__name__)
            item = {}
        return {"language": i18n.language_of(language_code), **_from_item(item, self.choices)}

    def change(self, chat_id: int, field: str, value: Any) -> None:
        """Set one preference; ValueError when it is not one the chat may choose."""
        if not self.choices.allows(field, value):
            raise ValueError(f"{field}={value!r} is not offered")
        stored = {"N": str(value)} if field == "confidence" else {"S": str(value)}
        self.dynamodb.update_item(
            TableName=self.table,
            Key=prefs_key(chat_id),
            UpdateExpression="SET #field = :value",
            ExpressionAttributeNames={"#field": field},
            ExpressionAttributeValues={":value": stored},
        )
