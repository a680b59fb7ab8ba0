"""Issue 19, rough edges 10 and 11, as a user meets them through the local
stack: a crowded photo's tags (none over another, uncertain ones marked "?",
confidences as the text writes them) and a panorama sent as a file (seen in
tiles, answered on a folded photo). One row each in docs/reliability.md."""

from __future__ import annotations

import io
import itertools
import re
import time
from typing import Any

import cv2
import pytest
from PIL import Image

from inference import calibration, drawing
from local.polybot_stack import PolybotStack
from polybot import telegram
from tests.auxil.images import bus_strip
from tests.auxil.pipeline import only_reply
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]


def test_a_crowded_photo_gets_tags_that_do_not_overlap_and_uncertain_ones_marked(
    stack: PolybotStack, chat_id: int, faults: FaultSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stack.telegram is not None
    laid_out: list[list[Any]] = []
    tags: list[str] = []
    layout, tag_text = drawing.layout, drawing.tag_text

    def recording_layout(*args: Any, **kwargs: Any) -> list[Any]:
        places = layout(*args, **kwargs)
        laid_out.append([*(kwargs.get("taken") or (args[3] if len(args) > 3 else None) or []), *places])
        return places

    def recording_tag(detection: Any, language: str) -> str:
        tags.append(tag_text(detection, language))
        return tags[-1]

    monkeypatch.setattr(drawing, "layout", recording_layout)
    monkeypatch.setattr(drawing, "tag_text", recording_tag)
    # The accuracy set's most crowded composite: a 4x4 grid of photos, about 50 objects.
    grid = next(p for p in calibration.accuracy_set() if p.name == "calibrated:grid4x4:2")
    ok, jpeg = cv2.imencode(".jpg", grid.image_bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    message = stack.telegram.user_sends_photo(chat_id, jpeg.tobytes())

    reply = only_reply(stack, chat_id, message["message_id"])

    assert reply.photo is not None and reply.caption is not None
    placed = [rect for rects in laid_out for rect in rects if rect is not None]
    overlapping = [
        (a, b)
        for rects in laid_out
        for a, b in itertools.combinations([r for r in rects if r is not None], 2)
        if not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])
    ]
    assert len(placed) > 20 and overlapping == []
    assert all(re.fullmatch(r".+\?? \d+%", tag) for tag in tags), tags
    uncertain = [tag for tag in tags if "? " in tag]
    assert uncertain, "the crowd has uncertain detections, drawn apart"
    faults.record(
        "user sends a crowded photo (a 4x4 grid of photos)",
        "tags placed where no other tag is, uncertain boxes dashed and tagged '?', confidences as '88%'",
        f"{len(placed)} tags and numbers, none overlapping; {len(uncertain)} of {len(tags)} marked '?'",
    )


def test_a_panorama_sent_as_a_file_is_seen_in_tiles_and_answered_on_a_folded_photo(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    started = time.monotonic()
    message = stack.telegram.user_sends_document(chat_id, bus_strip(11, (12_000, 1_500)), "pano.jpg", "image/jpeg")

    reply = stack.telegram.wait_for_reply(chat_id, message["message_id"], timeout=180)
    seconds = time.monotonic() - started

    assert reply.caption is not None and reply.caption.startswith("I see 11 buses"), reply.caption
    assert reply.photo is not None
    with Image.open(io.BytesIO(reply.photo)) as photo:
        width, height = photo.size
    assert max(width, height) / min(width, height) <= 2
    assert width + height <= telegram.PHOTO_MAX_SIDES
    faults.record(
        "user sends a 12000x1500 panorama of 11 buses as a file",
        "seen in 11 overlapping tiles: 'I see 11 buses…', on the strip folded into one photo",
        f"photo {width}x{height}, reply after {seconds:.1f} s",
    )
