"""Telegram's failure modes, as the Bot API and its network produce them, met
by the whole pipeline: HTML error pages, 429 with retry_after, lost answers,
stalled calls, and results larger than a photo may be."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from local.polybot_stack import PolybotStack
from local.telegram_standin import Fault
from polybot import naming, telegram
from tests.auxil.images import BUS_CAPTIONS, resized, ultralytics_asset
from tests.auxil.pipeline import (
    execution_trace,
    function_errors,
    metric_filter_counts,
    only_reply,
    photo_waiting_for_a_worker,
    wait_for_execution,
)
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]


def retries_of(stack: PolybotStack, name: str, state: str) -> tuple[int, list[str]]:
    [row] = [row for row in execution_trace(stack, name) if row.name == state]
    return row.retries, row.errors


@pytest.mark.parametrize(
    # The result goes out by turning the bot's progress message into the annotated photo.
    ("method", "state"),
    [("getFile", "StageImage"), ("file", "StageImage"), ("editMessageMedia", "SendReply")],
)
def test_an_html_502_from_telegram_is_retried_into_one_reply(
    stack: PolybotStack, chat_id: int, faults: FaultSession, method: str, state: str
) -> None:
    assert stack.telegram is not None
    stack.telegram.inject(method, Fault("html", 502))
    started = time.monotonic()
    message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))

    reply = only_reply(stack, chat_id, message["message_id"])
    seconds = time.monotonic() - started

    assert reply.caption == "I see 2 people, and maybe a tie."
    retries, errors = retries_of(stack, naming.execution_name(chat_id, message["message_id"]), state)
    assert (retries, errors) == (1, ["TelegramUnavailable"])
    faults.record(
        f"HTML 502 page from Telegram on {method}",
        f"{state} retried once (TelegramUnavailable), one reply",
        f"reply after {seconds:.1f} s",
    )


def test_a_429_is_waited_out_by_the_workflow_for_the_time_telegram_names(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    stack.telegram.fail_next("editMessageMedia", 429, "Too Many Requests: retry after 3", retry_after=3)
    started = time.monotonic()
    message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))

    reply = only_reply(stack, chat_id, message["message_id"])
    seconds = time.monotonic() - started

    name = naming.execution_name(chat_id, message["message_id"])
    states = [row.name for row in execution_trace(stack, name)]
    assert reply.caption in BUS_CAPTIONS
    assert states[-6:] == [
        "SendReply",
        "ReplyDelivered",
        "WaitForTelegramToReply",
        "SendReply",
        "ReplyDelivered",
        "Answered",
    ]
    [wait] = [row for row in execution_trace(stack, name) if row.name == "WaitForTelegramToReply"]
    assert wait.duration_ms is not None and wait.duration_ms >= 3000
    assert seconds >= 3
    faults.record(
        "429 Too Many Requests (retry_after 3) on the reply (editMessageMedia)",
        "SendReply reports the wait; the Wait state WaitForTelegramToReply holds it; one reply",
        f"waited {wait.duration_ms / 1000:.1f} s in the workflow; reply after {seconds:.1f} s",
    )


def test_a_chat_that_stays_rate_limited_ends_in_a_failure_instead_of_waiting_forever(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    # Every reply refused for a while, then Telegram lets the failure notice through.
    stack.telegram.fail_next("editMessageMedia", 429, "Too Many Requests: retry after 1", times=6, retry_after=1)
    message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))

    reply = only_reply(stack, chat_id, message["message_id"])

    execution = wait_for_execution(stack, naming.execution_name(chat_id, message["message_id"]))
    waits = [row for row in execution_trace(stack, execution["name"]) if row.name == "WaitForTelegramToReply"]
    assert (execution["status"], execution["error"]) == ("FAILED", "TelegramRateLimited")
    # The progress message becomes the notice.
    assert (reply.kind, reply.edits) == ("text", ["editMessageText"]) and "something went wrong" in str(reply.text)
    assert len(waits) == 5
    faults.record(
        "429 on every reply attempt (a chat rate-limited for long)",
        "five waits, then the reply is given up: the user gets the failure notice, execution fails TelegramRateLimited",
        f"{len(waits)} waits",
    )


BLOCKED = "Forbidden: bot was blocked by the user"


def test_a_user_who_blocks_the_bot_before_the_reply_is_no_incident(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    """Telegram forbids every answer (403): SendReply and NotifyFailure answer with a
    Refusal, not an error, so neither FunctionErrorsAlarm nor ExecutionsFailedAlarm
    counts what the user did; the execution still fails by name."""
    assert stack.telegram is not None
    with photo_waiting_for_a_worker(stack, chat_id, ultralytics_asset("zidane.jpg")) as (_, name):
        for method in ("editMessageMedia", "editMessageText", "sendPhoto", "sendMessage", "sendDocument"):
            stack.telegram.fail_next(method, 403, BLOCKED, times=5)

    execution = wait_for_execution(stack, name)

    assert (execution["status"], execution["error"]) == ("FAILED", "ChatUnavailable")
    states = [row.name for row in execution_trace(stack, name)]
    assert "ReplyRefused" in states and states[-1] == "Failed"
    assert function_errors(stack, name) == []
    assert metric_filter_counts(stack, name)["ExecutionsFailedOnOurSide"] == 0
    faults.record(
        "the user blocks the bot while the photo is analysed (403 on every answer)",
        "SendReply and NotifyFailure answer with a Refusal; execution fails ChatUnavailable; no alarm counts it",
        f"{len(states)} states, 0 function errors",
    )


def test_a_lost_answer_to_the_reply_edit_leaves_one_message(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    # Telegram turns the progress message into the photo, and the connection drops before its answer arrives.
    stack.telegram.inject("editMessageMedia", Fault("drop", after_effect=True))
    message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
    stack.telegram.wait_for_reply(chat_id, message["message_id"], timeout=120)
    name = naming.execution_name(chat_id, message["message_id"])
    wait_for_execution(stack, name)

    replies = stack.telegram.replies_to(chat_id, message["message_id"])

    # The retry edits the same message again: the chat still holds one answer.
    # (Without a progress message - the bot could not send one - the answer is a
    # sendPhoto, and a lost answer to it is still the one window for a second photo.)
    assert [(r.kind, r.caption) for r in replies] == [("photo", "I see 2 people, and maybe a tie.")]
    assert retries_of(stack, name, "SendReply") == (1, ["TelegramUnavailable"])
    faults.record(
        "connection dropped after Telegram applied the reply (editMessageMedia; answer lost)",
        "the retry edits the same progress message again: one message in the chat; the window for a "
        "second reply remains only where no progress message could be sent (sendPhoto)",
        f"{len(replies)} message, edited {len(replies[0].edits)}×",
    )


def test_a_failure_after_a_sent_reply_never_sends_it_again(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    # A large original: the photo goes first, then the full-size document fails once.
    stack.telegram.inject("sendDocument", Fault("html", 502))
    original = resized("bus.jpg", (3240, 4320))
    message = stack.telegram.user_sends_document(chat_id, original, "bus-large.jpg", "image/jpeg")
    stack.telegram.wait_for_reply(chat_id, message["message_id"], timeout=120)
    name = naming.execution_name(chat_id, message["message_id"])
    execution = wait_for_execution(stack, name)

    shown = [r.kind for r in stack.telegram.replies_to(chat_id, message["message_id"])]

    assert execution["status"] == "SUCCEEDED"
    assert shown == ["photo", "document"]
    assert retries_of(stack, name, "SendReply") == (1, ["TelegramUnavailable"])
    faults.record(
        "SendReply fails after its photo was sent (the document upload meets a 502)",
        "the retry finds the photo in the reply ledger and sends only the document",
        "1 photo + 1 document",
    )


def test_a_result_larger_than_a_photo_comes_as_a_photo_and_the_full_image_as_a_file(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    original = resized("bus.jpg", (8100, 6480), quality=95)
    message = stack.telegram.user_sends_document(chat_id, original, "bus-8100x6480.jpg", "image/jpeg")

    photo_reply = stack.telegram.wait_for_reply(chat_id, message["message_id"], timeout=180)
    wait_for_execution(stack, naming.execution_name(chat_id, message["message_id"]), timeout_s=180)
    replies = stack.telegram.replies_to(chat_id, message["message_id"])

    assert [r.kind for r in replies] == ["photo", "document"]
    assert photo_reply.photo is not None and replies[1].document is not None
    with Image.open(io.BytesIO(photo_reply.photo)) as photo, Image.open(io.BytesIO(replies[1].document)) as document:
        assert sum(photo.size) <= telegram.PHOTO_MAX_SIDES and max(photo.size) <= telegram.PHOTO_SHOWN_SIDE
        assert document.size == (8100, 6480)
    assert len(photo_reply.photo) <= telegram.PHOTO_MAX_BYTES
    assert photo_reply.caption is not None and "bus" in photo_reply.caption
    faults.record(
        "8100×6480 original sent as a file",
        "photo scaled within sendPhoto's limits, plus the full-resolution annotated image as a document",
        f"photo {len(photo_reply.photo) / 1e6:.1f} MB, document {len(replies[1].document) / 1e6:.1f} MB",
    )


def test_a_stalled_telegram_call_ends_as_a_retryable_error_before_the_function_times_out(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    stalled_s = stack.settings.telegram_read_timeout_s + 5
    stack.telegram.inject("getFile", Fault("slow", seconds=stalled_s))
    started = time.monotonic()
    message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))

    reply = only_reply(stack, chat_id, message["message_id"])
    seconds = time.monotonic() - started

    assert reply.caption == "I see 2 people, and maybe a tie."
    retries, errors = retries_of(stack, naming.execution_name(chat_id, message["message_id"]), "StageImage")
    assert (retries, errors) == (1, ["TelegramUnavailable"])
    faults.record(
        f"getFile answers after {stalled_s:.0f} s (a stalled call)",
        f"the call gives up at its {stack.settings.telegram_read_timeout_s:.0f} s read timeout, well inside "
        "StageImage's 60 s; retried, one reply",
        f"reply after {seconds:.1f} s",
    )
