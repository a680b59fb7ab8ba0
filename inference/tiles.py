"""Very wide or tall images (panoramas) seen in overlapping tiles.

The model sees an image at `image_size` (640) on its longest side: a
12000x1500 panorama becomes 640x80, where a bus is a few pixels tall and 11
buses become "2 buses (maybe 10)". An image whose long side is more than
ELONGATED times its short side is therefore cut along its long side into
square tiles as tall as its short side, each overlapping the next by at
least OVERLAP of a tile, and each tile goes to the model on its own (each at
the model's resolution, as a photo would). Their boxes are mapped back to the
original's pixels and merged class by class (`merge`). Every other image goes
to the model once, exactly as before.

Choices (issue 19, rough edge 11; docs/performance.md "Panoramas"):
- ELONGATED = 2.5: beyond any camera's own frame (4:3, 16:9, the 21:9 of
  ultra-wide video, 2.33); what is longer is a panorama or a strip, where the
  short side at 640 on the long one is 256 px or less.
- Tiles are squares of the short side (the model's input is square) with a
  quarter of overlap; the tiles are spread evenly, so the overlap may be more.
- At most MAX_TILES tiles: a longer image gets longer tiles (a 100:1 strip
  costs 32 runs of the model, not 130).
- No extra whole-image pass (as SAHI offers): it would add the coarse boxes
  the tiles are there to replace, and its false "maybe"s.

Pure functions of an image and a model; called by `inference.detector`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inference import yolo

ELONGATED = 2.5
"""Long side over short side beyond which an image is seen in tiles."""
OVERLAP = 0.25
"""The least share of a tile that the next one overlaps."""
MAX_TILES = 32
EDGE_MARGIN = 0.01
"""A box within this share of a tile (2 px at least) of a tile's inner edge is cut by it."""
SAME_OBJECT_IOU = 0.6
"""Two boxes of one class from different tiles with at least this IoU are the same object."""
SAME_OBJECT_COVERED = 0.5
"""A box cut by a tile's edge is part of a box of its class from another tile
that covers at least this share of the smaller of the two (intersection over
the smaller area): the two become their union."""

Model = Callable[[np.ndarray, "float | None"], yolo.Boxes]
"""What runs the model: `Backend.predict(image_bgr, confidence)`."""


@dataclass(frozen=True)
class Tile:
    """A window of the image, in its pixels."""

    x: int
    y: int
    width: int
    height: int


def elongated(height: int, width: int) -> bool:
    return max(height, width) > ELONGATED * max(min(height, width), 1)


def tiles(height: int, width: int) -> list[Tile]:
    """The windows the model sees the image through: the whole image, or (an
    elongated one) overlapping tiles along its long side, first to last."""
    if not elongated(height, width):
        return [Tile(0, 0, width, height)]
    long_side, short_side = max(height, width), min(height, width)
    side = short_side
    count = math.ceil((long_side - side) / (side * (1 - OVERLAP))) + 1
    if count > MAX_TILES:
        count = MAX_TILES
        side = math.ceil(long_side / (1 + (MAX_TILES - 1) * (1 - OVERLAP)))
    starts = [round(i * (long_side - side) / (count - 1)) for i in range(count)]
    if width >= height:
        return [Tile(start, 0, side, height) for start in starts]
    return [Tile(0, start, width, side) for start in starts]


def predict(model: Model, image_bgr: np.ndarray, confidence: float | None = None) -> yolo.Boxes:
    """The model's boxes on the image (its pixels): one run for an ordinary
    image, one per tile for an elongated one, merged."""
    height, width = image_bgr.shape[:2]
    windows = tiles(height, width)
    if len(windows) == 1:
        return model(image_bgr, confidence)
    found: list[Found] = []
    for index, tile in enumerate(windows):
        window = np.ascontiguousarray(image_bgr[tile.y : tile.y + tile.height, tile.x : tile.x + tile.width])
        boxes = model(window, confidence)
        xyxy = boxes.xyxy + np.array([tile.x, tile.y, tile.x, tile.y], np.float32)
        cut = cut_by_inner_edges(xyxy, tile, height, width)
        found.extend(
            Found(box, float(score), int(class_id), index, bool(was_cut))
            for box, score, class_id, was_cut in zip(xyxy, boxes.confidence, boxes.class_id, cut, strict=True)
        )
    return merge(found, windows, height, width)


def cut_by_inner_edges(xyxy: np.ndarray, tile: Tile, height: int, width: int) -> np.ndarray:
    """For each box (image pixels), whether it touches an edge of the tile that
    is not an edge of the image: the object may go on beyond it."""
    margin = max(2.0, EDGE_MARGIN * max(tile.width, tile.height))
    cut = np.zeros(len(xyxy), bool)
    if tile.x > 0:
        cut |= xyxy[:, 0] <= tile.x + margin
    if tile.x + tile.width < width:
        cut |= xyxy[:, 2] >= tile.x + tile.width - margin
    if tile.y > 0:
        cut |= xyxy[:, 1] <= tile.y + margin
    if tile.y + tile.height < height:
        cut |= xyxy[:, 3] >= tile.y + tile.height - margin
    return cut


@dataclass
class Found:
    """A box found in one tile (or, merged, several)."""

    box: np.ndarray
    confidence: float
    class_id: int
    tile: int
    """The tile it was found in (merged: the tile of the most confident part)."""
    cut: bool = False
    """Touches an inner edge of a tile it was found in: maybe only part of the object."""


def merge(found: list[Found], windows: list[Tile], height: int, width: int) -> yolo.Boxes:
    """Class-wise non-maximum suppression across tiles, most confident first.
    Boxes from one tile stay as the model left them; of two boxes of a class
    from different tiles:
    - the same object (IoU >= SAME_OBJECT_IOU): the less confident one goes;
    - one cut by its tile's edge, lying within the other's tile away from that
      tile's inner edges: the other tile saw the whole object; its box stays;
    - both cut, going on into each other through a whole overlap of two tiles
      (and level with each other): parts of an object longer than a tile; or
      one cut, covering much of the other (SAME_OBJECT_COVERED): two views of
      an object wider than the overlap; their union stays."""
    axis = 0 if width >= height else 1
    starts = [(w.x, w.y)[axis] for w in windows]
    ends = [(w.x + w.width, w.y + w.height)[axis] for w in windows]
    overlap = min(end - start for end, start in zip(ends, starts[1:], strict=False))
    margin = max(2.0, EDGE_MARGIN * overlap)

    def go_on_into_each_other(a: np.ndarray, b: np.ndarray) -> bool:
        along = min(a[axis + 2], b[axis + 2]) - max(a[axis], b[axis])
        across = 1 - axis
        shared = min(a[across + 2], b[across + 2]) - max(a[across], b[across])
        spanned = max(a[across + 2], b[across + 2]) - min(a[across], b[across])
        return bool(along >= overlap - margin and shared >= 0.5 * spanned)

    def seen_whole(box: np.ndarray, tile: int) -> bool:
        window = windows[tile]
        inside = window.x <= box[0] and box[2] <= window.x + window.width
        inside = inside and window.y <= box[1] and box[3] <= window.y + window.height
        return inside and not cut_by_inner_edges(box[None], window, height, width)[0]

    kept: list[Found] = []
    for candidate in sorted(found, key=lambda f: -f.confidence):
        for other in kept:
            if other.class_id != candidate.class_id or candidate.tile == other.tile:
                continue
            if _iou(candidate.box, other.box) >= SAME_OBJECT_IOU:
                break
            if not _intersection(candidate.box, other.box):
                continue
            if candidate.cut and not other.cut and seen_whole(candidate.box, other.tile):
                break
            if other.cut and not candidate.cut and seen_whole(other.box, candidate.tile):
                other.box, other.tile, other.cut = candidate.box, candidate.tile, False
                break
            if (candidate.cut and other.cut and go_on_into_each_other(candidate.box, other.box)) or (
                (candidate.cut or other.cut) and _covered(candidate.box, other.box) >= SAME_OBJECT_COVERED
            ):
                other.box = np.concatenate(
                    [np.minimum(other.box[:2], candidate.box[:2]), np.maximum(other.box[2:], candidate.box[2:])]
                )
                other.cut = other.cut and candidate.cut
                break
        else:
            kept.append(candidate)
    if not kept:
        return yolo.Boxes(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
    return yolo.Boxes(
        np.array([k.box for k in kept], np.float32),
        np.array([k.confidence for k in kept], np.float32),
        np.array([k.class_id for k in kept], np.int64),
    )


def _intersection(a: np.ndarray, b: np.ndarray) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return float(max(width, 0) * max(height, 0))


def _area(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], 0) * max(box[3] - box[1], 0))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    overlap = _intersection(a, b)
    return overlap / (_area(a) + _area(b) - overlap + 1e-9)


def _covered(a: np.ndarray, b: np.ndarray) -> float:
    return _intersection(a, b) / (min(_area(a), _area(b)) + 1e-9)
