"""Running the bot and worker images against the local stack, from tests.

Containers use the host's network, so they reach the embedded AWS and the
Telegram stand-in at 127.0.0.1 as the in-process parts do, and the stand-in
reaches the bot container's webhook the same way.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from local.polybot_stack import PolybotStack

FAKE_AWS_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def aws_environment(stack: PolybotStack) -> dict[str, str]:
    """What any container needs to reach the stack's embedded AWS."""
    return {**FAKE_AWS_KEYS, "AWS_REGION": stack.settings.region, "POLYBOT_AWS_ENDPOINT_URL": stack.aws.endpoint_url}


def _env_args(environment: Mapping[str, str]) -> list[str]:
    return [arg for name, value in environment.items() for arg in ("--env", f"{name}={value}")]


@dataclass
class Container:
    id: str
    started: float

    def logs(self) -> str:
        done = subprocess.run(["docker", "logs", self.id], capture_output=True, text=True, timeout=30, check=False)
        return done.stdout + done.stderr

    def exec(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "exec", self.id, *argv], capture_output=True, text=True, timeout=60, check=False
        )

    def health_command(self) -> list[str]:
        """The image's HEALTHCHECK command (exec form), to run now rather than wait for Docker's schedule."""
        done = subprocess.run(
            ["docker", "inspect", "--format", "{{json .Config.Healthcheck.Test}}", self.id],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        test = json.loads(done.stdout)
        assert test[0] == "CMD", f"expected an exec-form HEALTHCHECK, got {test}"
        return [str(word) for word in test[1:]]

    def stop(self, timeout_s: int = 60) -> int:
        """`docker stop` (SIGTERM, then SIGKILL after `timeout_s`); the exit status."""
        subprocess.run(
            ["docker", "stop", "--time", str(timeout_s), self.id],
            capture_output=True,
            timeout=timeout_s + 30,
            check=True,
        )
        done = subprocess.run(
            ["docker", "inspect", "--format", "{{.State.ExitCode}}", self.id],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return int(done.stdout.strip())


@contextmanager
def running(image: str, environment: Mapping[str, str]) -> Iterator[Container]:
    started = time.monotonic()
    done = subprocess.run(
        ["docker", "run", "--detach", "--network", "host", *_env_args(environment), image],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    container = Container(done.stdout.strip(), started)
    try:
        yield container
    finally:
        subprocess.run(["docker", "rm", "--force", container.id], capture_output=True, timeout=60, check=False)


def run_once(
    image: str, environment: Mapping[str, str], argv: Sequence[str], timeout_s: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "host", *_env_args(environment), image, *argv],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def wait_for_http(url: str, container: Container, timeout_s: float = 60) -> float:
    """Seconds until `url` answers 200; fails with the container's log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return time.monotonic() - container.started
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout_s} s:\n{container.logs()[-6000:]}")


def wait_for_log(container: Container, text: str, timeout_s: float = 120) -> float:
    """Seconds from `docker run` until `text` appears in the container's log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in container.logs():
            return time.monotonic() - container.started
        time.sleep(0.25)
    raise AssertionError(f"no {text!r} in the container's log after {timeout_s} s:\n{container.logs()[-6000:]}")
