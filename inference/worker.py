"""The queue loop of a YOLO worker: one SQS message is one DetectObjects task.

Each message carries the chat's options (DetectionOptions): the model, among
those the deployment offers (inference.detector.Detectors), the confidence
threshold and the labels' language.

For each message: download and decode the original from S3, detect, draw and
encode, upload the annotated JPEG, report `SendTaskSuccess` with a
`DetectionResult` (or `SendTaskFailure` with a named error), and only then
delete the message. Heartbeats go out from a thread of their own, the first
as soon as the original is in hand (beside the decoding and the model, not
in front of them), then every few seconds until the report. A task the first
beat finds gone (the workflow gave up on it) is dropped: before the model
when the beat's answer is in by then (always, for a message that waited
behind others), and in any case before the upload. A taken message stays
hidden from other workers for a short lease (`task_lease_s`), renewed with
every heartbeat: a worker that dies stops renewing, and within one lease
another worker takes the same message, whose task token the workflow is
still waiting on. (Step Functions' HeartbeatSeconds cannot tell a dead
worker from a task still waiting in a backlog: it counts from the moment the
message is sent. It is the last resort, sized for backlogs.)

The model is the only part that needs the CPU; the rest waits on the network.
So they overlap (`prefetch` >= 1; 2 by default): while the model works on one
image, the next messages (`prefetch` at most) are received and downloaded,
and the previous ones uploaded and reported. On stop (SIGTERM) no new message
is received, and every message already received, prefetched ones included,
is finished and reported before `run` returns. `prefetch` 0 does each
message's steps in sequence on one thread.

Run by `inference/__main__.py` in production and by the local stack in a thread.
"""

from __future__ import annotations

import contextvars
import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from inference.detector import Detectors
from polybot import contracts, imaging, logs
from polybot.errors import ContractViolation, DetectionFailed, ImageMissing, PolybotError
from polybot.settings import Settings

log = logging.getLogger(__name__)

# Answers of Step Functions meaning "nobody waits for this token any more".
_GONE = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


class ObjectDetector(Protocol):
    name: str

    def detect(self, image_bgr: Any, confidence: float | None = None, language: str = "en") -> Any: ...


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
    """SendTaskHeartbeat for one task from a thread of its own, from `start()`
    until `stop()`: the first beat at once, then one every `interval_s`, each
    renewing the lease on the task's queue message. `gone()` tells what the
    first beat found."""

    def __init__(
        self, sfn: Any, task_token: str, interval_s: float, renew_lease: Callable[[], None] = lambda: None
    ) -> None:
        self._sfn = sfn
        self._token = task_token
        self._interval_s = interval_s
        self._renew_lease = renew_lease
        self._done = threading.Event()
        self._first_answered = threading.Event()
        self._gone = ""
        self.first_beat_ms = 0
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        # The thread logs with the caller's context (the execution's correlation id).
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._beat_until_done,), name="heartbeat", daemon=True
        )
        self._thread.start()
        return self

    def gone(self, wait: bool = True) -> str:
        """The error that says the workflow no longer awaits the task ("" while it
        does). `wait`: until the first beat is answered; else "" if it is not yet."""
        if wait:
            self._first_answered.wait()
        return self._gone

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        try:
            self._sfn.send_task_heartbeat(taskToken=self._token)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _GONE:
                raise TaskGone(exc.response["Error"]["Code"]) from exc
            raise

    def _first_beat(self) -> None:
        started = time.perf_counter()
        try:
            for attempt in range(1, FIRST_BEAT_ATTEMPTS + 1):
                try:
                    self._beat()
                    return
                except TaskGone as gone:
                    if gone.code != "InvalidToken" or attempt == FIRST_BEAT_ATTEMPTS:
                        self._gone = gone.code
                        return
                    if self._done.wait(0.1 * attempt):
                        return
        except Exception as exc:  # not a "gone": work on; the report will tell
            log.warning("first heartbeat failed: %s", type(exc).__name__)
        finally:
            self.first_beat_ms = _ms_since(started)
            self._first_answered.set()

    def _beat_until_done(self) -> None:
        self._first_beat()
        if self._gone:
            return
        while not self._done.wait(self._interval_s):
            try:
                self._beat()
                self._renew_lease()
            except Exception as exc:  # keep working; the report will tell
                log.warning("heartbeat failed: %s", type(exc).__name__)
                return


@dataclass
class Job:
    """One received message on its way through the worker, with its timings (ms)."""

    message: dict[str, Any]
    received: float
    """perf_counter() when the message was in hand: the start of its service time."""
    task: dict[str, Any] = field(default_factory=dict)
    heartbeat: Heartbeat | None = None
    image: Any = None
    outcome: dict[str, Any] | PolybotError | None = None
    timings: dict[str, int] = field(default_factory=dict)
    model: str = ""
    """The name of the model that ran (its DetectionResult's `model`)."""


SERVED_KEPT = 1000


class DetectionWorker:
    def __init__(self, settings: Settings, detector: ObjectDetector | Detectors, sqs: Any, s3: Any, sfn: Any) -> None:
        """`detector`: the production model (the others are loaded on first use), or all of them."""
        settings.require("detection_queue_url")
        self._settings = settings
        self._detectors = detector if isinstance(detector, Detectors) else Detectors(settings, detector)
        self._detector = self._detectors.production
        self._sqs = sqs
        self._s3 = s3
        self._sfn = sfn
        self.served: deque[dict[str, int]] = deque(maxlen=SERVED_KEPT)
        """Timings (ms) of the messages served, newest last: what `make bench` reads."""

    def run(self, stop: threading.Event) -> None:
        """Serve the queue until `stop` is set; every message received is finished."""
        log.info(
            "worker serving %s with model %s, %d message(s) prefetched",
            self._settings.detection_queue_url,
            self._detector.name,
            self._settings.prefetch,
        )
        if self._settings.prefetch > 0:
            OverlappedLoop(self, self._settings.prefetch).run(stop)
        else:
            while not stop.is_set():
                for job in self._receive(stop):
                    self.handle_job(job)
        log.info("worker stopped")

    def _receive(self, stop: threading.Event, max_messages: int = 1) -> list[Job]:
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

    def handle(self, message: dict[str, Any]) -> None:
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
                    self._sfn, job.task["task_token"], self._settings.heartbeat_interval_s, self._lease_renewer(message)
                ).start()
            if job.outcome is None:
                try:
                    started = time.perf_counter()
                    job.image = imaging.decode_image(data)
                    job.timings["decode_ms"] = _ms_since(started)
                except Exception as exc:
                    job.outcome = _as_outcome(exc)
        return True

    def _lease_renewer(self, message: dict[str, Any]) -> Callable[[], None]:
        """Keeps `message` hidden from other workers for another lease while this one works."""

        def renew() -> None:
            self._sqs.change_message_visibility(
                QueueUrl=self._settings.detection_queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self._settings.task_lease_s,
            )

        return renew

    def process(self, job: Job) -> None:
        """Detect, draw and encode (the CPU's part); the outcome goes into the job."""
        assert job.heartbeat is not None
        if job.outcome is not None or job.heartbeat.gone(wait=False):
            return
        prepared_ms = job.timings.get("download_ms", 0) + job.timings.get("decode_ms", 0)
        job.timings["model_wait_ms"] = max(0, _ms_since(job.received) - prepared_ms)
        options = job.task["options"]
        with logs.correlate(job.task["execution_name"]):
            try:
                detector = self._detectors.get(options["model"])
                output = detector.detect(job.image, options["confidence"], options["language"])
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
    def download(self, image: dict[str, Any], timings: dict[str, int]) -> bytes:
        started = time.perf_counter()
        try:
            data: bytes = self._s3.get_object(Bucket=image["bucket"], Key=image["original_key"])["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise ImageMissing(f"s3://{image['bucket']}/{image['original_key']} is gone") from exc
            raise
        timings["download_ms"] = _ms_since(started)
        return data

    def _result(self, job: Job) -> dict[str, Any]:
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
        result = {
            "model": job.model or self._detector.name,
            "detections": job.outcome["detections"],
            "annotated_key": image["annotated_key"],
            "timings": {key: job.timings.get(key, 0) for key in RESULT_TIMINGS},
        }
        log.info("detected %d object(s) in %d ms", len(result["detections"]), job.timings["inference_ms"])
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

    def _delete(self, message: dict[str, Any]) -> None:
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


_DONE = object()


PACING_S = 0.5
"""How long the next receive waits at most for the messages in hand to be downloaded."""

REPORTERS = 2
"""Threads uploading and reporting: two, so that one slow answer from S3 or
Step Functions does not hold back the next image's report."""


class OverlappedLoop:
    """receive+prepare -> model -> upload+report; each message's steps in order.

    The fetcher receives as many messages as there are free slots (at most
    `prefetch` received and not yet on the model) and prepares them (first
    heartbeat, download, decode) side by side; the model takes them one at a
    time; REPORTERS threads upload and report. On stop nothing more is
    received, and every message received is prepared, run and reported before
    `run` returns."""

    def __init__(self, worker: DetectionWorker, prefetch: int) -> None:
        self._worker = worker
        self._prefetch = prefetch
        self._slots = threading.Semaphore(prefetch)
        self._ready: queue.Queue[Any] = queue.Queue()
        self._done: queue.Queue[Any] = queue.Queue(maxsize=2 * REPORTERS)
        self._preparing = ThreadPoolExecutor(max_workers=prefetch, thread_name_prefix="worker-prepare")

    def run(self, stop: threading.Event) -> None:
        fetcher = threading.Thread(target=self._fetch, args=(stop,), name="worker-fetch", daemon=True)
        reporters = [
            threading.Thread(target=self._report, name=f"worker-report-{n}", daemon=True) for n in range(REPORTERS)
        ]
        for thread in (fetcher, *reporters):
            thread.start()
        try:
            self._model()
        finally:
            for _ in reporters:
                self._done.put(_DONE)
            fetcher.join()
            for thread in reporters:
                thread.join()

    def _fetch(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                if not self._slots.acquire(timeout=0.2):
                    continue
                free = 1
                while free < self._prefetch and self._slots.acquire(blocking=False):
                    free += 1
                if stop.is_set():  # stopped while waiting for the model: take nothing more
                    break
                jobs = self._worker._receive(stop, max_messages=free)
                for _ in range(free - len(jobs)):
                    self._slots.release()
                # The next receive waits until these are downloaded (a stalled download
                # for PACING_S at most): going out beside them, it would take CPU and
                # the emulator's or AWS's attention from the downloads the model waits
                # for, and its messages would reach the model no sooner.
                futures.wait([self._preparing.submit(self._prepare, job) for job in jobs], timeout=PACING_S)
        finally:
            self._preparing.shutdown(wait=True)
            self._ready.put(_DONE)

    def _prepare(self, job: Job) -> None:
        try:
            ready = self._worker.prepare(job)
        except Exception:
            log.exception("preparing a message failed; it returns after its visibility timeout")
            ready = False
        if ready:
            self._ready.put(job)
        else:
            self._slots.release()

    def _model(self) -> None:
        while (job := self._ready.get()) is not _DONE:
            self._slots.release()
            self._worker.process(job)
            self._done.put(job)

    def _report(self) -> None:
        while (job := self._done.get()) is not _DONE:
            try:
                self._worker.finish(job)
            except Exception:
                log.exception("reporting failed; the message returns after its visibility timeout")
