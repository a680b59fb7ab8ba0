from __future__ import annotations

import pytest

from polybot import summary


def detections(*labels: str) -> list[dict[str, object]]:
    return [{"label": label, "class_id": 0, "confidence": 0.9, "box": [0, 0, 1, 1]} for label in labels]


def test_caption_counts_people_and_a_bus_most_frequent_first() -> None:
    found = detections("bus", "person", "person", "person", "person")

    assert summary.caption(found) == "I see 4 people and a bus."


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["umbrella"], "an umbrella"),
        (["person"], "a person"),
        (["hour glass"], "an hour glass"),
        (["umbrella", "umbrella"], "2 umbrellas"),
        (["sheep", "sheep", "sheep"], "3 sheep"),
        (["mouse", "mouse", "knife", "knife", "bus", "bus"], "2 mice, 2 knives, and 2 buses"),
        (["umbrella", "apple"], "an umbrella and an apple"),
    ],
)
def test_describe_uses_english_articles_and_plurals(labels: list[str], expected: str) -> None:
    assert summary.describe(detections(*labels)) == expected


def test_count_labels_orders_by_frequency_then_first_seen() -> None:
    found = detections("cat", "dog", "dog", "bird", "cat", "horse", "horse", "horse")

    assert summary.count_labels(found) == [("horse", 3), ("cat", 2), ("dog", 2), ("bird", 1)]


def test_describe_of_nothing_is_empty() -> None:
    assert summary.describe([]) == ""


def test_caption_of_nothing_says_nothing_was_recognised() -> None:
    assert summary.caption([]) == "I looked carefully but did not recognise anything I know in this photo."


def test_caption_accepts_a_one_shot_iterator() -> None:
    assert summary.caption(iter(detections("car", "car"))) == "I see 2 cars."


def test_caption_at_the_limit_is_not_cut() -> None:
    # "I see a " + label + "." is exactly the limit.
    label = "b" * (summary.CAPTION_LIMIT - len("I see a ."))
    text = summary.caption(detections(label))

    assert len(text) == summary.CAPTION_LIMIT
    assert text == f"I see a {label}."


def test_caption_over_the_limit_is_cut_to_the_limit_with_an_ellipsis() -> None:
    found = detections(*(f"thing{i}" for i in range(300)))
    full = f"I see {summary.describe(found)}."
    assert len(full) > summary.CAPTION_LIMIT

    text = summary.caption(found)

    assert len(text) == summary.CAPTION_LIMIT == 1024
    assert text.endswith("…")
    assert text[:-1] == full[: summary.CAPTION_LIMIT - 1]
