"""Checking and decoding an image without holding more of it than needed.

StageImage checks an image without decoding all its pixels (a JPEG at 1/8
scale, a PNG's compressed data inflated in pieces, the rest decoded whole only
within imaging.DECODE_WHOLE_BYTES); the worker converts a strip of rows at a
time. These tests hold each to what it promises on small images; the largest
accepted images are measured in tests/faults/test_memory.py.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from polybot import imaging
from polybot.errors import ImageNotDecodable, ImageTooLarge
from tests.auxil import largest_images


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_data(raw: bytes, width: int = 4, height: int = 3) -> bytes:
    """An RGB PNG whose IDAT chunk holds `raw` as given (checksums right)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", raw) + _chunk(b"IEND", b"")


ROWS = b"".join(b"\x00" + bytes(range(12)) for _ in range(3))
"""Three filtered rows of 4 RGB pixels: what a 4x3 RGB PNG's data inflates to."""


def test_a_whole_png_built_by_hand_is_accepted() -> None:
    assert imaging.inspect_image(png_with_data(zlib.compress(ROWS))).width == 4


def test_data_beyond_the_last_row_is_no_damage() -> None:
    # libpng only warns of it, and Pillow decodes such a PNG.
    assert imaging.inspect_image(png_with_data(zlib.compress(ROWS + ROWS[:13]))).width == 4


@pytest.mark.parametrize(
    ("what", "raw"),
    [
        ("a row short", zlib.compress(ROWS[:-13])),
        ("a byte short", zlib.compress(ROWS[:-1])),
        ("the deflate stream cut", zlib.compress(ROWS)[:-6]),
        ("an unknown filter type", zlib.compress(b"\x07" + ROWS[1:])),
        ("not deflate at all", b"\xff" * 20),
    ],
)
def test_a_png_whose_checksummed_data_does_not_inflate_to_its_rows_is_damaged(what: str, raw: bytes) -> None:
    # The chunks' CRCs are right, so only inflating the data finds these.
    with pytest.raises(ImageNotDecodable, match="PNG data is damaged"):
        imaging.inspect_image(png_with_data(raw))


@pytest.mark.parametrize("interlace", [False, True])
@pytest.mark.parametrize("mode", ["1", "L", "P", "LA", "RGB", "RGBA", "I;16"])
@pytest.mark.parametrize("size", [(1, 1), (7, 5), (33, 17)])
def test_every_kind_of_png_pillow_writes_is_accepted(mode: str, size: tuple[int, int], interlace: bool) -> None:
    # The row sizes (bit depths, channels, Adam7's passes) agree with Pillow's.
    buffer = io.BytesIO()
    image = Image.linear_gradient("L").resize(size).convert(mode)
    image.save(buffer, "PNG", interlace=interlace)

    assert imaging.inspect_image(buffer.getvalue()) == imaging.ImageInfo("image/png", *size)


def test_a_webp_that_would_cost_more_than_the_budget_to_check_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100), (9, 99, 199)).save(buffer, "WEBP")
    data = buffer.getvalue()
    cost = 100 * 100 * imaging._DECODER_BYTES_PER_PIXEL["WEBP"]

    monkeypatch.setattr(imaging, "DECODE_WHOLE_BYTES", cost)
    assert imaging.inspect_image(data).width == 100
    monkeypatch.setattr(imaging, "DECODE_WHOLE_BYTES", cost - 1)
    with pytest.raises(ImageTooLarge, match="more than I can check"):
        imaging.inspect_image(data)


def test_a_progressive_jpeg_that_would_cost_more_than_the_budget_to_check_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # libjpeg keeps a progressive JPEG's coefficients whole until its last scan.
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100), (9, 99, 199)).save(buffer, "JPEG", progressive=True)  # 4:2:0
    data = buffer.getvalue()
    cost = 100 * 100 * 3  # 1.5 samples a pixel, 2 bytes each

    monkeypatch.setattr(imaging, "DECODE_WHOLE_BYTES", cost)
    assert imaging.inspect_image(data).width == 100
    monkeypatch.setattr(imaging, "DECODE_WHOLE_BYTES", cost - 1)
    with pytest.raises(ImageTooLarge, match="progressive JPEG"):
        imaging.inspect_image(data)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_baseline_jpeg_and_png_are_checked_whatever_their_decoded_size(
    monkeypatch: pytest.MonkeyPatch, image_format: str
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100), (9, 99, 199)).save(buffer, image_format)
    monkeypatch.setattr(imaging, "DECODE_WHOLE_BYTES", 1)

    assert imaging.inspect_image(buffer.getvalue()).width == 100


def _whole_image_bgr(data: bytes) -> np.ndarray:
    """What decode_image returned before it converted in strips: the whole image at once."""
    image = Image.open(io.BytesIO(data))
    image.load()
    if image.mode in ("I;16", "I;16B", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = float(values.max()) if image.mode == "F" else 65535.0
        if image.mode == "I" and values.max() <= 255:
            top = 255.0
        image = Image.fromarray(np.clip(values * (255.0 / top if top else 0.0), 0, 255).astype(np.uint8), "L")
    return np.asarray(image.convert("RGB"))[:, :, ::-1]


def _in_mode(mode: str, image_format: str = "PNG") -> bytes:
    ramp = np.add.outer(np.arange(37) * 5, np.arange(23) * 7) % 256
    if mode == "I;16":
        image = Image.fromarray((ramp * 257).astype(np.uint16))
    elif mode == "I":
        image = Image.fromarray((ramp * 200).astype(np.int32), "I")
    elif mode == "I small":
        image = Image.fromarray(ramp.astype(np.int32), "I")
    elif mode == "F":
        image = Image.fromarray((ramp / 3).astype(np.float32), "F")
    else:
        colour = Image.merge("RGB", [Image.fromarray(ramp.astype(np.uint8))] * 3).convert(mode)
        image = colour
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("mode", "image_format"),
    [
        ("RGB", "PNG"),
        ("RGBA", "PNG"),
        ("P", "PNG"),
        ("LA", "PNG"),
        ("1", "PNG"),
        ("L", "PNG"),
        ("I;16", "PNG"),
        ("I", "TIFF"),
        ("I small", "TIFF"),
        ("F", "TIFF"),
        ("CMYK", "JPEG"),
        ("RGB", "JPEG"),
    ],
)
def test_decoding_in_strips_gives_the_pixels_of_decoding_whole(
    monkeypatch: pytest.MonkeyPatch, mode: str, image_format: str
) -> None:
    data = _in_mode(mode, image_format)
    monkeypatch.setattr(imaging, "STRIP_PIXELS", 23 * 4)  # strips of 4 rows, the last one of 1

    pixels = imaging.decode_image(data)

    assert pixels.flags["C_CONTIGUOUS"] and pixels.flags["WRITEABLE"]
    np.testing.assert_array_equal(pixels, _whole_image_bgr(data))


SIDE = 3000
"""Large enough that holding the pixels shows in a process's peak memory
(27 MB as RGB, 36 MB as RGBA), small enough to make in a second."""


@pytest.mark.parametrize("kind", ["PNG RGBA", "JPEG RGB", "PNG palette"])
def test_stage_image_checks_a_png_or_jpeg_without_holding_its_pixels(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "image"
    largest_images.make_in_child(kind, path, SIDE)

    peak = largest_images.peak_in_child("stage", path)

    assert peak["outcome"] == "accepted"
    assert peak["added_mb"] < 8, peak  # an eighth of the pixels at most


@pytest.mark.parametrize(("kind", "source_bytes"), [("PNG RGBA", 4), ("PNG 16-bit grey", 2), ("JPEG RGB", 3)])
def test_the_worker_decodes_holding_the_image_and_its_array_only(tmp_path: Path, kind: str, source_bytes: int) -> None:
    path = tmp_path / "image"
    side = 4000  # large enough that one more copy of the image (48 MB) stands out
    largest_images.make_in_child(kind, path, side)

    peak = largest_images.peak_in_child("worker", path)

    assert peak["outcome"] == "accepted"
    held_mb = side * side * (source_bytes + 3) / 2**20  # the decoded image and the BGR array
    # Beyond that: a strip's copies (a few MB) and the decoder's own buffers
    # (libjpeg's came to 19 MB here); converting the whole image at once, or
    # copying its pixels out whole once more, takes 48 MB more.
    assert peak["added_mb"] < held_mb + 32, peak
