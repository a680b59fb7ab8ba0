"""What a file is, judged from its bytes: image type and size, or a named refusal.

StageImage calls `inspect_image` before anything is stored; the worker calls
`decode_image` for the pixels. Both refuse what is not an image, what has too
many pixels and pixel data that does not decode, with the same named errors;
`inspect_image` is the stricter (it also checks a file's structure).
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import Any

from pi_heif import register_heif_opener
from PIL import Image, ImageOps, UnidentifiedImageError

from polybot.errors import ImageNotDecodable, ImageTooLarge, NotAnImage
from polybot.settings import MAX_IMAGE_PIXELS

# iPhones save HEIC; sent "as a file" it arrives as such. Registering it here
# also keeps Pillow's behaviour the same with and without Ultralytics, which
# patches Image.open to try HEIF on its own.
register_heif_opener()

MAX_PIXELS = MAX_IMAGE_PIXELS
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
    """The image's type and size, reading headers and checking the data is whole.

    Runs in StageImage (512 MB), so it never holds a large image's pixels: a
    JPEG decodes at an eighth of its size (every bit of its scan data is still
    read), a PNG's compressed data is inflated and counted in pieces, and only
    the other formats are decoded whole, which DECODE_WHOLE_BYTES bounds."""
    image, content_type = _open_supported(data, max_pixels)
    width, height = image.size
    # verify() checks a file's structure (a PNG's chunks and checksums) but
    # skips a JPEG's pixel data, so the pixel data is checked too: a torn file
    # must be refused here, before it is stored and queued.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image.verify()
            _check_pixel_data(data, str(image.format), width, height)
        except ImageTooLarge:
            raise
        except Exception as exc:
            raise ImageNotDecodable(f"the {image.format} data is damaged: {exc}") from exc
    return ImageInfo(content_type=content_type, width=width, height=height)


DECODE_WHOLE_BYTES = 200_000_000
"""The most StageImage spends decoding an image to check it: every format but
PNG and baseline JPEG (WebP, GIF, TIFF, BMP, HEIF, progressive JPEG), whose
decoders cannot work in pieces. Above it such an image is refused as too large. Measured on
images in a child process (tests/faults/test_memory.py): a 100-megapixel
16-bit grey TIFF (200 MB decoded) peaked at 249 MB, a float TIFF (400 MB) at
446 MB, an RGBA WebP at 1,583 MB and a 16.7-megapixel RGB WebP at 310 MB,
against StageImage's 512 MB: libwebp holds about 15.4 bytes a pixel whatever
the mode. So the cost is counted per format (_decoding_cost), and 200 MB of
it keeps the peak near 250 MB (a WebP up to 12.5 megapixels)."""

_DECODER_BYTES_PER_PIXEL = {"WEBP": 16, "HEIF": 7}
"""What a format's decoder holds a pixel, where that is not the mode's size.
libwebp decodes into RGBA buffers of its own that Pillow then copies
(measured 15.4); libheif into its planes, which Pillow copies (6.75, measured
on a 16-megapixel HEIC written by pillow-heif's encoder outside the suite: the
project's pi-heif only reads). So a HEIC up to 28 megapixels passes; a
48-megapixel one (an iPhone's "HEIF Max") is refused."""

_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "La": 2, "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3}
_BYTES_PER_PIXEL.update({mode: 2 for mode in ("I;16", "I;16L", "I;16B", "I;16N")})


def _decoding_cost(image: Image.Image) -> int:
    """Bytes checking `image` holds: by its mode (4 a pixel for the modes not
    listed: RGBA, CMYK, I, F) or its format's decoder. A baseline JPEG costs
    nothing (it decodes at 1/8 scale, a few rows at a time); a progressive one
    keeps every DCT coefficient until its last scan, 2 bytes a sample (a
    100-megapixel 4:2:0 one measured 293 MB, this counts 300)."""
    width, height = image.size
    if str(image.format) in ("JPEG", "MPO"):
        if not image.info.get("progressive"):
            return 0
        layers: list[tuple[Any, int, int, Any]] = getattr(image, "layer", [])
        widest = max((h for _, h, _, _ in layers), default=1)
        tallest = max((v for _, _, v, _ in layers), default=1)
        samples = sum(h * v for _, h, v, _ in layers) / (widest * tallest)
        return int(width * height * samples * 2)
    per_pixel = _DECODER_BYTES_PER_PIXEL.get(str(image.format), _BYTES_PER_PIXEL.get(image.mode, 4))
    return width * height * per_pixel


def _check_pixel_data(data: bytes, image_format: str, width: int, height: int) -> None:
    """Raises if the pixel data does not decode, holding little of it at a time."""
    image = Image.open(io.BytesIO(data))
    if image_format == "PNG":
        _check_png_data(data, image)
        return
    if _decoding_cost(image) > DECODE_WHOLE_BYTES:
        kind = "progressive JPEG" if image_format in ("JPEG", "MPO") else image_format
        raise ImageTooLarge(
            f"a {width}x{height} {kind} in mode {image.mode} is more than I can check; send it as a photo"
        )
    if image_format in ("JPEG", "MPO"):
        # draft() makes libjpeg decode at 1/8 scale: it still reads and
        # entropy-decodes the whole scan, so a torn JPEG fails, but holds
        # 1/64 of the pixels.
        image.draft(None, (max(1, width // 8), max(1, height // 8)))
    image.load()


# Samples per pixel of each PNG colour type (grey, RGB, palette, grey+alpha, RGBA).
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
"""Interlaced PNGs' seven passes: first column, first row, column step, row step."""
_PIECE = 1 << 20


def _check_png_data(data: bytes, image: Image.Image) -> None:
    """A PNG's image data (its IDAT chunks, whose checksums verify() checked)
    inflates to at least the rows its header promises, each starting with a
    known filter type, inflated a megabyte at a time instead of decoded."""
    header = data[16:29]
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    bits = depth * _PNG_CHANNELS.get(color_type, 4)
    if interlace:
        passes = [
            (-(-(width - x0) // dx), -(-(height - y0) // dy)) for x0, y0, dx, dy in _ADAM7 if width > x0 and height > y0
        ]
    else:
        passes = [(width, height)]
    rows = [1 + -(-w * bits // 8) for w, h in passes for _ in range(h) if w > 0]
    expected = sum(rows)
    inflater = zlib.decompressobj()
    produced = 0
    row, at = 0, 0  # the row whose filter byte comes next, and where it is
    position = 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IEND":
            break
        if kind != b"IDAT":
            continue
        pending = body
        while pending and not inflater.eof:
            piece = inflater.decompress(pending, _PIECE)
            pending = inflater.unconsumed_tail
            while row < len(rows) and at < produced + len(piece):
                if piece[at - produced] > 4:
                    raise ValueError(f"unknown filter type {piece[at - produced]} on row {row}")
                at += rows[row]
                row += 1
            produced += len(piece)
        if produced >= expected:
            # Data beyond the last row is no damage (libpng warns, Pillow
            # ignores it), and need not be inflated.
            return
    raise ValueError(f"image data ends after {produced} of {expected} bytes")


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Any:
    """The pixels as a BGR numpy array (what the detector takes), upright
    according to the EXIF orientation a camera wrote.

    Converted a strip of rows at a time into the array it returns, so the peak
    is the decoded image plus that array: converting the whole image, then
    copying it out as bytes and again as an array held 1 GB more for a
    100-megapixel PNG, and 16-bit grey passed through float64 whole (8 bytes a
    pixel)."""
    import numpy as np

    # One decode: loading reads all the pixel data, so a torn file fails there.
    image = open_upright(data, max_pixels)
    width, height = image.size
    top = _wide_top(image)
    bgr = np.empty((height, width, 3), dtype=np.uint8)  # writable, as callers may draw on it
    y = 0
    for strip in _strips(image):
        strip = _eight_bit(strip, top)
        if strip.mode != "RGB":
            strip = strip.convert("RGB")
        rows = np.frombuffer(strip.tobytes("raw", "BGR"), dtype=np.uint8)
        bgr[y : y + strip.height] = rows.reshape(strip.height, width, 3)
        y += strip.height
    return bgr


STRIP_PIXELS = 250_000
"""Pixels converted at a time by decode_image: a strip's copies hold a few MB."""

# Pillow's modes for one channel of more than 8 bits: 16-bit grayscale PNGs and
# TIFFs, 32-bit integer and float images.
_WIDE_GRAY = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535}


def _strips(image: Image.Image) -> Any:
    width, height = image.size
    step = max(1, STRIP_PIXELS // width)
    for y in range(0, height, step):
        yield image.crop((0, y, width, min(height, y + step)))


def _wide_top(image: Image.Image) -> float | None:
    """The value that becomes white when `image` (wide grey) is brought into 8
    bits; None for the modes Pillow converts itself."""
    import numpy as np

    if image.mode not in _WIDE_GRAY and image.mode != "F":
        return None
    if image.mode not in ("F", "I"):
        return float(_WIDE_GRAY[image.mode])
    brightest = max((float(np.asarray(strip).max()) for strip in _strips(image)), default=0.0)
    if image.mode == "F":
        return brightest
    return 255.0 if brightest <= 255 else 65535.0  # "I" at most 255: an 8-bit image Pillow opened as 32-bit


def _eight_bit(image: Image.Image, top: float | None) -> Image.Image:
    """`image` with wide grayscale scaled into 8 bits (`top` becomes 255).
    Pillow's own conversion clips every value above 255 to white: a 16-bit
    photo would come out blank."""
    import numpy as np

    if top is None:
        return image
    values = np.asarray(image, dtype=np.float64)  # a copy of the strip, so worked on in place
    values *= 255.0 / top if top > 0 else 0.0
    np.clip(values, 0, 255, out=values)
    return Image.fromarray(values.astype(np.uint8), mode="L")


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


def open_upright(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The image decoded and turned upright by its EXIF orientation, as decode_image
    sees it: the pixels the model's boxes are in (a crop per object, bot/crops.py)."""
    image, _ = _open_supported(data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageNotDecodable(f"the image data is damaged: {exc}") from exc
    return image


def rgb_region(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    """The region `box` (left, top, right, bottom) of an image from open_upright, in
    8-bit RGB converted as decode_image converts (wide grey scaled by the whole image's
    range, alpha dropped): only the region is converted."""
    region = _eight_bit(image.crop(box), _wide_top(image))
    return region if region.mode == "RGB" else region.convert("RGB")
