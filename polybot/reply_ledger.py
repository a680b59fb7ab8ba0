"""What an execution has already said to its user, so that no retry says it twice.

SendReply and NotifyFailure record each message in the results table (the
item keyed by the execution name) the moment Telegram confirms it, and look
there before sending. A retry after a timeout, a crash or a failed later step
therefore skips what was sent. A record that cannot be written does not fail
the function (the message is out). The cases left: Telegram accepted a message
and the connection dropped before its answer, or the record failed and a later
step of the same call failed too; nothing was recorded, and the retry sends it
again (at least once rather than never; docs/reliability.md measures it).

Telegram's 429 is waited out by the workflow (a Wait state for the
`retry_after` Telegram names); the ledger counts those waits, so a chat that
stays rate-limited ends in a failure instead of waiting forever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from polybot import naming, retention
from polybot.contracts.messages import TelegramWait
from polybot.errors import TelegramRateLimited
from polybot.settings import Settings
from polybot.telegram import photo_file_id, telegram_errors

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)

MAX_TELEGRAM_WAITS = 5
"""Rate-limit waits per execution before the reply is given up (then the failure notice, which waits too)."""
MAX_WAIT_S = 600
"""A longer `retry_after` means the bot is flood-limited: waiting would not bring a timely answer."""


class SentMessage(Protocol):
    message_id: int


@dataclass
class ReplyLedger:
    dynamodb: DynamoDBClient
    table: str
    retention_days: int = field(default_factory=lambda: Settings().retention_days)
    """Its entries live on the image's results item and end with it (the request's
    `expires_at`); an entry written where there is no such item yet ends this long
    after it is written (polybot.retention)."""

    def _end(self) -> dict[str, str]:
        return {"N": str(retention.expires_at(time.time(), self.retention_days))}

    def _owner(self, execution_name: str) -> dict[str, str]:
        """The chat the entry belongs to: every item carries its chat, for /forget (polybot.forgetting)."""
        chat = naming.chat_of(execution_name)
        if chat is None:
            raise ValueError(f"not an execution of a chat: {execution_name!r}")
        return {"N": str(chat)}

    def _key(self, execution_name: str) -> dict[str, Any]:
        return {"image_id": {"S": execution_name}}

    def sent(self, execution_name: str) -> dict[str, int]:
        """Message ids already sent for this execution, by step ("reply", "document", "notice", ...)."""
        item = self.dynamodb.get_item(TableName=self.table, Key=self._key(execution_name), ConsistentRead=True).get(
            "Item", {}
        )
        return {name.removeprefix("sent_"): int(value["N"]) for name, value in item.items() if name.startswith("sent_")}

    def record(self, execution_name: str, step: str, message_id: int, photo_file_id: str | None = None) -> None:
        """`step` went out as `message_id`; a photo's file_id is kept beside it, for /history."""
        names = {"#step": f"sent_{step}"}
        values = {":id": {"N": str(message_id)}, ":expires": self._end(), ":chat": self._owner(execution_name)}
        expression = "SET #step = :id, expires_at = if_not_exists(expires_at, :expires), chat_id = :chat"
        if photo_file_id:
            expression += ", photo_file_id = :file"
            values[":file"] = {"S": photo_file_id}
        self.dynamodb.update_item(
            TableName=self.table,
            Key=self._key(execution_name),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def remember_photo(self, execution_name: str, photo_file_id: str) -> None:
        """The file_id of the annotated photo another execution (an album's) sent for
        this image, kept on its results item for /history; a failure is only logged."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self._key(execution_name),
                UpdateExpression="SET photo_file_id = :file",
                ConditionExpression="attribute_exists(image_id)",
                ExpressionAttributeValues={":file": {"S": photo_file_id}},
            )
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not keep the photo of %s for /history (%s)", execution_name, type(exc).__name__)

    def claim(self, execution_name: str, answer: str) -> bool:
        """Whether this call is the first to claim `answer` of the execution (a
        button's one answer: the Details of one message's button): a conditional
        write, so a second tap finds it claimed on any bot instance, after a
        restart, and when Telegram redelivers the tap's update. `release` gives
        it back when it could not be sent."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self._key(execution_name),
                UpdateExpression="SET #claim = :yes, expires_at = if_not_exists(expires_at, :expires), chat_id = :chat",
                ConditionExpression="attribute_not_exists(#claim)",
                ExpressionAttributeNames={"#claim": f"claimed_{answer}"},
                ExpressionAttributeValues={
                    ":yes": {"BOOL": True},
                    ":expires": self._end(),
                    ":chat": self._owner(execution_name),
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, execution_name: str, answer: str) -> None:
        """`answer` was claimed and did not go out: the next try may send it."""
        self.dynamodb.update_item(
            TableName=self.table,
            Key=self._key(execution_name),
            UpdateExpression="REMOVE #claim",
            ExpressionAttributeNames={"#claim": f"claimed_{answer}"},
        )

    def count_wait(self, execution_name: str) -> int:
        """One more rate-limit wait for this execution; how many there have been."""
        answer = self.dynamodb.update_item(
            TableName=self.table,
            Key=self._key(execution_name),
            UpdateExpression="ADD telegram_waits :one "
            "SET expires_at = if_not_exists(expires_at, :expires), chat_id = :chat",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":expires": self._end(),
                ":chat": self._owner(execution_name),
            },
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["telegram_waits"]["N"])

    def once(self, execution_name: str) -> Once:
        return Once(self, execution_name, self.sent(execution_name))

    def wait_for_telegram(self, execution_name: str, limited: TelegramRateLimited) -> TelegramWait:
        """The TelegramWait the workflow waits out, or `limited` again when waiting is no use."""
        retry_after_s = max(1, limited.retry_after_s or 1)
        waits = self.count_wait(execution_name)
        if waits > MAX_TELEGRAM_WAITS or retry_after_s > MAX_WAIT_S:
            log.warning("giving up after %d rate-limit waits (Telegram asks for %d s more)", waits - 1, retry_after_s)
            raise limited
        log.info("Telegram rate-limits this chat: waiting %d s (wait %d)", retry_after_s, waits)
        return {"kind": "rate_limited", "retry_after_s": retry_after_s}


@dataclass
class Once:
    """Sends each step of one execution's answer at most once (see the module)."""

    ledger: ReplyLedger
    execution_name: str
    recorded: dict[str, int]

    def send(self, step: str, send: Callable[[], SentMessage]) -> int:
        """`send()` this step of the answer unless it went out before; its message id."""
        if step in self.recorded:
            log.info("%s already sent as message %d; not sending it again", step, self.recorded[step])
            return self.recorded[step]
        with telegram_errors():
            message = send()
        self.recorded[step] = message.message_id
        try:
            self.ledger.record(self.execution_name, step, message.message_id, photo_file_id(message))
        except (BotoCoreError, ClientError) as exc:
            # The message is out: failing now would make the workflow send it again.
            # Unrecorded, it is repeated only if a later step of this call fails.
            log.warning("could not record %s as sent (%s); going on", step, type(exc).__name__)
        return message.message_id
