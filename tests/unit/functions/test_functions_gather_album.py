"""GatherAlbum: the gathering window, held by the function alone, and the
photos it returns (polybot/albums.py keeps them; here a stand-in table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions import gather_album
from polybot import contracts
from polybot.albums import GATHER_AFTER_S
from tests.auxil.requests import image_request

STARTED = datetime(2025, 6, 18, 9, 44, 10, 391000, tzinfo=UTC)


class RecordedAlbum:
    """Albums.gather's answer, recording the calls."""

    def __init__(self, photos: list[dict[str, Any]]) -> None:
        self.photos, self.gathered = photos, 0

    def gather(self, execution_name: str) -> list[dict[str, Any]]:
        self.gathered += 1
        return self.photos


def job(request: dict[str, Any]) -> dict[str, Any]:
    return {"execution_name": "tg7_album_42", "request": request, "started_at": "2025-06-18T09:44:10.391Z"}


@pytest.mark.parametrize(
    ("after_s", "wait_s"), [(0, GATHER_AFTER_S), (0.4, GATHER_AFTER_S), (GATHER_AFTER_S - 0.5, 1), (-5, GATHER_AFTER_S)]
)
def test_before_the_window_ends_it_says_how_long_to_wait(after_s: float, wait_s: int) -> None:
    album = RecordedAlbum([])
    outcome = gather_album.gather_album(job(image_request(7, 1)), album, STARTED + timedelta(seconds=after_s))  # type: ignore[arg-type]

    assert contracts.validate("AlbumGathering", outcome) == {"kind": "waiting", "wait_s": wait_s}
    assert album.gathered == 0, "the album stays open for its other photos"


def test_after_the_window_the_photos_come_with_their_own_names() -> None:
    photos = [image_request(7, 1, media_group_id="42"), image_request(7, 2, media_group_id="42")]
    album = RecordedAlbum(photos)
    outcome = gather_album.gather_album(job(photos[0]), album, STARTED + timedelta(seconds=GATHER_AFTER_S))  # type: ignore[arg-type]

    assert contracts.validate("AlbumGathering", outcome) == {
        "kind": "gathered",
        "photos": [
            {"execution_name": "tg7_1", "request": photos[0]},
            {"execution_name": "tg7_2", "request": photos[1]},
        ],
    }


def test_an_album_whose_item_is_gone_is_the_photo_that_started_it() -> None:
    request = image_request(7, 5)
    outcome = gather_album.gather_album(job(request), RecordedAlbum([]), STARTED + timedelta(minutes=1))  # type: ignore[arg-type]

    assert outcome["photos"] == [{"execution_name": "tg7_5", "request": request}]


def test_step_functions_start_times_are_read() -> None:
    # As $$.Execution.StartTime reads on AWS, and as moto writes it.
    for started_at in ("2025-06-18T09:44:10.391Z", "2025-06-18T09:44:10.391000+00:00", "2025-06-18T09:44:10.391"):
        assert gather_album.seconds_left(started_at, STARTED + timedelta(seconds=1)) == GATHER_AFTER_S - 1
