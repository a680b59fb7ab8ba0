"""Fixtures shared by the integration and end-to-end tests.

`stack` is the same local Polybot that `make run` starts: embedded AWS with
template.yaml deployed, the Lambda handlers in-process, a YOLO worker thread
running the real model, and the bot behind its Flask webhook, talking HTTP to
the Telegram stand-in. One per test session: starting it loads the model.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.polybot_stack import PolybotStack

_chat_ids = itertools.count(9100)


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


# Quick and independent first; what waits on real timing (the fault suite's burst)
# after the image builds had time to finish; what ships (marker docker) last.
_ORDER = ["unit", "tools", "infrastructure", "integration", "e2e", "faults", "artifacts"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("docker") is not None:
            return len(_ORDER)
        parts = item.path.relative_to(Path(__file__).parent).parts
        return _ORDER.index(parts[0]) if parts[0] in _ORDER else 0

    items.sort(key=rank)


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(item.get_closest_marker("docker") for item in session.items):
        from tests.artifacts.conftest import start_builds

        start_builds()


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests.artifacts.conftest import stop_builds

    stop_builds()
