"""`python -m benchmarks.costs`: what 1,000 images cost on AWS, on paper, from
the execution histories the bench recorded and one worker's measured
throughput (bench/results/latest.json, written by `make bench` or
`python -m benchmarks.histories`).

Per image, from the recorded history of a single photo (benchmarks/histories.py,
counted by benchmarks/transitions.py): the state transitions of its Standard
execution, its Lambda invocations (each at its function's MemorySize in
template.yaml), the SQS task messages and DynamoDB writes its Task states made.
What no history shows is written below as an assumption: each invocation's
duration, S3 requests, item and object sizes.

Prices are AWS's public on-demand list prices for us-east-1 (the region
samconfig.toml and the Terraform default deploy to), checked 2026-12-05 against
the pages cited next to each (where one was not read, the comment says so);
free tiers are left out.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.stack import load_template

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "latest.json"
TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"

PRICES = {
    # https://aws.amazon.com/step-functions/pricing/: $0.025 per 1,000 state transitions
    # (us-east-1), "each retry will be charged as an additional state transition".
    "sfn_transition": 0.025 / 1000,
    # https://aws.amazon.com/lambda/pricing/ (How AWS Pricing Works, Lambda): $0.20 per 1M
    # requests; x86 $0.0000166667 per GB-second (first 6 billion GB-s a month).
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_s": 0.0000166667,
    # https://aws.amazon.com/sqs/pricing/: standard queue $0.40 per 1M requests, each 64 KB
    # chunk of a payload one request.
    "sqs_request": 0.40 / 1e6,
    # https://aws.amazon.com/dynamodb/pricing/on-demand/: $0.625 per 1M write request units
    # (on-demand, halved on 2024-11-01), one unit per KB written. Not read on AWS's page here:
    # the figure is as third-party pages quote it after the cut (e.g. airbyte.com's DynamoDB pricing).
    "dynamodb_wru": 0.625 / 1e6,
    # https://aws.amazon.com/s3/pricing/: S3 Standard, PUT $0.005 and GET $0.0004 per 1,000,
    # $0.023 per GB-month (first 50 TB).
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "s3_gb_month": 0.023,
    # https://aws.amazon.com/ec2/pricing/on-demand/ (Linux): c7i.large $0.08925 an hour,
    # t3.medium $0.0416, and $0.05 per vCPU-hour of surplus credits for T3 Linux (unlimited
    # mode); unchanged from the earlier costs, not re-checked on 2026-12-05.
    "c7i.large_hour": 0.08925,  # the Terraform default: 2 vCPU compute-optimised, no CPU credits
    "t3.medium_hour": 0.0416,  # 2 vCPU burstable: 20 % baseline per vCPU
    "t3_surplus_vcpu_hour": 0.05,  # unlimited mode: CPU above the baseline
}
WORKER_TYPE = "c7i.large"
"""The workers' instance type (terraform/variables.tf yolo_instance_type), chosen from
these figures: docs/performance.md, "The workers' instance type"."""
T3_MEDIUM_CREDITS_PER_HOUR = 24
"""CPU credits (one vCPU-minute at 100 % each) a t3.medium earns per hour; it banks at most a day's."""
ASSUMED = {
    "lambda_seconds": 0.4,  # each invocation; mostly waiting on Telegram (download, sendPhoto)
    "sqs_requests_per_task": 3,  # the workflow's send, the worker's receive and delete (unbatched)
    "dynamodb_wru_per_write": 3,  # one results item of about 2-3 KB
    "s3_puts": 2,  # original (StageImage) and annotated (worker)
    "s3_gets": 2,  # the worker's download, SendReply's read of the annotated image
    "s3_mb_stored": 0.3,  # original and annotated, about 150 KB each
}
"""What no execution history shows, per image (per invocation, per task, per write)."""
HAND_COUNTED_TRANSITIONS = 4
"""What this module counted per image before the histories (4 Task states, by hand):
docs/performance.md shows the two side by side."""


@dataclass(frozen=True)
class Workload:
    """Per image, from one recorded execution (benchmarks.histories' `workflow_histories`)."""

    transitions: float
    lambda_gb_s: float
    """Each invocation's memory (GB) times ASSUMED lambda_seconds, summed."""
    lambda_invocations: float
    sqs_tasks: float
    dynamodb_writes: float

    @classmethod
    def from_history(cls, summary: dict[str, Any], memory_gb: dict[str, float], images: int = 1) -> Workload:
        invocations = {
            call.removeprefix("lambda:"): n for call, n in summary["calls"].items() if call.startswith("lambda:")
        }
        return cls(
            transitions=summary["transitions"] / images,
            lambda_gb_s=sum(n * memory_gb.get(name, 0.5) for name, n in invocations.items())
            * ASSUMED["lambda_seconds"]
            / images,
            lambda_invocations=sum(invocations.values()) / images,
            sqs_tasks=summary["sqs_tasks"] / images,
            dynamodb_writes=summary["dynamodb_writes"] / images,
        )


def function_memory_gb(template_path: Path = TEMPLATE) -> dict[str, float]:
    """Each function's memory in GB, by the name the local stack deploys it under
    (`polybot-local-<logical id, lower case>`, as the recorded histories name it) and
    by its logical id."""
    template = load_template(template_path)
    default = template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function":
            gb = resource.get("Properties", {}).get("MemorySize", default) / 1024
            found[logical_id] = found[f"polybot-local-{logical_id.lower()}"] = gb
    return found


def serverless_per_thousand(work: Workload) -> dict[str, float]:
    """Dollars per 1,000 images for the workflow's own services, by service."""
    p, a = PRICES, ASSUMED
    return {
        "Step Functions": 1000 * work.transitions * p["sfn_transition"],
        "Lambda": 1000 * (work.lambda_invocations * p["lambda_request"] + work.lambda_gb_s * p["lambda_gb_s"]),
        "SQS": 1000 * work.sqs_tasks * a["sqs_requests_per_task"] * p["sqs_request"],
        "DynamoDB": 1000 * work.dynamodb_writes * a["dynamodb_wru_per_write"] * p["dynamodb_wru"],
        "S3 requests": 1000 * (a["s3_puts"] * p["s3_put"] + a["s3_gets"] * p["s3_get"]),
    }


def per_thousand(images_per_s: float, work: Workload) -> dict[str, float]:
    """Dollars per 1,000 images, by service; EC2 at the workers' full utilisation."""
    p = PRICES
    busy_hours = 1000 / images_per_s / 3600
    return {
        **serverless_per_thousand(work),
        "S3 storage, per month kept": ASSUMED["s3_mb_stored"] * p["s3_gb_month"],
        "EC2 c7i.large, busy (the workers' type)": busy_hours * p["c7i.large_hour"],
        "EC2 t3.medium unlimited, busy (incl. CPU surplus)": busy_hours
        * (p["t3.medium_hour"] + 2 * 0.8 * p["t3_surplus_vcpu_hour"]),
    }


def scenarios(results: dict[str, Any], memory_gb: dict[str, float]) -> dict[str, tuple[Workload, Workload]]:
    """Per image, each recorded scenario as it is and as the reshaped workflow would bill it
    (benchmarks.histories.RESHAPE: the same calls, fewer transitions)."""
    found = {}
    for name, summary in results["workflow_histories"].items():
        work = Workload.from_history(summary, memory_gb, summary.get("photos", 1))
        reshaped = Workload(
            summary["reshaped_transitions"] / summary.get("photos", 1),
            work.lambda_gb_s,
            work.lambda_invocations,
            work.sqs_tasks,
            work.dynamodb_writes,
        )
        found[name] = (work, reshaped)
    return found


MIN_WORKERS = 2


def t3_standard_images_per_day(images_per_s: float) -> float:
    """Images a t3.medium in standard mode serves at full speed per day on the credits
    it earns (both vCPUs busy spend two credits a minute); beyond them it slows to its
    20 % baseline, and a new one (a scale-out, a rolling deploy) starts with none."""
    full_speed_minutes = T3_MEDIUM_CREDITS_PER_HOUR * 24 / 2
    return images_per_s * 60 * full_speed_minutes


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.costs", description=__doc__)
    parser.add_argument("--rate", type=float, help="images/s one worker serves (default: the bench's, overlapped)")
    parser.add_argument("--images-per-day", type=int, default=20_000)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    if "workflow_histories" not in results:
        parser.error(f"{args.results} has no recorded histories: run `make bench` or `python -m benchmarks.histories`")
    if args.rate is None and "worker_images_per_s" not in results:
        parser.error(f"{args.results} has no worker throughput (`make bench`): name one with --rate")
    rate = args.rate or results["worker_images_per_s"]["overlapped"]
    by_scenario = scenarios(results, function_memory_gb())
    single = by_scenario["single_photo"][0]
    costs = per_thousand(rate, single)
    print(
        f"one worker: {rate} images/s; a photo's execution: {single.transitions:g} transitions, "
        f"{single.lambda_invocations:g} invocations, {single.sqs_tasks:g} task, {single.dynamodb_writes:g} write"
    )
    print(f"{'per 1,000 single photos':<44}{'USD':>10}")
    for service, usd in costs.items():
        print(f"{service:<44}{usd:>10.4f}")
    serverless = sum(serverless_per_thousand(single).values())
    print(f"{'serverless part (SFN, Lambda, SQS, DynamoDB, S3 requests)':<44}{serverless:>10.4f}")
    print(f"\n{'per 1,000 images, serverless part':<30}{'transitions':>12}{'SFN USD':>9}{'all USD':>9}{'reshaped':>10}")
    # As this module counted before the histories: 4 transitions, two 512 MB invocations.
    before = Workload(HAND_COUNTED_TRANSITIONS, 2 * 0.5 * ASSUMED["lambda_seconds"], 2, 1, 1)
    rows: list[tuple[str, Workload, Workload | None]] = [("counted by hand before", before, None)]
    rows += [(name, work, cheaper) for name, (work, cheaper) in by_scenario.items()]
    for name, work, cheaper in rows:
        dollars = serverless_per_thousand(work)
        shaped = "-" if cheaper is None else f"{sum(serverless_per_thousand(cheaper).values()):.4f}"
        print(
            f"{name:<30}{work.transitions:>12.2f}{dollars['Step Functions']:>9.4f}{sum(dollars.values()):>9.4f}"
            f"{shaped:>10}"
        )
    for worker_type in (WORKER_TYPE, "t3.medium"):
        pool_day = MIN_WORKERS * 24 * PRICES[f"{worker_type}_hour"]
        print(
            f"the pool's floor ({MIN_WORKERS} x {worker_type} all day): {pool_day:.2f} a day, at "
            f"{args.images_per_day:,} images/day {pool_day / args.images_per_day * 1000:.4f} per 1,000"
        )
    print(
        f"t3.medium standard: a day's credits serve {t3_standard_images_per_day(rate):,.0f} images per worker "
        "at full speed; a new worker starts with none, at its 20 % baseline"
    )


if __name__ == "__main__":
    main()
