"""/history and the Details button: what the bot reads back from the results
table, and how it says it in the reader's language.

Every analysed image has its item under its own execution name `tg<chat>_<message>`
(written by the workflow: detections, annotated_key, received_at, or `failure`
when it got no result; SendReply adds `photo_file_id`). /history lists the
chat's last ten through the table's ByChat index (newest first); Details lists
one image's detections, or each photo's of an album (polybot.albums). The state
lives only in DynamoDB, so any bot process, restarted or not, answers; its
items reach the rest of the bot as ImageResult records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

from polybot import callbacks, i18n, naming, summary
from polybot.albums import Albums
from polybot.contracts.messages import Detection

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

HISTORY_LENGTH = 10
BUTTONS_PER_ROW = 5
_MAX_PAGES = 5
"""Query pages read for one /history at most (items of other kinds are not in the index)."""

_FROM_DYNAMODB = TypeDeserializer()
_TO_DYNAMODB = TypeSerializer()


@dataclass(frozen=True)
class ImageResult:
    """One analysed image's results item, as the bot reads it back."""

    name: str
    """Its execution name (the item's key, `image_id`)."""
    received_at: str | None
    detections: list[Detection] | None
    """What the model found; None when the item holds no detections (no result)."""
    failed: bool
    """The workflow recorded a failure for it."""
    annotated_key: str | None
    photo_file_id: str | None
    """The annotated photo as Telegram keeps it, once sent (polybot/reply_ledger.py)."""

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ImageResult:
        """The record of a results item in DynamoDB's attribute-value form."""
        values = {name: _FROM_DYNAMODB.deserialize(value) for name, value in item.items()}
        raw = values.get("detections")
        detections = (json.loads(raw) if isinstance(raw, str) and raw else []) if "detections" in values else None
        return cls(
            name=values["image_id"],
            received_at=_text(values, "received_at"),
            detections=detections,
            failed="failure" in values,
            annotated_key=_text(values, "annotated_key"),
            photo_file_id=_text(values, "photo_file_id"),
        )

    @property
    def can_be_sent_again(self) -> bool:
        """Whether an annotated image of it was kept (by Telegram or in the bucket)."""
        return self.photo_file_id is not None or self.annotated_key is not None


def _text(values: Mapping[str, Any], name: str) -> str | None:
    value = values.get(name)
    return value if isinstance(value, str) else None


def is_image_item(name: str) -> bool:
    """Whether `name` is one image's own results item (not an album, progress or other item)."""
    try:
        naming.parse_execution_name(name)
    except ValueError:
        return False
    return True


chat_of = naming.chat_of


def result_summary(result: ImageResult, language: str) -> str:
    """One image's result in a line: what was seen, "nothing recognised" or "no result"."""
    if result.failed or result.detections is None:
        return i18n.text("history.failed", language)
    return summary.describe(result.detections, language) or i18n.text("history.nothing_found", language)


def result_details(result: ImageResult | None, language: str) -> str:
    if result is None or result.failed or result.detections is None:
        return i18n.text("history.failed", language)
    return summary.details(result.detections, language)


def _when(result: ImageResult, language: str) -> str:
    if result.received_at is None:
        return "?"
    try:
        return i18n.when(datetime.fromisoformat(result.received_at.replace("Z", "+00:00")), language)
    except ValueError:
        return "?"


def history_text(results: list[ImageResult], language: str) -> str:
    if not results:
        return i18n.text("history.empty", language)
    lines = [
        i18n.text(
            "history.line", language, index=i, when=_when(result, language), summary=result_summary(result, language)
        )
        for i, result in enumerate(results, start=1)
    ]
    return summary.shorten("\n".join([i18n.text("history.title", language), *lines]), summary.TEXT_LIMIT)


def history_buttons(results: list[ImageResult], language: str) -> InlineKeyboardMarkup | None:
    """One button per image that can be shown again (it has an annotated image)."""
    buttons = [
        InlineKeyboardButton(
            i18n.text("history.button", language, index=i), callback_data=callbacks.HISTORY + result.name
        )
        for i, result in enumerate(results, start=1)
        if result.can_be_sent_again
    ]
    if not buttons:
        return None
    markup = InlineKeyboardMarkup(row_width=BUTTONS_PER_ROW)
    markup.add(*buttons)
    return markup


@dataclass
class Results:
    """The results items of analysed images, read as ImageResults: the table's
    attribute-value form stays in here."""

    dynamodb: DynamoDBClient
    table: str
    albums: Albums

    def recent(self, chat_id: int, limit: int = HISTORY_LENGTH) -> list[ImageResult]:
        """The chat's last `limit` analysed images, newest first."""
        found: list[ImageResult] = []
        start: dict[str, Any] | None = None
        for _ in range(_MAX_PAGES):
            after: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            page = self.dynamodb.query(
                TableName=self.table,
                IndexName="ByChat",
                KeyConditionExpression="chat_id = :chat",
                ExpressionAttributeValues={":chat": _TO_DYNAMODB.serialize(chat_id)},
                ScanIndexForward=False,
                Limit=limit * 2,
                **after,
            )
            results = [ImageResult.from_item(item) for item in page.get("Items", [])]
            found += [result for result in results if is_image_item(result.name)]
            start = page.get("LastEvaluatedKey")
            if len(found) >= limit or not start:
                break
        return found[:limit]

    def image(self, name: str) -> ImageResult | None:
        """The results item of the image named `name`, if there is one."""
        answer = self.dynamodb.get_item(TableName=self.table, Key={"image_id": _TO_DYNAMODB.serialize(name)})
        item = answer.get("Item")
        return ImageResult.from_item(item) if item is not None else None

    def details(self, name: str, language: str) -> str:
        """The Details of one image, or of each photo of an album, in `language`."""
        if naming.ALBUM_INFIX not in name:
            return result_details(self.image(name), language)
        photos = self.albums.photos(name)
        if not photos:
            return i18n.text("callback.expired", language)
        own = [self.image(naming.execution_name(photo["chat_id"], photo["message_id"])) for photo in photos]
        found = [None if r is None or r.failed else r.detections for r in own]
        return summary.album_details(found, language)
