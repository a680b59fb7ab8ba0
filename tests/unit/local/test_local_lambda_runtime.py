from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.test import Client

from local.lambda_runtime import LambdaContext, LambdaRuntime
from polybot.errors import NotAnImage

ARN = "arn:aws:lambda:us-east-1:123456789012:function:polybot-stageimagefunction"


def behind(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The app LambdaRuntime sits in front of (moto's server in real use)."""
    start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
    return [f"behind {environ['REQUEST_METHOD']} {environ['PATH_INFO']}".encode()]


def invoke_path(function: str) -> str:
    return f"/2015-03-31/functions/{quote(function, safe='')}/invocations"


@pytest.fixture
def runtime() -> LambdaRuntime:
    return LambdaRuntime(behind)


@pytest.fixture
def client(runtime: LambdaRuntime) -> Client:
    return Client(runtime)


def echo(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {
        "got": event,
        "function": context.function_name,
        "has_time_left": context.get_remaining_time_in_millis() > 0,
    }


def refuse(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raise NotAnImage("the file is empty")


@pytest.mark.parametrize("function", [ARN, ARN + ":$LATEST", "polybot-stageimagefunction"])
def test_invoking_a_registered_function_returns_its_result(
    runtime: LambdaRuntime, client: Client, function: str
) -> None:
    runtime.register("polybot-stageimagefunction", echo, timeout_s=60)

    response = client.post(invoke_path(function), data=json.dumps({"request": {"chat_id": 1}}))

    assert response.status_code == 200
    assert "X-Amz-Function-Error" not in response.headers
    assert response.headers["Content-Type"] == "application/json"
    assert response.json == {
        "got": {"request": {"chat_id": 1}},
        "function": "polybot-stageimagefunction",
        "has_time_left": True,
    }
    [invocation] = runtime.invocations
    assert (invocation.function_name, invocation.payload, invocation.error_type) == (
        "polybot-stageimagefunction",
        {"request": {"chat_id": 1}},
        None,
    )


def test_an_empty_payload_is_an_empty_event(runtime: LambdaRuntime, client: Client) -> None:
    runtime.register("polybot-stageimagefunction", echo)

    response = client.post(invoke_path(ARN))

    assert response.json["got"] == {}


def test_a_raising_handler_is_an_unhandled_error_named_by_its_class(runtime: LambdaRuntime, client: Client) -> None:
    runtime.register("polybot-stageimagefunction", refuse)

    response = client.post(invoke_path(ARN), data="{}")

    assert response.status_code == 200
    assert response.headers["X-Amz-Function-Error"] == "Unhandled"
    body = response.json
    assert body["errorType"] == "NotAnImage"
    assert body["errorMessage"] == "the file is empty"
    assert body["stackTrace"]
    assert runtime.invocations[-1].error_type == "NotAnImage"


def test_context_reports_the_time_left_within_the_timeout(runtime: LambdaRuntime) -> None:
    seen: list[int] = []
    runtime.register("f", lambda event, context: seen.append(context.get_remaining_time_in_millis()), timeout_s=3)

    runtime.invoke("f", {})

    assert 0 < seen[0] <= 3000


def test_a_handler_running_past_its_timeout_is_answered_as_lambda_does(runtime: LambdaRuntime) -> None:
    release = threading.Event()
    runtime.register("slow", lambda event, context: release.wait(30), timeout_s=1)

    started = time.monotonic()
    headers, body = runtime.invoke("slow", {})
    waited = time.monotonic() - started
    release.set()

    assert ("X-Amz-Function-Error", "Unhandled") in headers
    assert json.loads(body) == {"errorMessage": "Task timed out after 1.00 seconds", "errorType": "Sandbox.Timedout"}
    assert 1 <= waited < 5
    assert runtime.invocations[-1].error_type == "Sandbox.Timedout"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", invoke_path(ARN.replace("polybot-stageimagefunction", "not-registered"))),
        ("GET", invoke_path(ARN)),
        ("POST", "/2015-03-31/functions/polybot-stageimagefunction"),
        ("POST", "/"),
    ],
    ids=["unregistered", "get", "not-invocations", "other"],
)
def test_every_other_request_reaches_the_app_behind(
    runtime: LambdaRuntime, client: Client, method: str, path: str
) -> None:
    runtime.register("polybot-stageimagefunction", echo)

    response = client.open(path, method=method, data="{}")

    assert response.status_code == 418
    assert response.get_data(as_text=True).startswith(f"behind {method} ")
    assert runtime.invocations == []
