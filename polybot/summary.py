"""The plain-language caption of a detection result ("I see 4 people and a bus.").

Pure: used by the SendReply function and the local run's printout.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import inflect

CAPTION_LIMIT = 1024
"""Telegram's limit on a photo caption, in characters."""


@cache
def _english() -> inflect.engine:
    return inflect.engine()


def count_labels(detections: Iterable[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """Labels with their counts, most frequent first, ties in first-seen order."""
    counts = Counter(str(d["label"]) for d in detections)
    return counts.most_common()


def describe(detections: Iterable[Mapping[str, Any]]) -> str:
    """'4 people and a bus'; '' when nothing was detected."""
    english = _english()
    phrases = []
    for label, count in count_labels(detections):
        if count == 1:
            phrases.append(english.a(label))
        else:
            phrases.append(f"{count} {english.plural_noun(label, count)}")
    return str(english.join(phrases)) if phrases else ""


def caption(detections: Iterable[Mapping[str, Any]]) -> str:
    text = describe(list(detections))
    if not text:
        return "I looked carefully but did not recognise anything I know in this photo."
    sentence = f"I see {text}."
    if len(sentence) > CAPTION_LIMIT:
        sentence = sentence[: CAPTION_LIMIT - 1] + "…"
    return sentence
