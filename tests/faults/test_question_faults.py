"""A text question about the chat's last photo ("how many people?") while the
results table fails: 5xx answers to the bot's Query, injected into the
embedded AWS (local/aws_faults.py). Retried by boto3 within the webhook's
budget, the question gets its count; failing every attempt, the user is told
to ask again: one answer either way, and nothing is analysed again."""

from __future__ import annotations

import json

import pytest

from local.aws_faults import AwsFault
from local.polybot_stack import PolybotStack
from polybot import aws, i18n, naming, questions
from polybot.questions import Question
from tests.auxil.images import ultralytics_asset
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]


@pytest.mark.parametrize("failures", [1, aws.IN_WEBHOOK.attempts])
def test_a_question_about_the_last_photo_while_the_results_table_fails_gets_one_answer(
    stack: PolybotStack, chat_id: int, faults: FaultSession, failures: int
) -> None:
    assert stack.telegram is not None
    photo = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))
    stack.telegram.wait_for_reply(chat_id, photo["message_id"], timeout=120)

    in_aws = stack.aws.faults.inject(AwsFault("dynamodb", "Query", 500, "InternalServerError", times=failures))
    asked = stack.telegram.user_sends_text(chat_id, "how many people?")

    print(*stack.telegram.transcript(chat_id), sep="\n")
    replies = stack.telegram.replies_to(chat_id, asked["message_id"])
    assert in_aws.times_left() == 0, "every fault was met"
    assert len(replies) == 1
    if failures < aws.IN_WEBHOOK.attempts:
        key = {"image_id": {"S": naming.execution_name(chat_id, photo["message_id"])}}
        item = stack.client("dynamodb").get_item(TableName=stack.settings.results_table, Key=key)["Item"]
        detections = json.loads(item["detections"]["S"])
        assert replies[0].text == questions.counting(Question("count", "person"), detections, "en")
        outcome = "boto3 retries the Query within the webhook's budget; the count from the stored detections"
    else:
        assert replies[0].text == i18n.text("question.unavailable", "en")
        outcome = "every attempt fails: the user is told to ask again (no 500, no redelivery)"
    name = naming.execution_name(chat_id, asked["message_id"])
    assert stack.wait_for_execution(name, wait_for_start=False)["status"] == "NOT_STARTED"
    faults.record(
        f"{failures}× InternalServerError (500) on dynamodb Query for a text question about the last photo",
        outcome,
        "1 reply, 0 analyses",
    )
