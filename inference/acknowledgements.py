"""The worker's deletes of the messages it reported, up to ten in one
DeleteMessageBatch call instead of a DeleteMessage each.

Each AWS call costs the worker about 2 ms of CPU whatever it carries (signing,
http.client, botocore's parsing; docs/performance.md, "A worker across a
network"), on the core its model runs on. A delete is the one call of an
image that nothing waits for: it comes after the report, and the message's
lease (`task_lease_s`) keeps it hidden meanwhile. So reported messages are
collected and deleted together: a batch goes out when it holds ten (SQS's
most) or when its oldest message has waited `hold_s`, and whatever is
collected goes out on `close()` (a worker's stop). At about 12 images a
second that is a call every 0.5 s for about six messages instead of six.

What holding costs: a message whose task was reported stays in the queue up
to `hold_s` longer. A worker that dies in that time leaves it to come back
after its lease, and the worker that takes it finds the task gone at the
first heartbeat (the report was made) and drops it: a second download, no
second result. `hold_s` is far inside what is left of a lease at the report
(at least `task_lease_s` less two renewal intervals, 9 of 15 s).

No new permission: `sqs:DeleteMessage` grants DeleteMessageBatch too (SQS
has no IAM action of its own for the batch calls; SQS developer guide,
"Amazon SQS batch actions").

Used by `inference.worker.DetectionWorker` in the overlapped loop; the
sequential loop (`prefetch` 0) deletes each message itself.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef

log = logging.getLogger(__name__)

BATCH_MOST = 10
"""SQS's most entries per DeleteMessageBatch."""

HOLD_S = 0.5
"""How long a reported message waits at most for others to be deleted with it.
(The AWS SDK for Java's buffered SQS client holds a batch open 200 ms by default;
this worker reports 10-15 images a second, so 0.5 s makes batches of about six.)"""


class Acknowledgements:
    """Deletes reported messages in batches from a thread of its own, from
    `start()` until `close()`, which deletes whatever is still held."""

    def __init__(self, sqs: SQSClient, queue_url: str, hold_s: float = HOLD_S) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._hold_s = hold_s
        self._held: list[tuple[float, str]] = []
        """(monotonic time it was added, receipt handle), oldest first."""
        self._changed = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="worker-acknowledge", daemon=True)

    def start(self) -> Acknowledgements:
        self._thread.start()
        return self

    def add(self, receipt_handle: str) -> None:
        """The message with `receipt_handle` was reported: delete it soon."""
        with self._changed:
            self._held.append((time.monotonic(), receipt_handle))
            # A full batch is due now; a new oldest starts the hold the thread times.
            if len(self._held) >= BATCH_MOST or len(self._held) == 1:
                self._changed.notify()

    def close(self) -> None:
        """Delete every message held, then stop."""
        with self._changed:
            self._closing = True
            self._changed.notify()
        self._thread.join()

    def _run(self) -> None:
        while batch := self._next_batch():
            self._delete(batch)

    def _next_batch(self) -> list[str]:
        """The next batch to delete, once it is due; [] when closed and nothing is held."""
        with self._changed:
            while True:
                if self._held and (
                    self._closing
                    or len(self._held) >= BATCH_MOST
                    or time.monotonic() - self._held[0][0] >= self._hold_s
                ):
                    batch = [handle for _, handle in self._held[:BATCH_MOST]]
                    del self._held[:BATCH_MOST]
                    return batch
                if self._closing:
                    return []
                timeout = None if not self._held else self._held[0][0] + self._hold_s - time.monotonic()
                self._changed.wait(timeout)

    def _delete(self, batch: list[str]) -> None:
        entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(n), "ReceiptHandle": handle} for n, handle in enumerate(batch)
        ]
        try:
            response = self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except Exception:
            # As a failed DeleteMessage: the messages come back after their lease, and
            # the worker that takes them finds their tasks reported (gone).
            log.exception("deleting %d reported message(s) failed; they return after their lease", len(batch))
            return
        for failed in response.get("Failed", []):
            log.warning(
                "deleting a reported message failed (%s: %s); it returns after its lease",
                failed.get("Code"),
                failed.get("Message", ""),
            )
