"""`python -m benchmarks.networked [--images N] [--depths 2,12]`: one worker
process on N queued images with AWS's latencies in front of the embedded AWS
(`AWS_LATENCY_MS`, local/aws_latency.py: a sleep per call, no CPU), beside the
model alone on the same images with the same threads, and the worker's own CPU
per image outside the model.

Figures (one JSON line; `benchmarks.__main__` puts them in latest.json):
- `worker_images_per_s_networked`: the worker with the default `prefetch`,
  measured images only (one of each photo first, so every input shape is
  compiled).
- `model_images_per_s`: the model step alone in a process of its own, the
  worker's settings (backend, threads), the same images in the same order,
  one after another: `Detector.detect`, that is the inference with the
  drawing of the boxes and the JPEG encoding the worker's model thread does
  for each image; `model_inference_images_per_s` is the inference alone.
- `networked_to_model`: the first over the second.
- `worker_cpu_ms_per_image_outside_model`: the worker process's CPU time over
  the measured images (/proc, every thread) less the model step's CPU time per
  image measured alone, per image: receiving, decoding, the heartbeats, the
  AWS clients, JSON, logging.
- `aws_emulator_cpu_ms_per_image`: the embedded AWS's own CPU over the same
  span, per image. On AWS that work is not on the worker's machine; here moto
  shares the two cores with the worker (at a lower priority, as the bench's
  stand-ins do), which the model alone did not have to, so the ratio is on the
  conservative side.
- `model_busy_share`: the worker's own model steps (inference, drawing,
  encoding, from its per-image timings) over the measured span: how much of
  the time its model worked, under the same load at the same time; 1.0 is a
  model that never waited for an image.
- per depth tried (`--depths`): images/s, service and model-wait p50/p95.

The model alone runs just before and just after the worker (its figures are
the mean of the two), on the same machine with the embedded AWS idle.

The cores are split as in production, where AWS answers from other machines
(`CoreSplit`, recorded as `cpus`): the embedded AWS and this process (which
fills the queue and reads the logs) on one half of the cores this process may
use, the worker on the other half, and the model alone on the worker's half
with the threads the worker's model has (asserted: the value each runtime
reports in force, not the setting). So the model alone and the model in the
worker have the same core(s) and threads, and moto's CPU is not the worker's.
With a single core the split is impossible: everything shares it, as before,
and `cpus.shared` says so.
Called by `benchmarks.__main__` in a process of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import pipeline, throughput
from benchmarks.models import percentile
from local.embedded_aws import EmbeddedAws
from local.polybot_stack import REPO_ROOT
from polybot.settings import Settings

AWS_LATENCY_MS: dict[str, float] = {
    # S3 within a region: first-byte latency of 100-200 ms for small objects (S3
    # performance guidelines); an annotated JPEG of a few hundred KB is a small object.
    "s3:GetObject": 150,
    "s3:PutObject": 150,
    # SQS: "tens or low hundreds of milliseconds" per SendMessage/ReceiveMessage/
    # DeleteMessage (SQS developer guide); the low end, same region.
    "sqs:ReceiveMessage": 30,
    "sqs:DeleteMessage": 30,
    "sqs:DeleteMessageBatch": 30,
    "sqs:ChangeMessageVisibility": 30,
    # Step Functions' task-token calls: no published figure; taken as a control-plane
    # call of the same region, a little slower than SQS.
    "states:SendTaskHeartbeat": 50,
    "states:SendTaskSuccess": 50,
    "states:SendTaskFailure": 50,
}
"""What a call of the worker waits on AWS, in ms, by `service:operation`
(docs/performance.md, "A worker across a network", with the sources)."""

CRITICAL_PATH = ("sqs:ReceiveMessage", "s3:GetObject", "s3:PutObject", "states:SendTaskSuccess")
"""The calls one image waits for in turn from its receipt to its report (the first
heartbeat goes beside the decoding and the model; the delete after the report)."""


_MODEL_FIGURES = ("images_per_s", "inference_images_per_s", "cpu_ms_per_image")

_MODEL_THREADS = re.compile(r"model \S+ on \S+ with (\d+) threads")
"""The worker's log line that says the threads its model runs with (inference.detector)."""


@dataclass(frozen=True)
class CoreSplit:
    """Which CPUs run what: `aws` the embedded AWS and the bench's own process,
    `worker` the worker and the model alone. `shared`: fewer than two cores,
    everything on the same ones."""

    aws: tuple[int, ...]
    worker: tuple[int, ...]

    @property
    def shared(self) -> bool:
        return bool(set(self.aws) & set(self.worker))

    def as_dict(self) -> dict[str, Any]:
        return {"aws_and_bench": list(self.aws), "worker_and_model": list(self.worker), "shared": self.shared}


def core_split(cpus: set[int] | None = None) -> CoreSplit:
    """Half of `cpus` (this process's affinity by default) for the embedded AWS and
    the bench, the other half (the larger, with an odd count) for the worker; with
    one CPU, that one for all."""
    available = sorted(cpus if cpus is not None else os.sched_getaffinity(0))
    if len(available) < 2:
        return CoreSplit(tuple(available), tuple(available))
    half = len(available) // 2
    return CoreSplit(tuple(available[:half]), tuple(available[half:]))


def pinned(cpus: tuple[int, ...], module_argv: list[str]) -> list[str]:
    """The argv (after the interpreter) that runs `-m module ...` on `cpus` only."""
    return ["-m", "benchmarks.pinned", ",".join(map(str, cpus)), *module_argv]


def _cpu_s(pid: int) -> float:
    """CPU time (user + system, every thread) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(images: int, depths: list[int], split: CoreSplit) -> dict[str, Any]:
    """`split`: this process is already on `split.aws` (the embedded AWS inherits it)."""
    embedded = EmbeddedAws()
    embedded.start()
    deployed = throughput.deploy(embedded)
    worker_settings = deployed.worker_settings()
    by_depth: dict[int, dict[str, Any]] = {}
    try:
        alone = [_model_alone(worker_settings, images, split)]
        for depth in depths:
            embedded.latency.set({})  # the set-up at the emulator's own pace
            deployed.queue(images, f"net{depth}")
            embedded.latency.set(AWS_LATENCY_MS)
            by_depth[depth] = _serve(embedded, worker_settings, depth, len(deployed.photos), images, split)
            by_depth[depth]["calls_held_back"] = embedded.latency.state()["delayed"]
        alone.append(_model_alone(worker_settings, images, split))
    finally:
        embedded.stop()
    threads = {figures["threads"] for figures in alone} | {figures["model_threads"] for figures in by_depth.values()}
    # The comparison holds only if the model alone and the worker's model ran with
    # the same threads (each as its runtime reported it in force).
    if len(threads) != 1:
        raise RuntimeError(f"the model alone and the worker's model ran with different threads: {sorted(threads)}")
    default = by_depth[Settings().prefetch] if Settings().prefetch in by_depth else by_depth[depths[-1]]
    # The mean of the runs just before and just after the worker's: a busy machine's
    # share of the cores changes by the minute.
    model = {key: round((alone[0][key] + alone[1][key]) / 2, 1) for key in _MODEL_FIGURES}
    model_cpu_ms = model["cpu_ms_per_image"]
    return {
        "worker_images_per_s_networked": default["images_per_s"],
        "model_images_per_s": model["images_per_s"],
        "model_inference_images_per_s": model["inference_images_per_s"],
        "networked_to_model": round(default["images_per_s"] / model["images_per_s"], 3),
        "networked_to_model_inference": round(default["images_per_s"] / model["inference_images_per_s"], 3),
        "worker_cpu_ms_per_image_outside_model": round(default["worker_cpu_ms_per_image"] - model_cpu_ms, 1),
        "model_cpu_ms_per_image": model_cpu_ms,
        "model_alone_runs": alone,
        "model_busy_share": default["model_busy_share"],
        "aws_emulator_cpu_ms_per_image": default["aws_cpu_ms_per_image"],
        "prefetch": default["prefetch"],
        "aws_latency_ms": AWS_LATENCY_MS,
        "critical_path_ms": sum(AWS_LATENCY_MS[call] for call in CRITICAL_PATH),
        "by_prefetch": {str(depth): figures for depth, figures in by_depth.items()},
        "model_threads": alone[0]["threads"],
        "cpus": split.as_dict(),
    }


def _serve(
    embedded: EmbeddedAws, settings: Settings, prefetch: int, warm_up: int, images: int, split: CoreSplit
) -> dict[str, Any]:
    environment = {**settings.as_env(), "POLYBOT_LOG_LEVEL": "INFO", "POLYBOT_PREFETCH": str(prefetch)}
    with pipeline.process(pinned(split.worker, ["-m", "inference"]), environment) as worker:
        worker.wait_for("worker serving")
        model_threads = [int(found.group(1)) for line in worker.lines if (found := _MODEL_THREADS.search(line))]
        ready = worker.wait_for("served in", count=warm_up, timeout_s=600)
        cpu_ready, aws_ready = _cpu_s(worker.popen.pid), _cpu_s(embedded.pid)
        done = worker.wait_for("served in", count=warm_up + images, timeout_s=600)
        cpu_done, aws_done = _cpu_s(worker.popen.pid), _cpu_s(embedded.pid)
        served = worker.served()[warm_up:]
        assert worker.stop() == 0
    seconds = done - ready
    service = [float(s["service_ms"]) for s in served]
    waits = [float(s.get("model_wait_ms", 0)) for s in served]
    model_ms = sum(s.get("inference_ms", 0) + s.get("draw_ms", 0) + s.get("encode_ms", 0) for s in served)
    return {
        "prefetch": prefetch,
        "model_threads": model_threads[0],
        "images": images,
        "seconds": round(seconds, 2),
        "images_per_s": round(images / seconds, 1),
        "service_ms_p50": percentile(service, 0.5),
        "service_ms_p95": percentile(service, 0.95),
        "model_wait_ms_p50": percentile(waits, 0.5),
        "model_wait_ms_p95": percentile(waits, 0.95),
        # The model step's share of the wall time: 1.0 when it never waited for an image.
        "model_busy_share": round(model_ms / 1000 / seconds, 2),
        "worker_cpu_ms_per_image": round(1000 * (cpu_done - cpu_ready) / images, 1),
        "aws_cpu_ms_per_image": round(1000 * (aws_done - aws_ready) / images, 1),
    }


def _model_alone(settings: Settings, images: int, split: CoreSplit) -> dict[str, Any]:
    """`measure_model` in a process of its own, at the worker's priority, with its
    settings, on the worker's CPUs."""
    environment = {**os.environ, **settings.as_env(), "POLYBOT_LOG_LEVEL": "ERROR"}
    child = subprocess.Popen(  # noqa: S603 - our own module, no shell
        [
            sys.executable,
            *pinned(split.worker, ["-m", "benchmarks.networked", "--model-alone", "--images", str(images)]),
        ],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pipeline.at_normal_priority(child.pid)
    out, err = child.communicate(timeout=600)
    if child.returncode != 0:
        raise RuntimeError(f"the model alone failed:\n{err[-4000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def measure_model(images: int) -> dict[str, Any]:
    """The worker's model step on the image set as the worker sees it (decoded from
    the same JPEGs, in the same order), one image after another."""
    from benchmarks import models
    from inference.backends import cores
    from inference.detector import Detector
    from polybot import imaging

    settings = Settings.from_env()
    detector = Detector.from_settings(settings)
    decoded = [imaging.decode_image(photo) for photo in models.image_set_as_jpeg()]
    for image in decoded:  # every input shape compiled, as in the worker's warm-up
        detector.detect(image, settings.confidence, "en")
    # The threads in force after the warm-up (runtimes reset them on first use), as the
    # worker's settings ask: every core this process may use unless set.
    if detector.threads != (settings.threads or cores()):
        raise RuntimeError(f"the model runs {detector.threads} threads, not {settings.threads or cores()}")
    order = [decoded[n % len(decoded)] for n in range(images)]
    started, cpu = time.perf_counter(), time.process_time()
    for image in order:
        detector.detect(image, settings.confidence, "en")
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    for image in order:
        detector.backend.predict(image, settings.confidence)
    inference_s = time.perf_counter() - started
    return {
        "images_per_s": round(images / seconds, 1),
        "inference_images_per_s": round(images / inference_s, 1),
        "cpu_ms_per_image": round(1000 * cpu_s / images, 1),
        "threads": detector.threads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.networked", description=__doc__)
    parser.add_argument(
        "--images", type=int, default=300, help="images measured (after one of each photo): 300, a steady state"
    )
    parser.add_argument(
        "--depths",
        default=f"2,{Settings().prefetch}",
        help="prefetch depths to run the worker with, comma-separated (the default's figures are the headline)",
    )
    parser.add_argument("--model-alone", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.model_alone:
        json.dump(measure_model(args.images), sys.stdout)
    else:
        pipeline.yield_to_the_measured()  # this process and its embedded AWS stand for AWS
        split = core_split()
        os.sched_setaffinity(0, split.aws)  # before the embedded AWS starts: it inherits them
        depths = sorted({int(d) for d in args.depths.split(",") if d.strip()})
        json.dump(run(args.images, depths, split), sys.stdout)
    print()


if __name__ == "__main__":
    main()
