"""The plain-language summary of a detection result, in the user's language:
"I see 3 people, a bus on the left and a handbag, and maybe a traffic light."

Counts are grouped and pluralised (polybot.i18n), the most prominent things
first (the largest share of the picture, then the most numerous); detections
the model is sure of are stated, the others (below CONFIDENT, above the chat's
threshold) hedged with "maybe"; a single object well to one side is placed
("on the left"). When nothing is recognised the answer says so and adds a tip.
`details` lists every detection with its confidence (the Details button).
An album is told once (`album_overview`, `album_details`): one line per photo
with something in it, the photos with nothing in one sentence and one tip,
which photos the marked photos below leave out, and one Details heading.

Pure: used by the SendReply function, the bot (/history, Details) and the
local run's printout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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


def tip(language: str, threshold: float | None = None, lowest: float | None = None) -> str:
    """The tip that comes with "nothing recognised". A lower confidence threshold is
    suggested only where /settings offers one below the chat's: `threshold` is the
    chat's, `lowest` the lowest /settings offers (Settings.offered_confidences);
    where either is not known, it is not suggested."""
    if threshold is not None and lowest is not None and threshold > lowest:
        return i18n.text("summary.tip_threshold", language, confidence=i18n.percent(threshold, language))
    return i18n.text("summary.tip", language)


def caption(
    detections: Iterable[Mapping[str, Any]],
    language: str = "en",
    image_width: int | None = None,
    threshold: float | None = None,
    lowest: float | None = None,
    *,
    image_height: int | None = None,
) -> str:
    """The answer's text: the description, or "nothing recognised" with a tip (`tip`:
    `threshold`, `lowest`) and what may explain it; within a caption's limit."""
    sentence = describe(detections, language, image_width)
    if not sentence:
        sentence = i18n.text("summary.nothing", language) + "\n\n" + tip(language, threshold, lowest)
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


def _most_confident_first(detections: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(detections, key=lambda d: -float(d["confidence"]))


def _detail(key: str, detection: Mapping[str, Any], language: str, **values: Any) -> str:
    label = i18n.label(str(detection["label"]), language)
    return i18n.text(
        key, language, label=label, confidence=i18n.percent(float(detection["confidence"]), language), **values
    )


def details(detections: Iterable[Mapping[str, Any]], language: str = "en", limit: int = TEXT_LIMIT) -> str:
    """Each detection with its confidence, most confident first, within `limit` characters."""
    ordered = _most_confident_first(detections)
    if not ordered:
        return i18n.text("details.none", language)
    lines = [i18n.text("details.title", language)]
    for index, detection in enumerate(ordered, start=1):
        line = _detail("details.line", detection, language, index=index)
        rest = i18n.text("details.more", language, n=len(ordered) - index + 1)
        if len("\n".join([*lines, line])) + 1 + len(rest) > limit and index < len(ordered):
            lines.append(rest)
            break
        lines.append(line)
    return "\n".join(lines)


@dataclass(frozen=True)
class AlbumEntry:
    """One photo of an album as the album's answer tells it."""

    detections: Sequence[Mapping[str, Any]] = ()
    image_width: int | None = None
    failure: str | None = None
    """Why the photo has no result, as the user reads it (`failure_reason`); None: it has one."""

    @property
    def marked(self) -> bool:
        """Whether the photo is among the album's annotated photos (something was found in it)."""
        return self.failure is None and bool(self.detections)


def _of_photos(key: str, indexes: list[int], language: str) -> str:
    """The text `key` naming the photos `indexes` ("photo 2", "photos 2 and 4"): one
    photo or several is the only difference these texts make in every language."""
    form = "one" if len(indexes) == 1 else "several"
    return i18n.text(f"{key}.{form}", language, photos=i18n.join([str(i) for i in indexes], language))


def album_overview(
    entries: Sequence[AlbumEntry], language: str = "en", threshold: float | None = None, lowest: float | None = None
) -> str:
    """The album's answer in text: a line per photo with something in it or no result,
    in order; the photos where nothing was recognised named once, with one tip
    (`tip`: `threshold`, `lowest`); and,
    where some photos are marked (the media group that follows), which are not among
    them. Within a message's limit."""
    lines = [i18n.text("album.title", language)]
    nothing: list[int] = []
    for index, entry in enumerate(entries, start=1):
        said = entry.failure if entry.failure is not None else describe(entry.detections, language, entry.image_width)
        if said:
            lines.append(i18n.text("album.line", language, index=index, summary=said))
        else:
            nothing.append(index)
    if nothing:
        lines.append(_of_photos("album.nothing", nothing, language))
    paragraphs = ["\n".join(lines)]
    left_out = [index for index, entry in enumerate(entries, start=1) if not entry.marked]
    if left_out and len(left_out) < len(entries):
        paragraphs.append(_of_photos("album.not_shown", left_out, language))
    if nothing:
        paragraphs.append(tip(language, threshold, lowest))
    return shorten("\n\n".join(paragraphs), TEXT_LIMIT)


def album_details(
    photos: Sequence[Sequence[Mapping[str, Any]] | None], language: str = "en", limit: int = TEXT_LIMIT
) -> str:
    """Each photo's detections with their confidence (None: the photo has no result),
    under one heading, the photos numbered as in the album's answer and their
    detections bulleted, most confident first; within `limit` characters."""
    lines = [i18n.text("details.title", language)]
    for index, detections in enumerate(photos, start=1):
        if detections is None:
            lines.append(i18n.text("details.photo_failed", language, index=index))
        elif not detections:
            lines.append(i18n.text("details.photo_none", language, index=index))
        else:
            lines.append(i18n.text("details.photo", language, index=index))
            lines += [_detail("details.item", d, language) for d in _most_confident_first(detections)]
    return shorten("\n".join(lines), limit)


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
