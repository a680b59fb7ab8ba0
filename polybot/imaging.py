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
            image = _eight_bit(image)
            if image.mode != "RGB":
                image = image.convert("RGB")
            width, height = image.size
            bgr = bytearray(image.tobytes("raw", "BGR"))  # writable, as callers may draw on it
            return np.frombuffer(bgr, dtype=np.uint8).reshape(height, width, 3)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageNotDecodable(f"the image data is damaged: {exc}") from exc


# Pillow's modes for one channel of more than 8 bits: 16-bit grayscale PNGs and
# TIFFs, 32-bit integer and float images.
_WIDE_GRAY = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535}


def _eight_bit(image: Image.Image) -> Image.Image:
    """`image` with wide grayscale scaled into 8 bits. Pillow's own conversion
    clips every value above 255 to white: a 16-bit photo would come out blank."""
    import numpy as np

    if image.mode not in _WIDE_GRAY and image.mode != "F":
        return image
    values = np.asarray(image, dtype=np.float64)
    top = float(values.max()) if image.mode == "F" else _WIDE_GRAY[image.mode]
    if image.mode == "I" and values.max() <= 255:
        top = 255.0  # an 8-bit image Pillow happened to open as 32-bit
    scaled = np.clip(values * (255.0 / top if top > 0 else 0.0), 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def photo_rendition(
    jpeg: bytes, *, longest_side: int, max_sides: int, max_ratio: float, max_bytes: int
) -> bytes | None:
    """A JPEG that Telegram shows as a photo for the image `jpeg`, or None when
    `jpeg` already is one at full size. Scaled so its longest side is at most
    `longest_side` (and width + height at most `max_sides`), padded with grey to
    a ratio of at most `max_ratio`, within `max_bytes`."""
    with Image.open(io.BytesIO(jpeg)) as image:
        width, height = image.size
        fits = (
            max(width, height) <= longest_side
            and width + height <= max_sides
            and max(width, height) <= max_ratio * min(width, height)
            and len(jpeg) <= max_bytes
        )
        if fits:
            return None
        scale = min(1.0, longest_side / max(width, height), max_sides / (width + height))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # draft() lets the JPEG decoder skip pixels it would only scale away:
        # a 100-megapixel original never needs its full size in memory.
        image.draft("RGB", size)
        shown = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    short_needed = int(-(-max(shown.size) // max_ratio))
    if min(shown.size) < short_needed:
        padded_size = (shown.width, short_needed) if shown.width >= shown.height else (short_needed, shown.height)
        padded = Image.new("RGB", padded_size, (128, 128, 128))
        padded.paste(shown, ((padded_size[0] - shown.width) // 2, (padded_size[1] - shown.height) // 2))
        shown = padded
    for quality in (90, 80, 70, 60):
        buffer = io.BytesIO()
        shown.save(buffer, "JPEG", quality=quality)
        if buffer.tell() <= max_bytes:
            return buffer.getvalue()
    raise ValueError("no JPEG quality brings this rendition under the photo size limit")
