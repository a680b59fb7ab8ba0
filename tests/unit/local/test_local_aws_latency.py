"""The network's latency in front of the embedded AWS (local/aws_latency.py),
driven through the control API as the bench drives it: a call of an operation
given a latency waits at least that long before AWS answers it, other
operations do not wait, and calls that wait at the same time overlap instead
of queueing behind one another (counted, never timed)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.test import Client

from local.aws_faults import AwsFaults
from local.aws_latency import NetworkLatency
from local.aws_server import ControlApi
from local.lambda_runtime import LambdaRuntime


def aws(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Stands for moto."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"moto"]


def signed(service: str) -> dict[str, str]:
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20261205/us-east-1/{service}/aws4_request"}


def server(sleep: Callable[[float], None] = time.sleep) -> tuple[Client, NetworkLatency]:
    """The control API, the network, the faults, then "moto": as local/aws_server.py wires them."""
    runtime = LambdaRuntime(aws)
    faults = AwsFaults(runtime)
    latency = NetworkLatency(faults, sleep)
    return Client(ControlApi(latency, runtime, faults, lambda: "http://127.0.0.1:1", latency)), latency


def test_a_call_waits_at_least_its_operations_latency_and_others_do_not_wait() -> None:
    slept: list[float] = []
    client, _ = server(slept.append)
    client.put("/_local/latency", json={"latency_ms": {"s3:GetObject": 150, "states:SendTaskSuccess": 40}})

    got = client.get("/images/originals/1.jpg", headers=signed("s3"))
    client.put("/images/annotated/1.jpg", headers=signed("s3"), data=b"jpeg")
    client.post("/", headers={**signed("states"), "X-Amz-Target": "AWSStepFunctions.SendTaskSuccess"})
    client.post("/", headers={**signed("sqs"), "X-Amz-Target": "AmazonSQS.ReceiveMessage"})
    client.get("/_local/latency")  # the control API itself is never held back

    assert got.data == b"moto", "after the wait, AWS answers"
    assert slept == [0.15, 0.04]
    assert client.get("/_local/latency").get_json()["delayed"] == {"s3:GetObject": 1, "states:SendTaskSuccess": 1}


def test_the_wait_is_real_time() -> None:
    client, _ = server()
    client.put("/_local/latency", json={"latency_ms": {"sqs:DeleteMessage": 30}})
    started = time.monotonic()
    client.post("/", headers={**signed("sqs"), "X-Amz-Target": "AmazonSQS.DeleteMessage"})

    assert time.monotonic() - started >= 0.03


def test_calls_waiting_at_the_same_time_overlap() -> None:
    # Each call's wait ends only once all of them wait: calls held back one after
    # another (a lock around the wait, one thread for every request) never get there.
    calls = 6
    everyone_waits = threading.Barrier(calls, timeout=10)

    def wait(_: float) -> None:
        everyone_waits.wait()

    client, _ = server(wait)
    client.put("/_local/latency", json={"latency_ms": {"s3:GetObject": 150}})
    answers: list[bytes] = []

    def download() -> None:
        answers.append(client.get("/images/originals/1.jpg", headers=signed("s3")).data)

    threads = [threading.Thread(target=download) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert answers == [b"moto"] * calls
    assert client.get("/_local/latency").get_json()["peak_waiting"] == calls


def test_setting_no_latency_ends_the_waits_and_restarts_the_counts() -> None:
    slept: list[float] = []
    client, _ = server(slept.append)
    client.put("/_local/latency", json={"latency_ms": {"s3:GetObject": 150}})
    client.get("/images/originals/1.jpg", headers=signed("s3"))
    state = client.put("/_local/latency", json={"latency_ms": {}}).get_json()
    client.get("/images/originals/1.jpg", headers=signed("s3"))

    assert slept == [0.15]
    assert state == {"latency_ms": {}, "peak_waiting": 0, "delayed": {}}
