"""bot.history: results items, as the workflow writes them, read into ImageResult
records, and /history said from those."""

from __future__ import annotations

import json
from typing import Any

from bot.history import ImageResult, history_buttons, history_text, result_details, result_summary
from polybot import callbacks, i18n
from polybot.contracts.messages import Detection

DETECTIONS: list[Detection] = [
    {"label": "person", "class_id": 0, "confidence": 0.91, "box": [10.5, 20, 300, 940.25]},
    {"label": "dog", "class_id": 16, "confidence": 0.62, "box": [400, 500, 700, 900]},
]
ANALYSED: dict[str, Any] = {
    # As PersistResults (statemachines/image_pipeline.asl.json) and SendReply write it.
    "image_id": {"S": "tg4242_77"},
    "chat_id": {"N": "4242"},
    "message_id": {"N": "77"},
    "received_at": {"S": "2025-06-18T09:44:10.391Z"},
    "analysed_at": {"S": "2025-06-18T09:44:12.101Z"},
    "original_key": {"S": "originals/tg4242_77.jpg"},
    "annotated_key": {"S": "annotated/tg4242_77.jpg"},
    "model": {"S": "yolov8n"},
    "object_count": {"N": "2"},
    "detections": {"S": json.dumps(DETECTIONS)},
    "timings": {"M": {"stage_ms": {"N": "412"}, "inference_ms": {"N": "150"}}},
    "sent_reply": {"N": "78"},
    "photo_file_id": {"S": "AgACAgIAAxkBAAIB"},
}
FAILED: dict[str, Any] = {
    "image_id": {"S": "tg4242_79"},
    "chat_id": {"N": "4242"},
    "received_at": {"S": "2025-06-18T09:45:00.000Z"},
    "failure": {"S": "NotAnImage"},
}


def test_an_analysed_images_item_becomes_its_record() -> None:
    assert ImageResult.from_item(ANALYSED) == ImageResult(
        name="tg4242_77",
        received_at="2025-06-18T09:44:10.391Z",
        detections=DETECTIONS,
        failed=False,
        annotated_key="annotated/tg4242_77.jpg",
        original_key="originals/tg4242_77.jpg",
        photo_file_id="AgACAgIAAxkBAAIB",
    )


def test_a_failed_images_item_has_no_detections_and_no_image() -> None:
    result = ImageResult.from_item(FAILED)

    assert (result.failed, result.detections, result.can_be_sent_again) == (True, None, False)
    assert result_summary(result, "en") == i18n.text("history.failed", "en")
    assert result_details(result, "en") == i18n.text("history.failed", "en")


def test_an_image_with_nothing_found_says_so() -> None:
    result = ImageResult.from_item({**ANALYSED, "detections": {"S": "[]"}})

    assert result_summary(result, "en") == i18n.text("history.nothing_found", "en")


def test_history_lists_each_result_with_a_button_for_those_with_an_image() -> None:
    results = [ImageResult.from_item(ANALYSED), ImageResult.from_item(FAILED)]

    text = history_text(results, "en")
    markup = history_buttons(results, "en")

    assert text.splitlines()[0] == i18n.text("history.title", "en")
    assert text.splitlines()[2].endswith(i18n.text("history.failed", "en"))
    assert markup is not None
    assert [b.callback_data for row in markup.keyboard for b in row] == [callbacks.HISTORY + "tg4242_77"]


def test_a_result_without_a_readable_time_is_listed_all_the_same() -> None:
    result = ImageResult.from_item({**ANALYSED, "received_at": {"S": "yesterday"}})

    assert history_text([result], "en").splitlines()[1].startswith("1. ?: ")
