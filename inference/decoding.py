"""The staged original's pixels for the model: OpenCV's JPEG decoder where it
gives exactly what `polybot.imaging.decode_image` gives, that otherwise.

Nearly every original is a JPEG (Telegram re-encodes each photo as one).
OpenCV decodes it straight into the BGR array the model takes, with the GIL
released; Pillow's path converts its rows to BGR a strip at a time holding
the GIL. Measured on the bench's 54 photos: 1.6 against 2.4 ms of CPU an
image alone, and 2 ms less of the worker's CPU an image in the networked run,
on the core its model runs on (docs/performance.md, "The worker's own CPU,
cut").

Both decode with libjpeg-turbo's defaults and turn the image upright by its
EXIF orientation, so the pixels are the same:
tests/unit/inference/test_inference_decoding.py holds the two equal, pixel
for pixel, on photos, grey, progressive and 4:4:4 JPEGs, odd sizes and all
eight orientations. Only 8-bit RGB and grey JPEGs take it (the mode read from
the header): a CMYK or YCCK JPEG is converted to RGB differently by each, and
goes Pillow's way with everything else. The bytes are the staged original,
which StageImage decoded whole before storing it
(`polybot.imaging.inspect_image`): OpenCV, which fills a torn file's missing
rows instead of failing, never meets one; where it fails all the same, Pillow's
path decodes or names the error.

Used by `inference.worker.DetectionWorker.prepare`.
"""

from __future__ import annotations

import io
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image

from polybot import imaging

Decoder = Literal["opencv", "pillow"]

_OPENCV_FORMATS = frozenset({"JPEG", "MPO"})
"""Pillow's names for a JPEG (MPO: a camera's JPEG with an embedded preview; both read the first image)."""
_OPENCV_MODES = frozenset({"RGB", "L"})


def decoder(data: bytes) -> Decoder:
    """Which decoder `decode_original` uses for `data`, from its header alone."""
    try:
        with Image.open(io.BytesIO(data)) as image:  # lazy: reads the header, decodes nothing
            if (
                image.format in _OPENCV_FORMATS
                and image.mode in _OPENCV_MODES
                and image.width * image.height <= imaging.MAX_PIXELS
            ):
                return "opencv"
    except Exception:  # noqa: S110 - not for OpenCV; Pillow's path names what is wrong
        pass
    return "pillow"


def decode_original(data: bytes) -> Any:
    """The pixels as a BGR numpy array, upright, as `polybot.imaging.decode_image` returns them."""
    if decoder(data) == "opencv":
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if pixels is not None:
            return pixels
    return imaging.decode_image(data)
