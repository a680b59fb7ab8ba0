"""How many photos one chat may have analysed per minute (a setting), counted
in the results table so that every bot instance sees the same count.

Each minute of each chat is one short-lived item (`quota:tg<chat>:<minute>`,
expiring by the table's TTL) whose counter every photo increments. When the
count cannot be read (DynamoDB unreachable), the photo is analysed: a missing
count should not stop a user, and the workflow has its own limits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)

WINDOW_S = 60


class ChatQuota:
    def __init__(
        self, dynamodb: DynamoDBClient, table: str, photos_per_minute: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._limit = photos_per_minute
        self._clock = clock

    def allow(self, chat_id: int) -> bool:
        if self._limit <= 0:
            return True
        window = int(self._clock() // WINDOW_S)
        try:
            answer = self._dynamodb.update_item(
                TableName=self._table,
                Key={"image_id": {"S": f"quota:tg{chat_id}:{window}"}},
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
            return True
        count = int(answer["Attributes"]["photos"]["N"])
        if count > self._limit:
            log.info("chat over its quota: photo %d this minute, %d allowed", count, self._limit)
        return count <= self._limit
