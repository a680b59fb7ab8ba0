"""`python -m benchmarks.scaling`: a small queueing simulation of the YOLO pool
over one bursty day, on paper, comparing the two scaling policies in
terraform/modules/yolo: the original design's step scaling on average CPU
(+1 worker at >= 70 % for 3 minutes, -1 at <= 30 % for 15 minutes) and
target tracking on the queue's backlog per in-service worker.

A worker serves `--rate` images per second when it has work (one worker's
measured throughput, from bench/results/latest.json) and is busy (100 % CPU)
only then. Arrivals are Poisson, diurnal, with bursts (many photos in a minute:
a group chat, a post going around). CloudWatch sees 1-minute datapoints; a new
worker serves after `--warmup` seconds (launch, image pull, model load) and is
billed from launch. Prints each policy's wait (p50, p95, max), the
instance-hours and the peak pool size for each day. Deterministic (seeded).
"""

from __future__ import annotations

import argparse
import json
import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DAY_S = 86_400
RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "latest.json"


@dataclass(frozen=True)
class Day:
    name: str
    images: int
    bursts: int
    burst_images: tuple[int, int]


@dataclass
class Pool:
    minimum: int = 2
    maximum: int = 6
    ready_at: list[float] = field(default_factory=list)
    launched_at: list[float] = field(default_factory=list)
    billed_s: float = 0.0
    last_launch: float = -1e9
    last_scale_in: float = -1e9

    def in_service(self, now: float) -> int:
        return sum(1 for t in self.ready_at if t <= now)

    def launch(self, now: float, warmup_s: float) -> None:
        if len(self.ready_at) < self.maximum:
            self.ready_at.append(now + warmup_s)
            self.launched_at.append(now)
            self.last_launch = now

    def terminate(self, now: float) -> None:
        if len(self.ready_at) > self.minimum:
            index = int(np.argmax(self.launched_at))  # newest first, as the default termination policy tends to
            self.billed_s += now - self.launched_at.pop(index)
            self.ready_at.pop(index)
            self.last_scale_in = now


def arrivals(day: Day, seed: int) -> np.ndarray:
    """Images arriving in each second of the day."""
    rng = np.random.default_rng(seed)
    t = np.arange(DAY_S)
    # Quiet at night, a peak in the evening (about 4x the night's rate).
    profile = 1.0 + 0.6 * np.sin(2 * np.pi * (t / DAY_S - 0.45)) + 0.4 * np.exp(-(((t / 3600) - 20.5) ** 2) / 2)
    burst_total = day.bursts * sum(day.burst_images) / 2
    rate = profile / profile.sum() * (day.images - burst_total)
    counts = rng.poisson(rate)
    for _ in range(day.bursts):
        start = int(rng.integers(8 * 3600, 23 * 3600))
        size = int(rng.integers(*day.burst_images))
        counts[start : start + 60] += rng.multinomial(size, np.ones(60) / 60)
    return counts


def simulate(day: Day, policy: str, rate: float, warmup_s: float, seed: int = 7) -> dict[str, float]:
    counts = arrivals(day, seed)
    pool = Pool()
    for _ in range(pool.minimum):
        pool.launch(-warmup_s, warmup_s)
    queue: deque[list[float]] = deque()  # [arrival second, images]
    waits: list[tuple[float, float]] = []  # (wait s, images)
    busy_s = capacity_s = 0.0
    cpu_history: list[float] = []
    backlog_history: list[float] = []
    carry = 0.0
    peak = pool.minimum
    for now in range(DAY_S):
        if counts[now]:
            queue.append([float(now), float(counts[now])])
        workers = pool.in_service(now)
        budget = workers * rate + carry
        whole = math.floor(budget)
        served = 0
        while queue and served < whole:
            arrived, images = queue[0]
            take = min(images, whole - served)
            waits.append((now - arrived, take))
            served += int(take)
            if take == images:
                queue.popleft()
            else:
                queue[0][1] -= take
        carry = budget - whole if queue else 0.0  # idle capacity is not saved up
        busy_s += served / rate if rate else 0.0
        capacity_s += workers
        if now % 60 == 59:  # a CloudWatch datapoint, then the policy
            cpu_history.append(100 * busy_s / capacity_s if capacity_s else 0.0)
            backlog = sum(images for _, images in queue)
            backlog_history.append(backlog / max(workers, 1))
            busy_s = capacity_s = 0.0
            _apply(policy, pool, now, cpu_history, backlog_history, warmup_s)
            peak = max(peak, len(pool.ready_at))
    for launched in pool.launched_at:
        pool.billed_s += DAY_S - max(launched, 0.0)
    return _summary(waits, pool, peak)


def _apply(
    policy: str, pool: Pool, now: float, cpu: list[float], backlog: list[float], warmup_s: float, target: float = 10
) -> None:
    warming = now - pool.last_launch < 300  # estimated instance warm-up: no second step meanwhile
    if policy == "cpu-step":
        if len(cpu) >= 3 and min(cpu[-3:]) >= 70 and not warming:
            pool.launch(now, warmup_s)
        elif len(cpu) >= 15 and max(cpu[-15:]) <= 30 and now - pool.last_scale_in >= 300:
            pool.terminate(now)
        return
    # Target tracking: desired = ceil(in service x metric / target) after 3 datapoints above the target;
    # scale in one at a time after 15 datapoints below 90 % of it.
    workers = pool.in_service(now)
    if len(backlog) >= 3 and min(backlog[-3:]) > target and not warming:
        desired = min(pool.maximum, math.ceil(workers * backlog[-1] / target))
        for _ in range(desired - len(pool.ready_at)):
            pool.launch(now, warmup_s)
    elif len(backlog) >= 15 and max(backlog[-15:]) < 0.9 * target and now - pool.last_scale_in >= 300:
        pool.terminate(now)


def _summary(waits: list[tuple[float, float]], pool: Pool, peak: int) -> dict[str, float]:
    values = np.array([w for w, _ in waits])
    weights = np.array([n for _, n in waits])
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) / weights.sum()

    def quantile(q: float) -> float:
        index = min(int(np.searchsorted(cumulative, q)), len(order) - 1)
        return float(values[order][index])

    return {
        "images": float(weights.sum()),
        "wait_p50_s": quantile(0.5),
        "wait_p95_s": quantile(0.95),
        "wait_p99_s": quantile(0.99),
        "wait_max_s": float(values.max()),
        "instance_hours": pool.billed_s / 3600,
        "peak_instances": float(peak),
    }


DAYS = (
    Day("20k images, 8 bursts of 300-900", 20_000, 8, (300, 900)),
    Day("300k images, 12 bursts of 2k-6k", 300_000, 12, (2_000, 6_000)),
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__)
    parser.add_argument("--rate", type=float, help="images/s one worker serves (default: the bench's, overlapped)")
    parser.add_argument("--warmup", type=float, default=150.0, help="seconds from launch to serving")
    args = parser.parse_args()
    rate = args.rate or json.loads(RESULTS.read_text())["worker_images_per_s"]["overlapped"]
    print(f"one worker serves {rate} images/s; a new one serves {args.warmup:.0f} s after launch; 2-6 workers")
    print(f"{'day':<36}{'policy':<18}{'wait p50':>9}{'p95':>8}{'p99':>8}{'max':>8}{'inst-h':>8}{'peak':>6}")
    for day in DAYS:
        for policy in ("cpu-step", "backlog-tracking"):
            r = simulate(day, policy, rate, args.warmup)
            print(
                f"{day.name:<36}{policy:<18}{r['wait_p50_s']:>8.1f}s{r['wait_p95_s']:>7.1f}s{r['wait_p99_s']:>7.1f}s"
                f"{r['wait_max_s']:>7.0f}s"
                f"{r['instance_hours']:>8.1f}{r['peak_instances']:>6.0f}"
            )


if __name__ == "__main__":
    main()
