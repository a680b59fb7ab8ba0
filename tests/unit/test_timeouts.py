"""Timeouts nest: every outbound call's timeout and retries fit inside its
caller's limit, so a stalled Telegram or AWS call ends as a named, retryable
error of ours instead of the caller's own timeout.

The worst case of each call comes from the budgets in force (polybot/aws.py,
polybot.settings' Telegram timeouts); the calls each function makes, at most,
are listed here from functions/*.py. The budgets' values as the libraries hold
them at run time are checked by the fault suite (tests/faults).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bot import app as webhook_app
from inference.service import build_worker
from local.stack import load_template
from polybot import aws, contracts, reply_ledger
from polybot.albums import GATHER_AFTER_S
from polybot.settings import Settings
from tests.auxil.workflow_bounds import Bounds, UnboundedWorkflow, WaitBound, longest_s, task_worst_s

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
ASL: dict[str, Any] = json.loads((ROOT / "statemachines" / "image_pipeline.asl.json").read_text())
STATES: dict[str, Any] = ASL["States"]
SETTINGS = Settings()

AWS_CALL = aws.IN_FUNCTION.worst_case_s
TELEGRAM_CALL = SETTINGS.telegram_connect_timeout_s + SETTINGS.telegram_read_timeout_s  # telebot does not retry
DOWNLOAD = SETTINGS.telegram_connect_timeout_s + SETTINGS.telegram_download_timeout_s

# The most each function calls in one invocation.
WORST_CASE_S = {
    # the secret (first invocation), getFile, the download, the original into S3
    "StageImage": AWS_CALL + TELEGRAM_CALL + DOWNLOAD + AWS_CALL,
    # the secret, the ledger, the annotated image; the photo and the document,
    # each recorded (or the wait counted)
    "SendReply": 3 * AWS_CALL + 2 * (TELEGRAM_CALL + AWS_CALL),
    # the secret, the ledger, the notice, recorded (or the wait counted)
    "NotifyFailure": 2 * AWS_CALL + TELEGRAM_CALL + AWS_CALL,
    # the album's item, closed and read back
    "GatherAlbum": AWS_CALL,
}
TELEGRAM_WEBHOOK_PATIENCE_S = 60
"""Telegram does not document how long it waits for a webhook's answer before
delivering again; 60 s is assumed, and the bot stays well inside it."""


def function_timeout(state: str) -> int:
    properties = TEMPLATE["Resources"][f"{state}Function"]["Properties"]
    return int(properties.get("Timeout", TEMPLATE["Globals"]["Function"]["Timeout"]))


@pytest.mark.parametrize("state", sorted(WORST_CASE_S))
def test_each_functions_calls_end_before_its_timeout(state: str) -> None:
    assert WORST_CASE_S[state] < function_timeout(state)


@pytest.mark.parametrize("state", sorted(WORST_CASE_S))
def test_each_function_ends_before_its_task_gives_up_on_it(state: str) -> None:
    assert function_timeout(state) < STATES[state]["TimeoutSeconds"]


def test_a_busy_workers_lease_is_renewed_before_it_runs_out() -> None:
    # A renewal is due every interval (on a clock of its own, inference/heartbeat.py);
    # however long the call takes, it lands within the lease.
    assert SETTINGS.heartbeat_interval_s + aws.WITHIN_HEARTBEAT.worst_case_s < SETTINGS.task_lease_s


def test_the_worker_renews_leases_and_beats_on_the_budget_counted_above() -> None:
    """The clients in force, as the worker is wired (inference/service.py)."""
    settings = Settings(detection_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/q", region="us-east-1")
    worker = build_worker(settings, production=cast(Any, SimpleNamespace(name=settings.model)))
    for client in (worker._leases, worker._sfn):
        config = client.meta.config
        in_force = (config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"])
        budget = aws.WITHIN_HEARTBEAT
        assert in_force == (budget.connect_timeout_s, budget.read_timeout_s, budget.attempts)


def test_a_task_waiting_in_a_backlog_alarms_before_its_heartbeat_times_out() -> None:
    # HeartbeatSeconds counts from the send, queue wait included (the burst in tests/faults).
    backlog_alarm = TEMPLATE["Resources"]["DetectionBacklogAgeAlarm"]["Properties"]
    assert backlog_alarm["Threshold"] < STATES["DetectObjects"]["HeartbeatSeconds"]
    assert STATES["DetectObjects"]["HeartbeatSeconds"] <= STATES["DetectObjects"]["TimeoutSeconds"]


def test_the_webhook_answers_before_telegram_gives_up_on_it() -> None:
    # The chat's quota, StartExecution, then the chat action (or the "unavailable" reply).
    worst = aws.COUNTING.worst_case_s + aws.IN_WEBHOOK.worst_case_s + TELEGRAM_CALL
    assert worst < TELEGRAM_WEBHOOK_PATIENCE_S
    assert webhook_app.RETRY_AFTER_S <= TELEGRAM_WEBHOOK_PATIENCE_S


def test_budgets_end_well_before_the_defaults_they_replace() -> None:
    # botocore's own default: 60 s connect, 60 s read, 3 to 5 attempts; telebot's 15 + 30 s.
    assert aws.IN_FUNCTION.worst_case_s < 15
    assert TELEGRAM_CALL < 15


# --- the workflow as a whole ---------------------------------------------------


def _album_photos_at_most() -> int:
    [gathered] = [
        variant
        for variant in contracts.schema_document()["$defs"]["AlbumGathering"]["oneOf"]
        if variant.get("title") == "AlbumGathered"
    ]
    return int(gathered["properties"]["photos"]["maxItems"])


WORKFLOW_BOUNDS = Bounds(
    waits={
        # Telegram's retry_after, as SendReply / NotifyFailure pass it on: a longer
        # one is given up (polybot/reply_ledger.py), and so is a sixth wait.
        "$.reply.retry_after_s": WaitBound(reply_ledger.MAX_WAIT_S, budget="telegram_waits"),
        # The rest of the album's gathering window, as GatherAlbum reports it.
        "$.gathering.wait_s": WaitBound(math.ceil(GATHER_AFTER_S), budget="album_waits"),
    },
    budgets={
        # The ledger counts the waits of one execution, SendReply's and NotifyFailure's together.
        "telegram_waits": reply_ledger.MAX_TELEGRAM_WAITS,
        # Each wait is at least a second and they end with the window.
        "album_waits": math.ceil(GATHER_AFTER_S),
    },
    map_items={"$.gathering.photos": _album_photos_at_most()},
)


def longest_legitimate_s() -> float:
    """Every task's attempts at their TimeoutSeconds (DetectObjects': a detection
    backlog included, as its HeartbeatSeconds counts from the send), every backoff,
    Telegram's 429 waits and an album's gathering (tests/auxil/workflow_bounds.py)."""
    return longest_s(STATES, ASL["StartAt"], WORKFLOW_BOUNDS)


def test_an_execution_times_out_only_after_every_path_the_nested_limits_allow() -> None:
    """Without a TimeoutSeconds a Standard execution times out after a year, so
    the ExecutionsTimedOut alarm could never fire; shorter than the longest legitimate
    path, it would cut off an execution that was still going by the rules."""
    assert "TimeoutSeconds" in ASL
    assert ASL["TimeoutSeconds"] > longest_legitimate_s()


def test_the_execution_timeout_is_not_far_beyond_the_longest_legitimate_path() -> None:
    # Rounded up to the hour, with at most an hour to spare: an execution stuck
    # somewhere no limit of ours ends is reported the same day.
    whole_hours = math.ceil(longest_legitimate_s() / 3600) * 3600
    assert ASL["TimeoutSeconds"] <= whole_hours + 3600
    assert ASL["TimeoutSeconds"] <= 24 * 3600


def test_every_task_of_the_workflow_has_a_timeout_of_its_own() -> None:
    processor = STATES["AnalyseAlbum"]["ItemProcessor"]["States"]
    for name, state in {**STATES, **processor}.items():
        if state["Type"] == "Task":
            assert task_worst_s(name, state) < ASL["TimeoutSeconds"], name


def test_the_bound_counts_every_retry_and_backoff_of_a_task() -> None:
    state = {
        "TimeoutSeconds": 10,
        "Retry": [
            {"ErrorEquals": ["A"], "IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 3, "MaxDelaySeconds": 5},
            {"ErrorEquals": ["B"]},  # AWS's defaults: 3 attempts, 1 s, rate 2
        ],
    }

    # 1 + 3 + 3 attempts of 10 s; waits 2 + 4 + 5 (capped) and 1 + 2 + 4.
    assert task_worst_s("T", state) == 7 * 10 + 11 + 7


def test_the_bound_refuses_what_nothing_bounds() -> None:
    loop = {
        "A": {"Type": "Task", "TimeoutSeconds": 1, "Next": "B"},
        "B": {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": True, "Next": "A"}], "Default": "C"},
        "C": {"Type": "Succeed"},
    }
    with pytest.raises(UnboundedWorkflow, match="loop"):
        longest_s(loop, "A", Bounds(waits={}))
    with pytest.raises(UnboundedWorkflow, match="TimeoutSeconds"):
        longest_s({"A": {"Type": "Task", "End": True}}, "A", Bounds(waits={}))
    waiting = {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}
    with pytest.raises(UnboundedWorkflow, match=r"\$\.s"):
        longest_s(waiting, "W", Bounds(waits={}))


def test_a_loop_through_a_wait_counts_as_often_as_its_budget_allows() -> None:
    states = {
        "Ask": {"Type": "Task", "TimeoutSeconds": 10, "Next": "Again"},
        "Again": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.k", "StringEquals": "w", "Next": "W"}],
            "Default": "End",
        },
        "W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "Ask"},
        "End": {"Type": "Succeed"},
    }
    bounds = Bounds(waits={"$.s": WaitBound(60, budget="b")}, budgets={"b": 2})

    assert longest_s(states, "Ask", bounds) == 3 * 10 + 2 * 60
