"""The embedded AWS's control API (local/aws_server.py), driven through WSGI as
its parent process drives it over HTTP: functions registered by handler name,
their invocations listed, faults injected, counted down and cleared."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from werkzeug.test import Client

from local.aws_faults import AwsFaults
from local.aws_server import ControlApi
from local.lambda_runtime import LambdaRuntime


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A handler the tests register by name, as the template names handlers."""
    return {"echo": event, "function": context.function_name}


def aws(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Stands for moto: every request that is not the control API's or an invocation."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"moto"]


@pytest.fixture
def client() -> Client:
    runtime = LambdaRuntime(aws)
    faults = AwsFaults(runtime)
    return Client(ControlApi(faults, runtime, faults, lambda: "http://127.0.0.1:1"))


def test_a_function_registered_by_its_handler_name_is_invoked_and_listed(client: Client) -> None:
    registered = client.post(
        "/_local/functions",
        json={"name": "polybot-echo", "handler": f"{__name__}.echo", "timeout_s": 3},
    )
    invoked = client.post("/2015-03-31/functions/polybot-echo/invocations", data=json.dumps({"photo": 1}))
    listed = client.get("/_local/functions/invocations").get_json()

    assert registered.status_code == 200
    assert json.loads(invoked.data) == {"echo": {"photo": 1}, "function": "polybot-echo"}
    assert listed == [{"function_name": "polybot-echo", "payload": {"photo": 1}, "error_type": None}]


def test_a_handler_name_that_does_not_import_is_refused_with_the_reason(client: Client) -> None:
    answer = client.post("/_local/functions", json={"name": "x", "handler": f"{__name__}.missing", "timeout_s": 3})

    assert answer.status_code == 400
    assert "AttributeError" in answer.get_json()["error"]


def test_faults_are_counted_down_as_calls_meet_them_and_cleared(client: Client) -> None:
    fault = {"service": "s3", "operation": "GetObject", "status": 503, "code": "SlowDown", "times": 2}
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261205/us-east-1/s3/aws4_request"}

    index = client.post("/_local/faults", json=fault).get_json()["index"]
    failed = client.get("/images/originals/a.jpg", headers=signed)
    left = client.get("/_local/faults").get_json()[index]["times"]
    client.delete("/_local/faults")
    served = client.get("/images/originals/a.jpg", headers=signed)

    assert (failed.status_code, b"<Code>SlowDown</Code>" in failed.data) == (503, True)
    assert left == 1
    assert client.get("/_local/faults").get_json() == []
    assert served.data == b"moto"


def test_a_fault_may_let_the_first_calls_through(client: Client) -> None:
    fault = {"service": "s3", "operation": "GetObject", "status": 503, "code": "SlowDown", "times": 1, "skip": 2}
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261205/us-east-1/s3/aws4_request"}

    client.post("/_local/faults", json=fault)
    statuses = [client.get("/images/originals/a.jpg", headers=signed).status_code for _ in range(4)]

    assert statuses == [200, 200, 503, 200]


def test_an_unknown_control_request_is_404_and_other_paths_go_to_aws(client: Client) -> None:
    assert client.get("/_local/nothing").status_code == 404
    assert client.get("/some-bucket").data == b"moto"
