"""The caption is the question, in English, Spanish and Russian: whole
conversations through the local stack and the Telegram stand-in (the real
webhook, real executions of the workflow, the real model), one per intent and
language: a count, a find (the image drawn with that class alone), a thing the
model does not know, and a text question about the chat's last photo,
answered from the stored detections without analysing again.

Each test's transcript is printed when it ends (`-s` or `-rP` shows them): the
lead quotes them in the issue's closing note.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest

from local.polybot_stack import PolybotStack
from local.telegram_standin import SentMessage, TelegramStandIn
from polybot import i18n, naming, questions, summary
from polybot.questions import Question
from tests.auxil.images import ultralytics_asset

pytestmark = [pytest.mark.aws, pytest.mark.model]

ANSWER_S = 120

COUNT = {"en": "how many people?", "es": "¿Cuántas personas hay?", "ru": "сколько людей?"}


@pytest.fixture
def telegram(stack: PolybotStack, chat_id: int) -> Iterator[TelegramStandIn]:
    assert stack.telegram is not None and stack.bot is not None
    yield stack.telegram
    print(f"\n--- chat {chat_id} ---", *stack.telegram.transcript(chat_id), sep="\n")


def detections_of(stack: PolybotStack, chat_id: int, message_id: int) -> list[dict[str, Any]]:
    """What the workflow stored for the photo (the results table)."""
    name = naming.execution_name(chat_id, message_id)
    answer = stack.client("dynamodb").get_item(TableName=stack.settings.results_table, Key={"image_id": {"S": name}})
    found: list[dict[str, Any]] = json.loads(answer["Item"]["detections"]["S"])
    return found


def stored_images(stack: PolybotStack, chat_id: int, message_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The photo as the workflow stored it, and the image the worker drew on it (the images bucket)."""
    name = naming.execution_name(chat_id, message_id)
    item = stack.client("dynamodb").get_item(TableName=stack.settings.results_table, Key={"image_id": {"S": name}})
    s3 = stack.client("s3")

    def image(key: str) -> np.ndarray:
        data = s3.get_object(Bucket=stack.settings.images_bucket, Key=key)["Body"].read()
        decoded: np.ndarray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        return decoded

    return image(item["Item"]["original_key"]["S"]), image(item["Item"]["annotated_key"]["S"])


def outline_change(original: np.ndarray, annotated: np.ndarray, box: list[float]) -> float:
    """How much a detection's box outline differs between the two images: the least
    changed of its four sides (mean absolute, 0-255), tens where the worker drew the
    box, JPEG noise (a few) where it did not; the least, as an undrawn box may share
    a side with a drawn one (a person standing at the bus's edge)."""
    height, width = original.shape[:2]
    x1, y1 = max(0, round(box[0])), max(0, round(box[1]))
    x2, y2 = min(width - 1, round(box[2])), min(height - 1, round(box[3]))
    sides = [(np.s_[y, x1:x2]) for y in (y1, y2)] + [(np.s_[y1:y2, x]) for x in (x1, x2)]
    return float(min(np.abs(annotated[s].astype(int) - original[s].astype(int)).mean() for s in sides))


DRAWN = 20.0
"""An outline that changed more than this was drawn."""


def answer_to(telegram: TelegramStandIn, chat_id: int, message_id: int) -> SentMessage:
    return telegram.wait_for_reply(chat_id, message_id, timeout=ANSWER_S)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_caption_asking_how_many_is_answered_with_that_count(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int, language: str
) -> None:
    telegram.user_speaks(chat_id, language)
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"), caption=COUNT[language])

    answer = answer_to(telegram, chat_id, photo["message_id"])

    detections = detections_of(stack, chat_id, photo["message_id"])
    people = [d for d in detections if d["label"] == "person"]
    assert people and len(people) < len(detections), "bus.jpg has people and other things"
    assert answer.kind == "photo"
    assert answer.caption == questions.counting(Question("count", "person"), detections, language)
    assert str(sum(1 for d in people if d["confidence"] >= 0.5)) in (answer.caption or "")
    assert i18n.label("bus", language) not in (answer.caption or "").lower(), "the bus is not what was asked about"


TEXT_COUNT = {"en": "How many people are in the last photo?", "es": "¿cuántas personas hay?", "ru": "Сколько людей?"}


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_text_question_after_a_photo_is_answered_from_its_stored_detections(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int, language: str
) -> None:
    telegram.user_speaks(chat_id, language)
    before = telegram.user_sends_text(chat_id, TEXT_COUNT[language])
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))
    answer_to(telegram, chat_id, photo["message_id"])

    asked = telegram.user_sends_text(chat_id, TEXT_COUNT[language])

    [no_photo] = telegram.replies_to(chat_id, before["message_id"])
    assert no_photo.text == i18n.text("question.no_photo", language)
    [reply] = telegram.replies_to(chat_id, asked["message_id"])
    detections = detections_of(stack, chat_id, photo["message_id"])
    assert reply.text == questions.counting(Question("count", "person"), detections, language)
    assert reply.text != i18n.text("hint", language)
    # Answered from the results table: the text started no analysis of its own.
    name = naming.execution_name(chat_id, asked["message_id"])
    assert stack.wait_for_execution(name, wait_for_start=False)["status"] == "NOT_STARTED"


FIND = {"en": "find the bus", "es": "busca el autobús", "ru": "найди автобус"}
FIND_ABSENT = {"en": "only the dogs", "es": "solo los perros", "ru": "покажи только собак"}


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_caption_asking_to_find_a_class_gets_the_image_drawn_with_it_alone(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int, language: str
) -> None:
    telegram.user_speaks(chat_id, language)
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"), caption=FIND[language])

    answer = answer_to(telegram, chat_id, photo["message_id"])

    detections = detections_of(stack, chat_id, photo["message_id"])
    assert answer.kind == "photo"
    assert answer.caption == questions.counting(Question("find", "bus"), detections, language)
    # Every detection is stored (a later question counts the people); only the bus is drawn.
    assert {d["label"] for d in detections} >= {"bus", "person"}
    original, annotated = stored_images(stack, chat_id, photo["message_id"])
    drawn = {i for i, d in enumerate(detections) if outline_change(original, annotated, d["box"]) > DRAWN}
    assert drawn == {i for i, d in enumerate(detections) if d["label"] == "bus"}


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_find_that_finds_nothing_says_so_in_words(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int, language: str
) -> None:
    telegram.user_speaks(chat_id, language)
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"), caption=FIND_ABSENT[language])

    answer = answer_to(telegram, chat_id, photo["message_id"])

    assert answer.kind == "text"
    assert answer.text == questions.counting(Question("find", "dog"), [], language)


UNKNOWN = {"en": "how many tigers?", "es": "¿cuántos tigres hay?", "ru": "сколько тигров?"}
TIGERS = {"en": "tigers", "es": "tigres", "ru": "тигров"}


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_caption_asking_for_a_thing_the_model_does_not_know_names_the_nearest_and_sums_up(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int, language: str
) -> None:
    telegram.user_speaks(chat_id, language)
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"), caption=UNKNOWN[language])

    answer = answer_to(telegram, chat_id, photo["message_id"])

    said, usual = (answer.caption or "").split("\n\n", 1)
    assert said == questions.unknown(Question("unknown", "cat", TIGERS[language]), language)
    assert TIGERS[language] in said and i18n.counted("cat", 1, language) in said
    detections = detections_of(stack, chat_id, photo["message_id"])
    original, _ = stored_images(stack, chat_id, photo["message_id"])
    assert usual == summary.caption(detections, language, original.shape[1]), "then the photo's usual summary"


def test_an_albums_caption_question_is_answered_for_the_whole_album(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int
) -> None:
    """The caption a client puts on an album's first photo asks about the album:
    the count across its photos above the overview, each photo's own count in its caption."""
    language = "ru"
    telegram.user_speaks(chat_id, language)
    images = [ultralytics_asset("zidane.jpg"), ultralytics_asset("bus.jpg")]
    photos = telegram.user_sends_album(chat_id, images, caption=COUNT[language])
    album = naming.album_execution_name(chat_id, photos[0]["media_group_id"])
    assert stack.wait_for_execution(album, timeout_s=ANSWER_S)["status"] == "SUCCEEDED"

    found = [detections_of(stack, chat_id, photo["message_id"]) for photo in photos]
    people = Question("count", "person")
    sent = [m for m in telegram.sent if m.chat_id == chat_id and not m.deleted]
    [overview] = [m for m in sent if m.method == "sendMessage"]
    answer, rest = (overview.text or "").split("\n\n", 1)
    assert answer == questions.counting(people, found[0] + found[1], language)
    sure = sum(1 for detections in found for d in detections if d["label"] == "person" and d["confidence"] >= 0.5)
    assert sure >= 4 and str(sure) in answer, "the people of both photos, counted together"
    assert rest.startswith(i18n.text("album.title", language)), "then the album's usual overview"
    captions = [m.caption for m in sent if m.method == "sendMediaGroup"]
    assert captions == [
        i18n.text("album.caption", language, index=index, summary=questions.counting(people, detections, language))
        for index, detections in enumerate(found, start=1)
    ]


def test_an_album_answered_photo_by_photo_answers_its_caption_on_the_photo_that_bore_it(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int
) -> None:
    """One answer per photo (/settings): the photo with the caption is answered as a
    photo alone with it would be (here a thing the model does not know), the others as usual."""
    command = telegram.user_sends_text(chat_id, "/settings")
    [menu] = telegram.replies_to(chat_id, command["message_id"])
    assert telegram.user_taps(chat_id, menu.message_id, i18n.text("settings.album.each", "en")).answered
    images = [ultralytics_asset("zidane.jpg"), ultralytics_asset("bus.jpg")]
    photos = telegram.user_sends_album(chat_id, images, caption=UNKNOWN["en"])
    album = naming.album_execution_name(chat_id, photos[0]["media_group_id"])
    assert stack.wait_for_execution(album, timeout_s=ANSWER_S)["status"] == "SUCCEEDED"

    answers = [telegram.replies_to(chat_id, photo["message_id"]) for photo in photos]
    assert [[m.kind for m in replies] for replies in answers] == [["photo"], ["photo"]], telegram.transcript(chat_id)
    said, usual = (answers[0][0].caption or "").split("\n\n", 1)
    assert said == questions.unknown(Question("unknown", "cat", TIGERS["en"]), "en")
    for photo, [answer] in zip(photos, answers, strict=True):
        detections = detections_of(stack, chat_id, photo["message_id"])
        original, _ = stored_images(stack, chat_id, photo["message_id"])
        expected = summary.caption(detections, "en", original.shape[1], image_height=original.shape[0])
        assert (usual if photo is photos[0] else answer.caption) == expected
