"""The whole local pipeline with the worker and the bot as processes of their
own, as deployed (`python -m inference`, `python -m bot serve`), against the
local stack (embedded AWS, the functions in-process, the Telegram stand-in).

Measures the worker's cold start, its own per-image timings (the `served in`
log line it writes after each report), time from webhook to reply with the
per-state breakdown of each execution, a burst from several chats, and
each process's peak memory (one worker's throughput: `benchmarks.throughput`).
Called by `benchmarks.__main__` and `benchmarks.throughput`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.polybot_stack import REPO_ROOT, PolybotStack
from local.trace import trace
from polybot import naming

if TYPE_CHECKING:
    from polybot.settings import Settings

SERVED = re.compile(r"served in \d+ ms: (\{.*\})")


@dataclass
class Process:
    """A child process whose JSON log lines are collected as they come."""

    popen: subprocess.Popen[str]
    started: float
    lines: list[str] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def served(self) -> list[dict[str, int]]:
        """The worker's own timings, one dict per message reported."""
        found = []
        for line in list(self.lines):
            try:
                message = json.loads(line).get("message", "")
            except ValueError:
                continue
            match = SERVED.search(message)
            if match:
                found.append(json.loads(match.group(1)))
        return found

    def wait_for(self, text: str, count: int = 1, timeout_s: float = 300) -> float:
        """Seconds since the process started when `text` had appeared `count` times."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while sum(text in line for line in self.lines) < count:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"the process ended ({self.popen.returncode}):\n{''.join(self.lines[-40:])}")
                waited = self._changed.wait(max(0.0, min(1.0, deadline - time.monotonic())))
                if not waited and time.monotonic() > deadline:
                    raise TimeoutError(f"{text!r} x{count} not seen:\n{''.join(self.lines[-40:])}")
        return time.perf_counter() - self.started

    def sample_memory(self) -> None:
        """Peak resident memory (VmHWM) of the process, as Linux counts it."""
        try:
            status = Path(f"/proc/{self.popen.pid}/status").read_text()
        except OSError:
            return
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            self.peak_rss_mb = max(self.peak_rss_mb, int(match.group(1)) / 1024)

    def stop(self) -> int:
        self.sample_memory()
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait()


@contextmanager
def process(argv: list[str], environment: dict[str, str]) -> Iterator[Process]:
    popen = subprocess.Popen(  # noqa: S603 - our own modules, no shell
        [sys.executable, *argv],
        cwd=REPO_ROOT,
        env={**os.environ, **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    at_normal_priority(popen.pid)
    running = Process(popen, time.perf_counter())
    threading.Thread(target=running._read, daemon=True).start()
    try:
        yield running
    finally:
        if popen.poll() is None:
            running.stop()


STAND_IN_NICENESS = 10
"""The benchmark's own process hosts the embedded AWS, the functions and the
Telegram stand-in: in production those run on other machines, so here they
yield the cores to the worker and the bot (root may lower a child's niceness
back; elsewhere every process stays at the same niceness)."""


def yield_to_the_measured() -> None:
    os.nice(STAND_IN_NICENESS)


def at_normal_priority(pid: int) -> None:
    with suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, pid, 0)


def module_answer(module: str, backend: str, settings: Settings, timeout_s: float) -> dict[str, Any]:
    """`python -m <module> <backend>` in a process of its own at normal priority,
    with `settings` in its environment: the JSON of its last line."""
    with subprocess.Popen(  # noqa: S603 - our own module, no shell
        [sys.executable, "-m", module, backend],
        env={**os.environ, **settings.as_env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        at_normal_priority(child.pid)
        stdout, stderr = child.communicate(timeout=timeout_s)
    if child.returncode != 0:
        raise RuntimeError(f"python -m {module} {backend} failed:\n{stderr[-4000:]}")
    answer: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return answer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def worker_environment(stack: PolybotStack, prefetch: int) -> dict[str, str]:
    return {**stack.settings.as_env(), "POLYBOT_LOG_LEVEL": "INFO", "POLYBOT_PREFETCH": str(prefetch)}


@contextmanager
def bot_process(stack: PolybotStack) -> Iterator[Process]:
    """`python -m bot serve`, registered as the stand-in's webhook by its own deploy step."""
    assert stack.telegram is not None
    port = free_port()
    environment = {
        **stack.settings.as_env(),
        "POLYBOT_TELEGRAM_API_URL": stack.telegram.api_url,
        "POLYBOT_BOT_PORT": str(port),
        "POLYBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "POLYBOT_LOG_LEVEL": "WARNING",
        # The bench sends one chat's photos faster than a person would: the per-chat
        # quota (20 a minute) would answer them "slow down" and start nothing.
        "POLYBOT_CHAT_PHOTOS_PER_MINUTE": "0",
    }
    with process(["-m", "bot", "serve"], environment) as bot:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        subprocess.run(
            [sys.executable, "-m", "bot", "register-webhook"],
            cwd=REPO_ROOT,
            env={**os.environ, **environment},
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield bot


def queued(stack: PolybotStack) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.settings.detection_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def queue_photos(stack: PolybotStack, photos: list[bytes], count: int, chats: int = 1) -> list[tuple[int, int]]:
    """Send `count` photos through the stand-in and wait until each waits in the queue."""
    assert stack.telegram is not None
    sent = []
    for index in range(count):
        chat = 7000 + index % chats
        message = stack.telegram.user_sends_photo(chat, photos[index % len(photos)])
        sent.append((chat, int(message["message_id"])))
    deadline = time.monotonic() + 120
    while queued(stack) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {queued(stack)} of {count} photos reached the queue")
        time.sleep(0.2)
    return sent


def state_durations(stack: PolybotStack, chat: int, message_id: int) -> dict[str, int]:
    name = naming.execution_name(chat, message_id)
    stack.wait_for_execution(name)
    events = stack.client("stepfunctions").get_execution_history(
        executionArn=stack.execution_arn(name), maxResults=1000
    )["events"]
    return {row.name: row.duration_ms for row in trace(events) if row.duration_ms is not None}


def paced_photos(stack: PolybotStack, photos: list[bytes], count: int) -> tuple[list[float], list[dict[str, int]]]:
    """Photos one after another from one chat: update -> reply (ms) and each execution's states."""
    assert stack.telegram is not None
    to_reply, states = [], []
    for index in range(count):
        started = time.perf_counter()
        message = stack.telegram.user_sends_photo(6000, photos[index % len(photos)])
        stack.telegram.wait_for_reply(6000, message["message_id"], timeout=120)
        to_reply.append((time.perf_counter() - started) * 1000)
        states.append(state_durations(stack, 6000, int(message["message_id"])))
    return to_reply, states


def burst(stack: PolybotStack, photos: list[bytes], count: int, chats: int) -> list[float]:
    """`count` photos from `chats` chats at once: each one's time to its reply (ms)."""
    assert stack.telegram is not None
    telegram = stack.telegram
    results: list[float] = []
    lock = threading.Lock()

    def send(index: int) -> None:
        chat = 8000 + index % chats
        started = time.perf_counter()
        message = telegram.user_sends_photo(chat, photos[index % len(photos)])
        telegram.wait_for_reply(chat, message["message_id"], timeout=300)
        with lock:
            results.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
