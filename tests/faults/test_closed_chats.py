"""Chats that closed themselves to the bot, met by the whole stack: a user who
blocks the bot while the photo is analysed, a group that mutes it (Telegram's
400 "not enough rights to send ..."). The user's (or group's) choice is no
failure of ours: no alarm counts it, nothing is retried, and the webhook
answers every update from such a chat 200, never 500 (which Telegram would
redeliver for ever). The stand-in answers as Telegram does (chat_closes)."""

from __future__ import annotations

import pytest

from local.polybot_stack import PolybotStack
from polybot import naming
from tests.auxil.images import ultralytics_asset
from tests.auxil.pipeline import (
    execution_trace,
    function_errors,
    metric_filter_counts,
    photo_waiting_for_a_worker,
    wait_for_execution,
)
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]

COMMANDS = ("/start", "/help", "/history", "/settings", "hello")


def retried(stack: PolybotStack, name: str) -> int:
    return sum(row.retries for row in execution_trace(stack, name))


def test_a_user_who_blocks_the_bot_during_the_analysis_is_no_incident_and_no_500(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    with photo_waiting_for_a_worker(stack, chat_id, ultralytics_asset("zidane.jpg")) as (message_id, name):
        stack.telegram.chat_closes(chat_id, "blocked")
    execution = wait_for_execution(stack, name)
    # Unblocking takes a message; a client that still sends one (or a redelivery) meets the block.
    commands = [stack.telegram.user_sends_text(chat_id, text)["message_id"] for text in COMMANDS]

    assert (execution["status"], execution["error"]) == ("FAILED", "ChatUnavailable")
    assert function_errors(stack, name) == [] and retried(stack, name) == 0
    assert metric_filter_counts(stack, name)["ExecutionsFailedOnOurSide"] == 0
    statuses = [s for m in [message_id, *commands] for s in stack.telegram.deliveries_of[m]]
    assert set(statuses) == {200}, statuses
    faults.record(
        "a user blocks the bot while the photo is analysed (stand-in: 403 on every call to the chat)",
        "execution ends ChatUnavailable through Refusals: no retry, no function error, no failed execution "
        "counted; the webhook answers 200 to the photo and to /start /help /history /settings and text after",
        f"0 counted, 0 retries, deliveries {sorted(set(statuses))} ×{len(statuses)}",
    )


def test_a_group_that_mutes_the_bot_is_no_incident_and_no_500(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    stack.telegram.chat_closes(chat_id, "muted")

    commands = [stack.telegram.user_sends_text(chat_id, text)["message_id"] for text in COMMANDS]
    photo = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))["message_id"]
    name = naming.execution_name(chat_id, photo)
    execution = wait_for_execution(stack, name)

    statuses = [s for m in [*commands, photo] for s in stack.telegram.deliveries_of[m]]
    assert set(statuses) == {200}, statuses
    assert len(statuses) == len(COMMANDS) + 1, "an update was delivered again"
    # The photo was analysed; its answer met the muted group.
    assert (execution["status"], execution["error"]) == ("FAILED", "ChatUnavailable")
    assert function_errors(stack, name) == [] and retried(stack, name) == 0
    assert metric_filter_counts(stack, name)["ExecutionsFailedOnOurSide"] == 0
    assert [m for m in stack.telegram.sent if m.chat_id == chat_id] == []
    faults.record(
        'a group mutes the bot (stand-in: 400 "not enough rights to send text messages/photos to the chat")',
        "/start /help /history /settings, text and a photo each answered 200 once (never 500, never redelivered); "
        "the photo's execution ends ChatUnavailable: no retry, no function error, no failed execution counted",
        f"{len(statuses)} deliveries, all 200; 0 counted",
    )
