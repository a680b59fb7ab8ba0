"""The longest an execution of the workflow may legitimately run, read from the
ASL itself: every path from StartAt to an end, each Task at its worst (every
attempt its Retry allows, each lasting up to the task's TimeoutSeconds, plus the
Retry's backoff at its longest), each Wait at the longest its source allows,
and each loop (a Wait that leads back to a task: Telegram's 429, an album's
gathering window) as often as the code that feeds it allows.

Used by tests/unit/test_timeouts.py: the state machine's own TimeoutSeconds
must be longer than this, or an execution the nested limits still allow would
be cut off as timed out, and the ExecutionsTimedOut alarm would page for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_INTERVAL_S = 1
DEFAULT_BACKOFF_RATE = 2.0


class UnboundedWorkflow(AssertionError):
    """Some path of the workflow has no upper bound (a task without TimeoutSeconds,
    a Wait nobody bounds, a loop that passes no Wait)."""


def retry_backoff_s(retrier: Mapping[str, Any]) -> float:
    """The longest a Retry's waits add up to (a FULL jitter only shortens them)."""
    interval = retrier.get("IntervalSeconds", DEFAULT_INTERVAL_S)
    rate = retrier.get("BackoffRate", DEFAULT_BACKOFF_RATE)
    cap = retrier.get("MaxDelaySeconds", math.inf)
    return float(sum(min(interval * rate**k, cap) for k in range(retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS))))


def task_worst_s(name: str, state: Mapping[str, Any]) -> float:
    """A Task at its worst: the first attempt and every retry each run to its
    TimeoutSeconds (each Retry counts its attempts apart, so all may be spent),
    with every backoff at its longest."""
    if "TimeoutSeconds" not in state:
        raise UnboundedWorkflow(f"{name} has no TimeoutSeconds: a Standard workflow's task may then run for a year")
    retriers = state.get("Retry", [])
    attempts = 1 + sum(r.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS) for r in retriers)
    return attempts * float(state["TimeoutSeconds"]) + sum(retry_backoff_s(r) for r in retriers)


@dataclass(frozen=True)
class WaitBound:
    """How long a Wait state with a SecondsPath waits at most, and which loop budget
    each pass through it spends (None: it is no loop)."""

    seconds: float
    budget: str | None = None


@dataclass(frozen=True)
class Bounds:
    """What the ASL does not say itself: the Waits' longest waits (by SecondsPath),
    how many passes each loop budget allows in one execution, and how many items
    a Map may get (by ItemsPath)."""

    waits: Mapping[str, WaitBound]
    budgets: Mapping[str, int] = field(default_factory=dict)
    map_items: Mapping[str, int] = field(default_factory=dict)


def longest_s(states: Mapping[str, Any], start: str, bounds: Bounds) -> float:
    """The longest path from `start` to an end state, in seconds."""

    def successors(state: Mapping[str, Any]) -> list[str]:
        found = [state[key] for key in ("Next", "Default") if key in state]
        found += [choice["Next"] for choice in state.get("Choices", [])]
        found += [catcher["Next"] for catcher in state.get("Catch", [])]
        return found

    def cost(name: str) -> float:
        state = states[name]
        kind = state["Type"]
        if kind == "Task":
            return task_worst_s(name, state)
        if kind == "Wait":
            if "Seconds" in state:
                return float(state["Seconds"])
            return wait_bound(name).seconds
        if kind == "Map":
            processor = state.get("ItemProcessor") or state["Iterator"]
            if state["ItemsPath"] not in bounds.map_items:
                raise UnboundedWorkflow(f"{name}: no bound on the items at {state['ItemsPath']}")
            items = bounds.map_items[state["ItemsPath"]]
            concurrency = state.get("MaxConcurrency", 0) or items
            one = longest_s(processor["States"], processor["StartAt"], bounds)
            return math.ceil(items / concurrency) * one
        if kind in ("Choice", "Pass", "Succeed", "Fail"):
            return 0.0
        raise UnboundedWorkflow(f"{name}: no bound for a {kind} state")

    def wait_bound(name: str) -> WaitBound:
        path = states[name].get("SecondsPath")
        if path not in bounds.waits:
            raise UnboundedWorkflow(f"{name}: nothing bounds the wait at {path}")
        return bounds.waits[path]

    budget_names = sorted(bounds.budgets)

    @cache
    def longest_from(name: str, left: tuple[int, ...], since_wait: frozenset[str]) -> float:
        if name in since_wait:
            raise UnboundedWorkflow(f"a loop through {name} passes no Wait that bounds it")
        state = states[name]
        passed = since_wait | {name}
        if state["Type"] == "Wait" and "SecondsPath" in state and wait_bound(name).budget is not None:
            budget = budget_names.index(str(wait_bound(name).budget))
            if left[budget] == 0:
                # The code feeding this loop stops asking for it (the failure path instead).
                return -math.inf
            left = (*left[:budget], left[budget] - 1, *left[budget + 1 :])
            passed = frozenset()
        following = [longest_from(successor, left, passed) for successor in successors(state)]
        return cost(name) + max(following, default=0.0)

    worst = longest_from(start, tuple(bounds.budgets[b] for b in budget_names), frozenset())
    if worst == -math.inf:
        raise UnboundedWorkflow(f"no path from {start} ends")
    return worst
