"""Real executions of the image pipeline against the embedded AWS: every way a
photo can end, each with exactly one reply to the user."""

from __future__ import annotations

import json
import time

import pytest

from local.polybot_stack import PolybotStack
from polybot import naming
from tests.auxil.images import plain_image, ultralytics_asset
from tests.auxil.pipeline import (
    execution_trace,
    executions_named,
    only_reply,
    photo_waiting_for_a_worker,
    wait_for_execution,
)

pytestmark = [pytest.mark.aws, pytest.mark.model]


def test_zidane_photo_is_summarised(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
    reply = only_reply(stack, chat_id, message["message_id"])
    assert reply.caption == "I see 2 people, and maybe a tie."


def test_image_sent_as_file_is_analysed_from_its_original_bytes(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    original = ultralytics_asset("bus.jpg")
    message = stack.telegram.user_sends_document(chat_id, original, "bus.jpg", "image/jpeg")
    reply = only_reply(stack, chat_id, message["message_id"])
    assert reply.kind == "photo" and reply.caption is not None and "bus" in reply.caption
    output = json.loads(wait_for_execution(stack, naming.execution_name(chat_id, message["message_id"]))["output"])
    assert output["request"]["source"] == "document"
    assert output["staged"]["size_bytes"] == len(original)


def test_nothing_recognised_gets_a_friendly_text(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    message = stack.telegram.user_sends_photo(chat_id, plain_image(320, 240))
    reply = only_reply(stack, chat_id, message["message_id"])
    assert reply.method == "sendMessage"
    assert reply.text is not None and "did not recognise" in reply.text
    name = naming.execution_name(chat_id, message["message_id"])
    assert wait_for_execution(stack, name)["status"] == "SUCCEEDED"
    item = stack.client("dynamodb").get_item(TableName=stack.settings.results_table, Key={"image_id": {"S": name}})[
        "Item"
    ]
    assert item["object_count"] == {"N": "0"}


def test_file_that_is_not_an_image_is_refused_in_plain_words(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    message = stack.telegram.user_sends_document(chat_id, b"%PDF-1.7 not a picture", "scan.jpg", "image/jpeg")
    reply = only_reply(stack, chat_id, message["message_id"])
    assert reply.text is not None and "not an image I can read" in reply.text
    name = naming.execution_name(chat_id, message["message_id"])
    execution = wait_for_execution(stack, name)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "NotAnImage"
    rows = execution_trace(stack, name)
    # StageImage answers with a Refusal (functions/refusals.py), routed where its Catch goes.
    assert [row.name for row in rows] == [
        "IsAlbum",
        "StageImage",
        "ImageStaged",
        "FileRefused",
        "RecordFailure",
        "NotifyFailure",
        "NoticeDelivered",
        "Failed",
    ]
    assert rows[1].retries == 0, "a refused file is not retried"
    assert (
        stack.client("s3")
        .list_objects_v2(Bucket=stack.settings.images_bucket, Prefix=f"originals/{name}")
        .get("KeyCount")
        == 0
    )


@pytest.mark.parametrize("announced_size", [25 * 1024 * 1024, 1000], ids=["announced", "understated"])
def test_file_over_the_download_limit_is_refused(stack: PolybotStack, chat_id: int, announced_size: int) -> None:
    """Refused whether the update announces the size (the bot, at once, starting
    nothing) or only getFile finds out (StageImage)."""
    assert stack.telegram is not None
    big = b"\xff\xd8" + bytes(21 * 1024 * 1024)
    message = stack.telegram.user_sends_document(chat_id, big, "huge.jpg", "image/jpeg", file_size=announced_size)
    name = naming.execution_name(chat_id, message["message_id"])
    if announced_size > stack.settings.max_download_bytes:
        [reply] = stack.telegram.replies_to(chat_id, message["message_id"])
        assert reply.text is not None and "larger than 20 MB" in reply.text
        assert stack.wait_for_execution(name, wait_for_start=False)["status"] == "NOT_STARTED"
        return
    reply = only_reply(stack, chat_id, message["message_id"])
    assert reply.text is not None and "larger than 20 MB" in reply.text
    execution = wait_for_execution(stack, name)
    assert execution["error"] == "FileTooLarge"


def test_redelivered_update_starts_nothing_twice(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    stored = stack.telegram.add_file(ultralytics_asset("zidane.jpg"))
    message = {
        "message_id": 5,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "R"},
        "photo": [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": 1280,
                "height": 720,
                "file_size": len(stored.data),
            }
        ],
    }
    for _ in range(2):  # Telegram redelivers when it did not see a 200 in time
        stack.telegram.deliver(message)
    only_reply(stack, chat_id, 5)
    assert executions_named(stack, naming.execution_name(chat_id, 5)) == 1


def test_telegram_outage_while_replying_is_retried_into_one_reply(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    # The result goes out by turning the progress message into the annotated photo.
    stack.telegram.fail_next("editMessageMedia", 502, "Bad Gateway")
    message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
    reply = only_reply(stack, chat_id, message["message_id"])
    assert (reply.method, reply.edits, reply.kind) == ("sendMessage", ["editMessageMedia"], "photo")
    [send_reply] = [
        row
        for row in execution_trace(stack, naming.execution_name(chat_id, message["message_id"]))
        if row.name == "SendReply"
    ]
    assert send_reply.retries == 1 and send_reply.errors == ["TelegramUnavailable"]


def test_repeated_result_write_is_harmless(stack: PolybotStack, chat_id: int) -> None:
    """A record already there (an earlier attempt wrote it) does not stop the reply."""
    with photo_waiting_for_a_worker(stack, chat_id, ultralytics_asset("zidane.jpg")) as (message_id, name):
        stack.client("dynamodb").put_item(
            TableName=stack.settings.results_table,
            Item={"image_id": {"S": name}, "chat_id": {"N": str(chat_id)}, "received_at": {"S": "earlier"}},
        )
    only_reply(stack, chat_id, message_id)
    assert wait_for_execution(stack, name)["status"] == "SUCCEEDED"
    persist = next(row for row in execution_trace(stack, name) if row.name == "PersistResults")
    assert persist.errors == ["DynamoDB.ConditionalCheckFailedException"]


def test_image_damaged_in_storage_fails_the_detection_by_name(stack: PolybotStack, chat_id: int) -> None:
    """The worker reports an undecodable image with SendTaskFailure, not silence."""
    with photo_waiting_for_a_worker(stack, chat_id, ultralytics_asset("zidane.jpg")) as (message_id, name):
        original = naming.original_key(name, "image/jpeg")
        stack.client("s3").put_object(Bucket=stack.settings.images_bucket, Key=original, Body=b"\xff\xd8\xff\xe0 torn")
    reply = only_reply(stack, chat_id, message_id)
    assert reply.text is not None and "seems damaged" in reply.text
    assert wait_for_execution(stack, name)["error"] in ("ImageNotDecodable", "NotAnImage")


@pytest.mark.parametrize(("text", "says"), [("/start", "Hi! I'm Polybot"), ("/help", "/history: ")])
def test_start_and_help_get_the_welcome(stack: PolybotStack, chat_id: int, text: str, says: str) -> None:
    assert stack.telegram is not None
    message = stack.telegram.user_sends_text(chat_id, text)
    reply = stack.telegram.wait_for_reply(chat_id, message["message_id"], timeout=10)
    assert reply.text is not None and says in reply.text
    assert executions_named(stack, naming.execution_name(chat_id, message["message_id"])) == 0


def test_other_messages_get_a_hint(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    text = stack.telegram.user_sends_text(chat_id, "what can you do?")
    pdf = stack.telegram.user_sends_document(chat_id, b"%PDF-1.7", "cv.pdf", "application/pdf")
    assert "understand photos" in str(stack.telegram.wait_for_reply(chat_id, text["message_id"], 10).text)
    assert "doesn't look like an image" in str(stack.telegram.wait_for_reply(chat_id, pdf["message_id"], 10).text)


def test_webhook_refuses_updates_without_the_secret(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    stack.telegram.webhook_secret = "not-the-secret"
    try:
        message = stack.telegram.user_sends_photo(chat_id, plain_image())
    finally:
        stack.telegram.webhook_secret = stack.bot.credentials.webhook_secret if stack.bot else ""
    assert stack.telegram.deliveries[-1] == 403
    assert executions_named(stack, naming.execution_name(chat_id, message["message_id"])) == 0


def test_a_worker_that_goes_silent_loses_its_lease_and_another_answers(stack: PolybotStack, chat_id: int) -> None:
    """A worker takes the task (with the lease a worker takes) and says nothing
    more: the message comes back after the lease, the live worker takes the same
    task and answers. No timeout, no resend (HeartbeatSeconds is for backlogs)."""
    assert stack.telegram is not None
    sqs = stack.client("sqs")
    stack.stop_worker()
    try:
        message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
        name = naming.execution_name(chat_id, message["message_id"])
        taken: list[dict[str, object]] = []
        deadline = time.monotonic() + 30
        while not taken and time.monotonic() < deadline:  # the silent worker takes the task ...
            taken = sqs.receive_message(
                QueueUrl=stack.settings.detection_queue_url,
                WaitTimeSeconds=1,
                MaxNumberOfMessages=1,
                VisibilityTimeout=stack.settings.task_lease_s,
            ).get("Messages", [])
        assert taken, "the task never reached the queue"
        assert json.loads(str(taken[0]["Body"]))["execution_name"] == name
        silent_since = time.monotonic()
    finally:
        stack.start_worker()  # ... and says nothing; the live worker waits for the lease to run out
    reply = only_reply(stack, chat_id, message["message_id"])
    assert reply.caption == "I see 2 people, and maybe a tie."
    assert time.monotonic() - silent_since >= stack.settings.task_lease_s
    detect = next(row for row in execution_trace(stack, name) if row.name == "DetectObjects")
    assert (detect.retries, detect.errors) == (0, [])
    assert wait_for_execution(stack, name)["status"] == "SUCCEEDED"
