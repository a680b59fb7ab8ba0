"""Users in control of their data (issue 17), through the real webhook, real
executions and the real model: /privacy in each language, every record with an
end, and /forget leaving nothing of the chat, checked by scanning the WHOLE
results table and images bucket (tests/auxil/chat_records.py), another chat's
records untouched.

The transcripts and the scan's counts are printed (`-s` shows them).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot import texts
from local.polybot_stack import PolybotStack
from local.telegram_standin import SentMessage, TelegramStandIn
from polybot import callbacks, i18n, naming, retention
from tests.auxil.chat_records import Kept, scan
from tests.auxil.images import ultralytics_asset
from tests.auxil.pipeline import wait_for_execution

pytestmark = [pytest.mark.aws, pytest.mark.model]

ANSWER_S = 120
MARGIN_S = 600
"""How far past now + retention an item's end may lie (the clock moves while the test runs)."""


def kept(stack: PolybotStack) -> dict[int | None, Kept]:
    return scan(
        stack.client("dynamodb"), stack.settings.results_table, stack.client("s3"), stack.settings.images_bucket
    )


def forget_via_the_button(telegram: TelegramStandIn, chat_id: int) -> SentMessage:
    """/forget, then its Delete button; the confirmation message (to become the answer)."""
    command = telegram.user_sends_text(chat_id, "/forget")
    [confirmation] = telegram.replies_to(chat_id, command["message_id"])
    assert [data for _, data in confirmation.buttons] == [callbacks.FORGET_YES, callbacks.FORGET_NO]
    telegram.user_taps(chat_id, confirmation.message_id, callbacks.FORGET_YES)
    return confirmation


def answered_done(telegram: TelegramStandIn, chat_id: int, message_id: int, language: str = "en") -> str:
    done = i18n.text("forget.done", language, items=0, images=0).split(":")[0]
    telegram.wait_for(
        lambda: (telegram.message(chat_id, message_id).text or "").startswith(done),
        timeout=ANSWER_S,
        what="the /forget answer",
    )
    return telegram.message(chat_id, message_id).text or ""


def show(title: str, telegram: TelegramStandIn, chat_id: int) -> None:
    print(f"\n--- {title} (chat {chat_id}) ---", *telegram.transcript(chat_id), sep="\n")


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_privacy_says_what_is_kept_where_for_how_long_and_how_to_delete_it(
    stack: PolybotStack, chat_id: int, language: str
) -> None:
    telegram = stack.telegram
    assert telegram is not None
    telegram.user_speaks(chat_id, language)
    days = stack.settings.retention_days
    replies = {
        command: telegram.replies_to(chat_id, telegram.user_sends_text(chat_id, command)["message_id"])[0].text or ""
        for command in ("/privacy", "/start", "/help")
    }
    show(f"/privacy in {language}", telegram, chat_id)

    keeping = texts.keeping(language, days, stack.settings.region)
    assert replies["/privacy"] == i18n.text("privacy", language, **keeping)
    for command, text in replies.items():
        assert keeping["retention"] in text, f"{command} states the retention in force"
    assert stack.settings.region in replies["/privacy"] and "/forget" in replies["/privacy"]
    assert "/privacy" in replies["/help"] and "/forget" in replies["/help"]


def test_every_record_ends_and_forget_leaves_nothing_of_the_chat(stack: PolybotStack, chat_id: int) -> None:
    telegram = stack.telegram
    assert telegram is not None
    other = chat_id + 500_000
    # Every kind of record: results, a failure, an album (its item, its photos'
    # results, its own ledger), preferences, photo counts, reply-ledger entries, images.
    menu = telegram.replies_to(chat_id, telegram.user_sends_text(chat_id, "/settings")["message_id"])[0]
    telegram.user_taps(chat_id, menu.message_id, "60%")
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))
    broken = telegram.user_sends_document(chat_id, b"not an image at all", "bus.jpg", "image/jpeg")
    album = telegram.user_sends_album(chat_id, [ultralytics_asset("zidane.jpg"), ultralytics_asset("bus.jpg")])
    elsewhere = telegram.user_sends_photo(other, ultralytics_asset("zidane.jpg"))
    names = [
        naming.execution_name(chat_id, photo["message_id"]),
        naming.execution_name(chat_id, broken["message_id"]),
        naming.album_execution_name(chat_id, album[0]["media_group_id"]),
        naming.execution_name(other, elsewhere["message_id"]),
    ]
    for name in names:
        wait_for_execution(stack, name, ANSWER_S)
    before = kept(stack)
    written_by = time.time()

    # Every record has an end, within the retention.
    mine, theirs = before[chat_id], before[other]
    assert {"result", "failure", "album", "ledger", "prefs", "quota", "originals", "annotated"} <= set(mine.counts())
    latest = written_by + retention.retention_s(stack.settings.retention_days) + MARGIN_S
    for item in mine.items + theirs.items:
        assert "expires_at" in item, item["image_id"]
        assert time.time() - MARGIN_S < int(item["expires_at"]["N"]) <= latest, item["image_id"]

    confirmation = forget_via_the_button(telegram, chat_id)
    answer = answered_done(telegram, chat_id, confirmation.message_id)
    after = kept(stack)
    show("/forget", telegram, chat_id)
    print(f"\nbefore /forget: {mine.counts()}; other chat {theirs.counts()}")
    print(f"after /forget: {after.get(chat_id, Kept()).counts()}; other chat {after[other].counts()}")

    assert after.get(chat_id, Kept()).user_data.empty, after[chat_id].user_data.counts()
    assert after[other].counts() == theirs.counts(), "another chat's records are untouched"
    assert sorted(after[other].objects) == sorted(theirs.objects)
    items, images = len(mine.items), len(mine.objects)
    assert answer == i18n.text("forget.done", "en", items=items, images=images)
    assert telegram.message(chat_id, confirmation.message_id).buttons == []


def test_a_second_tap_starts_nothing_more_and_cancel_deletes_nothing(stack: PolybotStack, chat_id: int) -> None:
    telegram = stack.telegram
    assert telegram is not None
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))
    telegram.wait_for_reply(chat_id, photo["message_id"], timeout=ANSWER_S)
    wait_for_execution(stack, naming.execution_name(chat_id, photo["message_id"]), ANSWER_S)

    cancelled = telegram.replies_to(chat_id, telegram.user_sends_text(chat_id, "/forget")["message_id"])[0]
    telegram.user_taps(chat_id, cancelled.message_id, callbacks.FORGET_NO)
    assert telegram.message(chat_id, cancelled.message_id).text == i18n.text("forget.cancelled", "en")
    assert not kept(stack)[chat_id].user_data.empty, "Cancel deleted nothing"

    command = telegram.user_sends_text(chat_id, "/forget")
    [confirmation] = telegram.replies_to(chat_id, command["message_id"])
    shown = confirmation_update(telegram, chat_id, confirmation)
    telegram.user_taps(chat_id, confirmation.message_id, callbacks.FORGET_YES)
    # The same tap again, from a client that still showed the buttons (or Telegram's redelivery).
    telegram.post_update(shown)
    answer = answered_done(telegram, chat_id, confirmation.message_id)
    show("double tap", telegram, chat_id)

    executions = stack.client("stepfunctions").list_executions(stateMachineArn=stack.settings.state_machine_arn)
    forgets = [
        e
        for e in executions["executions"]
        if e["name"] == naming.forget_execution_name(chat_id, confirmation.message_id)
    ]
    assert len(forgets) == 1
    assert wait_for_execution(stack, forgets[0]["name"], ANSWER_S)["status"] == "SUCCEEDED"
    assert answer.startswith(i18n.text("forget.done", "en", items=0, images=0).split(":")[0])
    assert kept(stack).get(chat_id, Kept()).user_data.empty


def confirmation_update(telegram: TelegramStandIn, chat_id: int, confirmation: SentMessage) -> dict[str, Any]:
    """The callback update a tap on the confirmation's Delete button makes, as the chat shows it now."""
    return {
        "update_id": 7_000_000 + confirmation.message_id,
        "callback_query": {
            "id": f"again-{chat_id}-{confirmation.message_id}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ada", "language_code": "en"},
            "message": telegram.message(chat_id, confirmation.message_id).as_message(),
            "chat_instance": str(chat_id),
            "data": callbacks.FORGET_YES,
        },
    }


def test_a_photo_in_flight_when_the_chat_is_forgotten_is_answered_but_not_kept(
    stack: PolybotStack, chat_id: int
) -> None:
    telegram = stack.telegram
    assert telegram is not None
    stack.stop_worker()  # the photo waits in the detection queue while the chat is forgotten
    try:
        in_flight = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))
        confirmation = forget_via_the_button(telegram, chat_id)
        answered_done(telegram, chat_id, confirmation.message_id)
    finally:
        stack.start_worker()
    answer = telegram.wait_for_reply(chat_id, in_flight["message_id"], timeout=ANSWER_S)
    wait_for_execution(stack, naming.execution_name(chat_id, in_flight["message_id"]), ANSWER_S)
    left = kept(stack).get(chat_id, Kept()).user_data
    # A photo sent after the chat was forgotten is kept as any.
    later = telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
    wait_for_execution(stack, naming.execution_name(chat_id, later["message_id"]), ANSWER_S)
    show("a photo in flight", telegram, chat_id)

    # Answered: with its result, or (its original deleted before the worker read it) with why not.
    assert answer.kind == "photo" or (answer.text or "").startswith(i18n.text("failure.forgotten", "en")), answer
    assert left.empty, left.counts()
    assert kept(stack)[chat_id].counts()["result"] == 1
