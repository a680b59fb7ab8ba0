"""Fixtures shared by the integration and end-to-end tests.

`stack` is the same local Polybot that `make run` starts: embedded AWS with
template.yaml deployed, the Lambda handlers in-process, a YOLO worker thread
running the real model, and the bot behind its Flask webhook, talking HTTP to
the Telegram stand-in. One per test session: starting it loads the model.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from local.polybot_stack import DEFAULT_MODEL, PolybotStack, StackOptions

_chat_ids = itertools.count(9100)


@pytest.fixture(scope="session")
def stack() -> Iterator[PolybotStack]:
    # POLYBOT_MODEL picks other weights; the default is ../shared/models/yolov8n.pt,
    # and where that is absent the worker asks Ultralytics to download it.
    options = StackOptions(model=os.environ.get("POLYBOT_MODEL", str(DEFAULT_MODEL)))
    with PolybotStack(options) as running:
        yield running


@pytest.fixture
def chat_id() -> int:
    """A chat of its own for each test, so replies never mix."""
    return next(_chat_ids)
