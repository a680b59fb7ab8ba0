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
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from polybot import i18n, retention
from polybot.contracts.messages import Preferences
from polybot.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)

ALBUM_REPLIES = ("album", "each")

_FROM_DYNAMODB = TypeDeserializer()
_TO_DYNAMODB = TypeSerializer()


def prefs_key(chat_id: int) -> dict[str, Any]:
    return {"image_id": _TO_DYNAMODB.serialize(f"prefs:{chat_id}")}


@dataclass(frozen=True)
class StoredChoices:
    """What a chat chose, as its item keeps it; None where it chose nothing."""

    confidence: float | None = None
    model: str | None = None
    album_reply: str | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> StoredChoices:
        """The record of the chat's item in DynamoDB's attribute-value form."""
        values = {name: _FROM_DYNAMODB.deserialize(value) for name, value in item.items()}
        confidence = values.get("confidence")
        return cls(
            confidence=float(confidence) if confidence is not None else None,
            model=values.get("model"),
            album_reply=values.get("album_reply"),
        )


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
        return cls(settings.offered_confidences, settings.offered_models, settings.confidence, settings.model)

    def allows(self, field: str, value: Any) -> bool:
        offered: tuple[Any, ...] = {
            "confidence": self.confidences,
            "model": self.models,
            "album_reply": ALBUM_REPLIES,
        }.get(field, ())
        return value in offered

    def preferences(self, language: str, stored: StoredChoices | None = None) -> Preferences:
        """The Preferences of a chat that chose `stored` (the defaults where it chose
        nothing, or what is no longer offered), its replies in `language`."""

        def chosen(field: str, value: Any, default: Any) -> Any:
            return value if value is not None and self.allows(field, value) else default

        stored = stored or StoredChoices()
        # Each value is offered (`allows`) or the deployment's own: the schema's.
        return cast(
            Preferences,
            {
                "language": language,
                "confidence": chosen("confidence", stored.confidence, self.default_confidence),
                "model": chosen("model", stored.model, self.default_model),
                "album_reply": chosen("album_reply", stored.album_reply, self.default_album_reply),
            },
        )


@dataclass
class ChatPreferences:
    dynamodb: DynamoDBClient
    table: str
    choices: Choices
    retention_days: int = field(default_factory=lambda: Settings().retention_days)
    """A chat's choices are kept this long after its last change (each change renews them)."""

    def get(self, chat_id: int, language_code: str | None = None) -> Preferences:
        """The chat's Preferences (polybot/contracts: Preferences), in the language of `language_code`."""
        try:
            item = self.dynamodb.get_item(TableName=self.table, Key=prefs_key(chat_id)).get("Item", {})
        except (BotoCoreError, ClientError) as exc:
            log.warning("cannot read the chat's preferences (%s); using the defaults", type(exc).__name__)
            item = {}
        return self.choices.preferences(i18n.language_of(language_code), StoredChoices.from_item(item))

    def change(self, chat_id: int, field: str, value: Any) -> None:
        """Set one preference; ValueError when it is not one the chat may choose."""
        if not self.choices.allows(field, value):
            raise ValueError(f"{field}={value!r} is not offered")
        # DynamoDB numbers are Decimals; str() keeps the float's shortest form ("0.4").
        stored = Decimal(str(value)) if field == "confidence" else str(value)
        self.dynamodb.update_item(
            TableName=self.table,
            Key=prefs_key(chat_id),
            # Each change renews the item's end (polybot.retention): a chat that chose
            # something keeps it for the retention after its last change, then gets the
            # defaults again. Reading them (every photo) does not renew them: that would
            # be a write per photo, and "kept for N days after you last changed them" is
            # what /privacy can promise plainly.
            UpdateExpression="SET #field = :value, expires_at = :expires, chat_id = :chat",
            ExpressionAttributeNames={"#field": field},
            ExpressionAttributeValues={
                ":value": _TO_DYNAMODB.serialize(stored),
                ":expires": {"N": str(retention.expires_at(time.time(), self.retention_days))},
                ":chat": {"N": str(chat_id)},  # every item carries its chat, for /forget
            },
        )
