"""polybot.retention and the code that writes the results table: every item any
writer of the bot or the functions leaves carries its end (`expires_at`, the
table's TTL attribute), within the one retention setting."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.preferences import ChatPreferences, Choices
from bot.quota import ChatQuota
from polybot import naming, retention
from polybot.albums import Albums
from polybot.reply_ledger import ReplyLedger
from polybot.settings import Settings
from tests.auxil.moto_results import moto_results
from tests.auxil.requests import image_request

TABLE = "results"
CHAT = 31337
DAYS = 3


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with moto_results(monkeypatch, TABLE) as (dynamodb, _):
        yield dynamodb


def test_an_end_is_the_retention_after_now_or_sooner_where_an_item_is_needed_for_less() -> None:
    assert retention.expires_at(1000.7, 2) == 1000 + 2 * 86400
    assert retention.expires_at(1000, 2, keep_s=60) == 1060
    assert retention.expires_at(1000, 1, keep_s=10 * 86400) == 1000 + 86400
    for days in (0, -1):
        with pytest.raises(ValueError, match="at least one day"):
            retention.retention_s(days)


def test_every_item_a_writer_leaves_ends_within_the_retention(dynamodb: Any) -> None:
    before = time.time()
    request = image_request(CHAT, 5, media_group_id="g1")
    album = naming.album_execution_name(CHAT, "g1")
    albums = Albums(dynamodb, TABLE, DAYS)
    albums.add(album, request)
    albums.gather(naming.album_execution_name(CHAT, "g2"))  # an album whose item is gone
    ledger = ReplyLedger(dynamodb, TABLE, DAYS)
    ledger.record(album, "reply", 900)
    ledger.count_wait(naming.execution_name(CHAT, 6))
    ChatPreferences(dynamodb, TABLE, Choices.from_settings(Settings()), DAYS).change(CHAT, "confidence", 0.6)
    ChatQuota(dynamodb, TABLE, photos_per_minute=5).allow(CHAT)

    items = dynamodb.scan(TableName=TABLE)["Items"]

    kinds = {item["image_id"]["S"].split(":")[0] if ":" in item["image_id"]["S"] else "ledger" for item in items}
    assert kinds == {"album", "ledger", "prefs", "quota"}, kinds
    latest = time.time() + retention.retention_s(DAYS) + 1
    for item in items:
        assert "expires_at" in item, item["image_id"]
        assert before < int(item["expires_at"]["N"]) <= latest, item["image_id"]


def test_a_reply_recorded_on_a_results_item_keeps_the_requests_end(dynamodb: Any) -> None:
    name = naming.execution_name(CHAT, 7)
    dynamodb.put_item(TableName=TABLE, Item={"image_id": {"S": name}, "expires_at": {"N": "12345"}})

    ReplyLedger(dynamodb, TABLE, DAYS).record(name, "reply", 901, "file-1")

    item = dynamodb.get_item(TableName=TABLE, Key={"image_id": {"S": name}})["Item"]
    assert item["expires_at"] == {"N": "12345"} and item["sent_reply"] == {"N": "901"}


def test_each_change_of_a_preference_renews_its_end(dynamodb: Any) -> None:
    now = [1_000_000.0]
    preferences = ChatPreferences(dynamodb, TABLE, Choices.from_settings(Settings()), DAYS)
    key = {"image_id": {"S": f"prefs:{CHAT}"}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", lambda: now[0])
        preferences.change(CHAT, "confidence", 0.6)
        first = int(dynamodb.get_item(TableName=TABLE, Key=key)["Item"]["expires_at"]["N"])
        now[0] += 86400
        preferences.change(CHAT, "model", Settings().model)
        second = int(dynamodb.get_item(TableName=TABLE, Key=key)["Item"]["expires_at"]["N"])

    assert first == 1_000_000 + DAYS * 86400 and second == first + 86400
