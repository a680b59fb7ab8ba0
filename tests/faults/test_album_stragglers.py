"""An album whose later photos reach the bot after its execution gathered it (a
busy machine, a slow delivery), once or twice (Telegram redelivering an update
whose answer it never got): every photo still ends in exactly one answer, in
the album's reply or on its own, and no progress message is left saying that
the bot is looking (polybot/albums.py: Added.CLOSED)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from local.polybot_stack import PolybotStack
from polybot import i18n, naming
from polybot.albums import MAX_PHOTOS, Albums
from tests.auxil.images import ultralytics_asset
from tests.auxil.pipeline import only_reply, wait_for_execution
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]

HELD_S = 240.0
"""Longest a held update waits for the album's execution to end (a bound, not a pace)."""


@pytest.mark.parametrize("deliveries", [1, 2], ids=["delivered-late", "delivered-late-twice"])
def test_album_photos_that_arrive_after_the_album_was_gathered_are_each_answered_once(
    stack: PolybotStack, chat_id: int, faults: FaultSession, monkeypatch: pytest.MonkeyPatch, deliveries: int
) -> None:
    telegram = stack.telegram
    assert telegram is not None
    delivery = telegram.delivery
    post_update = delivery.post_update
    gathered = threading.Event()
    first: list[dict[str, Any]] = []
    lock = threading.Lock()

    def held(update: dict[str, Any]) -> int:
        # The first of the album's updates goes at once; the others once its execution has
        # ended (so after the gathering window), `deliveries` times each, in a row.
        with lock:
            goes_now = not first
            if goes_now:
                first.append(update["message"])
        if goes_now:
            return post_update(update)
        assert gathered.wait(HELD_S), "the album's execution never ended"
        statuses = [post_update(update) for _ in range(deliveries)]
        return statuses[-1]

    monkeypatch.setattr(delivery, "post_update", held)
    images = [ultralytics_asset("bus.jpg"), ultralytics_asset("zidane.jpg"), ultralytics_asset("bus.jpg")]
    sent: list[list[dict[str, Any]]] = []
    sending = threading.Thread(target=lambda: sent.append(telegram.user_sends_album(chat_id, images)))
    sending.start()
    try:
        telegram.wait_for(lambda: first, timeout=60, what="the album's first update")
        album = naming.album_execution_name(chat_id, first[0]["media_group_id"])
        execution = wait_for_execution(stack, album)
    finally:
        gathered.set()
        sending.join(timeout=HELD_S)
    [photos] = sent
    ids = [p["message_id"] for p in photos]
    starter = first[0]["message_id"]
    late = [i for i in ids if i != starter]

    assert execution["status"] == "SUCCEEDED"
    assert [p["message_id"] for p in Albums(stack.client("dynamodb"), stack.settings.results_table).photos(album)] == [
        starter
    ], "the album gathered the photo that started it, alone"
    for message_id in late:
        alone = only_reply(stack, chat_id, message_id)
        assert alone.kind == "photo" and alone.media_group_id is None, alone.shown()
        assert delivery.deliveries_of[message_id] == [200] * deliveries
    assert stack.wait_for_execution(naming.execution_name(chat_id, starter), wait_for_start=False)["status"] == (
        "NOT_STARTED"
    ), "the starter is answered in the album's reply only"
    album_reply = telegram.replies_to(chat_id, starter)
    overview = [m for m in album_reply if m.kind == "text"]
    assert len(overview) == 1 and (overview[0].text or "").startswith(i18n.text("album.title", "en")), [
        m.shown() for m in album_reply
    ]
    assert len(overview[0].text.splitlines()) == 2, "one line: the album's one photo"  # type: ignore[union-attr]
    assert [m.kind for m in album_reply if m is not overview[0]] == ["photo"]

    in_chat = [m for m in telegram.state.sent if m.chat_id == chat_id]
    shown = [m for m in in_chat if not m.deleted]
    assert all(telegram.settled(m) for m in shown), telegram.transcript(chat_id)
    assert {m.reply_to_message_id for m in shown} == set(ids), "every photo answered, none twice"
    withdrawn = [m for m in in_chat if m.deleted]
    # A redelivery that finds the photo's execution started deletes the progress message it sent.
    assert len(withdrawn) == (deliveries - 1) * len(late), telegram.transcript(chat_id)
    assert all(m.text == i18n.text("progress", "en") for m in withdrawn)
    faults.record(
        "an album's later photos reach the bot after its execution gathered it"
        + (", each delivered twice" if deliveries > 1 else ""),
        "each late photo is analysed alone and answered once; the album answers its first photo; "
        "no progress message left" + (" (each redelivery's deleted)" if deliveries > 1 else ""),
        f"{len(late)} photos alone, 1 in the album; {len(withdrawn)} progress messages sent and deleted",
    )


def test_every_photo_of_a_full_album_sent_at_once_is_answered_once(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    """Telegram's largest album, its ten updates at once: ten adds to one item in
    the same instant, where an emulator that let two of them read the item as it
    was told both they were first and dropped one's photo."""
    telegram = stack.telegram
    assert telegram is not None
    images = [ultralytics_asset("bus.jpg"), ultralytics_asset("zidane.jpg")] * (MAX_PHOTOS // 2)
    photos = telegram.user_sends_album(chat_id, images)
    ids = [p["message_id"] for p in photos]
    album = naming.album_execution_name(chat_id, photos[0]["media_group_id"])
    assert wait_for_execution(stack, album)["status"] == "SUCCEEDED"

    gathered = [p["message_id"] for p in Albums(stack.client("dynamodb"), stack.settings.results_table).photos(album)]
    alone = [
        i
        for i in ids
        if stack.wait_for_execution(naming.execution_name(chat_id, i), wait_for_start=False)["status"] != "NOT_STARTED"
    ]
    for message_id in alone:
        assert only_reply(stack, chat_id, message_id).media_group_id is None
    assert sorted(gathered + alone) == ids, "every photo gathered with the album or analysed alone, once"
    in_chat = [m for m in telegram.state.sent if m.chat_id == chat_id]
    assert all(telegram.settled(m) for m in in_chat if not m.deleted), telegram.transcript(chat_id)
    assert len([m for m in in_chat if m.method == "sendMediaGroup" and not m.deleted]) == len(gathered)
    withdrawn = [m.text for m in in_chat if m.deleted]
    # Only the album's first photo sends "Looking at your photos…"; it is withdrawn where
    # another photo's StartExecution came first. Two withdrawn: two photos were told "first".
    assert withdrawn in ([], [i18n.text("progress_album", "en")]), telegram.transcript(chat_id)
    faults.record(
        f"an album of {MAX_PHOTOS} photos, its updates delivered at once",
        "every photo gathered with the album (or analysed alone if late) and answered once; one album "
        "progress message at most, withdrawn where another photo started the execution first",
        f"{len(gathered)} gathered, {len(alone)} alone; {len(withdrawn)} progress message withdrawn",
    )
