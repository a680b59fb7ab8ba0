"""`python -m benchmarks [--photos N]`: how fast one photo goes through the
whole local pipeline, and what the YOLO worker costs.

Prints, for N photos sent one after another through the Telegram stand-in:
time from the update to the reply (p50, p95, max), the model's inference time
per image, the process's peak memory, and the time to start the stack (which
includes loading the model). Nothing is asserted: compare the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

from local.polybot_stack import PolybotStack, sample_images
from polybot import logs, naming


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--photos", type=int, default=20)
    args = parser.parse_args()
    logs.configure("bench", "WARNING")
    photos = [path.read_bytes() for path in sample_images()]
    started = time.perf_counter()
    with PolybotStack() as stack:
        startup_s = time.perf_counter() - started
        assert stack.telegram is not None
        to_reply: list[float] = []
        inference: list[float] = []
        for index in range(args.photos):
            sent = time.perf_counter()
            message = stack.telegram.user_sends_photo(1, photos[index % len(photos)])
            stack.telegram.wait_for_reply(1, message["message_id"], timeout=120)
            to_reply.append((time.perf_counter() - sent) * 1000)
            execution = stack.wait_for_execution(naming.execution_name(1, message["message_id"]))
            inference.append(json.loads(execution["output"])["detection"]["timings"]["inference_ms"])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"photos: {args.photos} (bus.jpg and zidane.jpg in turn), model {stack.settings.model}")
    print(f"stack start-up incl. model load: {startup_s:.1f} s")
    print(
        f"update -> reply:  p50 {percentile(to_reply, 0.5):.0f} ms  p95 {percentile(to_reply, 0.95):.0f} ms  "
        f"max {max(to_reply):.0f} ms"
    )
    print(f"inference/image:  p50 {statistics.median(inference):.0f} ms  max {max(inference):.0f} ms")
    print(f"peak memory of the whole local stack (one process): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
