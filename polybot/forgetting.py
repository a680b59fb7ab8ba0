"""/forget: everything Polybot keeps for one chat, found and deleted.

What a chat leaves, and how it is found without reading the whole table or
bucket:
- results-table items: every item of a chat carries its `chat_id` (results and
  failures, reply-ledger entries, albums, preferences, photo counts), and the
  table's ByChatItems index (chat_id, keys only) lists them. The older ByChat
  index cannot: it sorts by `received_at`, which only results and failures have,
  and /history relies on that. An index rather than a key change: the item keys
  (execution names, `prefs:<chat>`, ...) are what every other reader looks up.
- images: originals and annotated images are named after their execution,
  `originals/tg<chat>_<message>.<ext>` and `annotated/tg<chat>_<message>.jpg`
  (polybot.naming), so the prefix `<kind>/tg<chat>_` lists exactly this chat's
  (the underscore ends the chat id: chat 12 never lists chat 123's).

`ChatRecords.delete_some` deletes one batch of what it finds and says how much;
the ForgetChat function (functions/forget_chat.py) calls it until a round finds
nothing, and only then tells the user. Each call is idempotent (a retried batch
deletes what is still there), so the workflow may retry it after any failure.

The `forgotten:<chat>` marker remembers when the chat was last forgotten, for
the photos that were still being analysed then: their last step (SendReply,
NotifyFailure) finds the marker newer than their request and deletes what they
kept (`purge_image`). The marker holds no user data, carries no `chat_id` (so a
later /forget does not delete it) and expires once no execution of that time
can still be running (MARKER_KEEP_S).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from polybot import naming, retention
from polybot.albums import album_key, photos_of
from polybot.contracts.messages import ImageRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

INDEX = "ByChatItems"
"""The results table's index of every item by its chat (keys only)."""
ITEM_BATCH = 25
"""Items one BatchWriteItem deletes (DynamoDB's limit)."""
IMAGE_BATCH = 1000
"""Objects one DeleteObjects deletes (S3's limit)."""
MARKER_KEEP_S = 2 * 24 * 3600
"""The marker outlives any execution that may still be running when the chat is
forgotten (the workflow's TimeoutSeconds is hours), and no more."""
_UNPROCESSED_TRIES = 5


@dataclass(frozen=True)
class Deleted:
    """What one round deleted."""

    items: int = 0
    images: int = 0

    @property
    def nothing(self) -> bool:
        return not self.items and not self.images

    def __add__(self, other: Deleted) -> Deleted:
        return Deleted(self.items + other.items, self.images + other.images)


def marker_key(chat_id: int) -> dict[str, Any]:
    return {"image_id": {"S": f"forgotten:{chat_id}"}}


def image_prefixes(chat_id: int) -> list[str]:
    """The bucket prefixes under which this chat's images, and only they, lie."""
    own = naming.execution_name(chat_id, 1).removesuffix("1")  # "tg<chat>_"
    return [naming.ORIGINALS_PREFIX + own, naming.ANNOTATED_PREFIX + own]


@dataclass
class ChatRecords:
    dynamodb: DynamoDBClient
    s3: S3Client
    table: str
    bucket: str
    retention_days: int

    # --- the marker -------------------------------------------------------------

    def mark_forgotten(self, chat_id: int, at: str) -> None:
        """The chat was forgotten at `at` (ISO 8601, UTC); a later time replaces an earlier one only."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=marker_key(chat_id),
                UpdateExpression="SET forgotten_at = :at, expires_at = :expires",
                ConditionExpression="attribute_not_exists(forgotten_at) OR forgotten_at < :at",
                ExpressionAttributeValues={
                    ":at": {"S": at},
                    ":expires": {"N": str(retention.expires_at(time.time(), self.retention_days, MARKER_KEEP_S))},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def found_at_first(self, chat_id: int, forget_id: int) -> Deleted:
        """What the chat had when the /forget `forget_id` (its confirmation message)
        began: counted by its first call and kept on the marker, so that the answer
        says how much was deleted however many calls were cut off half-way (a
        retried round finds only what is left). Call before deleting anything."""
        name = f"found_{forget_id}"
        stored = (
            self.dynamodb.get_item(TableName=self.table, Key=marker_key(chat_id), ConsistentRead=True)
            .get("Item", {})
            .get(name)
        )
        if stored is None:
            found = Deleted(
                items=self.count_items(chat_id),
                images=sum(self.count_images(prefix) for prefix in image_prefixes(chat_id)),
            )
            answer = self.dynamodb.update_item(
                TableName=self.table,
                Key=marker_key(chat_id),
                UpdateExpression="SET #found = if_not_exists(#found, :found)",
                ExpressionAttributeNames={"#found": name},
                ExpressionAttributeValues={
                    ":found": {"M": {"items": {"N": str(found.items)}, "images": {"N": str(found.images)}}}
                },
                ReturnValues="ALL_NEW",
            )
            stored = answer["Attributes"][name]
        return Deleted(items=int(stored["M"]["items"]["N"]), images=int(stored["M"]["images"]["N"]))

    def count_items(self, chat_id: int) -> int:
        count, start = 0, None
        while True:
            after: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            page = self.dynamodb.query(
                TableName=self.table,
                IndexName=INDEX,
                KeyConditionExpression="chat_id = :chat",
                ExpressionAttributeValues={":chat": {"N": str(chat_id)}},
                Select="COUNT",
                **after,
            )
            count += page.get("Count", 0)
            start = page.get("LastEvaluatedKey")
            if not start:
                return count

    def count_images(self, prefix: str) -> int:
        paginator = self.s3.get_paginator("list_objects_v2")
        return sum(len(page.get("Contents", [])) for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix))

    def forgotten_at(self, chat_id: int) -> str | None:
        item = self.dynamodb.get_item(TableName=self.table, Key=marker_key(chat_id), ConsistentRead=True).get("Item")
        value = (item or {}).get("forgotten_at", {}).get("S")
        return value if isinstance(value, str) else None

    # --- finding and deleting ---------------------------------------------------

    def item_keys(self, chat_id: int, limit: int = ITEM_BATCH * 40) -> list[str]:
        """Up to `limit` keys of the chat's items (the index is eventually
        consistent: an item written a moment ago may show in the next round)."""
        keys: list[str] = []
        start: dict[str, Any] | None = None
        while len(keys) < limit:
            after: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            page = self.dynamodb.query(
                TableName=self.table,
                IndexName=INDEX,
                KeyConditionExpression="chat_id = :chat",
                ExpressionAttributeValues={":chat": {"N": str(chat_id)}},
                **after,
            )
            keys += [item["image_id"]["S"] for item in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return sorted(set(keys))[:limit]

    def image_keys(self, prefix: str, limit: int = IMAGE_BATCH) -> list[str]:
        """Up to `limit` keys of the bucket under `prefix` (one of `image_prefixes`)."""
        keys: list[str] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys += [obj["Key"] for obj in page.get("Contents", [])]
            if len(keys) >= limit:
                return keys[:limit]
        return keys

    def delete_items(self, names: Iterable[str]) -> int:
        names = list(dict.fromkeys(names))
        for start in range(0, len(names), ITEM_BATCH):
            requests: list[Any] = [
                {"DeleteRequest": {"Key": {"image_id": {"S": name}}}} for name in names[start : start + ITEM_BATCH]
            ]
            for _ in range(_UNPROCESSED_TRIES):
                answer = self.dynamodb.batch_write_item(RequestItems={self.table: requests})
                requests = answer.get("UnprocessedItems", {}).get(self.table, [])
                if not requests:
                    break
            else:
                # Throttled: the round fails and the workflow retries it (what was deleted stays deleted).
                raise ClientError(
                    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "items left unprocessed"}},
                    "BatchWriteItem",
                )
        return len(names)

    def delete_images(self, keys: Iterable[str]) -> int:
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), IMAGE_BATCH):
            answer = self.s3.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": key} for key in keys[start : start + IMAGE_BATCH]], "Quiet": True},
            )
            if answer.get("Errors"):
                error = answer["Errors"][0]
                raise ClientError(
                    {"Error": {"Code": error.get("Code", "InternalError"), "Message": error.get("Message", "")}},
                    "DeleteObjects",
                )
        return len(keys)

    def delete_some(self, chat_id: int) -> Deleted:
        """One round: the chat's images, then its items, as many as one round finds.
        Nothing deleted means nothing was left."""
        images = sum(self.delete_images(self.image_keys(prefix)) for prefix in image_prefixes(chat_id))
        items = self.delete_items(self.item_keys(chat_id))
        return Deleted(items=items, images=images)

    # --- a photo that was in flight ---------------------------------------------

    def forgotten_since(self, chat_id: int, received_at: str) -> bool:
        """Whether the chat was forgotten after a request received at `received_at` (ISO 8601, UTC)."""
        forgotten = self.forgotten_at(chat_id)
        return forgotten is not None and forgotten >= received_at

    def purge_if_forgotten(self, request: ImageRequest, names: Iterable[str]) -> Deleted | None:
        """At the end of an image's execution (SendReply, NotifyFailure): where its chat
        was forgotten after the image was received, delete what the executions named
        `names` kept (`purge_image`); None where it was not."""
        if not self.forgotten_since(request["chat_id"], request["received_at"]):
            return None
        return self.purge_image(names)

    def purge_image(self, names: Iterable[str]) -> Deleted:
        """Delete what the executions named `names` (an image's, an album's and its
        photos') kept of a chat forgotten while they ran: their items and images."""
        names = list(dict.fromkeys(names))
        for name in list(names):
            if naming.ALBUM_INFIX in name:
                names += [naming.execution_name(p["chat_id"], p["message_id"]) for p in self._album_photos(name)]
        names = list(dict.fromkeys(names))
        items = [*names, *(f"album:{name}" for name in names if naming.ALBUM_INFIX in name)]
        own = [naming.ORIGINALS_PREFIX + name + "." for name in names] + [naming.annotated_key(name) for name in names]
        keys: list[str] = []
        for prefix in own:
            found = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
            keys += [obj["Key"] for obj in found]
        log.info("the chat was forgotten while this image was analysed: deleting what it kept")
        return Deleted(items=self.delete_items(items), images=self.delete_images(keys))

    def _album_photos(self, album: str) -> list[ImageRequest]:
        item = self.dynamodb.get_item(TableName=self.table, Key=album_key(album), ConsistentRead=True)
        return photos_of(item.get("Item", {}))
