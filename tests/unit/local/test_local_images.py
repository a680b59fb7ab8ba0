"""Which repository a tag names, for local.images' removal of the images a build replaces."""

from __future__ import annotations

import pytest

from local.images import repository_of


@pytest.mark.parametrize(
    ("tag", "repository"),
    [
        ("polybot-bot:test", "polybot-bot"),
        ("polybot-worker:test-export", "polybot-worker"),
        ("polybot-bot", "polybot-bot"),
        ("samcli/lambda-python:3.13-x86_64-dbc9556c5d972c73434ae632c", "samcli/lambda-python"),
        ("localhost:5000/polybot-bot", "localhost:5000/polybot-bot"),
        ("localhost:5000/polybot-bot:dev", "localhost:5000/polybot-bot"),
    ],
)
def test_the_repository_of_a_tag(tag: str, repository: str) -> None:
    assert repository_of(tag) == repository
