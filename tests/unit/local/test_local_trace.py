from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from local.trace import StateTrace, format_trace, trace

START = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


def at(ms: int) -> datetime:
    return START + timedelta(milliseconds=ms)


def entered(event_id: int, ms: int, name: str, kind: str = "TaskStateEntered") -> dict[str, Any]:
    return {"id": event_id, "type": kind, "timestamp": at(ms), "stateEnteredEventDetails": {"name": name}}


def exited(event_id: int, ms: int, name: str) -> dict[str, Any]:
    return {"id": event_id, "type": "TaskStateExited", "timestamp": at(ms), "stateExitedEventDetails": {"name": name}}


def event(event_id: int, ms: int, kind: str, **details: Any) -> dict[str, Any]:
    return {"id": event_id, "type": kind, "timestamp": at(ms), **details}


def history_with_a_retried_detection() -> list[dict[str, Any]]:
    """StageImage once; DetectObjects times out once and succeeds on the retry; SendReply once."""
    return [
        event(1, 0, "ExecutionStarted", executionStartedEventDetails={"input": "{}"}),
        entered(2, 5, "StageImage"),
        event(3, 5, "TaskScheduled", taskScheduledEventDetails={"resourceType": "lambda"}),
        event(4, 6, "TaskStarted"),
        event(5, 120, "TaskSucceeded"),
        exited(6, 125, "StageImage"),
        entered(7, 125, "DetectObjects"),
        event(8, 126, "TaskScheduled"),
        event(9, 127, "TaskStarted"),
        event(10, 60_127, "TaskTimedOut", taskTimedOutEventDetails={"error": "States.HeartbeatTimeout"}),
        event(11, 61_127, "TaskScheduled"),
        event(12, 61_128, "TaskStarted"),
        event(13, 62_000, "TaskSucceeded"),
        exited(14, 62_125, "DetectObjects"),
        entered(15, 62_125, "SendReply"),
        event(16, 62_126, "TaskScheduled"),
        event(17, 62_300, "TaskSucceeded"),
        exited(18, 62_325, "SendReply"),
        event(19, 62_330, "ExecutionSucceeded"),
    ]


def test_one_row_per_state_in_order() -> None:
    rows = trace(history_with_a_retried_detection())

    assert [row.name for row in rows] == ["StageImage", "DetectObjects", "SendReply"]


def test_durations_are_in_milliseconds() -> None:
    rows = trace(history_with_a_retried_detection())

    assert [row.duration_ms for row in rows] == [120, 62_000, 200]


def test_a_timed_out_attempt_counts_as_a_retry_with_its_error() -> None:
    stage, detect, reply = trace(history_with_a_retried_detection())

    assert (detect.attempts, detect.retries, detect.errors) == (2, 1, ["States.HeartbeatTimeout"])
    assert (stage.attempts, stage.retries, stage.errors) == (1, 0, [])
    assert (reply.attempts, reply.retries, reply.errors) == (1, 0, [])


def test_events_are_read_in_id_order() -> None:
    history = history_with_a_retried_detection()

    assert trace(list(reversed(history))) == trace(history)


def test_a_failed_task_without_details_is_named_by_its_event_type() -> None:
    rows = trace([entered(1, 0, "StageImage"), event(2, 1, "TaskScheduled"), event(3, 2, "TaskFailed")])

    assert rows[0].errors == ["TaskFailed"]


def test_a_caught_failure_leads_to_the_failed_state_and_the_execution_error() -> None:
    history = [
        entered(1, 0, "StageImage"),
        event(2, 0, "TaskScheduled"),
        event(3, 40, "TaskFailed", taskFailedEventDetails={"error": "NotAnImage", "cause": "..."}),
        exited(4, 41, "StageImage"),
        entered(5, 41, "NotifyFailure"),
        event(6, 41, "TaskScheduled"),
        event(7, 90, "TaskSucceeded"),
        exited(8, 91, "NotifyFailure"),
        entered(9, 91, "Failed", kind="FailStateEntered"),
        event(10, 92, "ExecutionFailed", executionFailedEventDetails={"error": "NotAnImage", "cause": "..."}),
    ]

    stage, notify, failed = trace(history)

    assert stage.errors == ["NotAnImage"]
    assert stage.duration_ms == 41
    assert notify.errors == []
    assert (failed.name, failed.duration_ms, failed.errors) == ("Failed", 1, ["NotAnImage"])


def test_a_state_still_running_has_no_duration() -> None:
    [row] = trace([entered(1, 0, "DetectObjects"), event(2, 1, "TaskScheduled")])

    assert row.exited is None
    assert row.duration_ms is None
    assert row.retries == 0


def test_format_trace_lists_each_state_with_duration_retries_and_errors() -> None:
    text = format_trace(trace(history_with_a_retried_detection()))

    lines = text.splitlines()
    assert lines[0].split() == ["state", "duration", "retries", "errors"]
    assert lines[1].split() == ["StageImage", "120", "ms", "0", "-"]
    assert lines[2].split() == ["DetectObjects", "62000", "ms", "1", "States.HeartbeatTimeout"]
    assert lines[3].split() == ["SendReply", "200", "ms", "0", "-"]


def test_format_trace_shows_a_dash_for_a_running_state() -> None:
    text = format_trace([StateTrace("DetectObjects", START)])

    assert text.splitlines()[1].split() == ["DetectObjects", "-", "0", "-"]
