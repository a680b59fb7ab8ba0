"""Sample images: the photos that ship with Ultralytics, and made-up ones."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image


def ultralytics_asset(name: str) -> bytes:
    from ultralytics import ASSETS

    return (Path(ASSETS) / name).read_bytes()


def plain_image(
    width: int = 320, height: int = 240, color: tuple[int, int, int] = (128, 128, 128), format: str = "PNG"
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format=format)
    return buffer.getvalue()
