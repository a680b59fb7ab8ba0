"""/forget with AWS failing half-way through the deletion (issue 17): DynamoDB's
BatchWriteItem and S3's DeleteObjects answer 5xx after the first batch went
through, more often than boto3 retries within one call, so ForgetChat fails
and the workflow's Retry calls it again. The user is told "done" only when
nothing of the chat is left, checked by scanning the whole table and bucket;
another chat's records are untouched."""

from __future__ import annotations

import time

import pytest

from local.aws_faults import AwsFault
from local.polybot_stack import PolybotStack
from polybot import callbacks, i18n, naming
from tests.auxil.chat_records import Kept, scan
from tests.auxil.images import ultralytics_asset
from tests.auxil.pipeline import execution_trace, wait_for_execution
from tests.faults.conftest import FaultSession

HISTORY = 40
"""Past images seeded for the chat: more items than one BatchWriteItem deletes (25)."""


def kept(stack: PolybotStack) -> dict[int | None, Kept]:
    return scan(
        stack.client("dynamodb"), stack.settings.results_table, stack.client("s3"), stack.settings.images_bucket
    )


def seed_history(stack: PolybotStack, chat_id: int) -> None:
    """A chat with a long history: results items and both images of each, as the workflow leaves them."""
    dynamodb, s3 = stack.client("dynamodb"), stack.client("s3")
    for message_id in range(10_000, 10_000 + HISTORY):
        name = naming.execution_name(chat_id, message_id)
        item = {
            "image_id": {"S": name},
            "chat_id": {"N": str(chat_id)},
            "received_at": {"S": "2026-12-01T10:00:00.000Z"},
            "detections": {"S": "[]"},
            "expires_at": {"N": str(int(time.time()) + 86400)},
        }
        dynamodb.put_item(TableName=stack.settings.results_table, Item=item)
        for key in (naming.original_key(name, "image/jpeg"), naming.annotated_key(name)):
            s3.put_object(Bucket=stack.settings.images_bucket, Key=key, Body=b"image")


@pytest.mark.parametrize(
    ("what", "fault"),
    [
        (
            "DynamoDB BatchWriteItem",
            AwsFault("dynamodb", "BatchWriteItem", 500, "InternalServerError", times=4, skip=1),
        ),
        # DeleteObjects is a POST on the bucket; the first prefix's (originals) goes through.
        ("S3 DeleteObjects", AwsFault("s3", "POSTBucket", 503, "SlowDown", times=4, skip=1)),
    ],
    ids=["dynamodb", "s3"],
)
def test_forget_with_aws_failing_half_way_answers_done_only_when_nothing_is_left(
    stack: PolybotStack, chat_id: int, faults: FaultSession, what: str, fault: AwsFault
) -> None:
    telegram = stack.telegram
    assert telegram is not None
    other = chat_id + 600_000
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))
    elsewhere = telegram.user_sends_photo(other, ultralytics_asset("zidane.jpg"))
    for chat, message in ((chat_id, photo), (other, elsewhere)):
        wait_for_execution(stack, naming.execution_name(chat, message["message_id"]))
    seed_history(stack, chat_id)
    before = kept(stack)
    command = telegram.user_sends_text(chat_id, "/forget")
    [confirmation] = telegram.replies_to(chat_id, command["message_id"])

    in_aws = stack.aws.faults.inject(fault)
    left_when_told: list[dict[str, int]] = []
    done = i18n.text("forget.done", "en", items=0, images=0).split(":")[0]

    def told() -> bool:
        if not (telegram.message(chat_id, confirmation.message_id).text or "").startswith(done):
            return False
        left_when_told.append(kept(stack).get(chat_id, Kept()).user_data.counts())
        return True

    telegram.user_taps(chat_id, confirmation.message_id, callbacks.FORGET_YES)
    telegram.wait_for(told, timeout=180, what="the /forget answer")
    name = naming.forget_execution_name(chat_id, confirmation.message_id)
    execution = wait_for_execution(stack, name)
    after = kept(stack)
    retries = sum(row.retries for row in execution_trace(stack, name))
    mine = before[chat_id]
    print(f"\n{what}: before {mine.counts()}, after {after.get(chat_id, Kept()).user_data.counts()}")
    print(f"answer: {telegram.message(chat_id, confirmation.message_id).text}")

    assert fault.times - in_aws.times_left() == fault.times, "every fault was met"
    assert retries >= 1, "ForgetChat failed half-way and was called again"
    assert execution["status"] == "SUCCEEDED"
    assert left_when_told == [{}], "told only once nothing was left"
    assert after.get(chat_id, Kept()).user_data.empty
    assert after[other].counts() == before[other].counts()
    answer = telegram.message(chat_id, confirmation.message_id).text
    assert answer == i18n.text("forget.done", "en", items=len(mine.items), images=len(mine.objects)), answer
    faults.record(
        f"/forget with {fault.times}× {fault.code} ({fault.status}) on {what} after its first batch",
        'ForgetChat retried by the workflow until a round found nothing; answered "done" only then; '
        "the other chat untouched",
        f"{len(mine.items)} items and {len(mine.objects)} images before, 0 after; workflow retries {retries}",
    )
