"""AWS on this machine, for the local stack, the tests and the bench: starts
`python -m local.aws_server` (moto with real Step Functions execution, the
functions' handlers behind the Lambda Invoke API, fault injection) in a
process of its own and drives it.

`start()` points this process's AWS clients at it: it sets the standard
variables boto3 reads (AWS_ENDPOINT_URL, fake credentials, region). `functions`
registers the template's functions there and configures them; `faults` makes
chosen calls fail as AWS can (local/aws_faults.py), for the fault tests;
`latency` holds calls back as a network to AWS would (local/aws_latency.py).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from local.aws_faults import AwsFault
from local.lambda_runtime import Invocation

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}
"""What the embedded AWS accepts (any keys), and its region: the server's own
environment (its functions' clients) and the one `start()` gives this process."""
CONTROL_PREFIX = "/_local/"
"""The server's control API (local/aws_server.py)."""
READY_LINE = "listening on "
"""What the server prints, with its port, once it listens."""
REPO_ROOT = Path(__file__).resolve().parents[1]
SERVER = [sys.executable, "-m", "local.aws_server"]
START_TIMEOUT_S = 60.0
CONTROL_TIMEOUT_S = 30.0


class _Control:
    """Requests to the server's `/_local/` control API."""

    def __init__(self, aws: EmbeddedAws) -> None:
        self._aws = aws

    def _call(self, method: str, route: str, body: Any = None) -> Any:
        response = requests.request(
            method, f"{self._aws.endpoint_url}{CONTROL_PREFIX}{route}", json=body, timeout=CONTROL_TIMEOUT_S
        )
        if not response.ok:
            raise RuntimeError(f"embedded AWS: {method} {route}: {response.status_code} {response.text}")
        return response.json()


class Functions(_Control):
    """The Lambda functions the embedded AWS runs (`local.stack.FunctionHost`)."""

    def add_function(self, name: str, handler: str, timeout_s: int) -> None:
        self._call("POST", "functions", {"name": name, "handler": handler, "timeout_s": timeout_s})

    def configure(self, environment: dict[str, str]) -> None:
        """The functions' environment, as the template resolves it."""
        self._call("PUT", "functions/settings", {"environment": environment})

    def budgets_in_force(self) -> dict[str, Any]:
        """The AWS clients' and telebot's timeouts the running functions hold."""
        answer: dict[str, Any] = self._call("GET", "functions/budgets")
        return answer

    @property
    def invocations(self) -> list[Invocation]:
        return [Invocation(**item) for item in self._call("GET", "functions/invocations")]


@dataclass
class InjectedFault:
    """A fault the embedded AWS holds, by its place in the server's list."""

    faults: Faults
    index: int

    def times_left(self) -> int:
        """How many of the calls it was to fail are still to come."""
        left: int = self.faults._call("GET", "faults")[self.index]["times"]
        return left


class Faults(_Control):
    """Failures of AWS itself, for the next calls of one operation."""

    def inject(self, fault: AwsFault) -> InjectedFault:
        index: int = self._call("POST", "faults", dataclasses.asdict(fault))["index"]
        return InjectedFault(self, index)

    def clear(self) -> None:
        self._call("DELETE", "faults")


class Latency(_Control):
    """The network's latency per call (`service:operation` -> ms), as on AWS (local/aws_latency.py)."""

    def set(self, latency_ms: dict[str, float]) -> dict[str, Any]:
        """From now on; `{}`: none. Counts restart."""
        state: dict[str, Any] = self._call("PUT", "latency", {"latency_ms": latency_ms})
        return state

    def state(self) -> dict[str, Any]:
        """The latencies, the calls held back by operation, and the most that waited at once."""
        state: dict[str, Any] = self._call("GET", "latency")
        return state


class EmbeddedAws:
    def __init__(
        self, host: str = "127.0.0.1", *, log_level: str = "INFO", environment: dict[str, str] | None = None
    ) -> None:
        """`host` is the address to listen on: "0.0.0.0" lets containers reach it too.
        `log_level`: of the server's and the functions' log (`output()`), kept apart
        from this process's. `environment`: extra variables for the server process
        (moto's settings)."""
        self.host = host
        self.log_level = log_level
        self.environment = environment or {}
        self.functions = Functions(self)
        self.faults = Faults(self)
        self.latency = Latency(self)
        self._process: subprocess.Popen[str] | None = None
        self._port = 0
        self._log_path: Path | None = None
        self._environment_before: dict[str, str | None] = {}

    @property
    def port(self) -> int:
        assert self._port, "start() first"
        return self._port

    @property
    def pid(self) -> int:
        """The server's process (the bench counts its CPU time)."""
        assert self._process is not None, "start() first"
        return self._process.pid

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        handle, log_path = tempfile.mkstemp(prefix="polybot-aws-", suffix=".log")
        self._log_path = Path(log_path)
        environment = {**os.environ, **self.environment}
        # Its AWS is itself: whatever this process points at does not apply.
        for name in ("AWS_ENDPOINT_URL", "MOTO_PORT"):
            environment.pop(name, None)
        self._process = subprocess.Popen(  # noqa: S603 - argv built here, no shell
            [*SERVER, "--host", self.host, "--log-level", self.log_level, "--parent", str(os.getpid())],
            cwd=REPO_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=handle,
            text=True,
        )
        os.close(handle)
        self._port = self._wait_until_listening()
        pointed = {"AWS_ENDPOINT_URL": self.endpoint_url, **CREDENTIALS}
        self._environment_before = {name: os.environ.get(name) for name in pointed}
        os.environ.update(pointed)
        response = requests.post(
            f"{self.endpoint_url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=CONTROL_TIMEOUT_S,
        )
        response.raise_for_status()
        return self.endpoint_url

    def _wait_until_listening(self) -> int:
        assert self._process is not None and self._process.stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(_first_line(self._process)), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not lines or not lines[0].startswith(READY_LINE):
            output = self.output()
            self.stop()
            raise RuntimeError(f"the embedded AWS did not start: {lines[:1]}\n{output[-3000:]}")
        return int(lines[0].removeprefix(READY_LINE))

    def output(self) -> str:
        """What the server (and the functions' handlers) logged so far."""
        if self._log_path is None:
            return ""
        return self._log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        # This process pointed its AWS at this server: point it back where it was, so
        # another embedded AWS started before (a test session's stack) is reached again.
        if self._port and os.environ.get("AWS_ENDPOINT_URL") == self.endpoint_url:
            for name, value in self._environment_before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        self._port = 0
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None


def _first_line(process: subprocess.Popen[str] | None) -> Iterator[str]:
    if process is not None and process.stdout is not None:
        line = process.stdout.readline()
        if line:
            yield line.strip()
