"""The worker's decoder (OpenCV for plain JPEGs) against polybot.imaging's (Pillow): the same pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from inference.decoding import decode_original, decoder
from polybot import imaging
from polybot.errors import ImageNotDecodable, NotAnImage
from tests.auxil.images import asset_image, exif_rotated, in_mode, plain_image, ultralytics_asset


def jpeg(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def oriented(orientation: int) -> bytes:
    """A 61x37 JPEG of noise with EXIF `orientation` (odd sizes: no block-aligned edges)."""
    noise = np.random.default_rng(orientation).integers(0, 256, (37, 61, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return jpeg(Image.fromarray(noise), quality=93, exif=exif.tobytes())


OPENCV_CASES = {
    "bus.jpg as shipped": lambda: ultralytics_asset("bus.jpg"),
    "zidane.jpg as shipped": lambda: ultralytics_asset("zidane.jpg"),
    "a phone's sideways JPEG (orientation 6)": lambda: exif_rotated("bus.jpg"),
    "grey": lambda: in_mode("zidane.jpg", "L", "JPEG"),
    "progressive": lambda: jpeg(asset_image("bus.jpg"), quality=85, progressive=True),
    "4:4:4, quality 100": lambda: jpeg(asset_image("zidane.jpg"), quality=100, subsampling=0),
    "4:2:2, odd size": lambda: jpeg(asset_image("bus.jpg").resize((333, 517)), quality=75, subsampling=1),
    **{f"orientation {n}": (lambda n=n: oriented(n)) for n in range(1, 9)},
}


@pytest.mark.parametrize("case", OPENCV_CASES)
def test_a_plain_jpeg_is_decoded_by_opencv_into_the_same_pixels_as_pillows(case: str) -> None:
    data = OPENCV_CASES[case]()

    assert decoder(data) == "opencv"
    pixels, reference = decode_original(data), imaging.decode_image(data)
    assert pixels.shape == reference.shape and pixels.dtype == reference.dtype == np.uint8
    assert np.array_equal(pixels, reference)


PILLOW_CASES = {
    "a CMYK JPEG (each converts it its own way)": lambda: in_mode("bus.jpg", "CMYK", "JPEG"),
    "a PNG": lambda: plain_image(format="PNG"),
    "a WebP": lambda: in_mode("bus.jpg", "RGB", "WEBP"),
}


@pytest.mark.parametrize("case", PILLOW_CASES)
def test_anything_else_goes_pillows_way(case: str) -> None:
    data = PILLOW_CASES[case]()

    assert decoder(data) == "pillow"
    assert np.array_equal(decode_original(data), imaging.decode_image(data))


def test_what_is_not_an_image_is_refused_as_pillows_path_refuses_it() -> None:
    with pytest.raises(NotAnImage):
        decode_original(b"%PDF-1.7 not a photo")


def test_a_jpeg_opencv_cannot_read_is_left_to_pillow_which_names_the_damage() -> None:
    # Only a JPEG's header: OpenCV gives nothing back, Pillow names the damage.
    header_only = ultralytics_asset("bus.jpg")[:600]
    assert decoder(header_only) == "opencv"

    with pytest.raises(ImageNotDecodable):
        decode_original(header_only)
