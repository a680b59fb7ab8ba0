"""The annotated photo the user gets back: a coloured box and a tag
("person 88%", in the chat's language, as the summary writes it) per
detection, in Ultralytics' palette, without torch. Boxes are drawn with
OpenCV; the tags with a TrueType font (polybot.i18n.label_font_path): OpenCV's
own fonts have no accents and no Cyrillic.

How it is drawn (issue 19, rough edge 10):
- every box first, then every tag, each on a filled background, so that no
  box's line runs through a tag;
- each tag where it overlaps no other tag: above the box's top-left corner,
  else inside it, below it, at the other corners, or slid along the top edge
  (`layout`); a tag with no such place is replaced by a number (placed the
  same way) and written out in a legend under the picture;
- an uncertain detection (below `polybot.summary.CONFIDENT`, which the
  summary hedges with "maybe") is drawn with a thinner dashed line and its tag
  says "?" after the class: "person? 42%".

A panorama (`inference.tiles.elongated`) is drawn folded (`fold`): cut where
no box is into about square rows, one under the other (columns side by side
for a tall one), so that Telegram, which shows a photo at 2560 px at most on
its longest side, shows it large enough to read its tags (a 12000x1500 strip
shown whole is 2560x320).

Called by `inference.detector` for every image. A `LabelFont` is made once per
process; each size is loaded once and each tag is rasterised on its own small
mask, so no whole-image conversion happens per photo.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from inference import tiles
from polybot import i18n, summary
from polybot.contracts.messages import Detection

# Ultralytics' class palette (20 colours, by class id modulo 20), as RGB hex.
PALETTE_HEX = [
    *("042AFF", "0BDBEB", "F3F3F3", "00DFB7", "111F68", "FF6FDD", "FF444F", "CCED00", "00F344", "BD00FF"),
    *("00B4FF", "DD00BA", "00FFFF", "26C000", "01FFB3", "7D24FF", "7B0068", "FF1B6C", "FC6D2F", "A2FF0B"),
]
PALETTE_BGR = [(int(h[4:6], 16), int(h[2:4], 16), int(h[0:2], 16)) for h in PALETTE_HEX]
PADDING = 2
"""Pixels between a tag's text and its edge."""
DASH = 4
"""An uncertain box's dashes (and the gaps between them), in line widths."""
LEGEND_BACKGROUND = (255, 255, 255)
FOLD_GAP = 0.02
"""The band between a folded panorama's rows, as a share of a row's height."""

Rect = tuple[int, int, int, int]
"""x1, y1, x2, y2 (x2, y2 exclusive)."""


class LabelFont:
    """The TrueType font the tags are written in, loaded once per size."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sized = lru_cache(maxsize=16)(self._load)

    def _load(self, size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(str(self.path), size)

    def mask(self, text: str, size: int) -> np.ndarray:
        """The text rasterised as coverage (0-255), tightly cropped, with PADDING around."""
        font = self._sized(size)
        left, top, right, bottom = (int(v) for v in font.getbbox(text))
        image = Image.new("L", (right - left + 2 * PADDING, bottom - top + 2 * PADDING), 0)
        ImageDraw.Draw(image).text((PADDING - left, PADDING - top), text, font=font, fill=255)
        return np.asarray(image)


@lru_cache(maxsize=4)
def label_font(configured: str = "") -> LabelFont:
    """The process's label font (the `label_font` setting, else matplotlib's DejaVu Sans)."""
    return LabelFont(i18n.label_font_path(configured))


def uncertain(detection: Detection) -> bool:
    """Below the confidence the summary states without "maybe"."""
    return float(detection["confidence"]) < summary.CONFIDENT


def tag_text(detection: Detection, language: str) -> str:
    """What the tag of a detection says: its class in `language` ("?" after it
    when uncertain) and its confidence as the summary and the details write it."""
    name = i18n.label(detection["label"], language) + ("?" if uncertain(detection) else "")
    return f"{name} {i18n.percent(float(detection['confidence']), language)}"


@dataclass(frozen=True)
class Style:
    """Line width and tag size, from the size of the picture the user sees."""

    line: int
    size: int

    @classmethod
    def for_picture(cls, height: int, width: int) -> Style:
        line = max(round((height + width) / 2 * 0.003), 2)
        return cls(line, max(10, round(line * 5.5)))


def annotate(
    image_bgr: np.ndarray,
    detections: list[Detection],
    language: str = i18n.DEFAULT_LANGUAGE,
    font: LabelFont | None = None,
) -> np.ndarray:
    """The picture the user gets: a copy of the image with each detection's box
    and tag drawn on it (a panorama folded: `fold`), and a legend under it for
    the tags that found no room."""
    font = font or label_font()
    height, width = image_bgr.shape[:2]
    if tiles.elongated(height, width):
        return fold(image_bgr, detections, language, font)
    canvas = image_bgr.copy()
    style = Style.for_picture(height, width)
    legend = draw(canvas, detections, language, font, style)
    return with_legend(canvas, legend, font, style)


def draw(
    canvas: np.ndarray,
    detections: list[Detection],
    language: str,
    font: LabelFont,
    style: Style,
    tagged: list[bool] | None = None,
    numbers_from: int = 1,
) -> list[tuple[str, tuple[int, int, int]]]:
    """Each detection's box onto `canvas` (in place), then the tags of those
    `tagged` (default: all) where `layout` found room; the legend's entries
    (its number's text, colour) for the others, numbered from `numbers_from`."""
    tagged = tagged if tagged is not None else [True] * len(detections)
    for detection in detections:
        _box(canvas, detection, style)
    height, width = canvas.shape[:2]
    chosen = [d for d, t in zip(detections, tagged, strict=True) if t]
    masks = [font.mask(tag_text(d, language), style.size) for d in chosen]
    boxes = [_rect(d) for d in chosen]
    places = layout([(m.shape[1], m.shape[0]) for m in masks], boxes, (height, width))
    legend: list[tuple[str, tuple[int, int, int]]] = []
    unplaced = [i for i, place in enumerate(places) if place is None]
    taken = [place for place in places if place is not None]
    for index, place in enumerate(places):
        if place is not None:
            _paint_tag(canvas, masks[index], _colour(chosen[index]), place)
    for index in unplaced:
        number = str(numbers_from + len(legend))
        mask = font.mask(number, style.size)
        [place] = layout([(mask.shape[1], mask.shape[0])], [boxes[index]], (height, width), taken)
        if place is None:  # Nowhere free even for a number: inside its box's corner.
            x1, y1 = max(boxes[index][0], 0), max(boxes[index][1], 0)
            place = (x1, y1, x1 + mask.shape[1], y1 + mask.shape[0])
        taken.append(place)
        _paint_tag(canvas, mask, _colour(chosen[index]), place)
        legend.append((f"{number}: {tag_text(chosen[index], language)}", _colour(chosen[index])))
    return legend


def layout(
    sizes: list[tuple[int, int]],
    boxes: list[Rect],
    picture: tuple[int, int],
    taken: list[Rect] | None = None,
) -> list[Rect | None]:
    """Where each tag (width, height) of a box goes, in order: the first of its
    places (`_places`) that lies in the picture (height, width) and overlaps no
    tag placed before it (nor `taken`); None where there is none."""
    height, width = picture
    placed = np.array(taken or [], np.int64).reshape(-1, 4)
    found: list[Rect | None] = []
    for (tag_w, tag_h), box in zip(sizes, boxes, strict=True):
        where = None
        if tag_w <= width and tag_h <= height:
            for x, y in _places(box, tag_w, tag_h):
                x, y = min(max(x, 0), width - tag_w), min(max(y, 0), height - tag_h)
                rect = (x, y, x + tag_w, y + tag_h)
                if not _overlaps_any(rect, placed):
                    where = rect
                    break
        found.append(where)
        if where is not None:
            placed = np.vstack([placed, np.array(where, np.int64)[None]])
    return found


def _places(box: Rect, tag_w: int, tag_h: int) -> list[tuple[int, int]]:
    """A tag's places by preference: above the top-left corner, inside it,
    below the box, inside the bottom-left corner, the same at the right, then
    slid along the top edge (above, then inside), then stacked above."""
    x1, y1, x2, y2 = box
    right = x2 - tag_w
    places = [(x1, y1 - tag_h), (x1, y1), (x1, y2), (x1, y2 - tag_h)]
    places += [(right, y1 - tag_h), (right, y1), (right, y2), (right, y2 - tag_h)]
    step = max(tag_w // 2, 1)
    for x in range(x1 + step, max(right, x1), step):
        places += [(x, y1 - tag_h), (x, y1)]
    for level in range(2, 5):
        places += [(x1, y1 - level * tag_h), (x1, y2 + (level - 1) * tag_h)]
    return places


def _overlaps_any(rect: Rect, placed: np.ndarray) -> bool:
    if not len(placed):
        return False
    x1, y1, x2, y2 = rect
    return bool(np.any((placed[:, 0] < x2) & (x1 < placed[:, 2]) & (placed[:, 1] < y2) & (y1 < placed[:, 3])))


def _rect(detection: Detection) -> Rect:
    x1, y1, x2, y2 = (round(v) for v in detection["box"])
    return x1, y1, x2, y2


def _colour(detection: Detection) -> tuple[int, int, int]:
    return PALETTE_BGR[detection["class_id"] % len(PALETTE_BGR)]


def _box(canvas: np.ndarray, detection: Detection, style: Style) -> None:
    """A certain detection's box in a solid line; an uncertain one's dashed, thinner."""
    x1, y1, x2, y2 = _rect(detection)
    colour = _colour(detection)
    if not uncertain(detection):
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, style.line, cv2.LINE_AA)
        return
    thin = max(1, style.line // 2)
    dash = DASH * style.line
    for start, end in (((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)), ((x2, y2), (x1, y2)), ((x1, y2), (x1, y1))):
        length = max(abs(end[0] - start[0]), abs(end[1] - start[1]))
        for at in range(0, length, 2 * dash):
            a = _along(start, end, at / max(length, 1))
            b = _along(start, end, min(at + dash, length) / max(length, 1))
            cv2.line(canvas, a, b, colour, thin, cv2.LINE_AA)


def _along(start: tuple[int, int], end: tuple[int, int], share: float) -> tuple[int, int]:
    return round(start[0] + (end[0] - start[0]) * share), round(start[1] + (end[1] - start[1]) * share)


def _paint_tag(canvas: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int], place: Rect) -> None:
    """A filled rectangle in the class colour at `place`, the text on it."""
    x1, y1, x2, y2 = place
    region = canvas[y1:y2, x1:x2]
    # Dark text on light colours, white on the rest, as Ultralytics does.
    luminance = 0.299 * colour[2] + 0.587 * colour[1] + 0.114 * colour[0]
    text_colour = np.array((0, 0, 0) if luminance > 160 else (255, 255, 255), dtype=np.float32)
    coverage = mask[: region.shape[0], : region.shape[1], None].astype(np.float32) / 255.0
    background = np.array(colour, dtype=np.float32)
    region[:] = (background * (1.0 - coverage) + text_colour * coverage).astype(np.uint8)


def with_legend(
    canvas: np.ndarray, legend: list[tuple[str, tuple[int, int, int]]], font: LabelFont, style: Style
) -> np.ndarray:
    """The picture with the legend's entries in rows under it (itself where there are none)."""
    if not legend:
        return canvas
    width = canvas.shape[1]
    masks = [font.mask(text, style.size) for text, _ in legend]
    gap = max(style.size // 3, 2)
    rows: list[list[int]] = [[]]
    used = gap
    for index, mask in enumerate(masks):
        if rows[-1] and used + mask.shape[1] > width:
            rows.append([])
            used = gap
        rows[-1].append(index)
        used += mask.shape[1] + gap
    row_h = max(m.shape[0] for m in masks) + gap
    band = np.full((len(rows) * row_h + gap, width, 3), LEGEND_BACKGROUND, np.uint8)
    for row, indices in enumerate(rows):
        x = gap
        for index in indices:
            mask = masks[index][:, : max(width - x, 0)]
            if mask.shape[1]:
                y = gap + row * row_h
                _paint_tag(band, mask, legend[index][1], (x, y, x + mask.shape[1], y + mask.shape[0]))
            x += mask.shape[1] + gap
    return np.vstack([canvas, band])


def fold(image_bgr: np.ndarray, detections: list[Detection], language: str, font: LabelFont) -> np.ndarray:
    """A panorama cut into about square pieces where no box is (as near the even
    cuts as can be), laid one under the other (side by side for a tall one),
    each drawn at the size the folded picture is shown: one picture of a
    photo's proportions."""
    wide = image_bgr.shape[1] >= image_bgr.shape[0]
    boxes = [_rect(d) if wide else _swapped(_rect(d)) for d in detections]
    height, width = image_bgr.shape[:2] if wide else image_bgr.shape[1::-1]
    pieces = max(2, round(math.sqrt(width / height)))
    cuts = [0, *(_free_cut(width * i // pieces, boxes, width // (4 * pieces)) for i in range(1, pieces)), width]
    piece_w = max(b - a for a, b in itertools.pairwise(cuts))
    gap = max(round(height * FOLD_GAP), 2)
    short = height  # the panorama's short side: a piece's height, as folded
    style = Style.for_picture(pieces * short + (pieces - 1) * gap, piece_w)
    # One picture, filled piece by piece: the pixels are held twice at most (the
    # original and the picture) besides one piece, however long the panorama.
    shape = (pieces * short + (pieces - 1) * gap, piece_w) if wide else (piece_w, pieces * short + (pieces - 1) * gap)
    picture = np.full((*shape, 3), LEGEND_BACKGROUND, np.uint8)
    legend: list[tuple[str, tuple[int, int, int]]] = []
    for index, (start, end) in enumerate(itertools.pairwise(cuts)):
        canvas = np.full((short, piece_w, 3) if wide else (piece_w, short, 3), LEGEND_BACKGROUND, np.uint8)
        if wide:
            canvas[:, : end - start] = image_bgr[:, start:end]
        else:
            canvas[: end - start] = image_bgr[start:end]
        inside = [i for i, b in enumerate(boxes) if b[0] < end and b[2] > start]
        moved = [_moved(detections[i], boxes[i], start, wide) for i in inside]
        tagged = [start <= (boxes[i][0] + boxes[i][2]) / 2 < end for i in inside]
        legend += draw(canvas, moved, language, font, style, tagged, numbers_from=len(legend) + 1)
        at = index * (short + gap)
        if wide:
            picture[at : at + short] = canvas
        else:
            picture[:, at : at + short] = canvas
    return with_legend(picture, legend, font, style)


def _free_cut(ideal: int, boxes: list[Rect], reach: int) -> int:
    """The column nearest `ideal` (within `reach`) that no box crosses; `ideal` where there is none."""
    crossed = np.zeros(2 * reach + 1, bool)
    for x1, _, x2, _ in boxes:
        crossed[max(x1 - ideal + reach, 0) : max(x2 - ideal + reach + 1, 0)] = True
    free = np.flatnonzero(~crossed)
    if not len(free):
        return ideal
    return ideal - reach + int(free[np.argmin(np.abs(free - reach))])


def _swapped(rect: Rect) -> Rect:
    x1, y1, x2, y2 = rect
    return y1, x1, y2, x2


def _moved(detection: Detection, box: Rect, start: int, wide: bool) -> Detection:
    """The detection in a piece's own pixels (`box` along the long axis, as folded)."""
    x1, y1, x2, y2 = box[0] - start, box[1], box[2] - start, box[3]
    moved = dict(detection)
    moved["box"] = [x1, y1, x2, y2] if wide else [y1, x1, y2, x2]
    return moved  # type: ignore[return-value]
