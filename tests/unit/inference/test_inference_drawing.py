"""The annotated picture (inference/drawing.py, issue 19 rough edge 10 and the
photo answer of 11): tags that overlap no other tag and that no box's line
runs through, uncertain detections drawn apart, tags worded as the text words
them, and a panorama folded into a picture Telegram shows large enough to read."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from inference import drawing
from polybot import i18n, summary

FONT = drawing.label_font()
GREY = 90


def line_and_tag_size(height: int, width: int) -> tuple[int, int]:
    """Ultralytics' line width for a picture's size, and the tags' font size with it."""
    line = max(round((height + width) / 2 * 0.003), 2)
    return line, max(10, round(line * 5.5))


def detection(label: str, class_id: int, confidence: float, box: list[float]) -> dict[str, Any]:
    return {"label": label, "class_id": class_id, "confidence": confidence, "box": box}


def crowd(count: int, width: int, height: int, seed: int = 0) -> list[dict[str, Any]]:
    """People standing close, overlapping: the "24 people" photo."""
    rng = np.random.default_rng(seed)
    people = []
    for _ in range(count):
        x, y = rng.uniform(0, width * 0.85), rng.uniform(height * 0.1, height * 0.6)
        w, h = rng.uniform(width * 0.04, width * 0.12), rng.uniform(height * 0.2, height * 0.4)
        people.append(
            detection(
                "person", 0, round(float(rng.uniform(0.26, 0.95)), 4), [x, y, min(x + w, width), min(y + h, height)]
            )
        )
    return sorted(people, key=lambda d: -d["confidence"])


@pytest.mark.parametrize("count", [5, 24, 60])
def test_in_a_crowd_no_two_tags_overlap(count: int) -> None:
    height, width = 720, 1280
    people = crowd(count, width, height)
    masks = [FONT.mask(drawing.tag_text(p, "en"), line_and_tag_size(height, width)[1]) for p in people]

    places = drawing.layout(
        [(m.shape[1], m.shape[0]) for m in masks], [drawing._rect(p) for p in people], (height, width)
    )

    placed = [p for p in places if p is not None]
    assert len(placed) >= min(count, 20), "most tags find a place"
    for a, b in itertools.combinations(placed, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    assert all(0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height for x1, y1, x2, y2 in placed)


def test_a_tag_without_room_is_numbered_and_listed_in_a_legend_under_the_picture() -> None:
    image = np.full((240, 320, 3), GREY, np.uint8)
    people = crowd(60, 320, 240)

    annotated = drawing.annotate(image, people, "en", FONT)

    assert annotated.shape[0] > image.shape[0] and annotated.shape[1] == image.shape[1]
    assert np.all(annotated[240:][:2] == drawing.LEGEND_BACKGROUND), "the legend is a band of its own"


def test_no_boxs_line_runs_through_a_tag() -> None:
    # The person's tag sits above its box's top-left corner; the bus's box,
    # drawn after it, has its left edge right through that place.
    image = np.full((400, 600, 3), GREY, np.uint8)
    person = detection("person", 0, 0.9, [100, 100, 300, 300])
    bus = detection("bus", 5, 0.9, [130, 20, 500, 380])

    annotated = drawing.annotate(image, [person, bus], "en", FONT)

    bus_colour = np.array(drawing.PALETTE_BGR[5])
    tag_h = FONT.mask(drawing.tag_text(person, "en"), line_and_tag_size(400, 600)[1]).shape[0]
    column = annotated[100 - tag_h + 1 : 99, 130]
    assert not np.any(np.all(np.abs(column.astype(int) - bus_colour) < 30, axis=1)), "the bus's line crosses the tag"


def drawn_share(annotated: np.ndarray, colour: tuple[int, int, int], row: int, x1: int, x2: int) -> float:
    line = annotated[row, x1:x2].astype(int)
    return float(np.mean(np.all(np.abs(line - np.array(colour)) < 40, axis=1)))


def test_an_uncertain_detection_is_drawn_dashed_and_thinner_and_its_tag_says_so() -> None:
    image = np.full((400, 800, 3), GREY, np.uint8)
    sure = detection("dog", 16, 0.9, [40, 150, 360, 380])
    unsure = detection("dog", 16, summary.CONFIDENT - 0.01, [440, 150, 760, 380])
    colour = drawing.PALETTE_BGR[16]

    annotated = drawing.annotate(image, [sure, unsure], "en", FONT)

    line, _ = line_and_tag_size(400, 800)
    # Along the bottom edges (no tag there): the sure box's line is whole, the other's is broken.
    assert drawn_share(annotated, colour, 380, 60, 340) > 0.95
    assert 0.2 < drawn_share(annotated, colour, 380, 460, 740) < 0.8
    # Thinner: the rows its bottom line covers.
    thickness = [
        sum(drawn_share(annotated, colour, row, x1 + 20, x2 - 20) > 0.15 for row in range(370, 391))
        for x1, x2 in ((40, 360), (440, 760))
    ]
    assert thickness[1] < thickness[0] and thickness[0] >= line
    assert drawing.tag_text(unsure, "en").startswith("dog?") and "?" not in drawing.tag_text(sure, "en")


@pytest.mark.parametrize("language", ["en", "es", "ru"])
def test_a_tag_gives_the_confidence_as_the_text_does(language: str) -> None:
    person = detection("person", 0, 0.8812, [0, 0, 10, 10])

    tag = drawing.tag_text(person, language)

    assert tag == f"{i18n.label('person', language)} {i18n.percent(0.8812, language)}"
    assert i18n.percent(0.8812, language) in summary.details([person], language)


def test_a_panorama_is_folded_into_a_picture_whose_tags_telegram_shows_legibly() -> None:
    height, width = 1500, 12_000
    image = np.full((height, width, 3), GREY, np.uint8)
    cell = width / 11
    buses = [detection("bus", 5, 0.87, [i * cell + 20, 320, (i + 1) * cell - 20, 1040]) for i in range(11)]

    annotated = drawing.annotate(image, buses, "en", FONT)

    shown_h, shown_w = annotated.shape[:2]
    assert max(shown_h, shown_w) / min(shown_h, shown_w) <= 1.5
    assert shown_h * shown_w >= height * width, "nothing of the panorama left out"
    # Telegram shows a photo at 2560 px on its longest side at most: the tags stay 20 px tall or more.
    tag_h = FONT.mask("bus 87%", line_and_tag_size(shown_h, shown_w)[1]).shape[0]
    assert tag_h * 2560 / max(shown_h, shown_w) >= 20
    # The cuts fall between the buses, none cut in two.
    boxes = [drawing._rect(b) for b in buses]
    for ideal in (4000, 6000, 8000):
        cut = drawing._free_cut(ideal, boxes, 1000)
        assert abs(cut - ideal) <= 1000 and not [b for b in boxes if b[0] < cut < b[2]], cut


def test_a_tall_panorama_is_folded_into_columns() -> None:
    image = np.full((9000, 1000, 3), GREY, np.uint8)
    people = [detection("person", 0, 0.9, [100, y, 900, y + 600]) for y in range(200, 8800, 1000)]

    annotated = drawing.annotate(image, people, "es", FONT)

    assert annotated.shape[1] > annotated.shape[0] / 1.5 and annotated.shape[0] < 9000
