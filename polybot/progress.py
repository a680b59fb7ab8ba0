"""The one message each photo (or album) leaves in the chat.

The bot answers a photo at once with a short progress message ("Looking at
your photo…") after it has started the photo's execution; the workflow's
last function (SendReply or NotifyFailure) edits that message into the result
or the failure text. The bot's process and the workflow meet in the results
table, on an item of their own per execution (`progress:<execution name>`):

- the bot `offer`s the progress message's id, unless the workflow already
  answered without it (a fast failure can outrun the bot's sendMessage);
- the workflow `claim`s it: the id to edit, or None, and then no offer is
  taken any more, so the workflow sends a message of its own instead.

Whichever comes second sees the first (both write with a condition), so
exactly one of them decides: the progress message is edited, or it is
deleted by the bot and the workflow's own message is the answer. Only the bot
whose StartExecution started the execution sends a progress message, so a
redelivered update (which finds the execution started) adds none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

KEEP_S = 2 * 24 * 3600
"""The handshake item expires (table TTL) after the execution could have ended."""


def _condition_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


@dataclass
class ProgressMessages:
    dynamodb: Any
    table: str

    def _key(self, execution_name: str) -> dict[str, Any]:
        return {"image_id": {"S": f"progress:{execution_name}"}}

    def _expires(self) -> dict[str, str]:
        return {"N": str(int(time.time()) + KEEP_S)}

    def offer(self, execution_name: str, message_id: int) -> bool:
        """The bot: the workflow may edit `message_id`. False: it already answered
        without it (the bot then deletes its progress message)."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self._key(execution_name),
                UpdateExpression="SET message_id = :id, expires_at = :expires",
                ConditionExpression="attribute_not_exists(answered_without)",
                ExpressionAttributeValues={":id": {"N": str(message_id)}, ":expires": self._expires()},
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def claim(self, execution_name: str) -> int | None:
        """The workflow: the progress message to edit, or None (send a message instead;
        from now on the bot's offer is refused). The same answer on every call."""
        item = self._read(execution_name)
        if "message_id" in item:
            return int(item["message_id"]["N"])
        if "answered_without" in item:
            return None
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self._key(execution_name),
                UpdateExpression="SET answered_without = :yes, expires_at = :expires",
                ConditionExpression="attribute_not_exists(message_id)",
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":expires": self._expires()},
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            # The bot's offer landed in between.
            return int(self._read(execution_name)["message_id"]["N"])
        return None

    def _read(self, execution_name: str) -> dict[str, Any]:
        item: dict[str, Any] = self.dynamodb.get_item(
            TableName=self.table, Key=self._key(execution_name), ConsistentRead=True
        ).get("Item", {})
        return item
