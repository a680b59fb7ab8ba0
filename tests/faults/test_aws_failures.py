"""AWS throttling, 5xx answers and slowness, injected into the embedded AWS
(local/aws_faults.py) on the calls each part makes: retried by boto3 within
its budget or by the workflow's Retry, with no duplicate record and no image
lost; and the budgets in force are the ones the timeout tests reason about."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from bot.deadline import WEBHOOK_BUDGET_S
from local.aws_faults import AwsFault
from local.polybot_stack import PolybotStack
from polybot import aws, naming
from tests.auxil.images import ultralytics_asset
from tests.auxil.pipeline import execution_trace, only_reply, photo_waiting_for_a_worker, wait_for_execution
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]

# (service, operation, who calls it, fault): each call of the pipeline once.
CALLS = [
    ("s3", "PutObject", "StageImage (the original)", AwsFault("s3", "PutObject", 503, "SlowDown", times=3)),
    ("s3", "GetObject", "the worker (the original)", AwsFault("s3", "GetObject", 500, "InternalError", times=2)),
    ("sqs", "SendMessage", "DetectObjects (the task)", AwsFault("sqs", "SendMessage", 500, "InternalError", times=2)),
    ("sqs", "ReceiveMessage", "the worker", AwsFault("sqs", "ReceiveMessage", 400, "ThrottlingException", times=2)),
    ("dynamodb", "PutItem", "PersistResults", AwsFault("dynamodb", "PutItem", 400, "ThrottlingException", times=2)),
    (
        "dynamodb",
        "UpdateItem",
        "the bot (the chat's photo count)",
        AwsFault("dynamodb", "UpdateItem", 500, "InternalServerError", times=1),
    ),
    ("states", "StartExecution", "the bot", AwsFault("states", "StartExecution", 400, "ThrottlingException", times=1)),
    (
        "states",
        "SendTaskSuccess",
        "the worker",
        AwsFault("states", "SendTaskSuccess", 500, "ServiceUnavailable", times=1),
    ),
]


@pytest.mark.parametrize(("service", "operation", "caller", "fault"), CALLS, ids=[f"{c[0]}-{c[1]}" for c in CALLS])
def test_throttling_and_5xx_from_aws_are_retried_without_duplicates_or_loss(
    stack: PolybotStack,
    chat_id: int,
    faults: FaultSession,
    service: str,
    operation: str,
    caller: str,
    fault: AwsFault,
) -> None:
    assert stack.telegram is not None
    injected = fault.times
    in_aws = stack.aws.faults.inject(fault)
    started = time.monotonic()
    message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
    name = naming.execution_name(chat_id, message["message_id"])

    reply = only_reply(stack, chat_id, message["message_id"])
    seconds = time.monotonic() - started
    execution = wait_for_execution(stack, name)

    assert reply.caption == "I see 2 people, and maybe a tie."
    assert execution["status"] == "SUCCEEDED"
    met = injected - in_aws.times_left()
    # The worker's long poll may already be waiting when the faults go in: then the
    # next poll meets them, after this photo; for every other call all are met.
    assert met == injected or (operation == "ReceiveMessage" and met >= 1), f"{met} of {injected} faults met"
    items = stack.client("dynamodb").query(
        TableName=stack.settings.results_table,
        KeyConditionExpression="image_id = :name",
        ExpressionAttributeValues={":name": {"S": name}},
    )["Items"]
    assert len(items) == 1 and items[0]["object_count"] == {"N": "3"}, "one record"
    keys = stack.client("s3").list_objects_v2(Bucket=stack.settings.images_bucket, Prefix="")["Contents"]
    assert {k["Key"] for k in keys} >= {f"originals/{name}.jpg", f"annotated/{name}.jpg"}, "no image lost"
    workflow_retries = sum(row.retries for row in execution_trace(stack, name))
    faults.record(
        f"{met}× {fault.code} ({fault.status}) on {service} {operation}, called by {caller}",
        "retried (boto3 within the call's budget, then the workflow's Retry); one record, both images, one reply",
        f"workflow retries {workflow_retries}; reply after {seconds:.1f} s",
    )


def test_the_budgets_in_force_are_the_ones_the_timeout_tests_reason_about(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
    only_reply(stack, chat_id, message["message_id"])

    # What the functions that just ran hold, as the libraries keep it (not what was asked for),
    # read in the process they run in.
    in_force = stack.aws.functions.budgets_in_force()
    for client in in_force["aws"].values():
        assert (client["connect_timeout_s"], client["read_timeout_s"], client["attempts"]) == (
            aws.IN_FUNCTION.connect_timeout_s,
            aws.IN_FUNCTION.read_timeout_s,
            aws.IN_FUNCTION.attempts,
        )
    settings = in_force["settings"]
    telegram = in_force["telegram"]
    assert (settings["telegram_connect_timeout_s"], settings["telegram_read_timeout_s"], False) == (
        telegram["connect_timeout_s"],
        telegram["read_timeout_s"],
        telegram["retry_on_error"],
    )
    faults.record(
        "call budgets, as the running functions hold them",
        "AWS clients and telebot carry the timeouts tests/unit/test_timeouts.py adds up",
        f"AWS {aws.IN_FUNCTION.connect_timeout_s:g}+{aws.IN_FUNCTION.read_timeout_s:g} s × "
        f"{aws.IN_FUNCTION.attempts}; Telegram {telegram['connect_timeout_s']:g}+"
        f"{telegram['read_timeout_s']:g} s, no retry",
    )


@pytest.mark.parametrize("late", [1, aws.IN_WEBHOOK.attempts], ids=["first-try-late", "every-try-late"])
def test_slow_aws_at_the_webhook_never_multiplies_or_loses_replies(
    stack: PolybotStack, chat_id: int, faults: FaultSession, late: int
) -> None:
    assert stack.telegram is not None
    # AWS starts the execution on the bot's first try of StartExecution, but the
    # answers of the first `late` tries come too late. With a try left, boto3's
    # retry meets the execution its own first try started, by then answered
    # (ExecutionAlreadyExists); without, the webhook answers 500 and Telegram
    # delivers again.
    delay_s = aws.IN_WEBHOOK.read_timeout_s + 2
    late_answers = AwsFault("states", "StartExecution", 0, times=late, delay_s=delay_s, answer_late=True)
    stack.aws.faults.inject(late_answers)
    deliveries = len(stack.telegram.deliveries)
    started = time.monotonic()
    message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
    webhook_s = time.monotonic() - started

    reply = only_reply(stack, chat_id, message["message_id"])

    statuses = stack.telegram.deliveries[deliveries:]
    assert reply.caption == "I see 2 people, and maybe a tie."
    # The first delivery's progress message became the answer; no redelivery sent another.
    assert (reply.method, reply.edits[-1]) == ("sendMessage", "editMessageMedia")
    deleted = sum(line.startswith("bot deletes") for line in stack.telegram.transcript(chat_id))
    if late < aws.IN_WEBHOOK.attempts:
        assert (statuses, deleted) == ([200], 0)
        outcome = (
            "boto3's retry meets the execution its first try started (ExecutionAlreadyExists after a retry): "
            "the bot keeps its progress message, which the execution makes the answer; one reply"
        )
    else:
        assert (statuses[0], statuses[-1], deleted) == (500, 200, 0)
        outcome = (
            "the bot cannot know: webhook answers 500, its progress message kept for the execution (saying the "
            "answer comes when AWS is back); the redelivery uses it and finds the execution started; one reply"
        )
    faults.record(
        f"StartExecution answers {delay_s:.0f} s late on {late} of the bot's {aws.IN_WEBHOOK.attempts} tries "
        "(the execution does start)",
        outcome,
        f"deliveries {statuses}; webhook done in {webhook_s:.1f} s",
    )


@pytest.mark.parametrize("failures", [1, 2])
def test_a_sent_reply_that_cannot_be_recorded_is_not_sent_again(
    stack: PolybotStack, chat_id: int, faults: FaultSession, failures: int
) -> None:
    assert stack.telegram is not None
    with photo_waiting_for_a_worker(stack, chat_id, ultralytics_asset("zidane.jpg")) as (message_id, name):
        # SendReply's first UpdateItem is the one recording the sent photo.
        stack.aws.faults.inject(AwsFault("dynamodb", "UpdateItem", 500, "InternalServerError", times=failures))
    stack.telegram.wait_for_reply(chat_id, message_id, timeout=120)
    execution = wait_for_execution(stack, name)
    replies = stack.telegram.replies_to(chat_id, message_id)

    assert execution["status"] == "SUCCEEDED"
    assert len(replies) == 1
    outcome = (
        "boto3 retries the write within SendReply; recorded; one reply"
        if failures < aws.IN_FUNCTION.attempts
        else "the record fails for good; SendReply goes on (the photo is out) instead of failing into a resend"
    )
    faults.record(
        f"{failures}× InternalServerError (500) on dynamodb UpdateItem recording the sent photo", outcome, "1 reply"
    )


BLACK_HOLED_DELIVERIES = 2


def test_a_black_holed_aws_leaves_one_message_per_photo_and_answers_once_it_is_back(
    stack: PolybotStack, chat_id: int, faults: FaultSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS takes the bot's calls and never answers (the chat's preferences, its
    photo count, StartExecution): each delivery answers 500 within the webhook's
    deadline and leaves no second progress message; once AWS answers again,
    Telegram's redelivery starts the execution and the photo gets its answer."""
    assert stack.telegram is not None
    delivery = stack.telegram.delivery
    held_s = 30.0  # longer than any of the bot's timeouts: to the bot, no answer ever comes
    for operation in (("dynamodb", "GetItem"), ("dynamodb", "UpdateItem"), ("states", "StartExecution")):
        stack.aws.faults.inject(AwsFault(*operation, 503, "ServiceUnavailable", times=1000, delay_s=held_s))
    webhook_s: list[float] = []
    post_update = delivery.post_update

    def timed(update: dict[str, Any]) -> int:
        started = time.monotonic()
        try:
            return post_update(update)
        finally:
            webhook_s.append(time.monotonic() - started)
            if len(webhook_s) == BLACK_HOLED_DELIVERIES:
                stack.aws.faults.clear()  # AWS answers again before Telegram's next redelivery

    monkeypatch.setattr(delivery, "post_update", timed)
    messages: list[dict[str, Any]] = []
    sending = threading.Thread(
        target=lambda: messages.append(stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg")))
    )
    sending.start()
    sending.join(timeout=(BLACK_HOLED_DELIVERIES + 1) * 35)
    [message] = messages

    reply = only_reply(stack, chat_id, message["message_id"])

    statuses = stack.telegram.deliveries_of[message["message_id"]]
    assert statuses == [500] * BLACK_HOLED_DELIVERIES + [200]
    assert max(webhook_s) <= WEBHOOK_BUDGET_S, webhook_s
    assert reply.caption == "I see 2 people, and maybe a tie."
    # One message in the chat for the photo, ever: the progress message that became the answer.
    sent = [line for line in stack.telegram.transcript(chat_id) if line.startswith("bot #")]
    assert len(sent) == 1, stack.telegram.transcript(chat_id)
    faults.record(
        f"AWS black-holed for the bot (preferences, photo count, StartExecution) for "
        f"{BLACK_HOLED_DELIVERIES} deliveries",
        "each delivery answers 500 within the webhook's deadline; one progress message, kept for the "
        "redelivery (saying the answer comes when AWS is back), becomes the answer once AWS answers; no stuck message",
        f"deliveries {statuses}; webhook {', '.join(f'{s:.1f}' for s in webhook_s)} s "
        f"(deadline {WEBHOOK_BUDGET_S:g} s)",
    )
