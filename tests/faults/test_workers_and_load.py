"""YOLO workers dying, stopping and meeting garbage, and a burst of photos:
real worker processes (`python -m inference`) serving the embedded AWS's queue."""

from __future__ import annotations

import signal
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from local.aws_faults import AwsFault
from local.polybot_stack import PolybotStack
from polybot import aws, naming
from tests.auxil.images import ultralytics_asset
from tests.auxil.pipeline import execution_trace, only_reply, wait_for_execution
from tests.faults.conftest import FaultSession, WorkerProcess, worker_processes

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]


def holder_of(workers: list[WorkerProcess], name: str, timeout_s: float = 60) -> WorkerProcess:
    """The worker that took the task of execution `name`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for worker in workers:
            if f'"execution": "{name}", "message": "task received' in worker.output():
                return worker
        time.sleep(0.1)
    raise AssertionError(f"no worker took {name}: " + "\n".join(w.output()[-2000:] for w in workers))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def test_a_worker_killed_mid_image_is_replaced_by_another_within_seconds(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    with worker_processes(stack, faults, 2) as workers:
        # The original's download takes 3 s: long enough to kill its worker mid-image.
        stack.aws.faults.inject(AwsFault("s3", "GetObject", 0, times=1, delay_s=3))
        started = time.monotonic()
        message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
        name = naming.execution_name(chat_id, message["message_id"])
        victim = holder_of(workers, name)
        victim.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()

        reply = only_reply(stack, chat_id, message["message_id"], timeout_s=120)
        answered = time.monotonic()

    [detect] = [row for row in execution_trace(stack, name) if row.name == "DetectObjects"]
    assert reply.caption == "I see 2 people, and maybe a tie."
    assert victim.process.returncode == -signal.SIGKILL
    assert (detect.retries, detect.errors) == (0, []), "the same task, taken over: no timeout, no resend"
    assert answered - killed < stack.settings.task_lease_s + 15
    faults.record(
        "a worker killed (SIGKILL) while its image downloads, another worker running",
        f"its lease on the message ({stack.settings.task_lease_s} s) runs out unrenewed; the other worker takes the "
        "same task and answers; no timeout, no resend; one reply",
        f"answered {answered - killed:.1f} s after the kill ({answered - started:.1f} s after sending)",
    )


def test_a_lease_survives_a_failed_heartbeat_and_a_failed_renewal(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    lease_s = stack.settings.task_lease_s
    with worker_processes(stack, faults, 2) as workers:
        # The annotated upload (the second PutObject: StageImage put the original)
        # takes longer than a lease, so the image is only answered once if its
        # lease keeps being renewed; meanwhile the task's second heartbeat and its
        # first renewal each fail, every attempt of their call budget included.
        upload = stack.aws.faults.inject(AwsFault("s3", "PutObject", 0, times=1, skip=1, delay_s=lease_s + 5))
        beat = stack.aws.faults.inject(
            AwsFault("states", "SendTaskHeartbeat", skip=1, times=aws.WITHIN_HEARTBEAT.attempts)
        )
        renewal = stack.aws.faults.inject(
            AwsFault("sqs", "ChangeMessageVisibility", times=aws.WITHIN_HEARTBEAT.attempts)
        )
        started = time.monotonic()
        message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
        name = naming.execution_name(chat_id, message["message_id"])
        holder = holder_of(workers, name)

        reply = only_reply(stack, chat_id, message["message_id"])
        answered = time.monotonic() - started
        outputs = [worker.output() for worker in workers]
        held = outputs[workers.index(holder)]

    received = [f'"execution": "{name}", "message": "task received' in output for output in outputs]
    dead_letters = stack.deployment.outputs["DetectionDeadLetterQueueUrl"] if stack.deployment else ""
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=dead_letters, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert received.count(True) == 1, "one worker analysed the image: the lease never ran out"
    assert (upload.times_left(), beat.times_left(), renewal.times_left()) == (0, 0, 0), "every fault was met"
    assert "heartbeat failed" in held and "lease renewal failed" in held
    assert reply.caption == "I see 2 people, and maybe a tie."
    assert answered > lease_s, "the image was held for longer than one lease"
    assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    faults.record(
        "a busy worker's second heartbeat and first lease renewal fail (after their retries), its upload "
        "outlasting the lease",
        "beats and renewals go on at the next interval; the message never reappears: one worker, one reply, "
        "nothing in the dead-letter queue",
        f"answered after {answered:.1f} s (lease {lease_s} s)",
    )


def test_sigterm_while_busy_finishes_the_image_then_exits_0(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    with worker_processes(stack, faults, 1) as [worker]:
        stack.aws.faults.inject(AwsFault("s3", "GetObject", 0, times=1, delay_s=3))
        message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
        holder_of([worker], naming.execution_name(chat_id, message["message_id"]))
        stopped = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        status = worker.process.wait(timeout=60)
        exited = time.monotonic() - stopped

        reply = only_reply(stack, chat_id, message["message_id"])
        output = worker.output()

    assert status == 0
    assert reply.caption == "I see 2 people, and maybe a tie."
    assert "worker stopped" in output
    faults.record(
        "SIGTERM to a worker while its image downloads",
        "the image in hand is finished and reported, then exit 0; one reply",
        f"exited {exited:.1f} s after SIGTERM",
    )


def test_a_malformed_queue_message_reaches_the_dead_letter_queue_without_blocking_others(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    sqs = stack.client("sqs")
    dead_letters = stack.deployment.outputs["DetectionDeadLetterQueueUrl"] if stack.deployment else ""
    started = time.monotonic()
    sqs.send_message(QueueUrl=stack.settings.detection_queue_url, MessageBody='{"not": "a detection task"')
    message = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))

    reply = only_reply(stack, chat_id, message["message_id"])
    deadline = time.monotonic() + 60
    moved: list[dict[str, object]] = []
    while not moved and time.monotonic() < deadline:
        moved = sqs.receive_message(QueueUrl=dead_letters, WaitTimeSeconds=1).get("Messages", [])
    in_dead_letters = time.monotonic() - started

    assert reply.caption == "I see 2 people, and maybe a tie."
    assert [m["Body"] for m in moved] == ['{"not": "a detection task"']
    sqs.delete_message(QueueUrl=dead_letters, ReceiptHandle=str(moved[0]["ReceiptHandle"]))
    faults.record(
        "a malformed message in the detection queue",
        "the worker returns it at once; the redrive policy moves it to the dead-letter queue (alarmed); "
        "the photo sent after it is answered",
        f"in the dead-letter queue after {in_dead_letters:.1f} s",
    )


def test_a_burst_of_200_photos_from_20_chats_is_answered_once_each(stack: PolybotStack, faults: FaultSession) -> None:
    assert stack.telegram is not None
    telegram = stack.telegram
    chats = [880_000 + n for n in range(20)]
    photos = [ultralytics_asset("bus.jpg"), ultralytics_asset("zidane.jpg")]
    webhook_s: list[float] = []
    sent: dict[tuple[int, int], float] = {}
    lock = threading.Lock()

    def send(chat: int, photo: bytes) -> None:
        started = time.monotonic()
        message = telegram.user_sends_photo(chat, photo)
        with lock:
            webhook_s.append(time.monotonic() - started)
            sent[(chat, message["message_id"])] = started

    with worker_processes(stack, faults, 2):
        deliveries = len(telegram.deliveries)
        burst_started = time.monotonic()
        # One update every 50 ms, round the 20 chats, over as many connections as
        # Telegram opens to a webhook by default (max_connections 40).
        with ThreadPoolExecutor(max_workers=40) as pool:
            for n in range(200):
                time.sleep(max(0.0, burst_started + n * 0.05 - time.monotonic()))
                pool.submit(send, chats[n % 20], photos[n % 2])
            submitted_s = time.monotonic() - burst_started
        to_reply = []
        for (chat, message_id), started in sent.items():
            reply = telegram.wait_for_reply(chat, message_id, timeout=600)
            # The answer is the progress message, edited into the result.
            to_reply.append((reply.edited_at or reply.at) - started)
        statuses = telegram.deliveries[deliveries:]
        not_photos = {key: r.text for key in sent for r in telegram.replies_to(*key) if r.kind != "photo"}
        assert not_photos == {}, f"webhook latencies {sorted(webhook_s)[-10:]}, statuses {set(statuses)}"
        executions = {
            name: wait_for_execution(stack, name, 120)
            for name in (naming.execution_name(chat, message_id) for chat, message_id in sent)
        }

    failed = {
        name: [(row.name, row.errors) for row in execution_trace(stack, name) if row.errors]
        for name, execution in executions.items()
        if execution["status"] != "SUCCEEDED"
    }
    assert failed == {}
    assert len(sent) == 200 and submitted_s <= 11
    assert all([r.kind for r in telegram.replies_to(*key)] == ["photo"] for key in sent)
    # Every update ends accepted; a late answer (500) is Telegram's cue to deliver it again.
    assert all(telegram.deliveries_of[message_id][-1] == 200 for _, message_id in sent)
    redelivered = len(statuses) - 200
    faults.record(
        f"a burst: 200 photos from 20 chats sent within {submitted_s:.1f} s, two worker processes",
        f"every photo answered exactly once; 0 failed executions, 0 error replies, 0 updates lost; "
        f"{redelivered} redelivered after a late StartExecution answer",
        f"webhook p50 {statistics.median(webhook_s) * 1000:.0f} ms, p95 {percentile(webhook_s, 0.95) * 1000:.0f} ms; "
        f"time to reply p50 {statistics.median(to_reply):.1f} s, p95 {percentile(to_reply, 0.95):.1f} s",
    )
