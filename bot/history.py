"""/history and the Details button: what the bot reads back from the results
table, and how it says it in the reader's language.

Every analysed image has its item under its own execution name `tg<chat>_<message>`
(written by the workflow: detections, image_width, annotated_key, received_at,
an album photo's media_group_id, or `failure` when it got no result; SendReply
adds `photo_file_id`). /history lists the chat's analyses a page at a time
through the table's ByChat index (newest first, an album one entry; older/newer
buttons), or only those where one class was found (/history dog); Details lists
one image's detections, or each photo's of an album (polybot.albums). The state
lives only in DynamoDB, so any bot process, restarted or not, answers; its
items reach the rest of the bot as ImageResult records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

from polybot import callbacks, i18n, naming, summary
from polybot.albums import Albums
from polybot.contracts.messages import Detection

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

HISTORY_LENGTH = 10
BUTTONS_PER_ROW = 5
PAGE_ENTRIES = 10
"""Entries (an image, or an album) on one /history page."""
PAGE_PHOTOS = 20
"""A page starts no new entry once it lists this many photos (an album is never split)."""
_MAX_PAGES = 5
"""Query pages read for one /history page at most (items of other kinds are not in the index)."""
_QUERY_LIMIT = 30
"""Items read by one Query: a page's worth and the next entry's first, for an unfiltered history."""

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
    original_key: str | None
    """The original in the images bucket (StageImage's), which a crop is cut from (bot/crops.py)."""
    photo_file_id: str | None
    """The annotated photo as Telegram keeps it, once sent (polybot/reply_ledger.py)."""
    media_group_id: str | None = None
    """The album it was analysed with (its item names it since issue 19; older ones do not)."""
    image_width: int | None = None
    """The width SendReply's summary placed objects by ("a cat on the left"); older items lack it."""

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
            original_key=_text(values, "original_key"),
            photo_file_id=_text(values, "photo_file_id"),
            media_group_id=_text(values, "media_group_id"),
            image_width=int(values["image_width"]) if "image_width" in values else None,
        )

    def found(self, class_name: str) -> bool:
        """Whether the model found a `class_name` in it (stated or "maybe")."""
        return any(d["label"] == class_name for d in self.detections or [])

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
    """One image's result in a line: what was seen, "nothing recognised" or "no result".
    The sentence SendReply sent (summary.describe of the same detections at the same
    width, so "a cat on the left" too), in `language`: a group's members each read
    the history in their own."""
    if result.failed or result.detections is None:
        return i18n.text("history.failed", language)
    described = summary.describe(result.detections, language, result.image_width)
    return described or i18n.text("history.nothing_found", language)


def result_details(result: ImageResult | None, language: str) -> str:
    if result is None or result.failed or result.detections is None:
        return i18n.text("history.failed", language)
    return summary.details(result.detections, language)


def _when(result: ImageResult, language: str, now: datetime | None = None) -> str:
    """When the image was received: "5 minutes ago", "today 09:27 UTC" (polybot.i18n.when)."""
    if result.received_at is None:
        return "?"
    try:
        return i18n.when(datetime.fromisoformat(result.received_at.replace("Z", "+00:00")), language, now)
    except ValueError:
        return "?"


# --- /history's pages ----------------------------------------------------------
#
# A page lists up to PAGE_ENTRIES entries, newest first. An entry is one image,
# or the photos of one album (choice: an album is one entry, its photos listed
# under it in album order, by message id, each with its own button), so one
# album of 10 no longer fills the whole page. A page starts no new entry once it
# holds PAGE_PHOTOS photos (the buttons stay few); an album is never split by
# the page's end. Pages are found by a cursor, the page's boundary image
# (received_at, the ByChat index's sort key, and the message id, which names the
# item): "older" reads the index backwards from the page's oldest image, "newer"
# forwards from its newest, so the callback_data carries a few dozen bytes, never
# a page number that new photos would shift.


@dataclass(frozen=True)
class Cursor:
    """An image of the chat's history, where a page ends (exclusive)."""

    received_at: str
    message_id: int

    @classmethod
    def of(cls, result: ImageResult) -> Cursor:
        return cls(result.received_at or "", naming.parse_execution_name(result.name)[1])

    def start_key(self, chat_id: int) -> dict[str, Any]:
        """The ExclusiveStartKey of a ByChat query that goes on after this image."""
        return {
            "image_id": _TO_DYNAMODB.serialize(naming.execution_name(chat_id, self.message_id)),
            "chat_id": _TO_DYNAMODB.serialize(chat_id),
            "received_at": _TO_DYNAMODB.serialize(self.received_at),
        }

    @classmethod
    def from_key(cls, key: Mapping[str, Any]) -> Cursor | None:
        values = {name: _FROM_DYNAMODB.deserialize(value) for name, value in key.items()}
        try:
            return cls(str(values["received_at"]), naming.parse_execution_name(str(values["image_id"]))[1])
        except (KeyError, ValueError):
            return None


OLDER = "o"
NEWER = "n"


@dataclass(frozen=True)
class PageRequest:
    """Which page of a chat's history a button asks for: the images older (or
    newer) than `cursor`, only those where `class_name` was found if one is named."""

    direction: str
    cursor: Cursor
    class_name: str = ""

    def callback_data(self) -> str | None:
        """ "p:<o|n><message id>:<class>:<received_at>", or None where it would not fit a button."""
        data = (
            f"{callbacks.HISTORY_PAGE}{self.direction}{self.cursor.message_id}:{self.class_name}:"
            f"{self.cursor.received_at}"
        )
        return data if len(data.encode()) <= callbacks.MAX_BYTES else None

    @classmethod
    def parse(cls, data: str) -> PageRequest:
        """The request of a page button's callback_data; ValueError if it is not one."""
        if not data.startswith(callbacks.HISTORY_PAGE):
            raise ValueError(f"not a history page button: {data!r}")
        head, class_name, received_at = data[len(callbacks.HISTORY_PAGE) :].split(":", 2)
        direction, message_id = head[:1], int(head[1:])
        if direction not in (OLDER, NEWER) or not received_at:
            raise ValueError(f"not a history page button: {data!r}")
        return cls(direction, Cursor(received_at, message_id), class_name)


@dataclass(frozen=True)
class Entry:
    """One line of /history: an image, or the photos of one album in album order."""

    photos: list[ImageResult]

    @property
    def is_album(self) -> bool:
        return self.photos[0].media_group_id is not None

    @property
    def newest(self) -> ImageResult:
        return max(self.photos, key=lambda p: p.received_at or "")


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    """Newest first."""
    older: Cursor | None
    """Where the next older page starts (None: nothing older)."""
    newer: Cursor | None
    """Where the next newer page starts (None: this page is the newest)."""
    class_name: str = ""
    read: int = 0
    """Index items read for this page."""
    cut_short: bool = False
    """The read stopped at _MAX_PAGES query pages with more left: "showing the first N found"."""

    @property
    def photos(self) -> list[ImageResult]:
        return [photo for entry in self.entries for photo in entry.photos]


def _entry_lines(number: int, entry: Entry, language: str, now: datetime | None) -> list[str]:
    when = _when(entry.newest, language, now)
    if not entry.is_album:
        summary_text = result_summary(entry.photos[0], language)
        return [i18n.text("history.line", language, index=number, when=when, summary=summary_text)]
    heading = i18n.text("history.album", language, n=len(entry.photos))
    lines = [i18n.text("history.line", language, index=number, when=when, summary=heading)]
    lines += [
        i18n.text("history.photo_line", language, index=number, position=k, summary=result_summary(photo, language))
        for k, photo in enumerate(entry.photos, start=1)
    ]
    return lines


def page_title(page: Page, language: str) -> str:
    if not page.class_name:
        return i18n.text("history.title", language)
    return i18n.text("history.title_class", language, single=_one(page.class_name, language))


def _one(class_name: str, language: str) -> str:
    """One of the class in a sentence: "a dog", "un perro", "собака"."""
    return i18n.counted(class_name, 1, language)


def page_text(page: Page, language: str, now: datetime | None = None) -> str:
    """The page's message: its title, an entry a line (an album's photos under it), and
    "showing the first N found" when the read was cut short."""
    if not page.entries:
        if page.class_name:
            return i18n.text("history.no_match", language, single=_one(page.class_name, language))
        return i18n.text("history.empty", language)
    lines = [page_title(page, language)]
    for number, entry in enumerate(page.entries, start=1):
        lines += _entry_lines(number, entry, language, now)
    if page.cut_short:
        lines += ["", i18n.text("history.cut_short", language, read=page.read, found=len(page.photos))]
    return summary.shorten("\n".join(lines), summary.TEXT_LIMIT)


def page_buttons(page: Page, language: str) -> InlineKeyboardMarkup | None:
    """A button per image that can be shown again ("🖼 3", an album's "🖼 3.2"), then
    "Older" and "Newer" where there is more that way."""
    shown = []
    for number, entry in enumerate(page.entries, start=1):
        for k, photo in enumerate(entry.photos, start=1):
            if not photo.can_be_sent_again:
                continue
            label = (
                i18n.text("history.photo_button", language, index=number, position=k)
                if entry.is_album
                else i18n.text("history.button", language, index=number)
            )
            shown.append(InlineKeyboardButton(label, callback_data=callbacks.HISTORY + photo.name))
    paging = [
        InlineKeyboardButton(i18n.text(f"history.{key}", language), callback_data=data)
        for key, cursor, direction in (("older", page.older, OLDER), ("newer", page.newer, NEWER))
        if cursor is not None and (data := PageRequest(direction, cursor, page.class_name).callback_data()) is not None
    ]
    if not shown and not paging:
        return None
    markup = InlineKeyboardMarkup(row_width=BUTTONS_PER_ROW)
    markup.add(*shown)
    if paging:
        markup.row(*paging)
    return markup


def history_text(results: list[ImageResult], language: str, now: datetime | None = None) -> str:
    """The chat's `results` as one page (each its own entry)."""
    return page_text(Page([Entry([r]) for r in results], None, None), language, now)


def history_buttons(results: list[ImageResult], language: str) -> InlineKeyboardMarkup | None:
    """One button per image that can be shown again (it has an annotated image)."""
    return page_buttons(Page([Entry([r]) for r in results], None, None), language)


@dataclass
class Results:
    """The results items of analysed images, read as ImageResults: the table's
    attribute-value form stays in here."""

    dynamodb: DynamoDBClient
    table: str
    albums: Albums

    def recent(self, chat_id: int, limit: int = HISTORY_LENGTH) -> list[ImageResult]:
        """The chat's last `limit` analysed images, newest first (album photos each on their own)."""
        found: list[ImageResult] = []
        start: dict[str, Any] | None = None
        for _ in range(_MAX_PAGES):
            page = self._query(chat_id, start, forward=False, limit=limit * 2)
            results = [ImageResult.from_item(item) for item in page.get("Items", [])]
            found += [result for result in results if is_image_item(result.name)]
            start = page.get("LastEvaluatedKey")
            if len(found) >= limit or not start:
                break
        return found[:limit]

    def latest(self, chat_id: int) -> ImageResult | None:
        """The chat's last analysed image (of an album: the last to arrive), if any."""
        found = self.recent(chat_id, 1)
        return found[0] if found else None

    def page(self, chat_id: int, request: PageRequest | None = None, class_name: str = "") -> Page:
        """A page of the chat's history: the newest when `request` is None, else the
        page it asks for; only images where `class_name` was found, if one is named
        (then the request's own class). Reads at most _MAX_PAGES query pages of
        _QUERY_LIMIT items: with a class named, a chat's long history may hold fewer
        matches than a page in that many, and the page says it was cut short."""
        forward = request is not None and request.direction == NEWER
        class_name = request.class_name if request is not None else class_name
        start = request.cursor.start_key(chat_id) if request is not None else None
        entries: list[Entry] = []
        albums: dict[str, Entry] = {}
        first: ImageResult | None = None
        last: ImageResult | None = None
        read = 0
        more = False
        for _ in range(_MAX_PAGES):
            answer = self._query(chat_id, start, forward=forward, limit=_QUERY_LIMIT, class_name=class_name)
            read += int(answer.get("ScannedCount", len(answer.get("Items", []))))
            for item in answer.get("Items", []):
                result = ImageResult.from_item(item)
                if not is_image_item(result.name) or (class_name and not result.found(class_name)):
                    continue
                album = albums.get(result.media_group_id or "")
                if album is not None:
                    album.photos.append(result)
                elif len(entries) >= PAGE_ENTRIES or len([p for e in entries for p in e.photos]) >= PAGE_PHOTOS:
                    more = True
                    break
                else:
                    entry = Entry([result])
                    entries.append(entry)
                    if result.media_group_id:
                        albums[result.media_group_id] = entry
                first = first or result
                last = result
            start = answer.get("LastEvaluatedKey")
            if more or not start:
                break
        cut_short = not more and start is not None
        # The read's end: the last image taken when more were seen, else where the read stopped.
        onward = Cursor.of(last) if more and last is not None else (Cursor.from_key(start) if start else None)
        back = Cursor.of(first) if first is not None and request is not None else None
        for entry in entries:
            entry.photos.sort(key=lambda p: naming.parse_execution_name(p.name)[1])
        if forward:
            entries.reverse()
            older, newer = back, onward
        else:
            older, newer = onward, back
        return Page(entries, older, newer, class_name, read, cut_short)

    def _query(
        self, chat_id: int, start: dict[str, Any] | None, *, forward: bool, limit: int, class_name: str = ""
    ) -> dict[str, Any]:
        """One page of the chat's ByChat index, newest first (oldest first if `forward`)."""
        values: dict[str, Any] = {":chat": _TO_DYNAMODB.serialize(chat_id)}
        arguments: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
        if class_name:
            # Narrows what comes back (the read costs the same); ImageResult.found decides.
            arguments["FilterExpression"] = "contains(detections, :label)"
            values[":label"] = _TO_DYNAMODB.serialize(json.dumps(class_name))
        answer: dict[str, Any] = self.dynamodb.query(  # type: ignore[assignment]
            TableName=self.table,
            IndexName="ByChat",
            KeyConditionExpression="chat_id = :chat",
            ExpressionAttributeValues=values,
            ScanIndexForward=forward,
            Limit=limit,
            **arguments,
        )
        return answer

    def image(self, name: str) -> ImageResult | None:
        """The results item of the image named `name`, if there is one."""
        answer = self.dynamodb.get_item(TableName=self.table, Key={"image_id": _TO_DYNAMODB.serialize(name)})
        item = answer.get("Item")
        return ImageResult.from_item(item) if item is not None else None

    def reading_once(self) -> Results:
        """These results for one update, each item read from the table once: Details
        and its crop buttons read the same items."""
        once = cast("DynamoDBClient", _ReadOnce(self.dynamodb))
        return Results(once, self.table, Albums(once, self.table, self.albums.retention_days))

    def analysed(self, name: str) -> list[tuple[int | None, str, ImageResult | None]]:
        """(photo number, execution name, result) of the image `name`, or of each
        photo of the album `name` in order (numbered from 1); none for an album no longer kept."""
        if naming.ALBUM_INFIX not in name:
            return [(None, name, self.image(name))]
        names = [naming.execution_name(photo["chat_id"], photo["message_id"]) for photo in self.albums.photos(name)]
        return [(number, own, self.image(own)) for number, own in enumerate(names, start=1)]

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


class _ReadOnce:
    """A DynamoDB client that asks GetItem once per item and answers again from
    memory: for one update only (a later tap must see /forget's deletions)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._read: dict[str, Any] = {}

    def get_item(self, **params: Any) -> Any:
        key = json.dumps(params, sort_keys=True)
        if key not in self._read:
            self._read[key] = self._client.get_item(**params)
        return self._read[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
