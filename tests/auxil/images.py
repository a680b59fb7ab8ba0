"""Sample images: the photos that ship with Ultralytics, and made-up ones."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

BUS_CAPTIONS = {"I see a bus and 3 people (maybe 4).", "I see a bus and 3 people."}
"""What Polybot says of bus.jpg. The fourth person, cut by the left edge, scores 0.25
in PyTorch, on the threshold: the int8 export (calibrated on the machine that makes
it) keeps it as a "maybe" on some CPUs and drops it on others."""


def ultralytics_asset(name: str) -> bytes:
    from ultralytics import ASSETS

    return (Path(ASSETS) / name).read_bytes()


def plain_image(
    width: int = 320, height: int = 240, color: tuple[int, int, int] = (128, 128, 128), format: str = "PNG"
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format=format)
    return buffer.getvalue()


def _encode(image: Image.Image, format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def asset_image(name: str) -> Image.Image:
    return Image.open(io.BytesIO(ultralytics_asset(name))).convert("RGB")


def resized(name: str, size: tuple[int, int], quality: int = 90) -> bytes:
    """An Ultralytics sample scaled to `size` (a large original, a panorama), as JPEG."""
    return _encode(asset_image(name).resize(size), "JPEG", quality=quality)


def exif_rotated(name: str) -> bytes:
    """A JPEG whose pixels lie on their side, with EXIF orientation 6 ("rotate 90°
    clockwise to show"), as phone cameras write them: upright, it is the sample."""
    sideways = asset_image(name).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return _encode(sideways, "JPEG", quality=92, exif=exif.tobytes())


def sixteen_bit_gray(name: str) -> bytes:
    """A 16-bit grayscale PNG of the sample (values across the whole 0..65535 range)."""
    import numpy as np

    gray = np.asarray(asset_image(name).convert("L"), dtype=np.uint16) * 257
    return _encode(Image.fromarray(gray), "PNG")


def in_mode(name: str, mode: str, format: str) -> bytes:
    """The sample converted to a Pillow mode (L, RGBA, CMYK) and saved as `format`."""
    return _encode(asset_image(name).convert(mode), format)


def animated_gif(name: str, frames: int = 3) -> bytes:
    first = asset_image(name).convert("P")
    rest = [first.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for _ in range(frames - 1)]
    return _encode(first, "GIF", save_all=True, append_images=rest, duration=200, loop=0)


def decompression_bomb(width: int = 12_000, height: int = 12_000) -> bytes:
    """A few kilobytes of PNG that decode to more pixels than any photo has."""
    return _encode(Image.new("L", (width, height)), "PNG", optimize=True)


def text_screenshot(width: int = 1170, height: int = 900) -> bytes:
    """A phone screenshot of a chat's text: dark lines of words on white, nothing the model knows."""
    from PIL import ImageDraw, ImageFont

    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=44)
    lines = [
        "Meeting moved to Thursday, 10:30.",
        "Please bring the quarterly report",
        "and the figures for the new office.",
        "Lunch is booked for twelve people.",
        "Reply to this message to confirm.",
    ]
    for row, line in enumerate(lines):
        draw.text((60, 80 + row * 140), line, fill=(20, 20, 20), font=font)
    return _encode(image, "PNG")


def bus_strip(buses: int = 11, size: tuple[int, int] = (12_000, 1_500)) -> bytes:
    """A panorama of `buses` copies of bus.jpg side by side, each its own tile
    of the strip holding one bus (and its passers-by), scaled to `size`, as JPEG."""
    bus = asset_image("bus.jpg")
    width, height = size
    cell = bus.resize((round(width / buses), height))
    strip = Image.new("RGB", (cell.width * buses, height))
    for index in range(buses):
        strip.paste(cell, (index * cell.width, 0))
    return _encode(strip.resize(size), "JPEG", quality=90)
