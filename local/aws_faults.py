"""Failures of AWS itself, injected into the embedded AWS for the fault tests:
throttling and 5xx answers, and slow answers, of S3, SQS, DynamoDB, Step
Functions, Lambda and Secrets Manager, for the next calls of one operation only.

WSGI middleware in front of the embedded AWS. It reads each request's service
(from the credential scope of its signature) and operation (the JSON
protocols' X-Amz-Target, S3's method and path, Lambda's Invoke path) and, when
a fault is due, answers with that service's own error format, so boto3's
retries and the workflow's Retry clauses meet what AWS would send them.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@dataclass
class AwsFault:
    service: str
    """As in the signature's scope: s3, sqs, dynamodb, states, lambda, secretsmanager."""
    operation: str
    """PutObject, ReceiveMessage, PutItem, StartExecution, Invoke, GetSecretValue, ..."""
    status: int = 503
    """0: no error; the call goes through after `delay_s`."""
    code: str = "ServiceUnavailable"
    times: int = 1
    delay_s: float = 0.0
    """Seconds the answer is held back (a slow AWS)."""
    answer_late: bool = False
    """With `delay_s`: the call goes through at once and only its answer is held
    back (AWS acted; the caller may give up before it knows)."""
    skip: int = 0
    """Calls of the operation that go through untouched before the fault's `times`
    begin (the second heartbeat of a task, not its first)."""


@dataclass
class Call:
    service: str
    operation: str
    faulted: bool


def service_and_operation(environ: dict[str, Any]) -> tuple[str, str] | None:
    """A signed AWS request's service (its signature's scope) and operation; None for others."""
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if scope is None:
        return None
    return scope.group(1), _operation(scope.group(1), environ)


def _operation(service: str, environ: dict[str, Any]) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return str(target.rsplit(".", 1)[-1])
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    if service == "lambda" and path.endswith("/invocations"):
        return "Invoke"
    if service == "s3":
        is_object = path.strip("/").count("/") >= 1
        names = {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}
        return names.get(method, method) if is_object else f"{method}Bucket"
    return method


def _error(service: str, fault: AwsFault) -> tuple[str, list[tuple[str, str]], bytes]:
    status = f"{fault.status} {'Bad Request' if fault.status < 500 else 'Service Unavailable'}"
    message = f"injected by the fault tests: {fault.code}"
    if service == "s3":
        body = f"<Error><Code>{fault.code}</Code><Message>{message}</Message></Error>".encode()
        return status, [("Content-Type", "application/xml")], body
    if service == "lambda":
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", fault.code)]
        return status, headers, json.dumps({"Type": "Service", "message": message}).encode()
    prefix = "com.amazonaws.dynamodb.v20120810#" if service == "dynamodb" else ""
    body = json.dumps({"__type": prefix + fault.code, "message": message}).encode()
    return (
        status,
        [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-query-error", f"{fault.code};Sender")],
        body,
    )


class AwsFaults:
    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._faults: list[AwsFault] = []
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self.recording = False

    def inject(self, fault: AwsFault) -> int:
        """The fault's index in `pending()`."""
        with self._lock:
            self._faults.append(fault)
            return len(self._faults) - 1

    def pending(self) -> list[AwsFault]:
        """Every fault injected since the last `clear()`, with the times it has left."""
        with self._lock:
            return [dataclasses.replace(fault) for fault in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self._faults and not self.recording:
            return self._app(environ, start_response)
        found = service_and_operation(environ)
        if found is None:
            return self._app(environ, start_response)
        service, operation = found
        fault = self._due(service, operation)
        if self.recording:
            self.calls.append(Call(service, operation, fault is not None))
        if fault is not None and fault.delay_s and fault.answer_late and not fault.status:
            answer = list(self._app(environ, start_response))
            time.sleep(fault.delay_s)
            return answer
        if fault is not None and fault.delay_s:
            time.sleep(fault.delay_s)
        if fault is None or not fault.status:
            return self._app(environ, start_response)
        status, headers, body = _error(service, fault)
        # AWS names every answer, errors included; SDKs (and Step Functions) read it.
        request_id = str(uuid.uuid4())
        ids = [("x-amzn-RequestId", request_id), ("x-amz-request-id", request_id)]
        start_response(status, [*headers, *ids, ("Content-Length", str(len(body)))])
        return [body]

    def _due(self, service: str, operation: str) -> AwsFault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.service == service and fault.operation == operation:
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.times -= 1
                    return fault
        return None
