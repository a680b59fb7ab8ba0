"""What a file is, judged from its bytes: image type and size, or a named refusal.

StageImage calls `inspect_image` before anything is stored; the worker calls
`decode_image` for the pixels. Both refuse what is not an image, what has too
many pixels and pixel data that does not decode, with the same named errors;
`inspect_image` is the stricter (it also checks a file's structure).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from pi_heif import register_heif_opener
from PIL import Image, ImageOps, UnidentifiedImageError

from polybot.errors import ImageNotDecodable, ImageTooLarge, NotAnImage

# iPhones save HEIC; sent "as a file" it arrives as such. Registering it here
# also keeps Pillow's behaviour the same with and without Ultralytics, which
# patches Image.open to try HEIF on its own.
register_heif_opener()

MAX_PIXELS = 100_000_000
"""A 48-megapixel phone photo passes; a decompression bomb does not."""

# Formats the detector reads, by Pillow's name. MPO is how Pillow names many
# phone cameras' JPEGs (a JPEG with an embedded preview).
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "HEIF": "image/heic",
}


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int


def _open(data: bytes) -> Image.Image:
    # Our own MAX_PIXELS check decides; Pillow's warning (at about 89 million
    # pixels) is noise, its error (twice that) still refuses outright.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data))
        except UnidentifiedImageError as exc:
            raise NotAnImage("the file is not an image format I can read") from exc
        except Image.DecompressionBombError as exc:
            raise ImageTooLarge(str(exc)) from exc
        except (OSError, SyntaxError, ValueError) as exc:  # a known format, but torn
            raise ImageNotDecodable(f"the image data is damaged: {exc}") from exc


def _open_supported(data: bytes, max_pixels: int) -> tuple[Image.Image, str]:
    """The image, opened lazily (headers only), and its content type."""
    if not data:
        raise NotAnImage("the file is empty")
    image = _open(data)
    content_type = CONTENT_TYPES.get(str(image.format))
    if content_type is None:
        raise NotAnImage(f"{image.format} images are not supported")
    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLarge(f"{width}x{height} pixels is more than {max_pixels}")
    return image, content_type


def inspect_image(data: bytes, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """The image's type and size, reading headers and checking the data is whole."""
    image, content_type = _open_supported(data, max_pixels)
    width, height = image.size
    # verify() checks a file's structure (a PNG's chunks and checksums) but
    # skips a JPEG's pixel data, so decode it all too: a torn file must be
    # refused here, before it is stored and queued.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image.verify()
            Image.open(io.BytesIO(data)).load()
        except Exception as exc:
            raise ImageNotDecodable(f"the {image.format} data is damaged: {exc}") from exc
    return ImageInfo(content_type=content_type, width=width, height=height)


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Any:
    """The pixels as a BGR numpy array (what the detector takes), upright
    according to the EXIF orientation a camera wrote."""
    import numpy as np

    image, _ = _open_supported(data, max_pixels)
    # One decode: loading reads all the pixel data, so a torn file fails here.
    # The rest works in place and hands the pixels over as BGR in one copy:
    # this runs on the worker's critical path for every photo.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            if image.mode != "RGB":
                image = image.convert("RGB")
            width, height = image.size
            bgr = bytearray(image.tobytes("raw", "BGR"))  # writable, as callers may draw on it
            return np.frombuffer(bgr, dtype=np.uint8).reshape(height, width, 3)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageNotDecodable(f"the image data is damaged: {exc}") from exc
