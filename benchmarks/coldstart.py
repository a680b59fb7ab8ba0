"""`python -m benchmarks.coldstart` (part of `make bench`; alone: `make bench-coldstart`):
each Lambda function's cold start, on this machine.

- `lambda_init_ms`: the initialisation, the import of the function's handler
  module with everything it does at module level, best of N fresh interpreters:
  `process` in this project's Python (its packages compiled to bytecode, as pip
  leaves them), `container` in the function's Lambda container (the runtime's
  base image, the built layer at /opt and the handler at /var/task, both read-only
  as on Lambda, PYTHONPATH as the runtime's bootstrap sets it).
- `lambda_cold_call_ms`: what the first call in a fresh container takes under
  `sam local invoke` (`make invoke`: the sample event, against the embedded AWS
  and the Telegram stand-in), from the REPORT line. The emulator (aws-lambda-rie)
  starts the runtime on the first invoke and reports "Init Duration: 0.06 ms",
  counting the init inside "Duration"; so this figure is init plus the call,
  the imports deferred to the call included, and the emulator's Init Duration is
  not used for `lambda_init_ms` (the import is timed inside the container instead).

The container figures need Docker and the SAM CLI, and `sam build` is run first so
that they measure the code as it is; without Docker they are null.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from local.containers import REPO_ROOT, docker, docker_problem, sam_cli
from local.stack import load_template
from polybot import logs

TEMPLATE = REPO_ROOT / "template.yaml"
BUILD = REPO_ROOT / ".aws-sam" / "build"
RESULTS = REPO_ROOT / "bench" / "results" / "latest.json"
TARGET_MS = 300
"""Issue 20: each function's initialisation at most 300 ms on this machine."""

TIME_THE_IMPORT = (
    "import time\n"
    "started = time.perf_counter()\n"
    "import {module}\n"
    "print(round((time.perf_counter() - started) * 1000, 1))\n"
)
"""Run in a fresh interpreter: the handler module's import (its init), in ms."""


def functions() -> dict[str, str]:
    """Function name (StageImage) -> its handler module (stage_image), for every
    function in template.yaml."""
    resources: dict[str, Any] = load_template(TEMPLATE)["Resources"]
    return {
        logical_id.removesuffix("Function"): resource["Properties"]["Handler"].rsplit(".", 1)[0]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def lambda_image() -> tuple[str, str]:
    """The Lambda base image `sam local invoke` runs the functions in, and its Python."""
    function_globals = load_template(TEMPLATE)["Globals"]["Function"]
    runtime = str(function_globals["Runtime"])  # python3.13
    version = runtime.removeprefix("python")
    architecture = str(function_globals.get("Architectures", ["x86_64"])[0])
    return f"public.ecr.aws/lambda/python:{version}-{architecture}", f"/var/lang/bin/python{version}"


def _best(command: list[str], rounds: int, environment: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(rounds):
        done = subprocess.run(  # noqa: S603 - argv built here, no shell
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False, env=environment
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:6])} ... failed:\n{done.stderr[-3000:]}")
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return min(times)


def init_in_process(module: str, rounds: int) -> float:
    """Best of `rounds` fresh interpreters importing functions.<module>."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POLYBOT_")}
    script = TIME_THE_IMPORT.format(module=f"functions.{module}")
    return _best([sys.executable, "-c", script], rounds, environment)


def init_in_container(function: str, module: str, rounds: int) -> float:
    """Best of `rounds` fresh Lambda containers importing the built handler module."""
    image, python = lambda_image()
    version = python.removeprefix("/var/lang/bin/python")
    command = [
        docker(),
        "run",
        "--rm",
        "--network=none",
        "--memory=512m",  # template.yaml's MemorySize
        "--volume",
        f"{BUILD / 'PolybotLayer'}:/opt:ro",
        "--volume",
        f"{BUILD / (function + 'Function')}:/var/task:ro",
        "--workdir",
        "/var/task",
        "--env",
        f"PYTHONPATH=/var/task:/opt/python/lib/python{version}/site-packages:/opt/python:/var/runtime",
        "--entrypoint",
        python,
        image,
        "-c",
        TIME_THE_IMPORT.format(module=module),
    ]
    return _best(command, rounds)


def sam_build() -> None:
    environment = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    environment["SAM_CLI_TELEMETRY"] = "0"
    done = subprocess.run(  # noqa: S603 - argv built here, no shell
        [sam_cli(), "build"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False, env=environment
    )
    if done.returncode != 0:
        raise RuntimeError(f"sam build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


_REPORT = re.compile(r"REPORT RequestId: \S+\s+(?:Init Duration: (?P<init>[\d.]+) ms\s+)?Duration: (?P<call>[\d.]+) ms")


def cold_call(function: str) -> dict[str, float | None]:
    """The first call of `function` in a fresh container (`make invoke`), from its REPORT line."""
    # Imported here: it brings the local stack, which the in-process figures do not need.
    from local.invoke import invoke

    invocation = invoke(function)
    if invocation.error_type:
        raise RuntimeError(f"{function} raised in its container:\n{invocation.logs[-3000:]}")
    found = _REPORT.search(invocation.logs)
    if found is None:
        raise RuntimeError(f"no REPORT line in the log of {function}:\n{invocation.logs[-3000:]}")
    init = found["init"]
    return {"duration": float(found["call"]), "emulator_init": None if init is None else float(init)}


def measure(rounds: int = 5, container: bool = True, invoke: bool = True) -> dict[str, Any]:
    """`lambda_init_ms` and `lambda_cold_call_ms` for every function of the template."""
    names = functions()
    problem = docker_problem() if container or invoke else "not asked for"
    if problem is None:
        sam_build()
    init: dict[str, dict[str, float | None]] = {}
    calls: dict[str, float | None] = {}
    for function, module in names.items():
        print(f"  cold start of {function} ...", flush=True)
        init[function] = {
            "process": init_in_process(module, rounds),
            "container": init_in_container(function, module, rounds) if problem is None and container else None,
        }
        calls[function] = cold_call(function)["duration"] if problem is None and invoke else None
    return {
        "lambda_init_ms": init,
        "lambda_cold_call_ms": calls,
        "lambda_cold_start_notes": {
            "rounds": rounds,
            "target_ms": TARGET_MS,
            "container": problem or lambda_image()[0],
            "cold_call": "Duration of the first call under sam local invoke (the emulator counts init in it)",
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
    }


def print_table(results: dict[str, Any]) -> None:
    init, calls = results["lambda_init_ms"], results["lambda_cold_call_ms"]
    print(f"\n{'function':<16}{'init, process':>15}{'init, container':>17}{'first call, container':>23}")
    for function, figures in init.items():
        cells = [figures["process"], figures["container"], calls.get(function)]
        text = ["-" if c is None else f"{c:.0f} ms" for c in cells]
        print(f"{function:<16}{text[0]:>15}{text[1]:>17}{text[2]:>23}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.coldstart", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="fresh interpreters per figure (the best counts)")
    parser.add_argument("--no-container", action="store_true", help="skip the init measured in the container")
    parser.add_argument("--no-invoke", action="store_true", help="skip the first call under sam local invoke")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file to update (its other keys stay)")
    args = parser.parse_args()
    logs.configure("bench", "ERROR")
    results = measure(args.rounds, container=not args.no_container, invoke=not args.no_invoke)
    previous = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**previous, **results}, indent=2) + "\n", encoding="utf-8")
    print_table(results)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
