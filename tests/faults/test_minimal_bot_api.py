"""A minimal Bot API server (a third-party mock, an alternative server) that lacks
the optional methods and answers them 404 with a body without "ok": the deploy
step and a whole conversation through the real webhook, every photo answered
with its result."""

from __future__ import annotations

import time

import pytest

from bot.webhook import Outcome, register_with_telegram
from local.polybot_stack import PolybotStack
from polybot import naming
from tests.auxil.images import BUS_CAPTIONS, ultralytics_asset
from tests.auxil.pipeline import execution_trace, function_errors, only_reply, wait_for_execution
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]

ZIDANE = "I see 2 people, and maybe a tie."
PHOTOS = [("zidane.jpg", {ZIDANE}), ("bus.jpg", BUS_CAPTIONS)] * 2


def test_a_minimal_bot_api_server_gets_every_photo_its_result_as_a_new_message(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None and stack.bot is not None
    stack.telegram.serve_as_minimal()
    try:
        # The deploy step, as the stack's start runs it: the menu skipped, the webhook kept.
        bot, credentials = stack.bot.telegram.connect()
        menus_set = stack.telegram.set_commands_calls
        assert register_with_telegram(bot, stack.bot_url, credentials.webhook_secret) == Outcome.UNCHANGED
        assert stack.telegram.set_commands_calls == menus_set
        assert "setMyCommands" in stack.telegram.calls

        started = time.monotonic()
        messages = [stack.telegram.user_sends_photo(chat_id, ultralytics_asset(name)) for name, _ in PHOTOS]
        replies = [only_reply(stack, chat_id, m["message_id"]) for m in messages]
        seconds = time.monotonic() - started
    finally:
        stack.telegram.serve_as_telegram()

    for (_, captions), reply in zip(PHOTOS, replies, strict=True):
        # Its result, as a new photo: the edit into one is what the server lacks.
        assert (reply.method, reply.kind, reply.edits) == ("sendPhoto", "photo", [])
        assert reply.caption in captions
    names = [naming.execution_name(chat_id, m["message_id"]) for m in messages]
    for name in names:
        assert wait_for_execution(stack, name)["status"] == "SUCCEEDED"
        assert function_errors(stack, name) == []
        states = [row.name for row in execution_trace(stack, name)]
        assert "NotifyFailure" not in states
    # No "Looking at your photo…" left above an answer: the chat shows one message per photo.
    shown = [m for m in stack.telegram.sent if m.chat_id == chat_id and not m.deleted]
    assert len(shown) == len(PHOTOS)
    faults.record(
        "a minimal Bot API server (no editMessageMedia, getMyCommands, setMyCommands, sendChatAction: "
        '404 without "ok")',
        "the deploy step skips the menu; every photo's result goes as a new photo, the progress message deleted; "
        "no failure notice",
        f"{len(replies)}/{len(PHOTOS)} photos answered with their result in {seconds:.1f} s",
    )
