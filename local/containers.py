"""Docker on this machine, for running what ships: the Docker host's address as
containers see it, and the tools (`docker`, `sam`) the container checks call.

Used by `python -m local.invoke` (functions in the Lambda container) and the
container tests (the bot and worker images against the embedded AWS).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SAM_IN_TOOLS = REPO_ROOT / ".tools" / "sam" / "bin" / "sam"
HOST_ADDRESS_VARIABLE = "POLYBOT_DOCKER_HOST_ADDRESS"


class DockerUnavailable(RuntimeError):
    """No Docker engine answers here (or no SAM CLI for `sam local invoke`)."""


def docker() -> str:
    """The docker command's path."""
    found = shutil.which("docker")
    if found is None:
        raise DockerUnavailable("the docker command is not installed")
    return found


def docker_problem() -> str | None:
    """Why containers cannot run here, or None when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "the docker command is not installed"
    try:
        done = subprocess.run([docker(), "info"], capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        return "docker info did not answer within 30 s"
    if done.returncode != 0:
        return "no Docker engine answers: " + (done.stderr.strip().splitlines() or ["docker info failed"])[-1]
    return None


def require_docker() -> None:
    problem = docker_problem()
    if problem:
        raise DockerUnavailable(problem)


@cache
def host_address() -> str:
    """The address at which a container on the default bridge reaches this machine:
    POLYBOT_DOCKER_HOST_ADDRESS, else the bridge's gateway, else Docker Desktop's name."""
    explicit = os.environ.get(HOST_ADDRESS_VARIABLE)
    if explicit:
        return explicit
    done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [docker(), "network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        return "host.docker.internal"
    for config in json.loads(done.stdout or "[]"):
        if config.get("Gateway"):
            return str(config["Gateway"])
        if config.get("Subnet"):
            # Docker gives the bridge the subnet's first address unless told otherwise.
            return str(ipaddress.ip_network(config["Subnet"])[1])
    return "host.docker.internal"


def sam_cli() -> str:
    """The SAM CLI: the project's own (`make setup` installs it in .tools/sam), else the one on PATH."""
    if os.access(SAM_IN_TOOLS, os.X_OK):
        return str(SAM_IN_TOOLS)
    found = shutil.which("sam")
    if found is None:
        raise DockerUnavailable("the SAM CLI is not installed; run `make setup`")
    return found


def inspected(image: str, template: str) -> str | None:
    """`docker image inspect --format TEMPLATE IMAGE` (a tag or an ID), stripped; None
    where no such image exists."""
    done = subprocess.run(  # noqa: S603 - no shell
        [docker(), "image", "inspect", image, "--format", template],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def image_size_bytes(image: str) -> int:
    size = inspected(image, "{{.Size}}")
    if size is None:
        raise DockerUnavailable(f"no image {image}")
    return int(size)
