"""polybot.forgetting and functions/forget_chat.py's rounds, on moto's DynamoDB and
S3 in this process: what /forget finds of a chat (and never of another), that
"done" comes only once a round finds nothing, that a round cut off half-way is
simply done again, and what a photo in flight keeps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.preferences import ChatPreferences, Choices
from bot.quota import ChatQuota
from functions import forget_chat
from polybot import i18n, naming
from polybot.albums import Albums
from polybot.contracts.messages import ForgetProgress, ForgetRequest
from polybot.errors import ForgetUnfinished
from polybot.forgetting import ChatRecords, Deleted
from polybot.reply_ledger import ReplyLedger
from polybot.settings import Settings
from tests.auxil.chat_records import Kept, scan
from tests.auxil.moto_results import moto_results
from tests.auxil.requests import image_request

TABLE, BUCKET = "results", "images"
CHAT, NEIGHBOURS = 12, (123, -12, 1)
"""Chats whose ids share CHAT's digits: /forget of CHAT must leave theirs."""
START: ForgetProgress = {"kind": "deleting", "passes": 0, "items": 0, "images": 0, "wait_s": 1}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    with moto_results(monkeypatch, TABLE, BUCKET) as clients:
        yield clients


@pytest.fixture
def records(aws: tuple[Any, Any]) -> ChatRecords:
    return ChatRecords(aws[0], aws[1], TABLE, BUCKET, retention_days=30)


def keep_a_chat(aws: tuple[Any, Any], chat: int, photos: int = 2) -> None:
    """What a chat leaves, through the writers that write it: results (as the
    workflow writes them), the ledger, an album, preferences, photo counts, images."""
    dynamodb, s3 = aws
    for message_id in range(1, photos + 1):
        name = naming.execution_name(chat, message_id)
        dynamodb.put_item(
            TableName=TABLE,
            Item={"image_id": {"S": name}, "chat_id": {"N": str(chat)}, "detections": {"S": "[]"}},
        )
        ReplyLedger(dynamodb, TABLE).record(name, "reply", 100 + message_id)
        s3.put_object(Bucket=BUCKET, Key=naming.original_key(name, "image/jpeg"), Body=b"o")
        s3.put_object(Bucket=BUCKET, Key=naming.annotated_key(name), Body=b"a")
    album = naming.album_execution_name(chat, "g")
    Albums(dynamodb, TABLE).add(album, image_request(chat, 50, media_group_id="g"))
    ReplyLedger(dynamodb, TABLE).record(album, "reply", 200)
    ChatPreferences(dynamodb, TABLE, Choices.from_settings(Settings())).change(chat, "confidence", 0.6)
    ChatQuota(dynamodb, TABLE, photos_per_minute=5).allow(chat)


def everything(aws: tuple[Any, Any]) -> dict[int | None, Kept]:
    return scan(aws[0], TABLE, aws[1], BUCKET)


def anything_left(aws: tuple[Any, Any]) -> bool:
    """Whether the chat still has a record (the /forget marker aside)."""
    return not everything(aws).get(CHAT, Kept()).user_data.empty


def request(message_id: int = 900, at: str = "2026-12-05T10:00:00.000Z") -> ForgetRequest:
    return {"chat_id": CHAT, "message_id": message_id, "language": "en", "requested_at": at}


def test_a_round_deletes_every_record_of_the_chat_and_nothing_of_any_other(
    aws: tuple[Any, Any], records: ChatRecords
) -> None:
    for chat in (CHAT, *NEIGHBOURS):
        keep_a_chat(aws, chat)
    before = everything(aws)

    first = records.delete_some(CHAT)
    second = records.delete_some(CHAT)

    after = everything(aws)
    assert first == Deleted(items=len(before[CHAT].items), images=len(before[CHAT].objects))
    assert first.items == 6 and first.images == 4  # 2 results, the album's item and ledger, prefs, count
    assert second.nothing
    assert CHAT not in after
    for chat in NEIGHBOURS:
        assert after[chat].counts() == before[chat].counts(), chat


def test_done_is_said_once_and_only_when_a_round_found_nothing(aws: tuple[Any, Any], records: ChatRecords) -> None:
    keep_a_chat(aws, CHAT, photos=3)
    said: list[str] = []
    seen_left: list[bool] = []

    def answer(text: str) -> None:
        seen_left.append(anything_left(aws))
        said.append(text)

    outcome = forget_chat.forget_chat(request(), START, records, answer)

    assert outcome == {"kind": "forgotten", "passes": 1, "items": 7, "images": 6, "wait_s": 1}
    assert said == ["Done: nothing of this chat is kept any more. Deleted: 7 records, 6 images."]
    assert seen_left == [False], "told only once nothing was left"


def test_a_call_whose_time_is_spent_hands_back_to_the_workflow_which_calls_again(
    aws: tuple[Any, Any], records: ChatRecords
) -> None:
    keep_a_chat(aws, CHAT)
    said: list[str] = []
    ticks = iter([0.0, 100.0, 200.0, 300.0])

    first = forget_chat.forget_chat(request(), START, records, said.append, clock=lambda: next(ticks))
    second = forget_chat.forget_chat(request(), first, records, said.append, clock=lambda: 0.0)

    assert (first["kind"], first["passes"], said[:0]) == ("deleting", 1, [])
    assert second["kind"] == "forgotten" and second["passes"] == 2
    assert (second["items"], second["images"]) == (6, 4)
    assert len(said) == 1


def test_a_round_cut_off_half_way_is_done_again_until_nothing_is_left(
    aws: tuple[Any, Any], records: ChatRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep_a_chat(aws, CHAT, photos=30)  # more items than one batch
    before = everything(aws)[CHAT]
    real = records.delete_items
    calls = {"n": 0}

    def fails_after_one_batch(names: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            real(list(names)[:25])
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "half-way"}}, "BatchWriteItem")
        return real(names)

    monkeypatch.setattr(records, "delete_items", fails_after_one_batch)
    said: list[str] = []
    with pytest.raises(ClientError):
        forget_chat.forget_chat(request(), START, records, said.append)
    assert said == [] and anything_left(aws), "no answer while records are left"

    outcome = forget_chat.forget_chat(request(), START, records, said.append)  # the workflow's Retry

    assert outcome["kind"] == "forgotten" and not anything_left(aws)
    # The answer counts everything, the round cut off half-way's deletions too.
    assert said == [i18n.text("forget.done", "en", items=len(before.items), images=len(before.objects))]


def test_an_execution_gives_up_after_its_passes_for_the_user_to_send_forget_again(records: ChatRecords) -> None:
    spent: ForgetProgress = {**START, "passes": forget_chat.MAX_PASSES}

    with pytest.raises(ForgetUnfinished):
        forget_chat.forget_chat(request(), spent, records, lambda text: None)


def test_the_marker_keeps_the_latest_forget_holds_no_chat_id_and_ends(
    aws: tuple[Any, Any], records: ChatRecords
) -> None:
    records.mark_forgotten(CHAT, "2026-12-05T10:00:00.000Z")
    records.mark_forgotten(CHAT, "2026-12-05T09:00:00.000Z")  # an older execution's retry
    records.delete_some(CHAT)

    [marker] = everything(aws)[CHAT].items
    assert records.forgotten_at(CHAT) == "2026-12-05T10:00:00.000Z"
    assert "chat_id" not in marker, "a later /forget does not delete it, and it is no record of the user's"
    assert time.time() < int(marker["expires_at"]["N"]) <= time.time() + 2 * 24 * 3600 + 5


def test_a_photo_in_flight_keeps_nothing_and_a_later_one_keeps_its_own(
    aws: tuple[Any, Any], records: ChatRecords
) -> None:
    keep_a_chat(aws, CHAT, photos=2)
    records.mark_forgotten(CHAT, "2026-12-05T10:00:00.000Z")
    earlier = image_request(CHAT, 1, received_at="2026-12-05T09:59:59.000Z")
    later = image_request(CHAT, 2, received_at="2026-12-05T10:00:01.000Z")
    album = naming.album_execution_name(CHAT, "g")

    assert records.purge_if_forgotten(later, [naming.execution_name(CHAT, 2)]) is None
    purged = records.purge_if_forgotten(earlier, [naming.execution_name(CHAT, 1), album])

    assert purged is not None and purged.images == 2
    left = {item["image_id"]["S"] for item in everything(aws)[CHAT].items}
    assert naming.execution_name(CHAT, 1) not in left and f"album:{album}" not in left and album not in left
    assert naming.execution_name(CHAT, 50) not in left, "the album's photos go with it"
    assert naming.execution_name(CHAT, 2) in left
