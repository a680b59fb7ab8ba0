"""The embedded AWS (local/aws_server.py) writes one DynamoDB item at a time, as
DynamoDB does: moto reads an item, checks the condition and writes it back
without a lock, so two requests its threaded server handles at once could both
read the item as it was (and where both find none, moto creates it anew for
each, the later dropping the earlier's change). An album's photos are added to
one item at once (polybot/albums.py): each photo's bot, told it was the
album's first, sent a progress message and deleted it when it found the
album's execution started, and a photo whose change was dropped was never
gathered (make bench, 2026-12-05: an album of 3 answered with one photo)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto.dynamodb.models.table import Table

import local.aws_server  # noqa: F401  (the emulator's patches to moto, as its process has them)
from polybot.albums import Added, Albums
from tests.auxil.moto_results import moto_results
from tests.auxil.requests import image_request

TABLE = "results"
ALBUM = "album-1"
OVERLAP_S = 3.0
"""How long the first writer, having read the item, leaves the second to read it too
where the emulator lets it (with the lock the second cannot: the first goes on)."""


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with moto_results(monkeypatch, TABLE) as (dynamodb, _):
        yield dynamodb


def test_two_photos_added_to_one_album_at_once_both_land_and_one_is_first(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_read, second_read = threading.Event(), threading.Event()
    read = Table.get_item

    def get_item(self: Table, *args: Any, **kwargs: Any) -> Any:
        found = read(self, *args, **kwargs)
        if threading.current_thread().name == "first" and not first_read.is_set():
            first_read.set()
            second_read.wait(OVERLAP_S)
        elif threading.current_thread().name == "second":
            second_read.set()
        return found

    monkeypatch.setattr(Table, "get_item", get_item)
    albums = Albums(dynamodb, TABLE)
    added: dict[int, Added] = {}

    def add(message_id: int, after: threading.Event | None) -> None:
        if after is not None:
            after.wait(OVERLAP_S)
        added[message_id] = albums.add(ALBUM, image_request(7, message_id, media_group_id="g"))

    threads = [
        threading.Thread(target=add, args=(1, None), name="first"),
        threading.Thread(target=add, args=(2, first_read), name="second"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    gathered = [p["message_id"] for p in albums.gather(ALBUM)]
    assert (sorted(added.values(), key=lambda a: a.value), gathered) == ([Added.FIRST, Added.LATER], [1, 2]), (
        added,
        gathered,
    )
