"""The queue loop of a YOLO worker: one SQS message is one DetectObjects task.

For each message: a first heartbeat (a task the workflow gave up on is dropped
before any work), download the original from S3, detect, upload the annotated
JPEG, report `SendTaskSuccess` with a `DetectionResult` (or `SendTaskFailure`
with a named error), and only then delete the message. A taken message stays hidden from
other workers for a short lease (`task_lease_s`), renewed with every heartbeat
while the image is processed: a worker that dies stops renewing, and within one
lease another worker takes the same message, whose task token the workflow is
still waiting on. (Step Functions' HeartbeatSeconds cannot tell a dead worker
from a task still waiting in a backlog: it counts from the moment the message
is sent. It is the last resort, sized for backlogs.)

Run by `inference/__main__.py` in production and by the local stack in a thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from polybot import contracts, imaging, logs
from polybot.errors import ContractViolation, DetectionFailed, ImageMissing, PolybotError
from polybot.settings import Settings

log = logging.getLogger(__name__)

# Answers of Step Functions meaning "nobody waits for this token any more".
_GONE = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


class ObjectDetector(Protocol):
    name: str

    def detect(self, image_bgr: Any) -> Any: ...


class TaskGone(Exception):
    """The workflow no longer waits for this task (timed out, or already retried)."""

    @property
    def code(self) -> str:
        return str(self.args[0]) if self.args else ""


FIRST_BEAT_ATTEMPTS = 4
"""A token can reach a worker before Step Functions accepts it: moto's
interpreter sends the message before it registers the token (AWS does not),
so `InvalidToken` on the first heartbeat is retried a few times, within a
second, before the task is taken for gone."""


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


class Heartbeat:
    """Sends SendTaskHeartbeat now and every `interval_s` until the block ends,
    renewing the lease on the task's queue message with each beat."""

    def __init__(
        self, sfn: Any, task_token: str, interval_s: float, renew_lease: Callable[[], None] = lambda: None
    ) -> None:
        self._sfn = sfn
        self._token = task_token
        self._interval_s = interval_s
        self._renew_lease = renew_lease
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat_until_done, name="heartbeat", daemon=True)

    def _beat(self) -> None:
        try:
            self._sfn.send_task_heartbeat(taskToken=self._token)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _GONE:
                raise TaskGone(exc.response["Error"]["Code"]) from exc
            raise

    def _beat_until_done(self) -> None:
        while not self._done.wait(self._interval_s):
            try:
                self._beat()
                self._renew_lease()
            except Exception as exc:  # keep working; the report will tell
                log.warning("heartbeat failed: %s", type(exc).__name__)
                return

    def __enter__(self) -> Heartbeat:
        for attempt in range(1, FIRST_BEAT_ATTEMPTS + 1):
            try:
                self._beat()
                break
            except TaskGone as gone:
                if gone.code != "InvalidToken" or attempt == FIRST_BEAT_ATTEMPTS:
                    raise
                time.sleep(0.1 * attempt)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


class DetectionWorker:
    def __init__(self, settings: Settings, detector: ObjectDetector, sqs: Any, s3: Any, sfn: Any) -> None:
        settings.require("detection_queue_url")
        self._settings = settings
        self._detector = detector
        self._sqs = sqs
        self._s3 = s3
        self._sfn = sfn

    def run(self, stop: threading.Event) -> None:
        """Serve the queue until `stop` is set; the image in hand is always finished."""
        log.info("worker serving %s with model %s", self._settings.detection_queue_url, self._detector.name)
        while not stop.is_set():
            try:
                self.poll_once()
                self._mark_alive()
            except Exception:
                log.exception("serving the queue failed; the message returns after its visibility timeout")
                stop.wait(1.0)
        log.info("worker stopped")

    def _mark_alive(self) -> None:
        """Touch the liveness file: the queue answered and the loop goes on."""
        if not self._settings.liveness_file:
            return
        try:
            Path(self._settings.liveness_file).touch()
        except OSError as exc:
            log.warning("cannot touch the liveness file %s: %s", self._settings.liveness_file, exc)

    def poll_once(self) -> int:
        response = self._sqs.receive_message(
            QueueUrl=self._settings.detection_queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=self._settings.queue_wait_s,
            VisibilityTimeout=self._settings.task_lease_s,
            MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        )
        messages = response.get("Messages", [])
        for message in messages:
            self.handle(message)
        return len(messages)

    def handle(self, message: dict[str, Any]) -> None:
        received_ms = time.time() * 1000
        try:
            task = contracts.validate("DetectionTask", json.loads(message["Body"]))
        except (ValueError, ContractViolation) as exc:
            # Without a valid task token nobody can be told. Make it visible again at
            # once: the queue's redrive policy moves it to the dead-letter queue after
            # a few receives, within seconds instead of three visibility timeouts.
            log.error("unreadable DetectionTask message %s: %s", message.get("MessageId"), exc)
            self._sqs.change_message_visibility(
                QueueUrl=self._settings.detection_queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
            return
        sent_ms = float(message.get("Attributes", {}).get("SentTimestamp", received_ms))
        queue_wait_ms = max(0, int(received_ms - sent_ms))
        with logs.correlate(task["execution_name"]):
            log.info("task received after %d ms in the queue", queue_wait_ms)
            try:
                with Heartbeat(
                    self._sfn, task["task_token"], self._settings.heartbeat_interval_s, self._lease_renewer(message)
                ):
                    outcome = self._outcome(task["image"], queue_wait_ms)
                self._report(task["task_token"], outcome)
            except TaskGone as gone:
                log.warning("task no longer awaited (%s); dropping it", gone)
            self._sqs.delete_message(
                QueueUrl=self._settings.detection_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )

    def _lease_renewer(self, message: dict[str, Any]) -> Callable[[], None]:
        """Keeps `message` hidden from other workers for another lease while this one works."""

        def renew() -> None:
            self._sqs.change_message_visibility(
                QueueUrl=self._settings.detection_queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self._settings.task_lease_s,
            )

        return renew

    def _outcome(self, image: dict[str, Any], queue_wait_ms: int) -> dict[str, Any] | PolybotError:
        try:
            return self.detect(image, queue_wait_ms)
        except PolybotError as exc:
            log.warning("image refused: %s: %s", exc.name, exc)
            return exc
        except Exception as exc:
            log.exception("detection failed")
            return DetectionFailed(f"{type(exc).__name__}: {exc}")

    def detect(self, image: dict[str, Any], queue_wait_ms: int = 0) -> dict[str, Any]:
        """Detect objects in one staged image; returns a DetectionResult."""
        started = time.perf_counter()
        try:
            data = self._s3.get_object(Bucket=image["bucket"], Key=image["original_key"])["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise ImageMissing(f"s3://{image['bucket']}/{image['original_key']} is gone") from exc
            raise
        download_ms = _ms_since(started)
        output = self._detector.detect(imaging.decode_image(data))
        started = time.perf_counter()
        self._s3.put_object(
            Bucket=image["bucket"],
            Key=image["annotated_key"],
            Body=output.annotated_jpeg,
            ContentType="image/jpeg",
        )
        result = {
            "model": self._detector.name,
            "detections": output.detections,
            "annotated_key": image["annotated_key"],
            "timings": {
                "queue_wait_ms": queue_wait_ms,
                "download_ms": download_ms,
                "inference_ms": output.inference_ms,
                "upload_ms": _ms_since(started),
            },
        }
        log.info("detected %d object(s) in %d ms", len(output.detections), output.inference_ms)
        return contracts.validate("DetectionResult", result)

    def _report(self, task_token: str, outcome: dict[str, Any] | PolybotError) -> None:
        try:
            if isinstance(outcome, PolybotError):
                self._sfn.send_task_failure(taskToken=task_token, error=outcome.name, cause=str(outcome)[:32000])
            else:
                self._sfn.send_task_success(taskToken=task_token, output=json.dumps(outcome))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _GONE:
                raise TaskGone(exc.response["Error"]["Code"]) from exc
            raise
