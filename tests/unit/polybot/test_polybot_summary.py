from __future__ import annotations

from typing import Any

import pytest

from polybot import i18n, summary


def found(label: str, confidence: float = 0.9, box: tuple[float, float, float, float] = (0, 0, 10, 10)) -> Any:
    return {"label": label, "class_id": 0, "confidence": confidence, "box": list(box)}


def test_counts_are_grouped_and_pluralised() -> None:
    detections = [found("person"), found("bus", box=(0, 0, 5, 5)), found("person"), found("person")]

    assert summary.caption(detections) == "I see 3 people and a bus."


def test_the_thing_taking_most_of_the_picture_comes_first() -> None:
    detections = [found("person", box=(0, 0, 10, 10)), found("person"), found("bus", box=(0, 0, 100, 50))]

    assert summary.describe(detections) == "I see a bus and 2 people."


def test_equally_prominent_groups_keep_the_order_they_were_found_in() -> None:
    assert summary.describe([found("cat"), found("dog"), found("bird")]) == "I see a cat, a dog and a bird."


def test_uncertain_detections_are_hedged_confident_ones_stated() -> None:
    detections = [found("person", 0.82, (0, 0, 50, 50)), found("car", 0.29), found("traffic light", 0.31)]

    assert summary.describe(detections) == "I see a person, and maybe a car and a traffic light."
    assert summary.describe([found("car", 0.29)]) == "I'm not sure, but I may see a car."


def test_unsure_ones_of_a_class_seen_for_sure_widen_its_count() -> None:
    detections = [found("car", 0.9, (0, 0, 50, 50)), found("car", 0.3), found("car", 0.35), found("tie", 0.3)]

    assert summary.describe(detections) == "I see a car (maybe 3), and maybe a tie."
    assert summary.describe(detections, "ru") == "На фото: машина (возможно, 3); возможно, ещё галстук."


def test_a_single_narrow_object_to_one_side_is_placed() -> None:
    detections = [found("cat", box=(10, 10, 100, 100)), found("dog", box=(700, 0, 800, 120))]

    assert summary.describe(detections, image_width=810) == "I see a dog on the right and a cat on the left."
    assert summary.describe(detections) == "I see a dog and a cat.", "without the width nothing is placed"
    wide = [found("bus", box=(0, 0, 500, 300))]
    assert summary.describe(wide, image_width=810) == "I see a bus.", "wider than half the picture"


def test_nothing_placed_when_there_are_many_groups() -> None:
    detections = [found(label, box=(0, 0, 20, 20)) for label in ("cat", "dog", "bird", "horse")]

    assert "left" not in summary.describe(detections, image_width=810)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "I see 3 people, and maybe a traffic light."),
        ("es", "En la foto hay 3 personas y quizás un semáforo."),
        ("ru", "На фото: 3 человека; возможно, ещё светофор."),
    ],
)
def test_the_summary_speaks_the_users_language(language: str, expected: str) -> None:
    detections = [found("person"), found("person"), found("person"), found("traffic light", 0.3, (0, 0, 1, 1))]

    assert summary.caption(detections, language) == expected


def test_nothing_recognised_comes_with_a_tip() -> None:
    text = summary.caption([])

    assert text.startswith("I looked carefully but did not recognise anything I know in this photo.")
    assert "Tip:" in text and "/settings" in text
    assert summary.describe([]) == ""


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize(("width", "height"), [(16, 21), (1, 1), (63, 4000), (4000, 63)])
def test_nothing_found_in_a_tiny_image_says_it_is_tiny_and_how_large_to_send(
    language: str, width: int, height: int
) -> None:
    text = summary.caption([], language, width, image_height=height)

    tiny = i18n.text("summary.tiny", language, width=width, height=height, side=summary.TINY_SIDE)
    paragraphs = text.split("\n\n")
    assert paragraphs[:2] == [i18n.text("summary.nothing", language), tiny]
    assert f"{width}×{height}" in tiny and f"{summary.TINY_SIDE}×{summary.TINY_SIDE}" in tiny


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize(("width", "height"), [(64, 64), (640, 480), (12000, 1500), (None, None), (16, None)])
def test_an_image_of_a_fair_or_unknown_size_is_not_called_tiny(language: str, width: int, height: int | None) -> None:
    text = summary.caption([], language, width, image_height=height)

    assert i18n.text("summary.tiny", language, width=width, height=height, side=summary.TINY_SIDE) not in text
    assert text.split("\n\n")[1] == i18n.text("summary.tip", language)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize(("width", "height"), [(16, 21), (1280, 720), (None, None)])
def test_nothing_found_always_says_that_text_is_not_read(language: str, width: int | None, height: int | None) -> None:
    """A screenshot of text finds nothing: the answer says why, whatever the image."""
    text = summary.caption([], language, width, image_height=height)

    assert text.endswith("\n\n" + i18n.text("summary.not_text", language))


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_what_was_found_comes_without_the_nothing_found_notes(language: str) -> None:
    text = summary.caption([found("person")], language, 16, image_height=21)

    assert i18n.text("summary.not_text", language) not in text
    assert "16×21" not in text


def test_a_caption_never_exceeds_telegrams_limit() -> None:
    many = [found(f"thing{n}") for n in range(300)]

    assert len(summary.caption(many)) == summary.CAPTION_LIMIT
    assert summary.caption(many).endswith("…")


def test_details_list_each_detection_with_its_confidence_most_confident_first() -> None:
    detections = [found("car", 0.29), found("person", 0.82), found("traffic light", 0.5)]

    assert summary.details(detections) == (
        "What I found, most confident first:\n1. person: 82%\n2. traffic light: 50%\n3. car: 29%"
    )
    assert summary.details(detections, "es").splitlines()[1] == "1. persona: 82\u00a0%", (
        "a no-break space, as Spanish writes it"
    )
    assert summary.details([]) == "Nothing above the confidence threshold."


def test_details_stay_within_a_messages_limit() -> None:
    text = summary.details([found("person", 0.5)] * 300, limit=500)

    assert len(text) <= 500
    assert text.endswith("more")
    assert text.splitlines()[-1] == f"…and {300 - (len(text.splitlines()) - 2)} more"
