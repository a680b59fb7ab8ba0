"""The Lambda Invoke API for the embedded AWS, running handlers in its process.

moto keeps Lambda functions as metadata and can only run their code in
Docker, which local machines may not have. `LambdaRuntime` is WSGI middleware
in front of moto's server: `POST /2015-03-31/functions/<name>/invocations`
for a registered function calls its Python handler in this process and
answers as Lambda does (the result, or `X-Amz-Function-Error: Unhandled` with
`errorType` set to the exception's class name, which is the error name Step
Functions sees); every other request goes to moto unchanged.

The function's `Timeout` holds as on Lambda: a handler still running when it
passes is answered `Sandbox.Timedout`. (Lambda then freezes the sandbox; here
the handler's thread runs on in the background and its result is dropped.)
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

TIMED_OUT = "Sandbox.Timedout"
"""The error Lambda reports for a function that ran past its Timeout."""

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations$")


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers may read."""

    function_name: str
    aws_request_id: str
    timeout_s: int
    started: float

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_s - time.monotonic()) * 1000))


@dataclass
class Invocation:
    function_name: str
    payload: Any
    error_type: str | None


class LambdaRuntime:
    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._functions: dict[str, tuple[Handler, int]] = {}
        self.invocations: list[Invocation] = []

    def register(self, function_name: str, handler: Handler, timeout_s: int = 30) -> None:
        self._functions[function_name] = (handler, timeout_s)

    def add_function(self, function_name: str, handler: str, timeout_s: int) -> None:
        """A function whose handler is named as Lambda names it: `package.module.function`."""
        module_name, _, attribute = handler.rpartition(".")
        self.register(function_name, getattr(importlib.import_module(module_name), attribute), timeout_s)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = _INVOKE.match(environ.get("PATH_INFO", ""))
        name = _function_name(unquote(match.group("function"))) if match else ""
        if environ.get("REQUEST_METHOD") != "POST" or name not in self._functions:
            return self._app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        payload = json.loads(environ["wsgi.input"].read(length) or b"{}")
        status_headers, body = self.invoke(name, payload)
        start_response("200 OK", [("Content-Type", "application/json"), *status_headers])
        return [body]

    def invoke(self, name: str, payload: Any) -> tuple[list[tuple[str, str]], bytes]:
        handler, timeout_s = self._functions[name]
        context = LambdaContext(name, str(uuid.uuid4()), timeout_s, time.monotonic())
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["result"] = handler(payload, context)
            except Exception as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=run, name=f"lambda-{name}", daemon=True)
        thread.start()
        thread.join(timeout_s)
        if thread.is_alive():
            self.invocations.append(Invocation(name, payload, TIMED_OUT))
            timed_out = {"errorMessage": f"Task timed out after {timeout_s:.2f} seconds", "errorType": TIMED_OUT}
            return [("X-Amz-Function-Error", "Unhandled")], json.dumps(timed_out).encode()
        if "error" in outcome:
            exc = outcome["error"]
            self.invocations.append(Invocation(name, payload, type(exc).__name__))
            error: dict[str, Any] = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
            return [("X-Amz-Function-Error", "Unhandled")], json.dumps(error).encode()
        self.invocations.append(Invocation(name, payload, None))
        return [], json.dumps(outcome["result"]).encode()


def _function_name(name_or_arn: str) -> str:
    # arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":")[6]
    return name_or_arn
