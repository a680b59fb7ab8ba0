"""GatherAlbum: the photos of an album (a Telegram media group), once they
have had time to arrive.

An album's execution starts with the first of its photos to reach a bot
instance; the others are added to the album's item in the results table by
whichever instance receives them (polybot/albums.py). This function holds the
gathering window, `polybot.albums.GATHER_AFTER_S` from the execution's start,
so the workflow has no number of its own: before the window has passed it
answers how much longer to wait (the workflow's Wait state, then it asks
again); after, it closes the album and returns its photos in message order,
each with its own execution name, under which the workflow persists its
result. A photo that arrives after the album was closed is analysed on its own
(its bot's `Albums.add` says so). It meets nothing of the user's today, but is
`refusing` like every workflow function (functions/refusals.py).
Input: GatherAlbumInput. Output: AlbumGathering.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from functions import services
from functions.refusals import refusing
from polybot import aws, contracts, logs, naming
from polybot.albums import GATHER_AFTER_S, Albums
from polybot.contracts.messages import AlbumGathering, GatherAlbumInput, GatheredPhoto


@refusing
def handler(event: dict[str, Any], context: Any) -> AlbumGathering:
    job = contracts.validate("GatherAlbumInput", event)
    with logs.correlate(job["execution_name"]), aws.aws_errors():
        outcome = gather_album(job, services.current().albums, datetime.now(UTC))
    return contracts.validate("AlbumGathering", outcome)


def seconds_left(started_at: str, now: datetime, window_s: float = GATHER_AFTER_S) -> int:
    """Whole seconds until the gathering window ends (0: it has ended), never more than the window."""
    started = datetime.fromisoformat(started_at)
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    left = window_s - (now - started).total_seconds()
    return min(math.ceil(left), math.ceil(window_s)) if left > 0 else 0


def gather_album(job: GatherAlbumInput, albums: Albums, now: datetime) -> AlbumGathering:
    wait_s = seconds_left(job["started_at"], now)
    if wait_s:
        return {"kind": "waiting", "wait_s": wait_s}
    # The photo that started the execution was added before the start; should its
    # entry be gone, the album is that photo alone rather than nothing.
    requests = albums.gather(job["execution_name"]) or [job["request"]]
    photos: list[GatheredPhoto] = [
        {"execution_name": naming.execution_name(r["chat_id"], r["message_id"]), "request": r} for r in requests
    ]
    return {"kind": "gathered", "photos": photos}
