"""Albums across bot instances: where the photos of one Telegram media group
meet before their one execution gathers them.

Telegram delivers each photo of an album as its own update, and the updates
may reach different bot instances, so nothing is grouped in memory. Each
instance `add`s its photo's ImageRequest to the album's item in the results
table (`album:<album execution name>`, one attribute per photo) and then
starts the album's execution (polybot.naming.album_execution_name), which all
but the first find already started. The execution waits a short window and
`gather`s the photos, closing the album: a photo that arrives after that is
refused by `add` (Added.CLOSED) and its bot starts an ordinary execution for
it alone, so no photo is lost. Both writes are conditional, so exactly one of
"gathered with the album" and "analysed alone" happens to each photo. Only the
bot of the album's first photo (Added.FIRST) shows a progress message, so an
album of ten leaves one in the chat.

That progress message is the album's, whichever photo's bot started the
execution: its bot `hold_progress`es it in the album's item (on its photo's
request, once per album, while the album is open), and the execution finds it
among the gathered photos (`answered_by`). It does not travel in the
execution's input: another photo's bot may start the execution before the
progress message exists, and the message would then be deleted as a
duplicate and the answer sent as a new message (issue 19, rough edge 2).
"""

from __future__ import annotations

import enum
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from polybot import contracts, naming, retention
from polybot.contracts.messages import ImageRequest
from polybot.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEEP_S = 2 * 24 * 3600
"""The album's item expires (table TTL) after its execution could have ended (or
after the retention, where that is shorter: polybot.retention)."""
GATHER_AFTER_S = 3
"""How long the album's execution waits for the rest of its photos (Telegram
sends an album's updates within about a second of each other)."""
MAX_PHOTOS = 10
"""Telegram's largest media group."""
_PHOTO = "photo_"
_PROGRESS = "progress_of"
"""The album item's attribute naming the photo whose request holds the album's progress message."""


class Added(enum.Enum):
    """Where `Albums.add` put a photo."""

    FIRST = "first"
    """The album held no other photo: this photo's bot shows the album's progress message."""
    LATER = "later"
    """Other photos were there before it."""
    CLOSED = "closed"
    """The album was already gathered: the photo is analysed on its own."""


def album_key(execution_name: str) -> dict[str, Any]:
    return {"image_id": {"S": f"album:{execution_name}"}}


@dataclass
class Albums:
    dynamodb: DynamoDBClient
    table: str
    retention_days: int = field(default_factory=lambda: Settings().retention_days)

    def _expires_at(self) -> dict[str, str]:
        return {"N": str(retention.expires_at(time.time(), self.retention_days, KEEP_S))}

    def add(self, execution_name: str, request: ImageRequest) -> Added:
        """Put the photo of `request` in the album. Repeating it changes nothing
        (a redelivered first photo is FIRST again, until another photo joined)."""
        contracts.validate("ImageRequest", request)
        photo = f"{_PHOTO}{request['message_id']}"
        try:
            answer = self.dynamodb.update_item(
                TableName=self.table,
                Key=album_key(execution_name),
                UpdateExpression="SET #photo = :request, expires_at = :expires, chat_id = :chat",
                ConditionExpression="attribute_not_exists(gathered)",
                ExpressionAttributeNames={"#photo": photo},
                ExpressionAttributeValues={
                    ":request": {"S": json.dumps(request, sort_keys=True)},
                    ":expires": self._expires_at(),
                    ":chat": {"N": str(request["chat_id"])},
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return Added.CLOSED
            raise
        before = answer.get("Attributes", {})
        others = [name for name in before if name.startswith(_PHOTO) and name != photo]
        return Added.LATER if others else Added.FIRST

    def hold_progress(self, execution_name: str, request: ImageRequest) -> bool:
        """Make `request`'s progress message (its progress_message_id) the album's
        one: True where it now is; False where the album already has one (another
        delivery's) or was gathered, or the photo is not in it: this one is then
        not the album's, and its bot withdraws it."""
        contracts.validate("ImageRequest", request)
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=album_key(execution_name),
                UpdateExpression="SET #photo = :request, #progress = :progress",
                ConditionExpression=(
                    "attribute_exists(#photo) AND attribute_not_exists(gathered) AND attribute_not_exists(#progress)"
                ),
                ExpressionAttributeNames={"#photo": f"{_PHOTO}{request['message_id']}", "#progress": _PROGRESS},
                ExpressionAttributeValues={
                    ":request": {"S": json.dumps(request, sort_keys=True)},
                    ":progress": {"N": str(request["message_id"])},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def withdraw(self, execution_name: str, message_id: int) -> bool:
        """Take a photo out of the album, where its execution could not be started
        for it: True where the album will not answer it (its bot tells the user
        why not); False where the album was gathered with it, and answers it."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=album_key(execution_name),
                UpdateExpression="REMOVE #photo",
                ConditionExpression="attribute_not_exists(gathered)",
                ExpressionAttributeNames={"#photo": f"{_PHOTO}{message_id}"},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def gather(self, execution_name: str) -> list[ImageRequest]:
        """Close the album and return its photos' ImageRequests in message order
        (at most MAX_PHOTOS). The same answer on every call."""
        answer = self.dynamodb.update_item(
            TableName=self.table,
            Key=album_key(execution_name),
            # An album whose item is gone (expired, or forgotten: /forget) gets one again: with its end.
            UpdateExpression="SET gathered = :yes, expires_at = if_not_exists(expires_at, :expires), chat_id = :chat",
            ExpressionAttributeValues={
                ":yes": {"BOOL": True},
                ":expires": self._expires_at(),
                ":chat": {"N": str(naming.chat_of(execution_name))},
            },
            ReturnValues="ALL_NEW",
        )
        return photos_of(answer.get("Attributes", {}))

    def photos(self, execution_name: str) -> list[ImageRequest]:
        """The album's photos as recorded so far (the bot's Details and /history use it)."""
        item = self.dynamodb.get_item(TableName=self.table, Key=album_key(execution_name), ConsistentRead=True)
        return photos_of(item.get("Item", {}))


def photos_of(item: dict[str, Any]) -> list[ImageRequest]:
    requests = [
        contracts.validate("ImageRequest", json.loads(value["S"]))
        for name, value in item.items()
        if name.startswith(_PHOTO)
    ]
    return sorted(requests, key=lambda r: r["message_id"])[:MAX_PHOTOS]


def answered_by(photos: list[ImageRequest]) -> ImageRequest | None:
    """The photo whose bot showed the album's progress message (Albums.hold_progress):
    the album's answer edits that message and replies to that photo. None: no
    progress message (the answer is a new message)."""
    return next((p for p in photos if p.get("progress_message_id") is not None), None)
