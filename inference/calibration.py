"""Photos available offline, for int8 calibration and for the benchmark's fixed
image set: the photos that ship inside installed packages (Ultralytics'
samples, Matplotlib's and scikit-image's sample photos) and variants made
from them.

How representative they are: nine real photos of everyday COCO scenes (people,
a bus, a cat, a cup on a table, motorcycles, a cameraman), 300 to 1280 px,
colour and one greyscale, plus flips, crops, rescales and exposure changes.
Far fewer and less varied than COCO's validation images (night scenes, crowds,
small objects are missing), so `make bench` checks that the int8 model still
agrees with the PyTorch weights, on photos held out from calibration too.

Used by `inference.export` (calibration set) and `benchmarks` (image set).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

# (package, path inside it). scikit-image's are used where it is installed (the
# `export` extra installs it); the others ship with Ultralytics and its dependencies.
PACKAGED_PHOTOS = (
    ("ultralytics", "assets/bus.jpg"),
    ("ultralytics", "assets/zidane.jpg"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    ("skimage", "data/astronaut.png"),
    ("skimage", "data/coffee.png"),
    ("skimage", "data/motorcycle_left.png"),
    ("skimage", "data/chelsea.png"),
    ("skimage", "data/motorcycle_right.png"),
    ("skimage", "data/camera.png"),
)
HELD_OUT = frozenset({"chelsea.png", "motorcycle_right.png", "camera.png"})
"""Never calibrated on: the benchmark reports agreement on these separately."""


@dataclass(frozen=True)
class Photo:
    name: str
    image_bgr: np.ndarray


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_photos() -> list[Photo]:
    """Every packaged photo that is installed here, in PACKAGED_PHOTOS order."""
    photos = []
    for package, inside in PACKAGED_PHOTOS:
        folder = _package_dir(package)
        if folder is None or not (folder / inside).is_file():
            continue
        image = cv2.imread(str(folder / inside), cv2.IMREAD_COLOR)
        if image is not None:
            photos.append(Photo(Path(inside).name, image))
    return photos


def variants(photo: Photo) -> list[Photo]:
    """The photo mirrored, cropped, halved and under/over-exposed: what a phone
    camera's framing and light change."""
    image = photo.image_bgr
    height, width = image.shape[:2]
    return [
        Photo(f"{photo.name}:mirrored", np.ascontiguousarray(image[:, ::-1])),
        Photo(f"{photo.name}:cropped", np.ascontiguousarray(image[height // 5 :, width // 8 : width - width // 8])),
        Photo(f"{photo.name}:halved", cv2.resize(image, (max(width // 2, 1), max(height // 2, 1)))),
        Photo(f"{photo.name}:dark", cv2.convertScaleAbs(image, alpha=0.55, beta=0)),
        Photo(f"{photo.name}:bright", cv2.convertScaleAbs(image, alpha=1.25, beta=20)),
    ]


def calibration_photos() -> list[Photo]:
    """The packaged photos not held out, each with its variants."""
    return [p for photo in packaged_photos() if photo.name not in HELD_OUT for p in (photo, *variants(photo))]
