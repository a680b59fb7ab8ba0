"""Polybot in a supergroup when Telegram fails or members ask twice: a
getChatMember that fails (502) during a member's /settings fails the update
(500) and Telegram's redelivery answers it once; two members asking for the same
photo with /detect (and Telegram delivering one of the asks twice) get one
answer for the photo."""

from __future__ import annotations

import time

import pytest

from local.polybot_stack import PolybotStack
from local.telegram_standin import BOT_USER
from polybot import i18n, naming
from tests.auxil.images import BUS_CAPTIONS, ultralytics_asset
from tests.auxil.pipeline import only_reply
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]

ADA, BEN, CARL = 9801, 9802, 9803


def open_group(stack: PolybotStack, chat_id: int) -> int:
    assert stack.telegram is not None and stack.bot is not None
    group_id = -1_000_000_000_000 - chat_id
    stack.telegram.group_opens(group_id, {ADA: "creator", BEN: "member", CARL: "member"})
    return group_id


def test_a_failed_getchatmember_is_redelivered_and_the_member_answered_once(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    group_id = open_group(stack, chat_id)
    assert stack.telegram is not None
    stack.telegram.fail_next("getChatMember", 502, "Bad Gateway")

    asked = stack.telegram.user_sends_text(group_id, "/settings", by=BEN)

    assert stack.telegram.deliveries_of[asked["message_id"]] == [500, 200]
    [refusal] = stack.telegram.replies_to(group_id, asked["message_id"])
    assert refusal.text == i18n.text("group.admins_only", "en")
    faults.record(
        "502 on getChatMember during a group member's /settings",
        "the webhook answers 500, Telegram redelivers, the member is refused once",
        f"{len(stack.telegram.deliveries_of[asked['message_id']])} deliveries",
    )


def test_two_members_asking_for_one_photo_get_one_answer(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    group_id = open_group(stack, chat_id)
    telegram = stack.telegram
    assert telegram is not None
    photo = telegram.user_sends_photo(group_id, ultralytics_asset("bus.jpg"), by=ADA)

    started = time.monotonic()
    first = telegram.user_sends_text(group_id, "/detect", by=BEN, reply_to=photo["message_id"])
    telegram.deliver(telegram.state.posted[(group_id, first["message_id"])])  # Telegram delivers it again
    telegram.user_sends_text(group_id, f"@{BOT_USER['username']} this one?", by=CARL, reply_to=photo["message_id"])
    answer = only_reply(stack, group_id, photo["message_id"])
    seconds = time.monotonic() - started

    assert answer.kind == "photo" and answer.caption in BUS_CAPTIONS
    shown = [m for m in telegram.sent if m.chat_id == group_id and not m.deleted]
    assert shown == [answer], "one message in the group: the answer, in reply to the photo"
    name = naming.execution_name(group_id, photo["message_id"])
    assert stack.wait_for_execution(name)["status"] == "SUCCEEDED"
    faults.record(
        "two members ask for the same group photo (/detect, a mention; one ask delivered twice)",
        "one execution for the photo, one answer in reply to it; the later asks' progress messages withdrawn",
        f"answer after {seconds:.1f} s",
    )
