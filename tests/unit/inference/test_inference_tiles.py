"""Panoramas seen in overlapping tiles (inference/tiles.py): which windows the
model sees, and how their boxes become one per object in the original's pixels.

The model here is a stand-in that finds solid rectangles of a class's colour in
whatever window it is given (a rectangle cut by the window's edge is found cut),
so every way a tile's edge can cut an object is exercised without weights; the
real model on a real panorama is tests/integration/test_panorama_tiles.py."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from inference import tiles, yolo

COLOURS = {5: (0, 0, 255), 0: (0, 255, 0)}
"""The stand-in model's classes: a bus is red, a person green (BGR)."""


class RectangleFinder:
    """Finds each solid rectangle of a class's colour in the window it is shown;
    the larger a rectangle's visible part, the more confident it is."""

    def __init__(self) -> None:
        self.windows: list[tuple[int, int]] = []

    def __call__(self, image_bgr: np.ndarray, confidence: float | None = None) -> yolo.Boxes:
        self.windows.append(image_bgr.shape[:2])
        xyxy, score, classes = [], [], []
        for class_id, colour in COLOURS.items():
            mask = cv2.inRange(image_bgr, colour, colour)
            count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            for x, y, w, h, area in stats[1:count]:
                xyxy.append([x, y, x + w, y + h])
                score.append(0.3 + min(area / 2e6, 0.6))
                classes.append(class_id)
        return yolo.Boxes(np.array(xyxy, np.float32).reshape(-1, 4), np.array(score, np.float32), np.array(classes))


def scene(height: int, width: int, objects: list[tuple[int, tuple[int, int, int, int]]]) -> np.ndarray:
    image = np.full((height, width, 3), 40, np.uint8)
    for class_id, (x1, y1, x2, y2) in objects:
        image[y1:y2, x1:x2] = COLOURS[class_id]
    return image


def found_once_each(found: yolo.Boxes, objects: list[tuple[int, tuple[int, int, int, int]]]) -> None:
    expected = yolo.Boxes(
        np.array([box for _, box in objects], np.float32),
        np.ones(len(objects), np.float32),
        np.array([class_id for class_id, _ in objects]),
    )
    assert len(found) == len(objects), found.xyxy.round().tolist()
    assert yolo.reproduced(expected, found, min_iou=0.95) == len(objects), found.xyxy.round().tolist()


@pytest.mark.parametrize("height, width", [(1080, 810), (720, 1280), (640, 640), (1000, 2500), (2500, 1000), (1, 1)])
def test_an_ordinary_image_goes_to_the_model_once_as_it_is(height: int, width: int) -> None:
    image = np.zeros((height, width, 3), np.uint8)
    seen: list[np.ndarray] = []

    def model(window: np.ndarray, confidence: float | None = None) -> yolo.Boxes:
        seen.append(window)
        return RectangleFinder()(window)

    tiles.predict(model, image, 0.4)

    assert len(seen) == 1 and seen[0] is image
    assert tiles.tiles(height, width) == [tiles.Tile(0, 0, width, height)]


@pytest.mark.parametrize("height, width", [(1500, 12000), (12000, 1500), (200, 4000), (300, 751)])
def test_a_panorama_is_covered_by_overlapping_tiles_of_its_short_side(height: int, width: int) -> None:
    windows = tiles.tiles(height, width)
    along = [(t.x, t.x + t.width) if width > height else (t.y, t.y + t.height) for t in windows]
    side = min(height, width)

    assert len(windows) > 1
    assert all((t.height, t.width) == ((height, side) if width > height else (side, width)) for t in windows)
    assert along[0][0] == 0 and along[-1][1] == max(height, width)
    for (start, end), (next_start, _) in itertools.pairwise(along):
        assert start < next_start and end - next_start >= tiles.OVERLAP * (end - start) - 1


def test_a_very_long_strip_is_seen_in_at_most_max_tiles_that_still_overlap() -> None:
    windows = tiles.tiles(100, 100 * 100)

    assert len(windows) == tiles.MAX_TILES
    assert windows[-1].x + windows[-1].width == 10_000
    assert all(b.x < a.x + a.width - tiles.OVERLAP * a.width + 1 for a, b in itertools.pairwise(windows))


# A 2400x300 strip (a fifth of the integration test's panorama): 11 tiles of 300.
WIDE = (300, 2400)
ELEVEN_BUSES = [(5, (x + 20, 60, x + 200, 220)) for x in range(0, 11 * 218, 218)]
WIDER_THAN_THE_OVERLAP = [(5, (200, 40, 480, 180)), (5, (1000, 20, 1600, 280))]
SIDE_BY_SIDE_IN_ONE_TILE = [(0, (280, 100, 296, 180)), (0, (298, 100, 310, 180)), (5, (260, 190, 340, 260))]
AT_THE_ENDS = [(0, (0, 0, 60, 300)), (0, (2340, 0, 2400, 300))]


@pytest.mark.parametrize(
    "objects",
    [ELEVEN_BUSES, WIDER_THAN_THE_OVERLAP, SIDE_BY_SIDE_IN_ONE_TILE, AT_THE_ENDS],
    ids=["eleven buses", "wider than the overlap", "side by side", "at the ends"],
)
@pytest.mark.parametrize("tall", [False, True], ids=["wide", "tall"])
def test_each_object_of_a_panorama_is_found_once_in_the_originals_pixels(
    objects: list[tuple[int, tuple[int, int, int, int]]], tall: bool
) -> None:
    if tall:
        objects = [(class_id, (y1, x1, y2, x2)) for class_id, (x1, y1, x2, y2) in objects]
    height, width = WIDE[::-1] if tall else WIDE
    model = RectangleFinder()

    found = tiles.predict(model, scene(height, width, objects), 0.25)

    assert len(model.windows) == len(tiles.tiles(height, width)) > 1
    found_once_each(found, objects)


def test_two_overlapping_objects_of_a_class_from_one_tile_both_stay() -> None:
    # A crowd: the model kept both (IoU under its own NMS threshold); merging
    # tiles must not take one away because a neighbouring tile saw one of them.
    windows = tiles.tiles(1500, 12_000)
    a = np.array([1060, 100, 1460, 1400], np.float32)
    b = np.array([1200, 100, 1600, 1400], np.float32)
    found = [
        tiles.Found(a, 0.9, 0, 1),
        tiles.Found(b, 0.8, 0, 1),
        tiles.Found(a + np.float32(1), 0.7, 0, 0, cut=False),
    ]

    merged = tiles.merge(found, windows, 1500, 12_000)

    assert len(merged) == 2


def test_a_sliver_cut_by_one_tile_goes_where_the_next_tile_saw_the_whole_object() -> None:
    # Measured on the 11-bus panorama: tile 8 ends at 9900 and sees a bus's first
    # 40 px (and some street before it) as a sliver; tile 9 sees the whole bus.
    # The sliver covers under half of itself with the bus, so only the whole
    # view's evidence (tile 9 saw those pixels away from its edges) removes it.
    windows = tiles.tiles(1500, 12_000)
    whole = np.array([9856, 320, 10912, 1045], np.float32)
    sliver = np.array([9813, 438, 9899, 1115], np.float32)
    assert windows[8].x + windows[8].width == 9900 and windows[9].x < 9813
    assert tiles.cut_by_inner_edges(sliver[None], windows[8], 1500, 12_000)[0]

    merged = tiles.merge(
        [tiles.Found(whole, 0.88, 5, 9), tiles.Found(sliver, 0.29, 5, 8, cut=True)], windows, 1500, 12_000
    )

    assert merged.xyxy.tolist() == [whole.tolist()]
