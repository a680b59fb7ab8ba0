"""The cost per 1,000 images (benchmarks/costs.py) comes from what recorded
histories count, not from a number kept by hand: a photo's 8 transitions are
$0.200 of Step Functions per 1,000, a photo that waited out a 429 $0.275, and
each Lambda invocation is priced at its own function's memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.costs import PRICES, Workload, function_memory_gb, serverless_per_thousand
from benchmarks.histories import figures
from benchmarks.transitions import bill

HISTORIES = Path(__file__).parent / "histories"
SCENARIOS = ("single_photo", "album", "failure_not_an_image", "telegram_429", "reply_retried_after_502")


def summary(scenario: str) -> dict[str, object]:
    return bill(json.loads((HISTORIES / f"{scenario}.json").read_text(encoding="utf-8"))).summary()


@pytest.mark.parametrize(("scenario", "images", "dollars"), [("single_photo", 1, 0.200), ("telegram_429", 1, 0.275)])
def test_step_functions_per_thousand_is_priced_from_the_transitions_a_history_counts(
    scenario: str, images: int, dollars: float
) -> None:
    work = Workload.from_history(summary(scenario), function_memory_gb(), images)
    assert serverless_per_thousand(work)["Step Functions"] == pytest.approx(dollars)


def test_each_invocation_is_priced_at_its_functions_memory() -> None:
    memory = function_memory_gb()
    work = Workload.from_history(summary("single_photo"), memory)

    # StageImage (the template's default 512 MB) and SendReply (1,024 MB), 0.4 s each.
    assert (memory["StageImageFunction"], memory["SendReplyFunction"]) == (0.5, 1.0)
    assert work.lambda_invocations == 2
    assert work.lambda_gb_s == pytest.approx((0.5 + 1.0) * 0.4)
    assert serverless_per_thousand(work)["Lambda"] == pytest.approx(
        1000 * (2 * PRICES["lambda_request"] + 0.6 * PRICES["lambda_gb_s"])
    )


def test_the_bench_figures_of_the_recorded_histories() -> None:
    recorded = {s: json.loads((HISTORIES / f"{s}.json").read_text(encoding="utf-8")) for s in SCENARIOS}
    found = figures({s: bill(events) for s, events in recorded.items()}, recorded, album_photos=3)

    assert (found["transitions_per_photo"], found["transitions_per_failure"]) == (8, 8)
    assert found["transitions_per_album"] == {"photos": 3, "once": 10, "each_photo": 5.0}
    assert found["transitions_per_album_photo"] == 8.33
    assert (found["transitions_per_429_wait"], found["transitions_per_retry"]) == (3.0, 1)
    assert found["transitions_reshaped"]["per_photo"] == 7
