"""`python -m local.aws_server`: AWS on this machine, in a process of its own.

A moto server with real Step Functions execution turned on, the Lambda Invoke
API served by `LambdaRuntime` (the functions' Python handlers run here, as on
Lambda they run apart from the bot and the workers), and `AwsFaults` in front
for the fault tests. `local/embedded_aws.py` starts it and drives it.

Why a process of its own: sharing one interpreter (and its GIL) with the bot,
the worker, the Telegram stand-in and the tests, the emulator's accept loop fell
behind under a burst and its listen queue overflowed (issue 15); here it has a
core's worth of Python to itself.

Besides AWS's own APIs it answers a small control API under `/_local/`, which
only the parent process uses:

- `POST /_local/functions` `{"name", "handler", "timeout_s"}`: a function of the
  template, its handler named as Lambda names it (`module.function`).
- `PUT /_local/functions/settings` `{"environment": {...}}`: the functions'
  environment as the template resolves it; the functions are configured with
  the `Settings` it makes (`functions.services.install`).
- `GET /_local/functions/invocations`: every invocation so far.
- `GET /_local/functions/budgets`: the call budgets the functions hold, as the
  libraries keep them (tests/faults check them against tests/unit/test_timeouts.py).
- `POST /_local/faults` (an `AwsFault`'s fields: answers its index) / `GET
  /_local/faults` (each with the times it has left) / `DELETE /_local/faults`.
- `PUT /_local/latency` `{"latency_ms": {"s3:GetObject": 150, ...}}`: the
  network's latency per call from now on (`NetworkLatency`; `{}`: none) / `GET
  /_local/latency`: those latencies, the calls held back and the most that
  waited at once.

Once listening it prints `listening on <port>` as its one line of standard
output; logs go to standard error. It exits when its parent does.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from werkzeug.serving import make_server

from local.aws_faults import AwsFault, AwsFaults
from local.aws_latency import NetworkLatency
from local.embedded_aws import CONTROL_PREFIX, CREDENTIALS, READY_LINE
from local.lambda_runtime import LambdaRuntime
from polybot import logs
from polybot.settings import Settings

PARENT_CHECK_S = 1.0

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _PresenceTestsAreNotErrors(logging.Filter):
    """moto's interpreter evaluates a Choice's `IsPresent` by trying the path and
    logs the miss at ERROR, though the state works as on AWS (IsAlbum does it for
    every single photo); every other error it logs still shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "NoSuchJsonPathError" not in record.getMessage()


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves which host.

    moto finds a request's backend by listing its package directory and
    stat-ing each of its ~200 entries, then trying its URL patterns, for every
    request and under one lock that all requests share: measured, a third of
    the emulator's time per S3 call, and every concurrent call waits on it.
    The answer depends only on the host, so each host's is looked up once."""

    def __init__(self, create_app: Any) -> None:
        super().__init__(create_app)
        self._backend_of: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backend_of:
            self._backend_of[host] = super().get_backend_for_host(host)
        return self._backend_of[host]


@functools.lru_cache(maxsize=8)
def _parse_tree(definition: str) -> Any:
    _, tree = AmazonStateLanguageParser.parse(definition)
    return tree


def _evaluation_entrypoint(worker: ExecutionWorker) -> Any:
    """moto parses the state machine's ASL anew for every execution, with a pure-Python
    ANTLR parser: measured, 175 ms of CPU per execution of this workflow, the
    emulator's largest cost under a burst. The parse tree depends only on the
    definition and is only read; each execution still gets its own evaluation
    components (27 ms), as in moto."""
    definition = worker._evaluation_details.state_machine_details.definition
    return Preprocessor().visit(_parse_tree(definition))


ExecutionWorker._get_evaluation_entrypoint = _evaluation_entrypoint  # type: ignore[method-assign,assignment]

_DYNAMODB = threading.Lock()
"""DynamoDB applies each request to an item atomically; moto reads the item (its
request handler once more, for ReturnValues ALL_OLD), checks the condition and
writes it back with no lock, so two of this threaded server's requests could
both read the item as it was: an album's photos added at once were each told
they were the first, and the last to create the item dropped the others'
photos (tests/unit/local/test_local_aws_server_items.py). So this server
answers one DynamoDB request at a time: each is in memory and short."""

_answer_dynamodb = DynamoHandler.call_action


def _one_request_at_a_time(handler: DynamoHandler) -> Any:
    with _DYNAMODB:
        return _answer_dynamodb(handler)


DynamoHandler.call_action = _one_request_at_a_time  # type: ignore[method-assign]


def configure_functions(environment: dict[str, str], endpoint_url: str) -> None:
    """The functions' settings, from the environment the template gives them, with
    this server as their AWS (the template leaves the endpoint empty, as on AWS)."""
    from functions import services

    services.install(Settings.from_env(environment, aws_endpoint_url=endpoint_url))


def budgets_in_force() -> dict[str, Any]:
    """The call budgets the running functions hold, as the libraries keep them (not
    what was asked for): their AWS clients' and telebot's timeouts and retries."""
    from telebot import apihelper

    from functions import services

    wired = services.current()
    clients = {}
    for name, client in (("s3", wired.s3), ("dynamodb", wired.dynamodb)):
        config: Any = client.meta.config  # botocore's Config keeps its options as dynamic attributes
        clients[name] = {
            "connect_timeout_s": config.connect_timeout,
            "read_timeout_s": config.read_timeout,
            "attempts": (config.retries or {}).get("total_max_attempts"),
        }
    return {
        "aws": clients,
        "telegram": {
            "connect_timeout_s": apihelper.CONNECT_TIMEOUT,
            "read_timeout_s": apihelper.READ_TIMEOUT,
            "retry_on_error": apihelper.RETRY_ON_ERROR,
        },
        "settings": {
            "telegram_connect_timeout_s": wired.settings.telegram_connect_timeout_s,
            "telegram_read_timeout_s": wired.settings.telegram_read_timeout_s,
        },
    }


class ControlApi:
    """The `/_local/` requests; every other request goes on to AWS."""

    def __init__(
        self,
        app: WsgiApp,
        runtime: LambdaRuntime,
        faults: AwsFaults,
        endpoint_url: Callable[[], str],
        latency: NetworkLatency | None = None,
    ):
        self._app = app
        self._runtime = runtime
        self._faults = faults
        self._endpoint_url = endpoint_url
        self._latency = latency if latency is not None else NetworkLatency(app)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if not path.startswith(CONTROL_PREFIX):
            return self._app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"null")
        try:
            answer = self._answer(method, path.removeprefix(CONTROL_PREFIX), body)
        except LookupError as exc:
            return _respond(start_response, "404 Not Found", {"error": str(exc)})
        except Exception as exc:
            return _respond(start_response, "400 Bad Request", {"error": f"{type(exc).__name__}: {exc}"})
        return _respond(start_response, "200 OK", answer)

    def _answer(self, method: str, route: str, body: Any) -> Any:
        if (method, route) == ("POST", "functions"):
            self._runtime.add_function(body["name"], body["handler"], int(body["timeout_s"]))
            return {"registered": body["name"]}
        if (method, route) == ("PUT", "functions/settings"):
            configure_functions(dict(body["environment"]), self._endpoint_url())
            return {"configured": True}
        if (method, route) == ("GET", "functions/budgets"):
            return budgets_in_force()
        if (method, route) == ("GET", "functions/invocations"):
            return [dataclasses.asdict(invocation) for invocation in self._runtime.invocations]
        if (method, route) == ("POST", "faults"):
            return {"index": self._faults.inject(AwsFault(**body))}
        if (method, route) == ("GET", "faults"):
            return [dataclasses.asdict(fault) for fault in self._faults.pending()]
        if (method, route) == ("DELETE", "faults"):
            self._faults.clear()
            return {"cleared": True}
        if (method, route) == ("PUT", "latency"):
            self._latency.set(dict(body["latency_ms"]))
            return self._latency.state()
        if (method, route) == ("GET", "latency"):
            return self._latency.state()
        raise LookupError(f"{method} {CONTROL_PREFIX}{route}")


def _respond(start_response: Callable[..., Any], status: str, answer: Any) -> list[bytes]:
    body = json.dumps(answer, default=str).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _exit_with_parent(parent: int) -> None:
    """A test run killed mid-way must not leave its AWS behind."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.aws_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help='address to listen on ("0.0.0.0": containers too)')
    parser.add_argument("--port", type=int, default=0, help="port (0: any free one)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--parent", type=int, default=0, help="exit when this process is gone")
    args = parser.parse_args(argv)
    logs.configure("aws", args.log_level)
    logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").addFilter(_PresenceTestsAreNotErrors())
    runtime = LambdaRuntime(_Dispatcher(create_backend_app))
    faults = AwsFaults(runtime)
    # The network first, then AWS's own failures: a fault's answer comes over the same wire.
    latency = NetworkLatency(faults)
    server_port: list[int] = []
    app = ControlApi(latency, runtime, faults, lambda: f"http://127.0.0.1:{server_port[0]}", latency)
    # One thread per request: a call held back by the network's latency holds back no other.
    server = make_server(args.host, args.port, app, threaded=True)
    server_port.append(int(server.server_port))
    # moto's Step Functions interpreter calls the services back on this port;
    # the handlers' boto3 clients (credentials) are this process's too.
    os.environ.update({"MOTO_PORT": str(server.server_port), **CREDENTIALS})
    if args.parent:
        threading.Thread(target=_exit_with_parent, args=(args.parent,), name="parent-watch", daemon=True).start()
    print(f"{READY_LINE}{server.server_port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
