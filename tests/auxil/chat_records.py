"""What Polybot keeps of each chat, found by scanning the WHOLE results table and
images bucket (not through the index /forget uses, so a record the index misses
is still found): each item and object attributed to its chat by its key, and
each item sorted by kind."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from polybot import naming


def item_chat(key: str) -> int | None:
    """The chat a results-table item belongs to, from its key alone."""
    kind, _, rest = key.partition(":")
    if not rest:
        return naming.chat_of(key)
    if kind == "album":
        return naming.chat_of(rest)
    if kind in ("prefs", "forgotten"):
        return int(rest)
    if kind == "quota":
        return naming.chat_of(rest.rsplit(":", 1)[0] + "_1")
    raise AssertionError(f"an item of no known kind: {key!r}")


def item_kind(item: dict[str, Any]) -> str:
    key = item["image_id"]["S"]
    if ":" in key:
        return {"forgotten": "marker"}.get(key.split(":", 1)[0], key.split(":", 1)[0])
    if "detections" in item:
        return "result"
    if "failure" in item:
        return "failure"
    return "ledger"  # an execution's reply ledger alone (an album's, or before its result)


def object_chat(key: str) -> int | None:
    for prefix in (naming.ORIGINALS_PREFIX, naming.ANNOTATED_PREFIX):
        if key.startswith(prefix):
            return naming.chat_of(key.removeprefix(prefix).rsplit(".", 1)[0])
    return None


@dataclass
class Kept:
    """Everything kept of one chat: its items by kind, its objects by prefix."""

    items: list[dict[str, Any]] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found = Counter(item_kind(item) for item in self.items)
        found.update(key.split("/", 1)[0] for key in self.objects)
        return dict(sorted(found.items()))

    @property
    def user_data(self) -> Kept:
        """All but the /forget marker (which holds only the chat id and a time)."""
        return Kept([item for item in self.items if item_kind(item) != "marker"], self.objects)

    @property
    def empty(self) -> bool:
        return not self.items and not self.objects


def scan(dynamodb: Any, table: str, s3: Any, bucket: str) -> dict[int | None, Kept]:
    """Every item and object, by the chat it belongs to."""
    kept: dict[int | None, Kept] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page.get("Items", []):
            kept.setdefault(item_chat(item["image_id"]["S"]), Kept()).items.append(item)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            kept.setdefault(object_chat(obj["Key"]), Kept()).objects.append(obj["Key"])
    return kept
