"""Fixtures shared by the integration and end-to-end tests.

`stack` is the same local Polybot that `make run` starts: embedded AWS with
template.yaml deployed (its own process, the Lambda handlers in it), a YOLO worker thread
running the real model, and the bot behind its Flask webhook, talking HTTP to
the Telegram stand-in. One per test session: starting it loads the model.
"""

from __future__ import annotations

import hashlib
import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.polybot_stack import PolybotStack

_chat_ids = itertools.count(9100)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reliability-report",
        metavar="PATH",
        default=None,
        help="write the fault suite's table to PATH (`make reliability-report`: docs/reliability.md); "
        "only a run of the whole suite writes it",
    )


@pytest.fixture(scope="session")
def stack() -> Iterator[PolybotStack]:
    # The production model (polybot.settings) from ../shared/models; POLYBOT_MODEL
    # picks other weights, and where none is found Ultralytics is asked for it.
    with PolybotStack() as running:
        yield running


@pytest.fixture
def chat_id() -> int:
    """A chat of its own for each test, so replies never mix."""
    return next(_chat_ids)


# The tiers, by folder: each test gets its folder's marker, so `make unit`,
# `make integration` ... select by marker and a test cannot land in the wrong
# tier. Run in this order by `make test`: quick and independent first; what
# waits on real timing (the fault suite's burst) after the image builds had
# time to finish; what ships (marker docker) last.
TIERS = ["unit", "tools", "infrastructure", "integration", "e2e", "faults", "artifacts"]
UNIT_MAY_NOT_USE = {"stack"}
"""Fixtures a unit test may not ask for: they start the local stack (tests/conftest.py)."""
UNIT_MAY_NOT_BE = {"aws", "model", "docker", "slow"}


def tier(item: pytest.Item) -> str:
    parts = item.path.relative_to(Path(__file__).parent).parts
    return parts[0] if len(parts) > 1 and parts[0] in TIERS else "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    misplaced = []
    for item in items:
        name = tier(item)
        item.add_marker(name)
        if name == "unit":
            needs = UNIT_MAY_NOT_USE & set(getattr(item, "fixturenames", ()))
            marked = UNIT_MAY_NOT_BE & {mark.name for mark in item.iter_markers()}
            if needs or marked:
                misplaced.append(f"{item.nodeid}: {', '.join(sorted(needs | marked))}")
    if misplaced:
        raise pytest.UsageError(
            "unit tests run without the stack, AWS, the model or Docker; move these to "
            "tests/integration (or another tier):\n  " + "\n  ".join(misplaced)
        )

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("docker") is not None:
            return len(TIERS)
        return TIERS.index(tier(item))

    items.sort(key=rank)


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(item.get_closest_marker("docker") for item in session.items):
        from tests.auxil.builds import start_builds

        start_builds()


REPO_ROOT = Path(__file__).resolve().parents[1]
_TRACKED_AT_START = pytest.StashKey[dict[str, str] | None]()


def _tracked_changes() -> dict[str, str] | None:
    """Each tracked file that differs from the commit, with a hash of its content;
    None outside a git checkout."""
    root = REPO_ROOT
    try:
        listed = subprocess.run(
            ["git", "diff", "--name-only", "-z", "HEAD"], cwd=root, capture_output=True, check=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return None
    names = [name for name in listed.stdout.decode().split("\0") if name]
    changes = {}
    for name in names:
        path = root / name
        changes[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "deleted"
    return changes


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_TRACKED_AT_START] = _tracked_changes()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if "tests.auxil.builds" in sys.modules:
        from tests.auxil.builds import stop_builds

        stop_builds()
    # Reports are written by their make targets; a test run changes no tracked file
    # but the report it was asked for (--reliability-report).
    before, after = session.config.stash.get(_TRACKED_AT_START, None), _tracked_changes()
    if before is None or after is None:
        return
    report = Path(session.config.getoption("reliability_report") or REPO_ROOT).resolve()
    asked_for = {report.relative_to(REPO_ROOT).as_posix()} if report.is_relative_to(REPO_ROOT) else set()
    changed = {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
    written = sorted(changed - asked_for)
    if written:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"tracked files changed while the tests ran: {', '.join(written)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
