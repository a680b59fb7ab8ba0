"""The fault suite: the real stack (webhook over HTTP, executions on the
embedded AWS, real worker processes and the real model, the Telegram stand-in
over HTTP) driven through Telegram's and AWS's failure modes, each scenario
asserting that every photo ends in exactly one answer.

Each scenario records what happened and one measured figure; `make
reliability-report` (`--reliability-report PATH`) writes the rows to
docs/reliability.md at the end of a run of the whole suite; `make test` never does. Everything the session
logs, and every process's output, is kept for the last check: no bot token
and no webhook secret anywhere (test_where_secrets_never_appear.py).
"""

from __future__ import annotations

import io
import logging
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from local.polybot_stack import REPO_ROOT, PolybotStack
from polybot import logs

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]

LIMITS = [
    "**Lambda's timeout freezing the sandbox.** The local runtime answers `Sandbox.Timedout` at the function's "
    "Timeout (tests/unit/local), but cannot stop the handler's thread; on Lambda the sandbox is frozen. The "
    "timeouts are instead proven to nest by arithmetic over the budgets in force (tests/unit/test_timeouts.py, "
    "and the budgets read back from the running functions above).",
    "**IAM denials.** Nothing enforces IAM locally; every role of both halves is checked statically against "
    "what its code calls and against the Service Authorization Reference (tests/unit/test_template_iam.py, "
    "tests/infrastructure/test_iam_policies.py).",
    "**Heartbeat error names.** moto reports a heartbeat expiry as `States.Timeout` (AWS: "
    "`States.HeartbeatTimeout`); the workflow retries both.",
    "**Throughput under a burst.** The embedded AWS (with the Lambda functions in its process) and the test "
    "process (bot, worker, stand-in) share this machine's two cores, so StartExecution answers in seconds under "
    "load (on AWS, milliseconds): the burst's webhook latencies measure this machine, not AWS. Workers' "
    "throughput is measured by `make bench`.",
    "**Telegram's webhook patience and flood limits.** Telegram documents neither; the bot's worst case is held "
    "under an assumed 60 s, and a long 429 is given up after five waits or one over 10 minutes.",
    "**Uncatchable workflow errors** (`States.Runtime`, `States.DataLimitExceeded`) end an execution without "
    "its Catch: a static test keeps the one found here (a CausePath on a timeout) out, but no check outside the "
    "workflow notices such an execution yet.",
]


@dataclass
class Scenario:
    name: str
    outcome: str
    figure: str


@dataclass
class FaultSession:
    scenarios: list[Scenario] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    """Whatever processes started by the suite printed."""
    log: io.StringIO = field(default_factory=io.StringIO)
    """Every log line of this process during the suite, formatted as operators read them."""

    def record(self, name: str, outcome: str, figure: str) -> None:
        self.scenarios.append(Scenario(name, outcome, figure))


SCAN_LAST = "test_where_secrets_never_appear.py"


HERE = Path(__file__).parent
WHOLE_SUITE = {"runs": False}
"""Whether this session runs every fault test: only then is the report written (a run
of one scenario must not replace the whole table with its one row)."""


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The secrets scan runs after everything else, so it scans what all of it left."""
    items.sort(key=lambda item: item.path.name == SCAN_LAST)
    files = {item.path.name for item in items if item.path.parent == HERE}
    WHOLE_SUITE["runs"] = (
        files == {path.name for path in HERE.glob("test_*.py")}
        and not config.option.keyword
        and not config.option.deselect
        and not any("::" in arg for arg in config.args)
    )


@pytest.fixture(scope="session")
def faults(stack: PolybotStack, pytestconfig: pytest.Config) -> Iterator[FaultSession]:
    session = FaultSession()
    root = logging.getLogger()
    # Formatted (and masked) as the lines operators read.
    capture = logs.json_lines_handler("faults", session.log)
    root.addHandler(capture)
    try:
        yield session
    finally:
        root.removeHandler(capture)
        report = pytestconfig.getoption("reliability_report")
        if report and session.scenarios and WHOLE_SUITE["runs"]:
            write_report(session.scenarios, Path(report))


def write_report(scenarios: list[Scenario], path: Path) -> None:
    lines = [
        "# Reliability: what the fault suite measured",
        "",
        "Generated by `make reliability-report` (tests/faults) on "
        f"{datetime.now(UTC):%Y-%m-%d} on {platform.machine()} with {os.cpu_count()} CPUs; "
        "each row is one scenario run against the local stack (webhook over HTTP, real executions on the "
        "embedded AWS, real worker processes and model, the Telegram stand-in), which asserts its outcome.",
        "",
        "| scenario | outcome | figure |",
        "|---|---|---|",
        *[f"| {s.name} | {s.outcome} | {s.figure} |" for s in scenarios],
        "",
        "## What the local stack cannot reproduce, and how it is covered instead",
        "",
        *[f"- {limit}" for limit in LIMITS],
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture(autouse=True)
def no_faults_left(stack: PolybotStack) -> Iterator[None]:
    """Each scenario starts and ends with nothing injected."""
    yield
    assert stack.telegram is not None
    stack.telegram.clear_faults()
    stack.aws.faults.clear()


@dataclass
class WorkerProcess:
    process: subprocess.Popen[str]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def worker_processes(stack: PolybotStack, session: FaultSession, count: int) -> Iterator[list[WorkerProcess]]:
    """`count` YOLO worker processes (`python -m inference`) serving the stack's
    queue instead of its in-process worker, until the block ends."""
    environment = {**os.environ, **stack.settings.as_env(), "POLYBOT_LOG_LEVEL": "INFO"}
    stack.stop_worker()
    workers: list[WorkerProcess] = []
    try:
        for _ in range(count):
            log_path = Path(tempfile.mkstemp(prefix="polybot-worker-", suffix=".log")[1])
            with log_path.open("w") as log_file:
                process = subprocess.Popen(
                    [sys.executable, "-m", "inference"],
                    cwd=REPO_ROOT,
                    env=environment,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            workers.append(WorkerProcess(process, log_path))
        deadline = time.monotonic() + 120
        while not all("worker serving" in w.output() for w in workers):
            assert time.monotonic() < deadline, "\n".join(w.output()[-3000:] for w in workers)
            assert all(w.process.poll() is None for w in workers), "\n".join(w.output()[-3000:] for w in workers)
            time.sleep(0.2)
        yield workers
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            session.outputs.append(worker.output())
            worker.log_path.unlink(missing_ok=True)
        stack.start_worker()
