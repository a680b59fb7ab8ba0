"""What one execution of the image pipeline is billed for, read from its recorded
history (GetExecutionHistory events): state transitions as AWS bills them for
Standard workflows, and the calls its Task states made (Lambda invocations,
SQS task messages, DynamoDB writes). Pure: events in, counts out.

Called by `benchmarks.histories` (which records the histories) and
`benchmarks.costs` (which prices them); tests/unit/benchmarks holds it to
recorded histories.

How AWS counts (https://aws.amazon.com/step-functions/pricing/): "Step
Functions counts a state transition each time a step of your workflow is
executed ... including retries", and "each retry will be charged as an
additional state transition". Read against a history, that is:

- every state entered is one transition (an `<Type>StateEntered` event), the
  first state of the execution included; starting the execution
  (`ExecutionStarted`) and leaving a state (`...Exited`) are not steps;
- a state entered again (a loop through a Wait state) is a new transition;
- every retry is one more: a Task state entered once and attempted three
  times (three `...Scheduled` events) bills three transitions;
- an Inline Map state is one transition, and the states of each iteration are
  steps like any other: their events are in the same history ("Step Functions
  adds the execution history of these iterations to the parent workflow's
  execution history", https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html).
  `MapIterationStarted` starts no state and is not counted.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATE_TYPES = ("Task", "Choice", "Pass", "Wait", "Succeed", "Fail", "Map", "Parallel")
"""Every state type of the Amazon States Language."""
ENTERED = {f"{kind}StateEntered" for kind in STATE_TYPES}
"""One billed transition each."""
ATTEMPTS = {"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"}
"""One attempt of a Task state each: beyond the first of a state entered, a retry (one billed transition)."""
NOT_BILLED = {
    *(f"{kind}StateExited" for kind in STATE_TYPES if kind not in ("Fail",)),
    "TaskStateAborted",
    "WaitStateAborted",
    "MapStateAborted",
    "MapStateFailed",
    "MapStateStarted",
    "MapStateSucceeded",
    "MapIterationAborted",
    "MapIterationFailed",
    "MapIterationStarted",
    "MapIterationSucceeded",
    "MapRunAborted",
    "MapRunFailed",
    "MapRunRedriven",
    "MapRunStarted",
    "MapRunSucceeded",
    "ParallelStateAborted",
    "ParallelStateFailed",
    "ParallelStateStarted",
    "ParallelStateSucceeded",
    "TaskStarted",
    "TaskStartFailed",
    "TaskSubmitted",
    "TaskSubmitFailed",
    "TaskSucceeded",
    "TaskFailed",
    "TaskTimedOut",
    "LambdaFunctionStarted",
    "LambdaFunctionStartFailed",
    "LambdaFunctionScheduleFailed",
    "LambdaFunctionSucceeded",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "ActivityStarted",
    "ActivityScheduleFailed",
    "ActivitySucceeded",
    "ActivityFailed",
    "ActivityTimedOut",
    "ExecutionStarted",
    "ExecutionSucceeded",
    "ExecutionFailed",
    "ExecutionAborted",
    "ExecutionTimedOut",
    "ExecutionRedriven",
    "EvaluationFailed",
}
"""Events that are no step of the workflow: a state's progress and end, the execution's."""


class UnknownEvent(ValueError):
    """A history event type this module does not classify: counting on would
    under- or over-bill silently, so it stops instead."""


@dataclass
class Bill:
    """What one execution's history says it is billed for."""

    states_entered: Counter[str] = field(default_factory=Counter)
    """Each state's name: how many times it was entered."""
    retries: Counter[str] = field(default_factory=Counter)
    """Each state's name: attempts beyond the first, over all its entries."""
    calls: Counter[str] = field(default_factory=Counter)
    """Each service integration the Task states called ("lambda:<function>",
    "sqs:sendMessage.waitForTaskToken", "dynamodb:putItem" ...), attempts included."""
    waited_s: float = 0.0
    """Time spent in Wait states."""
    iterations: int = 0
    """Map iterations started (an album's photos analysed); no transition of their own."""

    @property
    def transitions(self) -> int:
        return sum(self.states_entered.values()) + sum(self.retries.values())

    @property
    def lambda_invocations(self) -> int:
        return sum(n for call, n in self.calls.items() if call.startswith("lambda:"))

    @property
    def sqs_tasks(self) -> int:
        return sum(n for call, n in self.calls.items() if call.startswith("sqs:"))

    @property
    def dynamodb_writes(self) -> int:
        return sum(n for call, n in self.calls.items() if call.startswith("dynamodb:"))

    def without(self, states: Iterable[str]) -> int:
        """The transitions left if `states` were not in the workflow (a reshaped workflow, on paper)."""
        gone = set(states)
        return self.transitions - sum(n for name, n in self.states_entered.items() if name in gone)

    def summary(self) -> dict[str, Any]:
        return {
            "transitions": self.transitions,
            "states_entered": sum(self.states_entered.values()),
            "retries": sum(self.retries.values()),
            "lambda_invocations": self.lambda_invocations,
            "sqs_tasks": self.sqs_tasks,
            "dynamodb_writes": self.dynamodb_writes,
            "waited_s": round(self.waited_s, 1),
            "iterations": self.iterations,
            "by_state": dict(sorted(self.states_entered.items())),
            "calls": dict(sorted(self.calls.items())),
        }


def _details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The event's `...EventDetails`, if any (one per event)."""
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            return value
    return {}


def _call(event: Mapping[str, Any]) -> str:
    """The integration an attempt calls: "lambda:<function name>" for a Lambda function
    ("lambda:?" where the history does not name it), else "<service>:<action>"."""
    details = _details(event)
    if event["type"] == "LambdaFunctionScheduled":
        return "lambda:" + str(details.get("resource", "?")).rsplit(":", 1)[-1]
    service, action = str(details.get("resourceType", "")), str(details.get("resource", ""))
    return "lambda:?" if service == "lambda" else f"{service}:{action}"


def bill(events: Iterable[Mapping[str, Any]]) -> Bill:
    """The transitions and calls one execution's history bills (see the module's docstring)."""
    by_id = {int(event["id"]): event for event in events}
    found = Bill()
    attempts: Counter[int] = Counter()
    for event_id in sorted(by_id):
        event = by_id[event_id]
        kind = event["type"]
        if kind in ENTERED:
            found.states_entered[_details(event)["name"]] += 1
        elif kind in ATTEMPTS:
            entered = _entered_before(event, by_id)
            attempts[entered] += 1
            if attempts[entered] > 1:
                found.retries[_details(by_id[entered])["name"]] += 1
            found.calls[_call(event)] += 1
        elif kind == "MapIterationStarted":
            found.iterations += 1
        elif kind == "WaitStateExited":
            entered_at = by_id[_entered_before(event, by_id)]["timestamp"]
            found.waited_s += (_time(event["timestamp"]) - _time(entered_at)).total_seconds()
        elif kind not in NOT_BILLED:
            raise UnknownEvent(f"history event {kind} (id {event_id}): is it a step AWS bills?")
    return found


def _entered_before(event: Mapping[str, Any], by_id: Mapping[int, Mapping[str, Any]]) -> int:
    """The id of the `...StateEntered` event whose state this event belongs to,
    found through `previousEventId` (iterations of a Map state interleave, so
    the event just before is not always of the same state). An exit names its
    state: a Map state's exit follows its last iteration's events, so the
    state entered must have that name."""
    name = _details(event).get("name")
    current = event
    while True:
        previous = int(current.get("previousEventId", 0))
        if previous not in by_id:
            raise UnknownEvent(f"event {event['id']} ({event['type']}) follows no state entered")
        current = by_id[previous]
        if current["type"] in ENTERED and name in (None, _details(current)["name"]):
            return previous


def durations_ms(events: Iterable[Mapping[str, Any]]) -> dict[str, list[int]]:
    """Each state's name: how long each of its entries lasted (entered to exited), in ms."""
    by_id = {int(event["id"]): event for event in events}
    found: dict[str, list[int]] = {}
    for event in sorted(by_id.values(), key=lambda e: int(e["id"])):
        if event["type"].endswith("StateExited"):
            entered = by_id[_entered_before(event, by_id)]
            took = _time(event["timestamp"]) - _time(entered["timestamp"])
            found.setdefault(_details(entered)["name"], []).append(round(took.total_seconds() * 1000))
    return found


def _time(value: datetime | str | float) -> datetime:
    """An event's timestamp, as boto3 gives it, as a kept history (JSON) holds it, or
    as the AWS CLI prints it (ISO 8601, or seconds since the epoch)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(value)


COMPACT_DETAILS = ("name", "resourceType", "resource", "error")


def compact(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The history without the states' inputs and outputs (photos' requests,
    detections): the same events, ids and details' names, small enough to keep."""
    kept = []
    for event in events:
        row: dict[str, Any] = {k: event[k] for k in ("id", "previousEventId", "type") if k in event}
        row["timestamp"] = _time(event["timestamp"]).isoformat()
        for key, value in event.items():
            if key.endswith("EventDetails") and isinstance(value, Mapping):
                row[key] = {k: value[k] for k in COMPACT_DETAILS if k in value}
        kept.append(row)
    return kept


def main() -> None:
    """`python -m benchmarks.transitions HISTORY.json ...`: what each history bills and how
    long each state took; a history fetched from AWS works as well
    (`aws stepfunctions get-execution-history --execution-arn ARN > history.json`)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.transitions", description=main.__doc__)
    parser.add_argument("histories", nargs="+", type=Path)
    for path in parser.parse_args().histories:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        events = loaded["events"] if isinstance(loaded, dict) else loaded
        counted = bill(events).summary()
        counted["state_ms"] = {state: statistics.median(ms) for state, ms in durations_ms(events).items()}
        print(f"{path}: {json.dumps(counted)}")


if __name__ == "__main__":
    main()
