"""The queue loop of a YOLO worker: one SQS message is one DetectObjects task.

Each message carries the chat's options (DetectionOptions): the model, among
those the deployment offers (inference.detector.Detectors), the confidence
threshold and the labels' language.

For each message: download and decode the original from S3, detect, draw and
encode, upload the annotated JPEG, report `SendTaskSuccess` with a
`DetectionResult` (or `SendTaskFailure` with a named error), and only then
delete the message (in the overlapped loop, up to ten reported messages in one
DeleteMessageBatch, `inference.acknowledgements`). The task's heartbeat (`inference.heartbeat`) starts as
soon as the original is in hand and renews the lease on the message until the
report. Where the workflow may have given up on the task (`beats_first`: a
message delivered before, or one that waited nearly HeartbeatSeconds), the
first beat goes out at once, and a task it finds gone is dropped: before the
model when the beat's answer is in by then (always, for a message that waited
behind others), and in any case before the upload. Any other task's first beat
comes after an interval; one found gone only by its report is dropped then.

With `prefetch` >= 1 (polybot.settings) the network steps of other messages
overlap the model (`inference.overlap`); on stop (SIGTERM) no new message is
received, and every message already received is finished and reported before
`run` returns. `prefetch` 0 does each message's steps in sequence on one thread.
Decoded images waiting for the model hold at most `inference.decoded_budget`'s
pixels, however many messages are in flight.

Built by `inference.service.build_worker`, which `inference/__main__.py` runs
in production and the local stack in a thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from inference.acknowledgements import Acknowledgements
from inference.decoded_budget import DecodedBudget
from inference.decoding import decode_original
from inference.detector import Detectors
from inference.heartbeat import Heartbeat, TaskGone, raise_if_gone
from inference.overlap import Depth, OverlappedLoop
from polybot import aws, contracts, logs
from polybot.contracts.messages import DetectionResult, DetectionTask, DetectionTimings, StagedImage
from polybot.errors import ContractViolation, DetectionFailed, ImageMissing, PolybotError
from polybot.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef
    from mypy_boto3_stepfunctions import SFNClient

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One received message on its way through the worker, with its timings (ms)."""

    message: MessageTypeDef
    received: float
    """perf_counter() when the message was in hand: the start of its service time."""
    task: DetectionTask = field(default_factory=lambda: cast(DetectionTask, {}))
    """The message's task, once `prepare` has read it."""
    heartbeat: Heartbeat | None = None
    image: Any = None
    outcome: dict[str, Any] | PolybotError | None = None
    timings: dict[str, int] = field(default_factory=dict)
    model: str = ""
    """The name of the model that ran (its DetectionResult's `model`)."""
    pixels_held: int = 0
    """Room its decoded image holds in the worker's DecodedBudget until the model takes it."""


SERVED_KEPT = 1000


class DetectionWorker:
    """Serves the detection queue: each message's steps (`prepare`, `process`,
    `finish`), in sequence or overlapped (`run`)."""

    def __init__(
        self,
        settings: Settings,
        detectors: Detectors,
        sqs: SQSClient,
        s3: S3Client,
        sfn: SFNClient,
        leases: SQSClient | None = None,
    ) -> None:
        """`detectors`: the models offered, the production one loaded (the others on first use).
        `leases`: the queue's client for lease renewals, on the heartbeat's call budget
        (a renewal must land within the lease); None: `sqs`."""
        settings.require("detection_queue_url")
        self._settings = settings
        self._detectors = detectors
        self._detector = detectors.production
        self._sqs = sqs
        self._leases = leases if leases is not None else sqs
        self._s3 = s3
        self._sfn = sfn
        self.depth = Depth(max(1, settings.prefetch))
        """How many messages the overlapped loop holds ahead (`prefetch` at most)."""
        self.decoded = DecodedBudget()
        """Pixels of the decoded images waiting for the model."""
        self.served: deque[dict[str, int]] = deque(maxlen=SERVED_KEPT)
        """Timings (ms) of the messages served, newest last: what `make bench` reads."""
        self._acknowledgements: Acknowledgements | None = None
        """The overlapped loop's deletes, in batches (None: each message deleted alone)."""

    def run(self, stop: threading.Event) -> None:
        """Serve the queue until `stop` is set; every message received is finished."""
        log.info(
            "worker serving %s with model %s, %d message(s) prefetched at most",
            self._settings.detection_queue_url,
            self._detector.name,
            self._settings.prefetch,
        )
        if self._settings.prefetch > 0:
            # Reported messages are deleted together, a call for up to ten (`inference.acknowledgements`).
            self._acknowledgements = Acknowledgements(self._sqs, self._settings.detection_queue_url).start()
            try:
                OverlappedLoop(self, self.depth).run(stop)
            finally:
                self._acknowledgements.close()  # every message reported is deleted before `run` returns
                self._acknowledgements = None
        else:
            while not stop.is_set():
                for job in self.receive(stop):
                    self.handle_job(job)
        log.info("worker stopped")

    def receive(self, stop: threading.Event, max_messages: int = 1) -> list[Job]:
        """One long poll; the messages it brought, or none after a failure (logged, then a pause)."""
        started = time.perf_counter()
        try:
            response = self._sqs.receive_message(
                QueueUrl=self._settings.detection_queue_url,
                MaxNumberOfMessages=min(max_messages, 10),
                WaitTimeSeconds=self._settings.queue_wait_s,
                VisibilityTimeout=self._settings.task_lease_s,
                MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
            )
        except Exception:
            log.exception("receiving from the queue failed; trying again")
            stop.wait(1.0)
            return []
        self._mark_alive()
        received = time.perf_counter()
        jobs = [Job(message, received) for message in response.get("Messages", [])]
        for job in jobs:
            job.timings["receive_ms"] = _ms(received - started)
        return jobs

    def _mark_alive(self) -> None:
        """Touch the liveness file: the queue answered and the loop goes on."""
        if not self._settings.liveness_file:
            return
        try:
            Path(self._settings.liveness_file).touch()
        except OSError as exc:
            log.warning("cannot touch the liveness file %s: %s", self._settings.liveness_file, exc)

    def handle(self, message: MessageTypeDef) -> None:
        """One message, every step in sequence."""
        self.handle_job(Job(message, time.perf_counter()))

    def handle_job(self, job: Job) -> None:
        if self.prepare(job):
            self.process(job)
            self.finish(job)

    # --- the three steps: network, CPU, network --------------------------------
    def prepare(self, job: Job) -> bool:
        """Read the task, download the image, start the heartbeat, decode.
        False: nothing more to do (an unreadable message)."""
        message = job.message
        try:
            job.task = contracts.validate("DetectionTask", json.loads(message["Body"]))
        except (ValueError, ContractViolation) as exc:
            # Without a valid task token nobody can be told. Make it visible again at
            # once: the queue's redrive policy moves it to the dead-letter queue after
            # a few receives, within seconds instead of a few leases.
            log.error("unreadable DetectionTask message %s: %s", message.get("MessageId"), exc)
            self._sqs.change_message_visibility(
                QueueUrl=self._settings.detection_queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
            return False
        sent_ms = float(message.get("Attributes", {}).get("SentTimestamp", time.time() * 1000))
        job.timings["queue_wait_ms"] = max(0, int(time.time() * 1000 - sent_ms))
        with logs.correlate(job.task["execution_name"]):
            log.info("task received after %d ms in the queue", job.timings["queue_wait_ms"])
            try:
                # Alone on the wire: the first heartbeat goes out after it, beside the
                # decoding and the model, instead of sharing the network with the one
                # call the image waits for.
                data = self.download(job.task["image"], job.timings)
            except Exception as exc:
                job.outcome = _as_outcome(exc)
            finally:
                job.heartbeat = Heartbeat(
                    self._sfn,
                    job.task["task_token"],
                    self._settings.heartbeat_interval_s,
                    self._lease_renewer(message),
                    beat_first=self.beats_first(message, job.timings["queue_wait_ms"]),
                ).start()
            if job.outcome is None:
                staged = job.task["image"]
                job.pixels_held = self.decoded.take(staged["width"] * staged["height"])
                try:
                    started = time.perf_counter()
                    job.image = decode_original(data)
                    job.timings["decode_ms"] = _ms_since(started)
                except Exception as exc:
                    job.outcome = _as_outcome(exc)
                    self._release_pixels(job)
        return True

    def beats_first(self, message: MessageTypeDef, queue_wait_ms: int) -> bool:
        """Whether the task's first heartbeat goes out at once: where the workflow
        may have given up on it. A message delivered before (another worker may have
        reported its task, or died with it), or one that waited in the queue so long
        that the task's HeartbeatSeconds, which counts from the send, may have run
        out, or would before a beat after an interval lands. Any other task is
        awaited: a beat at once would only say so, for one more AWS call per image
        on the model's core (docs/performance.md, "The worker's own CPU, cut")."""
        if int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1")) > 1:
            return True
        next_beat_s = self._settings.heartbeat_interval_s + aws.WITHIN_HEARTBEAT.worst_case_s
        return queue_wait_ms / 1000 + next_beat_s >= self._settings.task_heartbeat_timeout_s

    def _release_pixels(self, job: Job) -> None:
        self.decoded.give_back(job.pixels_held)
        job.pixels_held = 0

    def _lease_renewer(self, message: MessageTypeDef) -> Callable[[], None]:
        """Keeps `message` hidden from other workers for another lease while this one works."""

        def renew() -> None:
            self._leases.change_message_visibility(
                QueueUrl=self._settings.detection_queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self._settings.task_lease_s,
            )

        return renew

    def process(self, job: Job) -> None:
        """Detect, draw and encode (the CPU's part); the outcome goes into the job."""
        assert job.heartbeat is not None
        self._release_pixels(job)  # on the model now: room for the next image's decode
        if job.outcome is not None or job.heartbeat.gone(wait=False):
            job.image = None
            return
        prepared_ms = job.timings.get("download_ms", 0) + job.timings.get("decode_ms", 0)
        job.timings["model_wait_ms"] = max(0, _ms_since(job.received) - prepared_ms)
        options = job.task["options"]
        with logs.correlate(job.task["execution_name"]):
            try:
                detector = self._detectors.get(options["model"])
                only = options.get("only") or ()
                output = detector.detect(job.image, options["confidence"], options["language"], only)
            except Exception as exc:
                job.outcome = _as_outcome(exc)
                return
        job.model = detector.name
        job.image = None
        job.timings.update(inference_ms=output.inference_ms, draw_ms=output.draw_ms, encode_ms=output.encode_ms)
        job.outcome = {"detections": output.detections, "annotated_jpeg": output.annotated_jpeg}

    def finish(self, job: Job) -> None:
        """Upload the annotated image, report, stop the heartbeat, delete the message;
        or, for a task nobody awaits any more, only stop and delete."""
        assert job.heartbeat is not None
        self._release_pixels(job)
        with logs.correlate(job.task["execution_name"]):
            gone = job.heartbeat.gone()
            job.timings["first_heartbeat_ms"] = job.heartbeat.first_beat_ms
            if gone:
                log.warning("task no longer awaited (%s); dropping it", gone)
                job.heartbeat.stop()
                self._delete(job.message)
                return
            assert job.outcome is not None
            try:
                outcome = self._result(job) if isinstance(job.outcome, dict) else job.outcome
            except Exception as exc:
                outcome = _as_outcome(exc)
            started = time.perf_counter()
            try:
                self._report(job.task["task_token"], outcome)
            except TaskGone as gone_now:
                log.warning("task no longer awaited (%s); dropping it", gone_now)
            finally:
                job.heartbeat.stop()
            job.timings["report_ms"] = _ms_since(started)
            # Service time: the message in hand -> the workflow told (the delete is after).
            job.timings["service_ms"] = _ms_since(job.received)
            self._delete(job.message)
            self.served.append(dict(job.timings))
            log.info("served in %d ms: %s", job.timings["service_ms"], json.dumps(job.timings))

    # --- the parts ---------------------------------------------------------------
    def download(self, image: StagedImage, timings: dict[str, int]) -> bytes:
        started = time.perf_counter()
        try:
            data: bytes = self._s3.get_object(Bucket=image["bucket"], Key=image["original_key"])["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise ImageMissing(f"s3://{image['bucket']}/{image['original_key']} is gone") from exc
            raise
        timings["download_ms"] = _ms_since(started)
        return data

    def _result(self, job: Job) -> DetectionResult:
        """Upload the annotated JPEG; the DetectionResult that reports it."""
        assert isinstance(job.outcome, dict)
        image = job.task["image"]
        started = time.perf_counter()
        self._s3.put_object(
            Bucket=image["bucket"],
            Key=image["annotated_key"],
            Body=job.outcome["annotated_jpeg"],
            ContentType="image/jpeg",
        )
        job.timings["upload_ms"] = _ms_since(started)
        result: DetectionResult = {
            "model": job.model or self._detector.name,
            "detections": job.outcome["detections"],
            "annotated_key": image["annotated_key"],
            "timings": cast(DetectionTimings, {key: job.timings.get(key, 0) for key in RESULT_TIMINGS}),
        }
        log.info("detected %d object(s) in %d ms", len(result["detections"]), job.timings["inference_ms"])
        return contracts.validate("DetectionResult", result)

    def _report(self, task_token: str, outcome: DetectionResult | PolybotError) -> None:
        try:
            if isinstance(outcome, PolybotError):
                self._sfn.send_task_failure(taskToken=task_token, error=outcome.name, cause=str(outcome)[:32000])
            else:
                self._sfn.send_task_success(taskToken=task_token, output=json.dumps(outcome))
        except ClientError as exc:
            raise_if_gone(exc)
            raise

    def _delete(self, message: MessageTypeDef) -> None:
        if self._acknowledgements is not None:
            self._acknowledgements.add(message["ReceiptHandle"])
            return
        self._sqs.delete_message(QueueUrl=self._settings.detection_queue_url, ReceiptHandle=message["ReceiptHandle"])


RESULT_TIMINGS = (
    "queue_wait_ms",
    "download_ms",
    "decode_ms",
    "model_wait_ms",
    "inference_ms",
    "draw_ms",
    "encode_ms",
    "upload_ms",
)
"""The timings a DetectionResult carries (contracts/messages.schema.json)."""


def _as_outcome(exc: Exception) -> PolybotError:
    if isinstance(exc, PolybotError):
        log.warning("image refused: %s: %s", exc.name, exc)
        return exc
    log.exception("detection failed")
    return DetectionFailed(f"{type(exc).__name__}: {exc}")


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
