"""The annotated photo the user gets back: a coloured box and a "label 0.90" tag
per detection, in the style of Ultralytics' `plot()` (its palette, line width
from the image size), without torch. Boxes are drawn with OpenCV; the tags
with a TrueType font (polybot.i18n.label_font_path), in the chat's language:
OpenCV's own fonts have no accents and no Cyrillic.

Called by `inference.detector` for every image. A `LabelFont` is made once per
process; each size is loaded once and each tag is rasterised on its own small
mask, so no whole-image conversion happens per photo.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from polybot import i18n
from polybot.contracts.messages import Detection

# Ultralytics' class palette (20 colours, by class id modulo 20), as RGB hex.
PALETTE_HEX = [
    *("042AFF", "0BDBEB", "F3F3F3", "00DFB7", "111F68", "FF6FDD", "FF444F", "CCED00", "00F344", "BD00FF"),
    *("00B4FF", "DD00BA", "00FFFF", "26C000", "01FFB3", "7D24FF", "7B0068", "FF1B6C", "FC6D2F", "A2FF0B"),
]
PALETTE_BGR = [(int(h[4:6], 16), int(h[2:4], 16), int(h[0:2], 16)) for h in PALETTE_HEX]
PADDING = 2
"""Pixels between a tag's text and its edge."""


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


def tag_text(detection: Detection, language: str) -> str:
    """What the tag of a detection says: its class in `language` and its confidence."""
    return f"{i18n.label(detection['label'], language)} {detection['confidence']:.2f}"


def annotate(
    image_bgr: np.ndarray,
    detections: list[Detection],
    language: str = i18n.DEFAULT_LANGUAGE,
    font: LabelFont | None = None,
) -> np.ndarray:
    """A copy of the image with each detection's box and its tag drawn on it."""
    font = font or label_font()
    canvas = image_bgr.copy()
    height, width = canvas.shape[:2]
    line = max(round((height + width) / 2 * 0.003), 2)
    size = max(10, round(line * 5.5))
    for detection in detections:
        colour = PALETTE_BGR[detection["class_id"] % len(PALETTE_BGR)]
        x1, y1, x2, y2 = (round(v) for v in detection["box"])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, line, cv2.LINE_AA)
        _draw_tag(canvas, font.mask(tag_text(detection, language), size), colour, x1, y1)
    return canvas


def _draw_tag(canvas: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int], x: int, y: int) -> None:
    """The tag above the box's top-left corner (inside the box when there is no room),
    kept inside the picture: a filled rectangle in the class colour, the text on it."""
    height, width = canvas.shape[:2]
    tag_h, tag_w = mask.shape[:2]
    tag_h, tag_w = min(tag_h, height), min(tag_w, width)
    top = y - tag_h if y - tag_h >= 0 else max(0, min(y, height - tag_h))
    left = max(0, min(x, width - tag_w))
    region = canvas[top : top + tag_h, left : left + tag_w]
    # Dark text on light colours, white on the rest, as Ultralytics does.
    luminance = 0.299 * colour[2] + 0.587 * colour[1] + 0.114 * colour[0]
    text_colour = np.array((0, 0, 0) if luminance > 160 else (255, 255, 255), dtype=np.float32)
    coverage = mask[: region.shape[0], : region.shape[1], None].astype(np.float32) / 255.0
    background = np.array(colour, dtype=np.float32)
    region[:] = (background * (1.0 - coverage) + text_colour * coverage).astype(np.uint8)
