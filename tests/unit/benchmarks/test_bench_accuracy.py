"""The agreement `make bench` reports (benchmarks/accuracy.py): tallied by
class family with the same one-box-for-one-box matching as the overall figure."""

from __future__ import annotations

import numpy as np

from benchmarks import accuracy
from inference import yolo

NAMES = {0: "person", 2: "car", 15: "cat", 41: "cup"}


def boxes(*rows: tuple[float, float, float, float, float, int]) -> yolo.Boxes:
    table = np.array(rows, np.float32).reshape(-1, 6)
    return yolo.Boxes(table[:, :4], table[:, 4], table[:, 5].astype(int))


def test_every_coco_class_has_one_family() -> None:
    assert accuracy.family("person") == "people"
    assert accuracy.family("motorcycle") == "vehicles"
    assert accuracy.family("giraffe") == "animals"
    assert accuracy.family("toothbrush") == "everyday objects"
    assert set(map(accuracy.family, ["car", "cat", "cup", "person"])) == set(accuracy.FAMILIES)


def test_families_are_tallied_with_one_backend_box_per_pytorch_box() -> None:
    tally = accuracy.Agreement()
    reference = boxes((10, 10, 50, 50, 0.9, 0), (11, 10, 51, 50, 0.3, 0), (100, 100, 150, 150, 0.8, 2))
    found = boxes((10, 10, 50, 50, 0.8, 0), (100, 100, 150, 150, 0.7, 15))

    tally.add("bus.jpg:left", reference, found, NAMES)
    figures = tally.summary()

    assert figures["by_family"]["people"] == {"agreement": 0.5, "pytorch_detections": 2}
    assert figures["by_family"]["vehicles"] == {"agreement": 0.0, "pytorch_detections": 1}
    assert figures["agreement"] == round(1 / 3, 3)
    assert figures["precision_vs_pytorch"] == 0.5
    assert figures["same_answer"] == 0.0
    assert figures["pytorch_detections_held_out"] == 0
