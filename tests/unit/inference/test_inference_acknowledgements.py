"""The worker's batched deletes (inference/acknowledgements.py): ten at most a
call, each message once, everything held deleted on close, and a failed call or
entry logged without stopping the deletes after it."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from inference.acknowledgements import BATCH_MOST, Acknowledgements

QUEUE = "https://queue"


class Queue:
    """DeleteMessageBatch in memory; `fail_calls` calls fail, entries in `refused` fail one by one."""

    def __init__(self, fail_calls: int = 0, refused: frozenset[str] = frozenset()) -> None:
        self.batches: list[list[str]] = []
        self.fail_calls = fail_calls
        self.refused = refused
        self.lock = threading.Lock()

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        assert QueueUrl == QUEUE
        assert 1 <= len(Entries) <= 10 and len({e["Id"] for e in Entries}) == len(Entries)
        with self.lock:
            if self.fail_calls:
                self.fail_calls -= 1
                raise ConnectionError("no SQS")
            self.batches.append([e["ReceiptHandle"] for e in Entries])
        failed = [e for e in Entries if e["ReceiptHandle"] in self.refused]
        return {
            "Successful": [{"Id": e["Id"]} for e in Entries if e not in failed],
            "Failed": [{"Id": e["Id"], "Code": "ReceiptHandleIsInvalid", "SenderFault": True} for e in failed],
        }

    def deleted(self) -> list[str]:
        with self.lock:
            return [handle for batch in self.batches for handle in batch]


def wait_until(condition: Any, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_full_batches_go_at_once_and_the_rest_on_close() -> None:
    queue = Queue()
    # A hold no test waits out: only a full batch or the close sends anything.
    acknowledgements = Acknowledgements(queue, QUEUE, hold_s=3600).start()  # type: ignore[arg-type]
    handles = [f"receipt-{n}" for n in range(2 * BATCH_MOST + 5)]
    for handle in handles:
        acknowledgements.add(handle)
    wait_until(lambda: len(queue.batches) == 2)

    assert queue.batches == [handles[:10], handles[10:20]], "ten at a time, oldest first"
    acknowledgements.close()
    assert queue.batches[2:] == [handles[20:]], "what was held, on close"
    assert sorted(queue.deleted()) == sorted(handles)


def test_a_message_held_alone_goes_once_its_hold_is_over() -> None:
    queue = Queue()
    acknowledgements = Acknowledgements(queue, QUEUE, hold_s=0.05).start()  # type: ignore[arg-type]
    acknowledgements.add("receipt-1")
    wait_until(lambda: queue.batches == [["receipt-1"]])
    acknowledgements.add("receipt-2")
    wait_until(lambda: queue.batches == [["receipt-1"], ["receipt-2"]])
    acknowledgements.close()

    assert queue.deleted() == ["receipt-1", "receipt-2"]


def test_a_failed_call_or_entry_is_logged_and_the_deletes_go_on(caplog: pytest.LogCaptureFixture) -> None:
    queue = Queue(fail_calls=1, refused=frozenset({"receipt-12"}))
    acknowledgements = Acknowledgements(queue, QUEUE, hold_s=3600).start()  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="inference.acknowledgements"):
        for n in range(15):
            acknowledgements.add(f"receipt-{n}")
        acknowledgements.close()

    # The first ten were lost with the failed call: they come back after their lease.
    assert queue.batches == [[f"receipt-{n}" for n in range(10, 15)]]
    messages = [record.getMessage() for record in caplog.records]
    assert any("deleting 10 reported message(s) failed" in m for m in messages)
    assert any("ReceiptHandleIsInvalid" in m for m in messages)


def test_close_with_nothing_held_returns() -> None:
    queue = Queue()
    Acknowledgements(queue, QUEUE).start().close()  # type: ignore[arg-type]

    assert queue.batches == []
