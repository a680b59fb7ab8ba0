"""How many photos one chat may have analysed per minute (a setting), counted
in the results table so that every bot instance sees the same count.

Each minute of each chat is one short-lived item (`quota:tg<chat>:<minute>`,
expiring by the table's TTL) whose counter every photo increments. When the
count cannot be read (DynamoDB unreachable), the photo is analysed: a missing
count should not stop a user, and the workflow has its own limits.

A burst over the quota is told once (issue 19, rough edge 4): the photos
skipped in the minute are kept on the same item (`skip`), the first skipped
photo's bot claims the one notice (`if_not_exists`, whichever instance it is)
and keeps its message id there (`keep_notice`); the bots of later skipped
photos edit that notice to name them too (`skipped` re-reads, so the last edit
names them all). `slow_down_text` says what was skipped (photos, and photos of
albums) and when the chat's count starts again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from polybot import i18n

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)

WINDOW_S = 60


@dataclass(frozen=True)
class Verdict:
    """What the count says of one photo."""

    allowed: bool
    window: int = 0
    """The minute it was counted in (the quota item's)."""
    retry_after_s: int = 0
    """Seconds until the chat's count starts again (the next minute)."""


@dataclass(frozen=True)
class SkippedPhoto:
    message_id: int
    media_group_id: str | None = None


@dataclass(frozen=True)
class Skipped:
    """The photos skipped in one chat's minute, and who tells the chat."""

    photos: tuple[SkippedPhoto, ...]
    tells: bool = False
    """This photo's bot sends the notice (the first skipped photo of the minute)."""
    notice: int | None = None
    """The notice's message id, once its bot kept it."""


def _encoded(photo: SkippedPhoto) -> str:
    return f"{photo.message_id}/{photo.media_group_id}" if photo.media_group_id else str(photo.message_id)


def _decoded(value: str) -> SkippedPhoto:
    message_id, _, group = value.partition("/")
    return SkippedPhoto(int(message_id), group or None)


def _skipped(item: dict[str, Any], tells: bool = False) -> Skipped:
    photos = sorted((_decoded(v) for v in item.get("skipped", {}).get("SS", [])), key=lambda p: p.message_id)
    notice = item.get("notice", {}).get("N")
    return Skipped(tuple(photos), tells, int(notice) if notice is not None else None)


def slow_down_text(photos: Sequence[SkippedPhoto], retry_after_s: int, language: str) -> str:
    """The one notice of a burst over the quota: what was skipped ("2 photos and 6
    photos in 2 albums") and when to send it again."""
    singles = [p for p in photos if p.media_group_id is None]
    in_albums = [p for p in photos if p.media_group_id is not None]
    parts = [i18n.text("slow_down.photos", language, n=len(singles))] if singles else []
    if in_albums:
        albums = len({p.media_group_id for p in in_albums})
        parts.append(
            i18n.text(
                "slow_down.in_albums",
                language,
                photos=i18n.text("slow_down.photos", language, n=len(in_albums)),
                albums=i18n.text("slow_down.albums", language, n=albums),
            )
        )
    form = "one" if len(photos) == 1 else "several"
    seconds = i18n.text("slow_down.seconds", language, n=max(1, retry_after_s))
    return i18n.text(f"slow_down.notice.{form}", language, skipped=i18n.join(parts, language), seconds=seconds)


class ChatQuota:
    def __init__(
        self, dynamodb: DynamoDBClient, table: str, photos_per_minute: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._limit = photos_per_minute
        self._clock = clock

    def allow(self, chat_id: int) -> bool:
        return self.check(chat_id).allowed

    def _key(self, chat_id: int, window: int) -> dict[str, Any]:
        return {"image_id": {"S": f"quota:tg{chat_id}:{window}"}}

    def check(self, chat_id: int) -> Verdict:
        """Count one more photo of the chat; whether it is within the quota."""
        if self._limit <= 0:
            return Verdict(True)
        now = self._clock()
        window = int(now // WINDOW_S)
        try:
            answer = self._dynamodb.update_item(
                TableName=self._table,
                Key=self._key(chat_id, window),
                # chat_id: every item carries its chat, for /forget (polybot.forgetting).
                UpdateExpression="ADD photos :one SET expires_at = :expires, chat_id = :chat",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":chat": {"N": str(chat_id)},
                    ":expires": {"N": str((window + 2) * WINDOW_S)},
                },
                ReturnValues="UPDATED_NEW",
            )
        except (BotoCoreError, ClientError) as exc:
            log.warning("cannot count the chat's photos (%s); analysing this one", type(exc).__name__)
            return Verdict(True)
        count = int(answer["Attributes"]["photos"]["N"])
        if count > self._limit:
            log.info("chat over its quota: photo %d this minute, %d allowed", count, self._limit)
        retry_after_s = max(1, int((window + 1) * WINDOW_S - now + 0.999))
        return Verdict(count <= self._limit, window, retry_after_s)

    def skip(self, chat_id: int, window: int, photo: SkippedPhoto) -> Skipped:
        """Keep `photo` among the minute's skipped photos; the first of them (its
        message, on every delivery) tells the chat, until the notice is kept."""
        answer = self._dynamodb.update_item(
            TableName=self._table,
            Key=self._key(chat_id, window),
            UpdateExpression="ADD skipped :photo SET told_by = if_not_exists(told_by, :me)",
            ExpressionAttributeValues={":photo": {"SS": [_encoded(photo)]}, ":me": {"N": str(photo.message_id)}},
            ReturnValues="ALL_NEW",
        )
        item = answer.get("Attributes", {})
        told_by = int(item.get("told_by", {}).get("N", "0"))
        skipped = _skipped(item)
        return Skipped(skipped.photos, told_by == photo.message_id and skipped.notice is None, skipped.notice)

    def keep_notice(self, chat_id: int, window: int, notice: int) -> None:
        """The minute's notice went out as message `notice`: later skipped photos edit it."""
        self._dynamodb.update_item(
            TableName=self._table,
            Key=self._key(chat_id, window),
            UpdateExpression="SET notice = :notice",
            ExpressionAttributeValues={":notice": {"N": str(notice)}},
        )

    def skipped(self, chat_id: int, window: int) -> Skipped:
        """The minute's skipped photos and its notice, as they are now."""
        item = self._dynamodb.get_item(TableName=self._table, Key=self._key(chat_id, window), ConsistentRead=True)
        return _skipped(item.get("Item", {}))
