"""Waiting for and inspecting workflow executions in the embedded AWS."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

from local.lambda_runtime import Invocation
from local.polybot_stack import REPO_ROOT, PolybotStack
from local.stack import load_template
from local.telegram_standin import SentMessage
from local.trace import StateTrace, trace
from polybot import contracts, naming
from polybot.albums import Added, Albums
from tests.auxil.log_lines import step_functions_lines
from tests.auxil.metric_filters import parse
from tests.auxil.requests import image_request
from tests.auxil.requests import preferences as default_preferences


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


def start_photos(
    stack: PolybotStack,
    chat_id: int,
    images: list[bytes],
    preferences: dict[str, Any] | None = None,
    *,
    album: bool = False,
    not_images: Collection[int] = (),
) -> tuple[str, list[dict[str, Any]]]:
    """Start executions as the bot does once it has the chat's preferences: one per
    photo, or (`album`) one for all of them, each photo added to the album first
    (polybot/albums.py). The photos are in the stand-in; the executions are not
    started through the webhook. The photos at the indexes `not_images` turn out
    not to be images when StageImage fetches them. Returns the name of the last execution started
    (the album's) and the ImageRequests, in message order."""
    assert stack.telegram is not None
    group = f"{chat_id}{len(images)}" if album else None
    requests = []
    for index, image in enumerate(images):
        message = stack.telegram.photo_message(chat_id, image)
        size = message["photo"][-1]
        if index in not_images:
            stack.telegram.add_file(b"%PDF-1.7 not a picture", file_id=size["file_id"])
        requests.append(
            image_request(
                chat_id,
                message["message_id"],
                size["file_id"],
                file_unique_id=size["file_unique_id"],
                file_size=size["file_size"],
                media_group_id=group,
                preferences=preferences or default_preferences(),
            )
        )
    sfn = stack.client("stepfunctions")
    if group is None:
        for request in requests:
            name = naming.execution_name(chat_id, request["message_id"])
            execution_input = contracts.validate("ExecutionInput", {"request": request})
            sfn.start_execution(
                stateMachineArn=stack.settings.state_machine_arn, name=name, input=json.dumps(execution_input)
            )
        return name, requests
    name = naming.album_execution_name(chat_id, group)
    albums = Albums(stack.client("dynamodb"), stack.settings.results_table)
    for request in requests:
        assert albums.add(name, request) is not Added.CLOSED
        execution_input = {"request": request, "album": {"media_group_id": group}}
        # ExecutionAlreadyExists: another photo of the album started it.
        with contextlib.suppress(sfn.exceptions.ExecutionAlreadyExists):
            sfn.start_execution(
                stateMachineArn=stack.settings.state_machine_arn,
                name=name,
                input=json.dumps(contracts.validate("ExecutionInput", execution_input)),
            )
    return name, requests


def results_item(stack: PolybotStack, name: str) -> dict[str, Any]:
    """The results table's item keyed `name`, as DynamoDB returns it ({} if none)."""
    answer = stack.client("dynamodb").get_item(
        TableName=stack.settings.results_table, Key={"image_id": {"S": name}}, ConsistentRead=True
    )
    item: dict[str, Any] = answer.get("Item", {})
    return item


# --- what the alarms would count -------------------------------------------------------


def function_errors(stack: PolybotStack, name: str) -> list[Invocation]:
    """The invocations for the execution (or album photo) `name` that ended in an
    error: each one a data point of Lambda's Errors metric, which
    FunctionErrorsAlarm sums."""
    return [
        invocation
        for invocation in stack.aws.functions.invocations
        if isinstance(invocation.payload, dict)
        and invocation.payload.get("execution_name") == name
        and invocation.error_type is not None
    ]


def metric_filter_counts(stack: PolybotStack, name: str) -> dict[str, int]:
    """What each metric filter of template.yaml on the workflow's log group counts for
    this execution: its history, as the lines Step Functions writes to that log
    group with the template's logging configuration, run through each pattern."""
    template = load_template(REPO_ROOT / "template.yaml")
    resources = template["Resources"]
    logging = resources["ImagePipeline"]["Properties"]["Logging"]
    [destination] = logging["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    sfn = stack.client("stepfunctions")
    arn = stack.execution_arn(name)
    events = [
        e for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn) for e in page["events"]
    ]
    lines = step_functions_lines(events, arn, logging["Level"], logging["IncludeExecutionData"])
    return {
        transformation["MetricName"]: sum(parse(r["Properties"]["FilterPattern"]).matches(line) for line in lines)
        for r in resources.values()
        if r["Type"] == "AWS::Logs::MetricFilter" and r["Properties"]["LogGroupName"] == {"Ref": log_group}
        for transformation in r["Properties"]["MetricTransformations"]
    }
