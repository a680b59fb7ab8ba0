"""`python -m benchmarks.throughput [--images N]`: one worker process's
throughput on N images already queued, with the overlap (`POLYBOT_PREFETCH`,
the default) and without (`0`), from the worker's own timings.

Only the worker's side of AWS runs here, in this process: an embedded AWS
with the images bucket, the detection queue and a workflow of just the
DetectObjects state from statemachines/image_pipeline.asl.json (its real
task-token, heartbeat and retry settings). Each image is one execution, as in
production; the stages that follow (DynamoDB, the reply) are left out so that
their work does not share this 2-core machine with the worker. Prints one
JSON line. Called by `benchmarks.__main__`, in a process of its own.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmarks import models, pipeline
from local.embedded_aws import EmbeddedAws
from local.models import DEVELOPER_MODELS
from local.polybot_stack import REPO_ROOT
from polybot import aws
from polybot.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

ASL = REPO_ROOT / "statemachines" / "image_pipeline.asl.json"


def detect_only_workflow(queue_url: str) -> str:
    """The DetectObjects state alone, then success."""
    states = json.loads(ASL.read_text(encoding="utf-8"))["States"]
    detect = {k: v for k, v in states["DetectObjects"].items() if k not in ("Catch", "Next", "ResultSelector")}
    detect["Parameters"]["QueueUrl"] = queue_url
    detect["End"] = True
    return json.dumps({"StartAt": "DetectObjects", "States": {"DetectObjects": detect}})


@dataclass
class DetectOnly:
    """The worker's side of AWS, deployed in an embedded AWS: the images bucket
    holding the image set, the detection queue, the DetectObjects workflow."""

    embedded: EmbeddedAws
    sqs: SQSClient
    sfn: SFNClient
    queue_url: str
    machine: str
    photos: list[bytes]

    def worker_settings(self) -> Settings:
        return Settings.from_env(
            aws_endpoint_url=self.embedded.endpoint_url,
            detection_queue_url=self.queue_url,
            model_dir=str(DEVELOPER_MODELS),
            queue_wait_s=1,
        )

    def queue(self, images: int, run: str) -> None:
        """One of each photo (warm-up), then `images`, queued for the worker."""
        queue_images(self.sfn, self.machine, self.photos, images, run)
        wait_queued(self.sqs, self.queue_url, len(self.photos) + images)


def deploy(embedded: EmbeddedAws) -> DetectOnly:
    settings = Settings.from_env(aws_endpoint_url=embedded.endpoint_url)
    s3, sqs, sfn = aws.client("s3", settings), aws.client("sqs", settings), aws.client("stepfunctions", settings)
    s3.create_bucket(Bucket="images")
    queue_url = sqs.create_queue(QueueName="detection", Attributes={"VisibilityTimeout": "660"})["QueueUrl"]
    machine = sfn.create_state_machine(
        name="detect-only",
        definition=detect_only_workflow(queue_url),
        roleArn="arn:aws:iam::123456789012:role/detect-only",
    )["stateMachineArn"]
    photos = models.image_set_as_jpeg()
    for index, photo in enumerate(photos):
        s3.put_object(Bucket="images", Key=f"originals/{index}.jpg", Body=photo)
    return DetectOnly(embedded, sqs, sfn, queue_url, machine, photos)


def run(images: int) -> dict[str, Any]:
    embedded = EmbeddedAws()
    embedded.start()
    deployed = deploy(embedded)
    worker_settings, photos = deployed.worker_settings(), deployed.photos
    results = {}
    try:
        for prefetch in (0, Settings().prefetch):
            # One image of each kind first, so the measured images find every
            # input shape compiled (steady state; the first sight of a shape is
            # in the paced run's p95).
            deployed.queue(images, f"p{prefetch}")
            results[prefetch] = _serve(worker_settings, prefetch, len(photos), images)
    finally:
        embedded.stop()
    overlapped = results[Settings().prefetch]
    return {"sequential": results[0], "overlapped": {**overlapped, "prefetch": Settings().prefetch}}


def queue_images(sfn: SFNClient, machine: str, photos: list[bytes], images: int, run: str) -> None:
    """One execution per image: one of each photo first (warm-up), then `images`
    going round the photos (originals/<i>.jpg in the images bucket)."""
    for n, index in enumerate([*range(len(photos)), *range(images)]):
        staged = {
            "bucket": "images",
            "original_key": f"originals/{index % len(photos)}.jpg",
            "annotated_key": f"annotated/{run}-{n}.jpg",
            "content_type": "image/jpeg",
            "size_bytes": len(photos[index % len(photos)]),
            "width": 1,
            "height": 1,
            "stage_ms": 0,
        }
        # The chat's preferences, as DetectObjects reads them: the defaults.
        preferences = {"confidence": Settings().confidence, "model": Settings().model, "language": "en"}
        request = {"preferences": preferences}
        sfn.start_execution(
            stateMachineArn=machine,
            name=f"{run}_{n}",
            input=json.dumps({"staged": staged, "request": request}),
        )


def wait_queued(sqs: SQSClient, queue_url: str, count: int) -> None:
    deadline = time.monotonic() + 120
    while True:
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
        if int(attributes["Attributes"]["ApproximateNumberOfMessages"]) >= count:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the executions did not queue their tasks")
        time.sleep(0.1)


def _serve(settings: Settings, prefetch: int, warm_up: int, images: int) -> dict[str, Any]:
    environment = {**settings.as_env(), "POLYBOT_LOG_LEVEL": "INFO", "POLYBOT_PREFETCH": str(prefetch)}
    with pipeline.process(["-m", "inference"], environment) as worker:
        worker.wait_for("worker serving")
        ready = worker.wait_for("served in", count=warm_up, timeout_s=600)
        done = worker.wait_for("served in", count=warm_up + images, timeout_s=600)
        worker.sample_memory()
        served = worker.served()[warm_up:]
        assert worker.stop() == 0
    seconds = done - ready
    return {
        "images": images,
        "seconds": round(seconds, 2),
        "images_per_s": round(images / seconds, 1),
        "served": served,
        "peak_rss_mb": worker.peak_rss_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__)
    parser.add_argument("--images", type=int, default=100)
    args = parser.parse_args()
    pipeline.yield_to_the_measured()  # this process is the embedded AWS
    json.dump(run(args.images), sys.stdout)
    print()


if __name__ == "__main__":
    main()
