"""Real executions of the image pipeline for what a chat prefers and for albums:
the worker honours the request's preferences (threshold, model, label
language), an album is analysed photo by photo and answered once (or once per
photo), and every image that fails is recorded for /history.

Executions are started as the bot starts them (tests/auxil/pipeline.py:
`start_photos`), with the photos in the Telegram stand-in; the bot's own side
(webhook, /settings) is tested with the bot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from inference import drawing
from local.polybot_stack import PolybotStack
from polybot import i18n, naming, summary
from polybot.albums import Albums
from tests.auxil.images import plain_image, ultralytics_asset
from tests.auxil.pipeline import execution_trace, results_item, start_photos, wait_for_execution
from tests.auxil.requests import preferences

pytestmark = [pytest.mark.aws, pytest.mark.model]


def photo_name(request: dict[str, Any]) -> str:
    return naming.execution_name(request["chat_id"], request["message_id"])


def detections_of(stack: PolybotStack, name: str) -> list[dict[str, Any]]:
    item = results_item(stack, name)
    assert "detections" in item, f"no result stored for {name}: {item}"
    found: list[dict[str, Any]] = json.loads(item["detections"]["S"])
    return found


# --- preferences ---------------------------------------------------------------


def test_a_higher_confidence_leaves_out_the_less_certain_detections(stack: PolybotStack, chat_id: int) -> None:
    # zidane.jpg: two people (0.92, 0.83) and a tie (0.43), each far from 0.6 on
    # every backend (bus.jpg's least certain person sits on the 0.25 threshold).
    zidane = ultralytics_asset("zidane.jpg")
    _, [default] = start_photos(stack, chat_id, [zidane])
    _, [strict] = start_photos(stack, chat_id, [zidane], preferences(confidence=0.6))
    for request in (default, strict):
        assert wait_for_execution(stack, photo_name(request))["status"] == "SUCCEEDED"

    everything = detections_of(stack, photo_name(default))
    kept = detections_of(stack, photo_name(strict))
    assert min(d["confidence"] for d in everything) < 0.6, "the photo has a less certain detection to leave out"
    assert kept == [d for d in everything if d["confidence"] >= 0.6]
    assert kept


def test_the_chats_model_runs_and_is_recorded(stack: PolybotStack, chat_id: int) -> None:
    other = next((m for m in stack.settings.offered_models if m != stack.settings.model), None)
    if other is None:
        pytest.skip(f"this stack offers only {stack.settings.model} (POLYBOT_EXTRA_MODELS)")
    _, [request] = start_photos(stack, chat_id, [ultralytics_asset("zidane.jpg")], preferences(model=other))
    name = photo_name(request)
    assert wait_for_execution(stack, name)["status"] == "SUCCEEDED"

    item = results_item(stack, name)
    assert item["model"]["S"] == other.rsplit(".", 1)[0]
    assert {d["label"] for d in detections_of(stack, name)} >= {"person"}


def test_a_model_not_offered_is_a_failure_the_user_is_told_about(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    _, [request] = start_photos(stack, chat_id, [ultralytics_asset("zidane.jpg")], preferences(model="yolo-gone.pt"))
    name = photo_name(request)

    assert wait_for_execution(stack, name)["error"] == "ModelNotOffered"
    reply = stack.telegram.wait_for_reply(chat_id, request["message_id"], timeout=30)
    assert reply.text is not None and "/settings" in reply.text
    assert results_item(stack, name)["failure"] == {"S": "ModelNotOffered"}


@pytest.fixture
def drawn_tags(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The tags the worker writes on annotated images while the test runs."""
    tags: list[str] = []
    original = drawing.tag_text

    def recording(detection: dict[str, Any], language: str) -> str:
        tag = original(detection, language)
        tags.append(tag)
        return tag

    monkeypatch.setattr(drawing, "tag_text", recording)
    yield tags


def test_labels_are_drawn_in_the_chats_language_with_the_shipped_font(
    stack: PolybotStack, chat_id: int, drawn_tags: list[str]
) -> None:
    assert stack.telegram is not None
    _, [request] = start_photos(stack, chat_id, [ultralytics_asset("zidane.jpg")], preferences(language="ru"))
    reply = stack.telegram.wait_for_reply(chat_id, request["message_id"], timeout=60)

    assert reply.caption is not None and "галстук" in reply.caption, reply.caption
    tags = " ".join(drawn_tags)
    assert re.search(r"человек \d+\s%", tags) and re.search(r"галстук\?? \d+\s%", tags), drawn_tags
    assert not [tag for tag in drawn_tags if tag.startswith(("person", "tie"))]
    assert stack.detector is not None
    assert stack.detector.font.path == i18n.label_font_path(stack.settings.label_font)


# --- failures recorded for /history ------------------------------------------------


def test_a_failed_image_is_recorded_with_its_error_for_history(stack: PolybotStack, chat_id: int) -> None:
    _, [request] = start_photos(stack, chat_id, [plain_image()], not_images={0})
    name = photo_name(request)

    assert wait_for_execution(stack, name)["error"] == "NotAnImage"
    item = results_item(stack, name)
    assert item["failure"] == {"S": "NotAnImage"}
    assert item["chat_id"] == {"N": str(chat_id)}
    assert item["message_id"] == {"N": str(request["message_id"])}
    assert item["received_at"] == {"S": request["received_at"]}
    names = [row.name for row in execution_trace(stack, name)]
    assert names.index("RecordFailure") == names.index("NotifyFailure") - 1


# --- albums ----------------------------------------------------------------------


def test_an_album_of_three_gets_one_reply_and_one_media_group(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    photos = [ultralytics_asset("zidane.jpg"), ultralytics_asset("bus.jpg"), ultralytics_asset("zidane.jpg")]
    album, requests = start_photos(stack, chat_id, photos, album=True)
    execution = wait_for_execution(stack, album)

    assert execution["status"] == "SUCCEEDED", execution
    first = requests[0]["message_id"]
    replies = stack.telegram.replies_to(chat_id, first)
    overview = [r for r in replies if r.kind == "text"]
    group = [r for r in replies if r.method == "sendMediaGroup"]
    assert len(overview) == 1 and len(group) == 3, [r.shown() for r in replies]
    assert len({r.media_group_id for r in group}) == 1
    assert overview[0].text is not None and overview[0].text.startswith(i18n.text("album.title", "en"))
    said = [summary.caption(detections_of(stack, photo_name(r)), "en") for r in requests]
    assert overview[0].text.splitlines()[1:] == [f"{i}. {text}" for i, text in enumerate(said, start=1)]
    assert overview[0].buttons[0][1] == f"d:{album}"
    assert [r.caption for r in group] == [f"{i}. {text}" for i, text in enumerate(said, start=1)]
    assert all(not stack.telegram.replies_to(chat_id, r["message_id"]) for r in requests[1:])
    for request in requests:
        item = results_item(stack, photo_name(request))
        assert item["chat_id"] == {"N": str(chat_id)} and json.loads(item["detections"]["S"])
        assert "photo_file_id" in item, "kept for /history"
    assert Albums(stack.client("dynamodb"), stack.settings.results_table).photos(album) == requests
    states = [row.name for row in execution_trace(stack, album)]
    assert states[:2] == ["IsAlbum", "GatherAlbum"] and "WaitForAlbumPhotos" in states
    assert states.count("DetectPhotoObjects") == 3


def test_a_photo_that_fails_inside_an_album_is_named_in_the_albums_reply(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    photos = [ultralytics_asset("zidane.jpg"), plain_image(), ultralytics_asset("bus.jpg")]
    album, requests = start_photos(stack, chat_id, photos, album=True, not_images={1})

    assert wait_for_execution(stack, album)["status"] == "SUCCEEDED"
    replies = stack.telegram.replies_to(chat_id, requests[0]["message_id"])
    [overview] = [r for r in replies if r.kind == "text"]
    assert overview.text is not None
    lines = overview.text.splitlines()
    assert lines[2] == "2. " + i18n.text("failure.NotAnImage", "en"), lines
    assert len([r for r in replies if r.method == "sendMediaGroup"]) == 2
    # The media group leaves photo 2 out, and the overview says so (issue 19, rough edge 6).
    assert i18n.text("album.not_shown.one", "en", photos="2") in lines, lines
    assert results_item(stack, photo_name(requests[1]))["failure"] == {"S": "NotAnImage"}
    assert "detections" in results_item(stack, photo_name(requests[2]))


def test_an_album_answered_photo_by_photo_when_the_chat_prefers(stack: PolybotStack, chat_id: int) -> None:
    assert stack.telegram is not None
    photos = [ultralytics_asset("zidane.jpg"), plain_image(320, 240)]
    album, requests = start_photos(stack, chat_id, photos, preferences(album_reply="each"), album=True)

    assert wait_for_execution(stack, album)["status"] == "SUCCEEDED"
    [first] = stack.telegram.replies_to(chat_id, requests[0]["message_id"])
    [second] = stack.telegram.replies_to(chat_id, requests[1]["message_id"])
    assert first.kind == "photo"
    assert first.caption == summary.caption(detections_of(stack, photo_name(requests[0])), "en")
    assert second.kind == "text" and second.text is not None and "did not recognise" in second.text
    # At the default threshold, the lowest /settings offers, no lower one is suggested (issue 19, rough edge 1).
    assert "/settings" not in second.text, second.text
    assert not [m for m in stack.telegram.sent if m.chat_id == chat_id and m.method == "sendMediaGroup"]
