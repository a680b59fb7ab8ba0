from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from polybot import imaging
from polybot.errors import ImageNotDecodable, ImageTooLarge, NotAnImage


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height but carries no pixels (a few dozen bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def noisy_jpeg(size: tuple[int, int] = (128, 96)) -> bytes:
    """A JPEG whose scan data is most of the file (noise does not compress)."""
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("image_format", "content_type"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
        ("GIF", "image/gif"),
        ("TIFF", "image/tiff"),
    ],
)
def test_inspect_image_reads_type_and_size(
    image_bytes: Callable[..., bytes], image_format: str, content_type: str
) -> None:
    info = imaging.inspect_image(image_bytes(image_format, size=(64, 48)))

    assert info == imaging.ImageInfo(content_type=content_type, width=64, height=48)


def test_text_is_not_an_image() -> None:
    with pytest.raises(NotAnImage, match="not an image format"):
        imaging.inspect_image(b"Hello, this is a text file.\n")


def test_empty_file_is_not_an_image() -> None:
    with pytest.raises(NotAnImage, match="empty"):
        imaging.inspect_image(b"")


def test_an_image_format_the_detector_does_not_read_is_not_an_image(image_bytes: Callable[..., bytes]) -> None:
    with pytest.raises(NotAnImage, match="ICO images are not supported"):
        imaging.inspect_image(image_bytes("ICO", size=(16, 16)))


def test_png_cut_short_is_not_decodable(image_bytes: Callable[..., bytes]) -> None:
    data = image_bytes("PNG")

    with pytest.raises(ImageNotDecodable, match="PNG data is damaged"):
        imaging.inspect_image(data[: len(data) - 12])


def test_jpeg_cut_short_does_not_decode() -> None:
    data = noisy_jpeg()

    with pytest.raises(ImageNotDecodable, match="damaged"):
        imaging.decode_image(data[: len(data) * 3 // 4])


def test_inspect_image_refuses_a_jpeg_cut_short() -> None:
    data = noisy_jpeg()

    with pytest.raises(ImageNotDecodable):
        imaging.inspect_image(data[: len(data) * 3 // 4])


@pytest.mark.parametrize("length", [12, 100, 300])
def test_jpeg_cut_inside_its_headers_is_not_decodable(length: int) -> None:
    # Pillow raises a bare OSError ("Truncated File Read") for these.
    data = noisy_jpeg()

    with pytest.raises(ImageNotDecodable, match="damaged"):
        imaging.inspect_image(data[:length])
    with pytest.raises(ImageNotDecodable, match="damaged"):
        imaging.decode_image(data[:length])


def test_more_pixels_than_allowed_is_too_large() -> None:
    with pytest.raises(ImageTooLarge, match="5000x5000 pixels is more than 1000000"):
        imaging.inspect_image(png_header(5000, 5000), max_pixels=1_000_000)


def test_a_decompression_bomb_is_too_large() -> None:
    with pytest.raises(ImageTooLarge):
        imaging.inspect_image(png_header(20_000, 20_000))


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLarge):
        imaging.decode_image(png_header(20_000, 20_000))


def test_max_pixels_is_the_limit_even_above_pillows_own() -> None:
    # The header-only file passes the pixel limit; only its missing data refuses it.
    with pytest.raises(ImageNotDecodable):
        imaging.inspect_image(png_header(9500, 9500), max_pixels=imaging.MAX_PIXELS)


def test_max_pixels_is_inclusive(image_bytes: Callable[..., bytes]) -> None:
    data = image_bytes("PNG", size=(64, 48))

    assert imaging.inspect_image(data, max_pixels=64 * 48).width == 64
    with pytest.raises(ImageTooLarge):
        imaging.inspect_image(data, max_pixels=64 * 48 - 1)


def test_decode_image_gives_bgr_uint8_rows_by_columns(image_bytes: Callable[..., bytes]) -> None:
    pixels = imaging.decode_image(image_bytes("PNG", size=(8, 4), color=(255, 0, 0)))

    assert pixels.dtype == np.uint8
    assert pixels.shape == (4, 8, 3)
    assert pixels.flags["C_CONTIGUOUS"]
    assert (pixels == [0, 0, 255]).all()


def test_decode_image_keeps_channel_order_for_every_colour(image_bytes: Callable[..., bytes]) -> None:
    pixels = imaging.decode_image(image_bytes("PNG", size=(2, 2), color=(10, 120, 230)))

    assert pixels[1, 1].tolist() == [230, 120, 10]


def test_decode_image_drops_alpha_and_expands_grey() -> None:
    with_alpha, grey = io.BytesIO(), io.BytesIO()
    Image.new("RGBA", (8, 4), (0, 255, 0, 128)).save(with_alpha, "PNG")
    Image.new("L", (8, 4), 77).save(grey, "PNG")

    assert imaging.decode_image(with_alpha.getvalue())[0, 0].tolist() == [0, 255, 0]
    assert imaging.decode_image(grey.getvalue()).shape == (4, 8, 3)


def test_decode_image_turns_the_photo_upright_by_its_exif_orientation(image_bytes: Callable[..., bytes]) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to view
    data = image_bytes("JPEG", size=(40, 20), exif=exif)

    assert imaging.inspect_image(data) == imaging.ImageInfo("image/jpeg", 40, 20)
    assert imaging.decode_image(data).shape == (40, 20, 3)


def test_decode_image_without_orientation_keeps_the_shape(image_bytes: Callable[..., bytes]) -> None:
    assert imaging.decode_image(image_bytes("JPEG", size=(40, 20))).shape == (20, 40, 3)


def test_decode_image_refuses_what_inspect_image_refuses() -> None:
    with pytest.raises(NotAnImage):
        imaging.decode_image(b"%PDF-1.7\n")
    with pytest.raises(ImageTooLarge):
        imaging.decode_image(png_header(5000, 5000), max_pixels=1_000_000)
