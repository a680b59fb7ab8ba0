"""A burst of photos over the chat's quota is told once (issue 19, rough edge 4):
photos sent at once by a chat already at its quota for the minute get one
notice, not one "slow down" per photo, naming what was skipped and when to send
it again; the bots of the later photos edit that one notice (bot/quota.py).

An album's photos are counted too, through the webhook, as a deployment
receives them (with the webhook's deadline at 25 s their required calls left no
time for the count, and albums passed the quota uncounted); two albums over the
quota, edited into one notice, are tested against the bot's handlers
(tests/unit/bot/test_bot_conversation.py)."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.quota import WINDOW_S
from local.polybot_stack import PolybotStack
from polybot import i18n, naming
from tests.auxil.images import ultralytics_asset
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws]

BURST = 5


def at_quota(stack: PolybotStack, chat_id: int) -> None:
    """The chat has had its quota of photos analysed this minute (the count the bot
    keeps), with at least 20 s of the minute left (the quota counts per calendar
    minute): what the test sends next meets the quota in one minute."""
    while time.time() % WINDOW_S > WINDOW_S - 20:
        time.sleep(1)
    window = int(time.time() // WINDOW_S)
    stack.client("dynamodb").put_item(
        TableName=stack.settings.results_table,
        Item={
            "image_id": {"S": f"quota:tg{chat_id}:{window}"},
            "photos": {"N": str(stack.settings.chat_photos_per_minute)},
            "chat_id": {"N": str(chat_id)},
            "expires_at": {"N": str((window + 2) * WINDOW_S)},
        },
    )


def test_a_burst_of_photos_over_the_quota_gets_one_notice_naming_them_all(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    telegram = stack.telegram
    assert telegram is not None
    at_quota(stack, chat_id)
    image = ultralytics_asset("zidane.jpg")

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        photos = list(pool.map(lambda _: telegram.user_sends_photo(chat_id, image), range(BURST)))

    ids = [p["message_id"] for p in photos]
    in_chat = [m for m in telegram.state.sent if m.chat_id == chat_id]
    transcript = telegram.transcript(chat_id)
    assert len(in_chat) == 1, ("one notice for the burst, not one per photo", transcript)
    [notice] = in_chat
    assert not notice.deleted and notice.reply_to_message_id in ids
    text = notice.text or ""
    assert f"so I skipped {BURST} photos." in text, ("the notice names every skipped photo", transcript)
    assert re.search(r"Please send them again in \d+ seconds?\.$", text), ("and says when", text)
    for message_id in ids:
        name = naming.execution_name(chat_id, message_id)
        assert stack.wait_for_execution(name, wait_for_start=False)["status"] == "NOT_STARTED"
    assert i18n.text("slow_down", "en") not in transcript
    faults.record(
        f"{BURST} photos at once from a chat at its photo quota",
        "one notice for the burst, edited to name every skipped photo and say when to send them again",
        f"{len(in_chat)} message for {len(ids)} skipped photos ({len(notice.edits)} edits)",
    )


def test_an_album_over_the_quota_is_skipped_and_said_once(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    telegram = stack.telegram
    assert telegram is not None
    at_quota(stack, chat_id)

    photos = telegram.user_sends_album(chat_id, [ultralytics_asset("zidane.jpg")] * 3)

    transcript = telegram.transcript(chat_id)
    in_chat = [m for m in telegram.state.sent if m.chat_id == chat_id]
    assert len(in_chat) == 1, ("one notice for the album", transcript)
    [notice] = in_chat
    assert "so I skipped 3 photos in 1 album." in (notice.text or ""), transcript
    album = naming.album_execution_name(chat_id, photos[0]["media_group_id"])
    assert stack.wait_for_execution(album, wait_for_start=False)["status"] == "NOT_STARTED"
    edits = "1 edit" if len(notice.edits) == 1 else f"{len(notice.edits)} edits"
    faults.record(
        "an album of 3 photos from a chat at its photo quota, through the webhook",
        "the album is skipped, with one notice naming its photos",
        f"{len(in_chat)} message for 3 skipped photos ({edits})",
    )
