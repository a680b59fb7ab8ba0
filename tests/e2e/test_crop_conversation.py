"""A crop per object, as a user has it: a photo (or an image file) analysed by the
real workflow and model, Details with a button per object, and a tap that brings
that object cut from the original at full resolution, through the stack's bot
and the Telegram stand-in (which keeps a photo as Telegram shows it: no larger
than 2560 px, so a crop that came as a photo too large would arrive shrunk).

The stand-in's transcript of each conversation is printed when the test ends
(`-s` or `-rP` shows it).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

from bot import crops
from local.polybot_stack import PolybotStack
from local.telegram_standin import SentMessage, TelegramStandIn
from polybot import callbacks, i18n, naming
from tests.auxil.images import resized, ultralytics_asset

pytestmark = [pytest.mark.aws, pytest.mark.model]

ANSWER_S = 120


@pytest.fixture
def telegram(stack: PolybotStack, chat_id: int) -> Iterator[TelegramStandIn]:
    assert stack.telegram is not None and stack.bot is not None
    yield stack.telegram
    print(f"\n--- chat {chat_id} ---", *stack.telegram.transcript(chat_id), sep="\n")


def stored(stack: PolybotStack, chat_id: int, message_id: int) -> tuple[list[dict[str, Any]], bytes]:
    """The detections the workflow stored for the image, and its original in the bucket."""
    name = naming.execution_name(chat_id, message_id)
    item = stack.client("dynamodb").get_item(TableName=stack.settings.results_table, Key={"image_id": {"S": name}})
    key = item["Item"]["original_key"]["S"]
    original = stack.client("s3").get_object(Bucket=stack.settings.images_bucket, Key=key)["Body"].read()
    return json.loads(item["Item"]["detections"]["S"]), original


def details_after(telegram: TelegramStandIn, chat_id: int, message_id: int) -> SentMessage:
    """The user taps Details on the answer to their image; the Details message."""
    answer = telegram.wait_for_reply(chat_id, message_id, timeout=ANSWER_S)
    query = telegram.user_taps(chat_id, answer.message_id, i18n.text("details.button", "en"))
    [details] = [m for m in telegram.replies_to(chat_id, answer.message_id) if m.kind == "text"]
    assert query.answered
    return details


def tap_crop(telegram: TelegramStandIn, chat_id: int, details: SentMessage, button: str) -> SentMessage:
    before = len(telegram.replies_to(chat_id, details.message_id))
    query = telegram.user_taps(chat_id, details.message_id, button)
    replies = telegram.replies_to(chat_id, details.message_id)
    assert query.answered and len(replies) == before + 1
    return replies[-1]


def area(detection: dict[str, Any]) -> float:
    x1, y1, x2, y2 = detection["box"]
    return float((x2 - x1) * (y2 - y1))


def button_for(details: SentMessage, name: str, index: int) -> str:
    [text] = [text for text, data in details.buttons if data == f"{callbacks.CROP}{name}:{index}"]
    return text


def assert_cut_from(original: bytes, received: bytes, box: list[float]) -> None:
    """`received` is the padded `box` of the upright original, pixel for pixel (within JPEG's error)."""
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(original))).convert("RGB")
    expected = upright.crop(crops.padded_box(box, upright.width, upright.height))
    got = Image.open(io.BytesIO(received)).convert("RGB")
    assert got.size == expected.size, f"{got.size} is not the box at full resolution, {expected.size}"
    difference = np.abs(np.asarray(got, dtype=int) - np.asarray(expected, dtype=int)).mean()
    assert difference < 6, f"the crop is not that part of the original (mean difference {difference:.1f})"
    # For the transcript: what arrived, against the original.
    print(
        f"  arrived {got.width}x{got.height} px = box {[round(v) for v in box]} padded, "
        f"of the {upright.width}x{upright.height} original; mean difference {difference:.1f}"
    )


def test_a_tap_on_a_crop_button_sends_that_object_cut_from_the_original_at_full_resolution(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int
) -> None:
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))
    name = naming.execution_name(chat_id, photo["message_id"])

    details = details_after(telegram, chat_id, photo["message_id"])

    detections, original = stored(stack, chat_id, photo["message_id"])
    assert len(detections) >= 4, "a bus and people"
    largest_first = sorted(range(len(detections)), key=lambda i: -area(detections[i]))
    assert [data for _, data in details.buttons] == [
        f"{callbacks.CROP}{name}:{i}" for i in largest_first[: crops.MAX_BUTTONS]
    ]
    listed = (details.text or "").splitlines()
    for text, data in details.buttons:
        # "✂ 2. person 87%" stands for the Details line "2. person: 87%".
        number, rest = text.removeprefix("✂ ").split(". ", 1)
        label, confidence = rest.rsplit(" ", 1)
        assert listed[int(number)] == f"{number}. {label}: {confidence}", data

    bus = largest_first[0]
    crop = tap_crop(telegram, chat_id, details, button_for(details, name, bus))

    assert detections[bus]["label"] == "bus"
    assert crop.kind == "photo" and crop.reply_to_message_id == details.message_id
    assert crop.caption == f"✂ bus: {i18n.percent(detections[bus]['confidence'], 'en')}"
    assert_cut_from(original, crop.photo or b"", detections[bus]["box"])

    person = largest_first[1]
    again = [tap_crop(telegram, chat_id, details, button_for(details, name, person)) for _ in range(2)]

    # A second tap on the same button sends the crop again (bot/crops.py).
    assert [m.kind for m in again] == ["photo", "photo"]
    assert_cut_from(original, again[0].photo or b"", detections[person]["box"])


def test_a_crop_larger_than_telegram_shows_a_photo_arrives_as_a_file_at_full_resolution(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int
) -> None:
    # bus.jpg at four times its size (3240 x 4320), sent as a file: Telegram keeps its bytes.
    large = resized("bus.jpg", (3240, 4320))
    sent = telegram.user_sends_document(chat_id, large, "bus-large.jpg", "image/jpeg")
    name = naming.execution_name(chat_id, sent["message_id"])

    details = details_after(telegram, chat_id, sent["message_id"])

    detections, original = stored(stack, chat_id, sent["message_id"])
    assert original == large
    by_area = sorted(range(len(detections)), key=lambda i: -area(detections[i]))
    bus = by_area[0]
    left, top, right, bottom = crops.padded_box(detections[bus]["box"], 3240, 4320)
    assert max(right - left, bottom - top) > 2560, "the bus is larger than Telegram shows a photo"
    crop = tap_crop(telegram, chat_id, details, button_for(details, name, bus))

    assert crop.kind == "document" and crop.reply_to_message_id == details.message_id
    assert_cut_from(original, crop.document or b"", detections[bus]["box"])

    # A person in it fits a photo: a photo, whole.
    person = next(i for i in by_area if detections[i]["label"] == "person")
    small = tap_crop(telegram, chat_id, details, button_for(details, name, person))

    assert small.kind == "photo"
    assert_cut_from(original, small.photo or b"", detections[person]["box"])


def test_a_crop_of_a_forgotten_image_says_why_not(stack: PolybotStack, telegram: TelegramStandIn, chat_id: int) -> None:
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
    details = details_after(telegram, chat_id, photo["message_id"])
    name = naming.execution_name(chat_id, photo["message_id"])
    key = naming.original_key(name, "image/jpeg")
    stack.client("s3").delete_object(Bucket=stack.settings.images_bucket, Key=key)  # its retention ran out

    said = tap_crop(telegram, chat_id, details, details.buttons[0][0])

    assert said.kind == "text" and said.text == i18n.text("crop.gone", "en")


def test_an_albums_details_offer_its_largest_objects_across_its_photos(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int
) -> None:
    photos = telegram.user_sends_album(chat_id, [ultralytics_asset("zidane.jpg"), ultralytics_asset("bus.jpg")])
    album = naming.album_execution_name(chat_id, photos[0]["media_group_id"])
    assert stack.wait_for_execution(album, timeout_s=ANSWER_S)["status"] == "SUCCEEDED"
    # The album's progress (edited into its overview) quotes whichever photo's update the bot met
    # first: the stand-in delivers an album's updates concurrently, as Telegram does.
    [overview] = [m for p in photos for m in telegram.replies_to(chat_id, p["message_id"]) if m.kind == "text"]

    telegram.user_taps(chat_id, overview.message_id, i18n.text("details.button", "en"))

    [details] = telegram.replies_to(chat_id, overview.message_id)
    found = {number: stored(stack, chat_id, p["message_id"]) for number, p in enumerate(photos, start=1)}
    every = [
        (area(d), number, naming.execution_name(chat_id, photos[number - 1]["message_id"]), index)
        for number, (detections, _) in found.items()
        for index, d in enumerate(detections)
    ]
    largest = sorted(every, key=lambda e: -e[0])[: crops.MAX_BUTTONS]
    assert [data for _, data in details.buttons] == [f"{callbacks.CROP}{name}:{i}" for _, _, name, i in largest]
    for (text, _), (_, number, _, _) in zip(details.buttons, largest, strict=True):
        assert text.startswith(f"✂ {number}."), "each button names its photo"

    _, number, _, index = largest[0]
    crop = tap_crop(telegram, chat_id, details, details.buttons[0][0])

    detections, original = found[number]
    assert crop.kind == "photo"
    assert_cut_from(original, crop.photo or b"", detections[index]["box"])
