"""SendAlbumReply's questions: which caption speaks for an album, and, answered
photo by photo, each photo with a caption of its own answers its own question
(a client may caption every photo of an album). The album's answer as a whole
runs end to end in tests/e2e/test_caption_questions.py."""

from __future__ import annotations

from typing import Any

from functions import send_reply
from polybot import questions
from polybot.questions import Question
from tests.auxil.requests import image_request

DOGS = Question("count", "dog", "dogs")
CATS = Question("count", "cat", "cats")
FOUND = [
    {"label": "dog", "confidence": 0.9, "box": [0, 0, 50, 50]},
    {"label": "cat", "confidence": 0.8, "box": [60, 0, 110, 50]},
    {"label": "cat", "confidence": 0.7, "box": [120, 0, 170, 50]},
]


def photo(message_id: int, asked: Question | None) -> Any:
    request = image_request(7, message_id)
    if asked is not None:
        request["question"] = asked.as_message()
    return {
        "execution_name": f"tg7_{message_id}",
        "request": request,
        "staged": {"bucket": "b", "key": "k", "width": 640, "height": 480},
        "detection": {"model": "yolov8n.pt", "detections": FOUND, "annotated_key": "a"},
    }


def test_the_first_caption_in_the_albums_order_speaks_for_the_album() -> None:
    assert send_reply.album_question([photo(1, None), photo(2, CATS), photo(3, DOGS)]) == CATS
    assert send_reply.album_question([photo(1, None), photo(2, None)]) is None


def test_photo_by_photo_each_caption_answers_its_own_question() -> None:
    photos = [photo(1, DOGS), photo(2, CATS), photo(3, None)]

    answers = [send_reply._asked_text(p, "en") for p in photos]

    assert answers == [questions.answer(DOGS, FOUND, "en", 640), questions.answer(CATS, FOUND, "en", 640), None]
    assert "1 dog" in (answers[0] or "") and "2 cats" in (answers[1] or "")
