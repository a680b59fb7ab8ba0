"""/history and the Details button: what the bot reads back from the results
table, and how it says it in the reader's language.

Every analysed image has its item under its own execution name `tg<chat>_<message>`
(written by the workflow: detections, annotated_key, received_at, or `failure`
when it got no result; SendReply adds `photo_file_id`). /history lists the
chat's last ten through the table's ByChat index (newest first); Details lists
one image's detections, or each photo's of an album (polybot.albums). The state
lives only in DynamoDB, so any bot process, restarted or not, answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

from polybot import i18n, naming, summary
from polybot.albums import Albums

HISTORY_LENGTH = 10
HISTORY = "h:"
"""callback_data prefix of a /history button: "h:<execution name>" re-sends that image."""
DETAILS = "d:"
"""callback_data prefix of the Details button (functions/send_reply.py puts it on each answer)."""
BUTTONS_PER_ROW = 5
_MAX_PAGES = 5
"""Query pages read for one /history at most (items of other kinds are not in the index)."""


def is_image_item(name: str) -> bool:
    """Whether `name` is one image's own results item (not an album, progress or other item)."""
    try:
        naming.parse_execution_name(name)
    except ValueError:
        return False
    return True


def chat_of(name: str) -> int | None:
    """The chat an execution name belongs to (albums included), or None if it is not one of ours."""
    head = name.split("_album_", 1)[0] + "_1" if "_album_" in name else name
    try:
        return naming.parse_execution_name(head)[0]
    except ValueError:
        return None


def detections_of(item: dict[str, Any]) -> list[dict[str, Any]]:
    raw = item.get("detections", {}).get("S")
    found: list[dict[str, Any]] = json.loads(raw) if raw else []
    return found


def item_summary(item: dict[str, Any], language: str) -> str:
    """One image's result in a line: what was seen, "nothing recognised" or "no result"."""
    if "failure" in item or "detections" not in item:
        return i18n.text("history.failed", language)
    return summary.describe(detections_of(item), language) or i18n.text("history.nothing_found", language)


def item_details(item: dict[str, Any] | None, language: str) -> str:
    if item is None or "failure" in item or "detections" not in item:
        return i18n.text("history.failed", language)
    return summary.details(detections_of(item), language)


def _when(item: dict[str, Any], language: str) -> str:
    try:
        return i18n.when(datetime.fromisoformat(item["received_at"]["S"].replace("Z", "+00:00")), language)
    except (KeyError, ValueError):
        return "?"


def history_text(items: list[dict[str, Any]], language: str) -> str:
    if not items:
        return i18n.text("history.empty", language)
    lines = [
        i18n.text("history.line", language, index=i, when=_when(item, language), summary=item_summary(item, language))
        for i, item in enumerate(items, start=1)
    ]
    return summary.shorten("\n".join([i18n.text("history.title", language), *lines]), summary.TEXT_LIMIT)


def history_buttons(items: list[dict[str, Any]], language: str) -> InlineKeyboardMarkup | None:
    """One button per image that can be shown again (it has an annotated image)."""
    buttons = [
        InlineKeyboardButton(
            i18n.text("history.button", language, index=i), callback_data=HISTORY + item["image_id"]["S"]
        )
        for i, item in enumerate(items, start=1)
        if "photo_file_id" in item or "annotated_key" in item
    ]
    if not buttons:
        return None
    markup = InlineKeyboardMarkup(row_width=BUTTONS_PER_ROW)
    markup.add(*buttons)
    return markup


@dataclass
class Results:
    """The results items of analysed images, as the bot reads them."""

    dynamodb: Any
    table: str
    albums: Albums

    def recent(self, chat_id: int, limit: int = HISTORY_LENGTH) -> list[dict[str, Any]]:
        """The chat's last `limit` analysed images, newest first."""
        found: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        for _ in range(_MAX_PAGES):
            page = self.dynamodb.query(
                TableName=self.table,
                IndexName="ByChat",
                KeyConditionExpression="chat_id = :chat",
                ExpressionAttributeValues={":chat": {"N": str(chat_id)}},
                ScanIndexForward=False,
                Limit=limit * 2,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            found += [item for item in page.get("Items", []) if is_image_item(item["image_id"]["S"])]
            start = page.get("LastEvaluatedKey")
            if len(found) >= limit or not start:
                break
        return found[:limit]

    def item(self, name: str) -> dict[str, Any] | None:
        answer = self.dynamodb.get_item(TableName=self.table, Key={"image_id": {"S": name}})
        item: dict[str, Any] | None = answer.get("Item")
        return item

    def details(self, name: str, language: str) -> str:
        """The Details of one image, or of each photo of an album, in `language`."""
        if "_album_" not in name:
            return item_details(self.item(name), language)
        photos = self.albums.photos(name)
        if not photos:
            return i18n.text("callback.expired", language)
        parts = []
        for index, photo in enumerate(photos, start=1):
            own = self.item(naming.execution_name(photo["chat_id"], photo["message_id"]))
            parts.append(i18n.text("album.line", language, index=index, summary=item_details(own, language)))
        return summary.shorten("\n\n".join(parts), summary.TEXT_LIMIT)
