"""A supergroup's conversation with Polybot, as its members have it, under
Telegram's privacy mode on (the default: Telegram delivers only what is meant for
the bot) and off (Telegram delivers everything): real-shaped updates POSTed by
the Telegram stand-in to the stack's webhook, real executions, the real model.
Addressed photos (by a caption mention, by /detect in reply, by a photo in reply
to Polybot) get exactly one answer each, in reply to the photo; the rest of the
group's talk gets nothing; /settings is the group's admins'.

The stack's webhook handles each update within its delivery (the stand-in waits
for its answer), so what the bot says itself is in the chat when a member's send
returns; what the workflow says needs an execution, so "nothing" is "no
execution started and no message sent" once the addressed photos are answered.
The transcript of each group is printed when its test ends (`-s` shows it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.polybot_stack import PolybotStack
from local.telegram_standin import BOT_USER, SentMessage, TelegramStandIn
from polybot import i18n, naming
from tests.auxil.images import ultralytics_asset

pytestmark = [pytest.mark.aws, pytest.mark.model]

ANSWER_S = 120
ADA, BEN = 9901, 9902
"""Ada created the group; Ben is a member."""
NAMES = {ADA: "Ada", BEN: "Ben"}
US = "@" + BOT_USER["username"]


@pytest.fixture(params=[True, False], ids=["privacy mode on", "privacy mode off"])
def group(request: pytest.FixtureRequest, stack: PolybotStack, chat_id: int) -> Iterator[tuple[TelegramStandIn, int]]:
    telegram = stack.telegram
    assert telegram is not None and stack.bot is not None
    group_id = -1_000_000_000_000 - chat_id
    telegram.bot_privacy(request.param)
    telegram.group_opens(
        group_id, {ADA: "creator", BEN: "member"}, title="Saturday", other_bots=("other_bot",), names=NAMES
    )
    try:
        yield telegram, group_id
    finally:
        telegram.bot_privacy(True)
        print(f"\n--- supergroup {group_id} ---", *telegram.transcript(group_id), sep="\n")


def in_group(telegram: TelegramStandIn, group_id: int) -> list[SentMessage]:
    return [m for m in telegram.sent if m.chat_id == group_id and not m.deleted]


def test_a_supergroup_gets_answers_only_to_what_it_addresses_to_polybot(
    stack: PolybotStack, group: tuple[TelegramStandIn, int]
) -> None:
    telegram, group_id = group
    bus, people = ultralytics_asset("bus.jpg"), ultralytics_asset("zidane.jpg")

    # The group's own talk: nothing of it is meant for Polybot.
    bare = telegram.user_sends_photo(group_id, bus, "Hi all, here are the photos from Saturday", by=BEN)
    chatter = telegram.user_sends_text(group_id, "Great day! Who took the one of the bus?", by=ADA)
    sticker = telegram.user_sends_sticker(group_id, by=BEN)
    other = telegram.user_sends_text(group_id, "/help@other_bot", by=ADA)
    unaddressed = [bare, chatter, sticker, other]
    assert in_group(telegram, group_id) == [], "the bot said nothing to the group's own talk"

    # Addressed: a caption mention, /detect in reply to the bare photo, a photo in reply to Polybot.
    mentioned = telegram.user_sends_photo(group_id, people, f"{US} who is this?", by=ADA)
    first = telegram.wait_for_reply(group_id, mentioned["message_id"], timeout=ANSWER_S)
    detect = telegram.user_sends_text(group_id, "/detect", by=BEN, reply_to=bare["message_id"])
    second = telegram.wait_for_reply(group_id, bare["message_id"], timeout=ANSWER_S)
    replying = telegram.user_sends_photo(group_id, bus, by=BEN, reply_to=first.message_id)
    third = telegram.wait_for_reply(group_id, replying["message_id"], timeout=ANSWER_S)

    for photo, answer, what in [(mentioned, first, "people"), (bare, second, "bus"), (replying, third, "bus")]:
        assert telegram.replies_to(group_id, photo["message_id"]) == [answer], "one answer, in reply to the photo"
        assert answer.kind == "photo" and what in (answer.caption or "")
    assert telegram.replies_to(group_id, detect["message_id"]) == [], "the answer replies to the photo, not /detect"
    for message in unaddressed[1:]:
        name = naming.execution_name(group_id, message["message_id"])
        assert stack.wait_for_execution(name, wait_for_start=False)["status"] == "NOT_STARTED"
        assert telegram.replies_to(group_id, message["message_id"]) == []
    assert len(in_group(telegram, group_id)) == 3, "nothing else was said in the group"

    # The group's settings are its admins'.
    refused = telegram.user_sends_text(group_id, "/settings", by=BEN)
    allowed = telegram.user_sends_text(group_id, f"/settings{US}", by=ADA)

    [refusal] = telegram.replies_to(group_id, refused["message_id"])
    assert refusal.text == i18n.text("group.admins_only", "en") and refusal.buttons == []
    [menu] = telegram.replies_to(group_id, allowed["message_id"])
    assert ("60%", "s:confidence:0.6") in menu.buttons
