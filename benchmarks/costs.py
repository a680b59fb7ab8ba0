"""`python -m benchmarks.costs`: what 1,000 images cost on AWS, on paper, from
the workflow's shape and one worker's measured throughput
(bench/results/latest.json).

Prices are AWS's public on-demand list prices for us-east-1 as written below
(check them before relying on the figures); free tiers are left out. Per
image: one Standard execution of 4 task states (StageImage, DetectObjects,
PersistResults, SendReply), two Lambda invocations, the SQS messages of one
task (send, receive, delete), one DynamoDB item, two S3 PUTs and two GETs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "latest.json"

PRICES = {
    "sfn_transition": 0.025 / 1000,  # Standard workflows, per state transition
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_s": 0.0000166667,  # x86
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB request
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "s3_gb_month": 0.023,
    "c7i.large_hour": 0.08925,  # the Terraform default: 2 vCPU compute-optimised, no CPU credits
    "t3.medium_hour": 0.0416,  # 2 vCPU burstable: 20 % baseline per vCPU
    "t3_surplus_vcpu_hour": 0.05,  # unlimited mode: CPU above the baseline
}
WORKER_TYPE = "c7i.large"
"""The workers' instance type (terraform/variables.tf yolo_instance_type), chosen from
these figures: docs/performance.md, "The workers' instance type"."""
T3_MEDIUM_CREDITS_PER_HOUR = 24
"""CPU credits (one vCPU-minute at 100 % each) a t3.medium earns per hour; it banks at most a day's."""
PER_IMAGE = {
    "state_transitions": 4,
    "lambda_invocations": 2,
    "lambda_seconds": 0.4,  # each; mostly waiting on Telegram (download, sendPhoto); 512 MB
    "lambda_gb": 0.5,
    "sqs_requests": 3,
    "dynamodb_wru": 3,  # one item of about 2-3 KB
    "s3_puts": 2,
    "s3_gets": 2,
    "s3_mb_stored": 0.3,  # original and annotated, about 150 KB each
}
MIN_WORKERS = 2


def per_thousand(images_per_s: float) -> dict[str, float]:
    """Dollars per 1,000 images, by service; EC2 at the workers' full utilisation."""
    p, n = PRICES, PER_IMAGE
    busy_hours = 1000 / images_per_s / 3600
    return {
        "Step Functions": 1000 * n["state_transitions"] * p["sfn_transition"],
        "Lambda": 1000
        * n["lambda_invocations"]
        * (p["lambda_request"] + n["lambda_seconds"] * n["lambda_gb"] * p["lambda_gb_s"]),
        "SQS": 1000 * n["sqs_requests"] * p["sqs_request"],
        "DynamoDB": 1000 * n["dynamodb_wru"] * p["dynamodb_wru"],
        "S3 requests": 1000 * (n["s3_puts"] * p["s3_put"] + n["s3_gets"] * p["s3_get"]),
        "S3 storage, per month kept": n["s3_mb_stored"] * p["s3_gb_month"],
        "EC2 c7i.large, busy (the workers' type)": busy_hours * p["c7i.large_hour"],
        "EC2 t3.medium unlimited, busy (incl. CPU surplus)": busy_hours
        * (p["t3.medium_hour"] + 2 * 0.8 * p["t3_surplus_vcpu_hour"]),
    }


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
    args = parser.parse_args()
    rate = args.rate or json.loads(RESULTS.read_text())["worker_images_per_s"]["overlapped"]
    costs = per_thousand(rate)
    print(f"one worker: {rate} images/s\n{'per 1,000 images':<44}{'USD':>10}")
    for service, dollars in costs.items():
        print(f"{service:<44}{dollars:>10.4f}")
    serverless = sum(v for k, v in costs.items() if not k.startswith(("EC2", "S3 storage")))
    print(f"{'serverless part (SFN, Lambda, SQS, DynamoDB, S3 requests)':<44}{serverless:>10.4f}")
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
