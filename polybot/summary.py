"""The plain-language summary of a detection result, in the user's language:
"I see 3 people, a bus on the left and a handbag, and maybe a traffic light."

Counts are grouped and pluralised (polybot.i18n), the most prominent things
first (the largest share of the picture, then the most numerous); detections
the model is sure of are stated, the others (below CONFIDENT, above the chat's
threshold) hedged with "maybe"; a single object well to one side is placed
("on the left"). When nothing is recognised the answer says so and adds a tip.
`details` lists every detection with its confidence (the Details button).

Pure: used by the SendReply function, the bot (/history, Details) and the
local run's printout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from polybot import i18n
from polybot.errors import USER_INPUT_ERRORS, ModelNotOffered
from polybot.settings import MAX_IMAGE_PIXELS

CAPTION_LIMIT = 1024
"""Telegram's limit on a photo caption, in characters."""
TEXT_LIMIT = 4096
"""Telegram's limit on a message's text, in characters."""
CONFIDENT = 0.5
"""From this confidence on a detection is stated; below it, hedged with "maybe"."""
PLACED_GROUPS = 3
"""Positions are given only while the summary has at most this many confident groups."""
SIDE = 1 / 3
"""A single object whose centre lies in the outer third of the width is "on the left/right"..."""
NARROW = 0.5
"""...unless it is wider than half the picture."""
TINY_SIDE = 64
"""An image whose shorter side has fewer pixels is too small to make things out
(the model sees a 16×21 icon blown up tenfold): when nothing is found there, the
answer says so and names this size, instead of only "nothing recognised"."""


def hedged_between(threshold: float) -> bool:
    """Whether some detections a chat with this threshold is told of are hedged
    with "maybe": those between the threshold and CONFIDENT, if there is room."""
    return threshold < CONFIDENT


@dataclass(frozen=True)
class Group:
    """The detections of one class, all confident or all uncertain."""

    label: str
    count: int
    area: float
    confident: bool
    position: str | None = None
    maybe_more: int = 0
    """Uncertain detections of the same class beside confident ones: "3 people (maybe 4)"."""


def _area(detection: Mapping[str, Any]) -> float:
    x1, y1, x2, y2 = detection["box"]
    return max(0.0, float(x2) - float(x1)) * max(0.0, float(y2) - float(y1))


def _position(detection: Mapping[str, Any], image_width: int) -> str | None:
    x1, _, x2, _ = (float(v) for v in detection["box"])
    if x2 - x1 > NARROW * image_width:
        return None
    centre = (x1 + x2) / 2 / image_width
    if centre < SIDE:
        return "left"
    if centre > 1 - SIDE:
        return "right"
    return None


def groups(detections: Iterable[Mapping[str, Any]], image_width: int | None = None) -> list[Group]:
    """Detections grouped by class and certainty, most prominent first."""
    found: dict[tuple[str, bool], list[Mapping[str, Any]]] = {}
    for detection in detections:
        key = (str(detection["label"]), float(detection["confidence"]) >= CONFIDENT)
        found.setdefault(key, []).append(detection)
    placing = bool(image_width) and sum(1 for _, confident in found if confident) <= PLACED_GROUPS
    result = []
    for (label, confident), members in found.items():
        if not confident and (label, True) in found:
            continue  # told as "(maybe N)" beside the confident ones of its class
        extra = len(found.get((label, False), [])) if confident else 0
        position = None
        if placing and confident and len(members) == 1 and not extra and image_width:
            position = _position(members[0], image_width)
        result.append(Group(label, len(members), sum(map(_area, members)), confident, position, extra))
    # sorted() is stable: equally prominent groups keep the order they were first seen in.
    return sorted(result, key=lambda g: (-g.area, -g.count))


def _phrase(group: Group, language: str) -> str:
    phrase = i18n.counted(group.label, group.count, language)
    if group.position:
        phrase += " " + i18n.text(f"position.{group.position}", language)
    if group.maybe_more:
        phrase = i18n.text("summary.maybe_more", language, phrase=phrase, total=group.count + group.maybe_more)
    return phrase


def describe(detections: Iterable[Mapping[str, Any]], language: str = "en", image_width: int | None = None) -> str:
    """The sentence for what was found ("I see 4 people and a bus."); '' when nothing was."""
    found = groups(detections, image_width)
    things = i18n.join([_phrase(g, language) for g in found if g.confident], language)
    maybe = i18n.join([_phrase(g, language) for g in found if not g.confident], language)
    if things and maybe:
        return i18n.text("summary.confident_and_maybe", language, things=things, maybe=maybe)
    if things:
        return i18n.text("summary.confident", language, things=things)
    if maybe:
        return i18n.text("summary.maybe", language, maybe=maybe)
    return ""


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def caption(
    detections: Iterable[Mapping[str, Any]],
    language: str = "en",
    image_width: int | None = None,
    *,
    image_height: int | None = None,
) -> str:
    """The answer's text: the description, or "nothing recognised" with a tip; within a caption's limit."""
    sentence = describe(detections, language, image_width)
    if not sentence:
        sentence = i18n.text("summary.nothing", language) + "\n\n" + i18n.text("summary.tip", language)
        sentence = _with_why_nothing(sentence, language, image_width, image_height)
    return shorten(sentence, CAPTION_LIMIT)


def is_tiny(width: int | None, height: int | None) -> bool:
    """Whether an image is too small to make things out in (TINY_SIDE); unknown sizes are not."""
    return bool(width and height) and min(width or 0, height or 0) < TINY_SIDE


def _with_why_nothing(text: str, language: str, width: int | None, height: int | None) -> str:
    """The nothing-found `text` with what may explain it: a tiny image says its size
    first; and the answer always says that text is not read. No heuristic guesses
    whether a picture holds text (a screenshot, a scanned page): a text detector is
    a second model, and a cheap guess (edges, contrast) misfires on textures, while
    the sentence is true of every image."""
    if is_tiny(width, height):
        tiny = i18n.text("summary.tiny", language, width=width, height=height, side=TINY_SIDE)
        said, gap, tip = text.partition("\n\n")  # right after "nothing recognised", before the tip
        text = said + "\n\n" + tiny + gap + tip
    return text + "\n\n" + i18n.text("summary.not_text", language)


def details(detections: Iterable[Mapping[str, Any]], language: str = "en", limit: int = TEXT_LIMIT) -> str:
    """Each detection with its confidence, most confident first, within `limit` characters."""
    ordered = sorted(detections, key=lambda d: -float(d["confidence"]))
    if not ordered:
        return i18n.text("details.none", language)
    lines = [i18n.text("details.title", language)]
    for index, detection in enumerate(ordered, start=1):
        line = i18n.text(
            "details.line",
            language,
            index=index,
            label=i18n.label(str(detection["label"]), language),
            confidence=i18n.percent(float(detection["confidence"]), language),
        )
        rest = i18n.text("details.more", language, n=len(ordered) - index + 1)
        if len("\n".join([*lines, line])) + 1 + len(rest) > limit and index < len(ordered):
            lines.append(rest)
            break
        lines.append(line)
    return "\n".join(lines)


def failure_reason(error: str, language: str, max_download_bytes: int) -> str:
    """What the user reads when their image got no result because of `error` (polybot.errors):
    the error's own text where the catalogs have one (what the user sent, a model not
    offered), else "something went wrong on my side". The limits the user met are
    stated: the download limit in megabytes, the pixel limit in megapixels."""
    if error in USER_INPUT_ERRORS or error == ModelNotOffered.__name__:
        return i18n.text(
            f"failure.{error}",
            language,
            megabytes=max_download_bytes // (1024 * 1024),
            megapixels=MAX_IMAGE_PIXELS // 1_000_000,
        )
    return i18n.text("failure.try_again", language)
