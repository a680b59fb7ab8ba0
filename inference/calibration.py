"""Photos available offline, for int8 calibration and for the benchmark's fixed
image set: the photos that ship inside installed packages (Ultralytics'
samples, Matplotlib's and scikit-image's sample photos) and variants made
from them.

How representative they are: nine real photos of everyday COCO scenes (people,
a bus, a cat, a cup on a table, motorcycles, a cameraman), 300 to 1280 px,
colour and one greyscale, plus flips, crops, rescales and exposure changes,
and composites of them in grids (crowds of small objects). Far fewer and less
varied than COCO's validation images (night scenes, text, real crowds are
missing), so `make bench` checks that the int8 model still agrees with the
PyTorch weights, on photos held out from calibration too.

Everything here is deterministic (no random numbers; fixed order), so the
same packages give the same pixels, the same calibration and the same export.
Used by `inference.export` (`calibration_photos`) and `benchmarks` (the
timing set: `variants`; the accuracy set: `accuracy_set`).
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


def framings(photo: Photo) -> list[Photo]:
    """The photo as a phone might frame it: the whole, mirrored, five crops
    (each side's two thirds, the centre's half), three smaller scales (small,
    far objects) and two exposures."""
    image = photo.image_bgr
    height, width = image.shape[:2]
    third_h, third_w = height // 3, width // 3
    crops = {
        "left": image[:, : width - third_w],
        "right": image[:, third_w:],
        "top": image[: height - third_h],
        "bottom": image[third_h:],
        "centre": image[height // 4 : height - height // 4, width // 4 : width - width // 4],
    }
    scaled = {
        f"scale{percent}": cv2.resize(
            image, (max(width * percent // 100, 1), max(height * percent // 100, 1)), interpolation=cv2.INTER_AREA
        )
        for percent in SCALES_PERCENT
    }
    return [
        photo,
        Photo(f"{photo.name}:mirrored", np.ascontiguousarray(image[:, ::-1])),
        *(Photo(f"{photo.name}:{name}", np.ascontiguousarray(part)) for name, part in crops.items()),
        *(Photo(f"{photo.name}:{name}", part) for name, part in scaled.items()),
        Photo(f"{photo.name}:dark", cv2.convertScaleAbs(image, alpha=0.55, beta=0)),
        Photo(f"{photo.name}:bright", cv2.convertScaleAbs(image, alpha=1.25, beta=20)),
    ]


SCALES_PERCENT = (75, 50, 33)
GRIDS = ((2, 2), (3, 3), (2, 3), (4, 4))
"""Composites' tiles (rows, columns): crowded scenes of small objects, which the
packaged photos alone lack."""
CELL = (240, 320)
"""Each tile's height and width (4:3, as most phone photos): a 4x4 grid is
960x1280, letterboxed to 480x640, so a tile's objects shrink fourfold."""


def composites(photos: list[Photo], label: str) -> list[Photo]:
    """Grids of the photos (and their mirror images), each photo resized into
    its tile: one composite per grid shape and starting photo, tiles taken in
    turn, so every photo appears in every grid shape. Deterministic: no random
    numbers, only the photos' order."""
    if not photos:
        return []
    tiles = [cv2.resize(p.image_bgr, (CELL[1], CELL[0]), interpolation=cv2.INTER_AREA) for p in photos]
    tiles += [np.ascontiguousarray(tile[:, ::-1]) for tile in tiles]
    made = []
    for rows, columns in GRIDS:
        for start in range(len(photos)):
            picked = [tiles[(start + k * (1 + len(photos) // 2)) % len(tiles)] for k in range(rows * columns)]
            grid = np.vstack([np.hstack(picked[r * columns : (r + 1) * columns]) for r in range(rows)])
            made.append(Photo(f"{label}:grid{rows}x{columns}:{start}", grid))
    return made


def calibrated(photo_name: str) -> bool:
    """Whether calibration saw the packaged photo this image was made from
    (composites: every one of their photos)."""
    return photo_name.split(":")[0] != HELD_OUT_COMPOSITES and photo_name.split(":")[0] not in HELD_OUT


HELD_OUT_COMPOSITES = "held-out"
CALIBRATED_COMPOSITES = "calibrated"


def accuracy_set() -> list[Photo]:
    """The images `make bench` compares every backend with PyTorch on: each
    packaged photo's framings, and composites of the held-out photos and of
    the others apart (so the held-out share stays unseen by calibration).
    Fixed order; the same pixels on every machine with the same packages."""
    photos = packaged_photos()
    held_out = [p for p in photos if p.name in HELD_OUT]
    seen = [p for p in photos if p.name not in HELD_OUT]
    return [
        *(framed for photo in photos for framed in framings(photo)),
        *composites(seen, CALIBRATED_COMPOSITES),
        *composites(held_out, HELD_OUT_COMPOSITES),
    ]


def calibration_photos() -> list[Photo]:
    """What the int8 model is calibrated on: the accuracy set's images made
    only from photos not held out (framings and composites), fixed order."""
    return [photo for photo in accuracy_set() if calibrated(photo.name)]
