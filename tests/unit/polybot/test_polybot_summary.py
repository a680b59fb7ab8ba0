from __future__ import annotations

from typing import Any

import pytest

from polybot import i18n, summary
from polybot.settings import Settings


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
    text = summary.caption([], threshold=0.4, lowest=0.25)

    assert text.startswith("I looked carefully but did not recognise anything I know in this photo.")
    assert "Tip:" in text and "lower confidence threshold in /settings (now 40%)" in text
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


@pytest.mark.parametrize("language", ["en", "es", "ru"])
def test_the_tip_suggests_a_lower_threshold_only_where_settings_offers_one(language: str) -> None:
    """Issue 19, rough edge 1: at the lowest threshold /settings offers (the default,
    0.25), "try a lower threshold" is advice the user cannot follow."""
    lowest = min(Settings().offered_confidences)
    assert Settings().confidence == lowest, "the default is the lowest choice"

    at_lowest = summary.caption([], language, threshold=lowest, lowest=lowest)
    above = summary.caption([], language, threshold=0.6, lowest=lowest)
    unknown = summary.caption([], language)

    assert "/settings" not in at_lowest and "/settings" not in unknown
    assert at_lowest == unknown
    assert "/settings" in above and summary.i18n.percent(0.6, language) in above
    assert "/settings" not in summary.album_overview(album([]), language, threshold=lowest, lowest=lowest)
    assert "/settings" in summary.album_overview(album([]), language, threshold=0.4, lowest=lowest)


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


# --- albums (issue 19, rough edge 6) ----------------------------------------------------


def album(*found_in_each: list[Any] | str) -> list[summary.AlbumEntry]:
    """An album's entries: a photo's detections, or (a string) why it has no result."""
    return [
        summary.AlbumEntry(failure=entry) if isinstance(entry, str) else summary.AlbumEntry(entry)
        for entry in found_in_each
    ]


@pytest.mark.parametrize("language", ["en", "es", "ru"])
def test_an_albums_empty_photos_are_named_once_with_one_tip(language: str) -> None:
    entries = album([found("bus")], [], [found("person")], [], "It is not an image.")

    text = summary.album_overview(entries, language)

    tip = summary.i18n.text("summary.tip", language)
    nothing = summary.i18n.text("summary.nothing", language)
    assert text.count(tip) == 1, text
    assert nothing not in text, "the single photo's 'I looked carefully…' is not repeated per photo"
    both = summary.i18n.join(["2", "4"], language)
    assert summary.i18n.text("album.nothing.several", language, photos=both) in text.splitlines()
    lines = text.splitlines()
    assert [line.split(".")[0] for line in lines[1:4]] == ["1", "3", "5"], "a line per photo with something to say"


def test_an_album_says_which_photos_the_marked_photos_below_leave_out() -> None:
    text = summary.album_overview(album([found("bus")], [], [found("person")], "It is not an image."))

    assert "Photos 2 and 4 have nothing marked, so they are not among the photos below." in text
    one_left_out = summary.album_overview(album([found("bus")], []))
    assert "Photo 2 has nothing marked, so it is not among the photos below." in one_left_out
    assert "I did not recognise anything I know in photo 2." in one_left_out


def test_an_album_with_nothing_marked_does_not_speak_of_photos_below() -> None:
    text = summary.album_overview(album([], []))

    assert "below" not in text
    assert text.splitlines()[1] == "I did not recognise anything I know in photos 1 and 2."
    assert summary.album_overview(album([found("bus")])) == "Your album, photo by photo:\n1. I see a bus."


def test_album_details_have_one_heading_and_no_numbers_inside_the_numbered_photos() -> None:
    text = summary.album_details([[found("car", 0.29), found("person", 0.82)], [], None])

    assert text.splitlines() == [
        "What I found, most confident first:",
        "Photo 1:",
        "• person: 82%",
        "• car: 29%",
        "Photo 2: nothing above the confidence threshold.",
        "Photo 3: no result",
    ]
    assert summary.album_details([[found("person")]] * 2, "ru").count(summary.i18n.text("details.title", "ru")) == 1
