"""A crop per object: the buttons under a Details message (one per detection, the
largest box first, at most ten) and what a tap on one sends: that object cut from
the original image at full resolution. bot/handlers.py puts the buttons on the
Details it sends and answers their taps; the pure parts (which objects, the
labels, the padded box, photo or file) are here beside the cutting.

Choices where the issue is silent:
- The box is padded by PADDING of its width (left and right) and its height (top
  and bottom), then clamped to the image: an object cut exactly at its box
  loses the edges the model drew tight.
- An album's Details gets buttons for its ten largest objects across all its
  photos (boxes compared in pixels), each labelled with its photo's number and
  its line in that photo's Details ("✂ 2.1 person 92 %"), not ten per photo: a
  keyboard of up to a hundred buttons would bury the list it belongs to.
- A crop goes as a photo when Telegram would show it whole: within sendPhoto's
  limits and no longer than the PHOTO_SHOWN_SIDE Telegram scales photos down
  to; any larger, as a file (a JPEG), so that full resolution arrives.
- A tap on the same button again sends the crop again: it is a fresh request
  (the user may have deleted the first), and nothing is kept per tap.
- The original comes from the images bucket (the results item's original_key).
  The item keeps no file_id of the user's message, so there is no Telegram
  getFile to fall back on; both are kept for the same retention, and /forget
  deletes both: an image whose item or original is gone gets a plain message.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

from polybot import callbacks, i18n, imaging, telegram
from polybot.contracts.messages import Detection

MAX_BUTTONS = 10
"""The most crop buttons under one Details message (the largest objects)."""
BUTTONS_PER_ROW = 2
PADDING = 0.05
"""How much the box grows on each side, as a fraction of its width (left, right) or height (top, bottom)."""
JPEG_QUALITIES = (95, 85, 75, 60)
"""The crop is a JPEG at the first quality that fits what a bot may upload."""


@dataclass(frozen=True)
class Target:
    """One object a button cuts out."""

    name: str
    """The execution name of its image (tg<chat>_<message>), an album's photo's own."""
    index: int
    """Its place in the image's stored detections (the results item)."""
    detection: Detection
    number: int
    """Its line in its image's Details (polybot.summary.details: most confident first)."""
    photo: int | None = None
    """Its photo's number in an album's Details; None for an image on its own."""


def details_numbers(detections: Sequence[Mapping[str, Any]]) -> list[int]:
    """Each detection's line number in Details, by its index: the order
    polybot.summary.details lists them in (most confident first, ties as stored)."""
    order = sorted(range(len(detections)), key=lambda i: -float(detections[i]["confidence"]))
    numbers = [0] * len(detections)
    for line, index in enumerate(order, start=1):
        numbers[index] = line
    return numbers


def box_area(detection: Mapping[str, Any]) -> float:
    x1, y1, x2, y2 = (float(v) for v in detection["box"])
    return abs(x2 - x1) * abs(y2 - y1)


def targets(images: Sequence[tuple[int | None, str, Sequence[Detection]]]) -> list[Target]:
    """The objects that get a button: of each (photo number, execution name,
    detections), the MAX_BUTTONS largest boxes of them all, largest first."""
    every = [
        Target(name, index, detection, number, photo)
        for photo, name, detections in images
        for index, (detection, number) in enumerate(zip(detections, details_numbers(detections), strict=True))
    ]
    return sorted(every, key=lambda t: -box_area(t.detection))[:MAX_BUTTONS]


def callback_data(name: str, index: int) -> str:
    return f"{callbacks.CROP}{name}:{index}"


def parse(data: str) -> tuple[str, int]:
    """(execution name, detection index) of a crop button's callback_data; ValueError if it is not one."""
    if not data.startswith(callbacks.CROP):
        raise ValueError(f"not a crop button: {data!r}")
    name, _, index = data[len(callbacks.CROP) :].rpartition(":")
    if not name or not index.isdigit():
        raise ValueError(f"not a crop button: {data!r}")
    return name, int(index)


def button_text(target: Target, language: str) -> str:
    """The button's label, in the words and numbers of the Details line it stands for."""
    values: dict[str, Any] = {
        "number": target.number,
        "label": i18n.label(str(target.detection["label"]), language),
        "confidence": i18n.percent(float(target.detection["confidence"]), language),
    }
    if target.photo is None:
        return i18n.text("crop.button", language, **values)
    return i18n.text("crop.album_button", language, photo=target.photo, **values)


def caption(detection: Mapping[str, Any], language: str) -> str:
    return i18n.text(
        "crop.caption",
        language,
        label=i18n.label(str(detection["label"]), language),
        confidence=i18n.percent(float(detection["confidence"]), language),
    )


def buttons(chosen: Sequence[Target], language: str) -> InlineKeyboardMarkup | None:
    """A button per target; None when there is none. A button whose callback_data
    Telegram would refuse (over MAX_BYTES: not with Polybot's names) is left out."""
    shown = [
        InlineKeyboardButton(button_text(t, language), callback_data=data)
        for t in chosen
        if len((data := callback_data(t.name, t.index)).encode()) <= callbacks.MAX_BYTES
    ]
    if not shown:
        return None
    markup = InlineKeyboardMarkup(row_width=BUTTONS_PER_ROW)
    markup.add(*shown)
    return markup


# --- the cut ---------------------------------------------------------------------


def padded_box(box: Sequence[float], width: int, height: int, padding: float = PADDING) -> tuple[int, int, int, int]:
    """The pixels to cut for `box` (x1, y1, x2, y2 in the upright original): grown by
    `padding` on each side, out to whole pixels, clamped to the image, at least one
    pixel. ValueError for a box that is not four finite numbers."""
    if len(box) != 4 or not all(math.isfinite(float(v)) for v in box):
        raise ValueError(f"not a box: {box!r}")
    x1, x2 = sorted((float(box[0]), float(box[2])))
    y1, y2 = sorted((float(box[1]), float(box[3])))
    grow_x, grow_y = (x2 - x1) * padding, (y2 - y1) * padding
    left = min(max(0, math.floor(x1 - grow_x)), width - 1)
    top = min(max(0, math.floor(y1 - grow_y)), height - 1)
    right = max(min(width, math.ceil(x2 + grow_x)), left + 1)
    bottom = max(min(height, math.ceil(y2 + grow_y)), top + 1)
    return left, top, right, bottom


def shown_whole_as_photo(width: int, height: int, size: int) -> bool:
    """Whether Telegram takes a `width` x `height` JPEG of `size` bytes as a photo and
    shows it unscaled: sendPhoto's 10 MB, width + height 10000 and ratio 20, and no
    side over the PHOTO_SHOWN_SIDE it re-encodes photos to."""
    return (
        size <= telegram.PHOTO_MAX_BYTES
        and max(width, height) <= telegram.PHOTO_SHOWN_SIDE
        and width + height <= telegram.PHOTO_MAX_SIDES
        and max(width, height) <= telegram.PHOTO_MAX_RATIO * min(width, height)
    )


@dataclass(frozen=True)
class Crop:
    """One object cut from its original, as it goes to Telegram."""

    jpeg: bytes
    width: int
    height: int

    @property
    def as_photo(self) -> bool:
        return shown_whole_as_photo(self.width, self.height, len(self.jpeg))


class CutterBusy(RuntimeError):
    """Another crop is being cut in this process; the tap is asked again."""


_CUTTING = threading.Lock()
"""One cut at a time per bot process: a 100-megapixel original cut whole peaks at
about 650 MB (its decoded pixels and the region's copy, measured 816 MB of RSS
with the test's own 455), and the bot runs on 1 GB instances with 8 threads."""


def cut(original: bytes, box: Sequence[float], wait_s: float = 0.0) -> Crop:
    """The object at `box` cut from the original image's bytes, padded, at full
    resolution, waiting at most `wait_s` for a cut under way in another thread
    (CutterBusy after). Raises polybot.errors' image errors for what does not
    decode, and ValueError where no JPEG of it fits an upload."""
    if not _CUTTING.acquire(timeout=wait_s):
        raise CutterBusy("another crop is being cut")
    try:
        return _cut(original, box)
    finally:
        _CUTTING.release()


def _cut(original: bytes, box: Sequence[float]) -> Crop:
    image = imaging.open_upright(original)
    region = imaging.rgb_region(image, padded_box(box, image.width, image.height))
    del image  # the region is a copy: the whole image need not outlive it
    for quality in JPEG_QUALITIES:
        buffer = io.BytesIO()
        region.save(buffer, "JPEG", quality=quality)
        if buffer.tell() <= telegram.UPLOAD_MAX_BYTES:
            return Crop(buffer.getvalue(), region.width, region.height)
    raise ValueError(f"no JPEG of a {region.width}x{region.height} crop fits an upload")
