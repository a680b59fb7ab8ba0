"""Waiting for and inspecting workflow executions in the embedded AWS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from local.polybot_stack import PolybotStack
from local.telegram_standin import SentMessage
from local.trace import StateTrace, trace
from polybot import naming


def wait_for_execution(stack: PolybotStack, name: str, timeout_s: float = 120) -> dict[str, Any]:
    """The execution's description once it has stopped running."""
    execution = stack.wait_for_execution(name, timeout_s)
    if execution["status"] in ("RUNNING", "NOT_STARTED"):
        raise TimeoutError(f"execution {name} still {execution['status']} after {timeout_s} s")
    return execution


def wait_for_state(stack: PolybotStack, name: str, state: str, timeout_s: float = 30) -> None:
    """Until the execution has entered `state`."""
    deadline = time.monotonic() + timeout_s
    while not any(row.name == state for row in execution_trace(stack, name, missing_ok=True)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {name} did not reach {state} in {timeout_s} s")
        time.sleep(0.1)


def execution_trace(stack: PolybotStack, name: str, missing_ok: bool = False) -> list[StateTrace]:
    sfn = stack.client("stepfunctions")
    try:
        events = sfn.get_execution_history(executionArn=stack.execution_arn(name), maxResults=1000)["events"]
    except sfn.exceptions.ExecutionDoesNotExist:
        if missing_ok:
            return []
        raise
    return trace(events)


def executions_named(stack: PolybotStack, name: str) -> int:
    pages = (
        stack.client("stepfunctions")
        .get_paginator("list_executions")
        .paginate(stateMachineArn=stack.settings.state_machine_arn)
    )
    return sum(1 for page in pages for e in page["executions"] if e["name"] == name)


@contextmanager
def photo_waiting_for_a_worker(stack: PolybotStack, chat_id: int, photo: bytes) -> Iterator[tuple[int, str]]:
    """Sends `photo` with the worker stopped and yields (message id, execution
    name) once its task waits in the queue; the worker starts again after."""
    assert stack.telegram is not None
    stack.stop_worker()
    try:
        message_id = int(stack.telegram.user_sends_photo(chat_id, photo)["message_id"])
        name = naming.execution_name(chat_id, message_id)
        wait_for_state(stack, name, "DetectObjects")
        yield message_id, name
    finally:
        stack.start_worker()


def only_reply(stack: PolybotStack, chat_id: int, message_id: int, timeout_s: float = 120) -> SentMessage:
    """The reply, after checking the execution (if any) has ended and it is the only one."""
    assert stack.telegram is not None
    reply = stack.telegram.wait_for_reply(chat_id, message_id, timeout=timeout_s)
    wait_for_execution(stack, naming.execution_name(chat_id, message_id))
    replies = stack.telegram.replies_to(chat_id, message_id)
    assert len(replies) == 1, replies
    return reply
