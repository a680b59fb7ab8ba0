"""An execution's state-by-state trace, as the Step Functions console shows it:
each state entered, how long it took, how many attempts (retries + 1), and
the error of a failed attempt. Pure: turns GetExecutionHistory events into rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_SCHEDULED = {"TaskScheduled", "LambdaFunctionScheduled"}
_FAILED = {"TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut"}


@dataclass
class StateTrace:
    name: str
    entered: datetime
    exited: datetime | None = None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def duration_ms(self) -> int | None:
        if self.exited is None:
            return None
        return int((self.exited - self.entered).total_seconds() * 1000)

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)


def _details(event: dict[str, Any], suffix: str) -> dict[str, Any]:
    for key, value in event.items():
        if key.lower().endswith(suffix.lower()) and isinstance(value, dict):
            return value
    return {}


def trace(events: Iterable[dict[str, Any]]) -> list[StateTrace]:
    rows: list[StateTrace] = []
    for event in sorted(events, key=lambda e: e["id"]):
        kind = event["type"]
        if kind.endswith("StateEntered"):
            rows.append(StateTrace(_details(event, "StateEnteredEventDetails")["name"], event["timestamp"]))
        elif not rows:
            continue
        elif kind.endswith("StateExited"):
            rows[-1].exited = event["timestamp"]
        elif kind in _SCHEDULED:
            rows[-1].attempts += 1
        elif kind in _FAILED:
            details = _details(event, "EventDetails")
            rows[-1].errors.append(str(details.get("error", kind)))
        elif kind == "ExecutionFailed" and rows[-1].exited is None:
            rows[-1].exited = event["timestamp"]
            rows[-1].errors.append(str(_details(event, "EventDetails").get("error", "failed")))
    return rows


def format_trace(rows: list[StateTrace]) -> str:
    lines = [f"    {'state':<16}{'duration':>10}  {'retries':>7}  errors"]
    for row in rows:
        duration = "-" if row.duration_ms is None else f"{row.duration_ms} ms"
        lines.append(f"    {row.name:<16}{duration:>10}  {row.retries:>7}  {', '.join(row.errors) or '-'}")
    return "\n".join(lines)
