"""The detection graph's letterbox and box decoding (inference/yolo.py), against
Ultralytics' own LetterBox and by their geometry."""

from __future__ import annotations

import numpy as np
import pytest
from ultralytics.data.augment import LetterBox

from inference import yolo


@pytest.mark.parametrize("height, width", [(1080, 810), (720, 1280), (512, 512), (300, 451), (1, 3000), (640, 480)])
def test_the_letterbox_is_ultralytics_own(height: int, width: int) -> None:
    image = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    theirs = LetterBox(new_shape=640, auto=True, stride=32)(image=image)

    shape = yolo.input_shape(height, width, 640)
    blob, _ = yolo.letterbox(image, shape)

    assert shape == theirs.shape[:2]
    assert blob.shape == (1, 3, *shape)
    np.testing.assert_allclose(blob[0].transpose(1, 2, 0)[:, :, ::-1] * 255, theirs, atol=0.51)


def head_output(boxes_xywh: list[list[float]], scores: list[dict[int, float]], classes: int = 80) -> np.ndarray:
    """A detection head's output (1, 4 + classes, anchors) holding the given anchors."""
    output = np.zeros((1, 4 + classes, len(boxes_xywh)), np.float32)
    for anchor, (box, score) in enumerate(zip(boxes_xywh, scores, strict=True)):
        output[0, :4, anchor] = box
        for class_id, value in score.items():
            output[0, 4 + class_id, anchor] = value
    return output


def test_decoding_maps_boxes_back_to_the_original_pixels() -> None:
    image = np.zeros((1080, 810, 3), np.uint8)
    _, fitted = yolo.letterbox(image, yolo.input_shape(1080, 810, 640))  # 640x480, no padding
    output = head_output([[240, 320, 100, 200]], [{0: 0.9}])

    boxes = yolo.decode(output, fitted, (1080, 810), confidence=0.25)

    np.testing.assert_allclose(boxes.xyxy, [[(190) * 810 / 480, 220 * 1080 / 640, 290 * 810 / 480, 420 * 1080 / 640]])
    assert boxes.class_id.tolist() == [0]


def test_overlapping_boxes_of_one_class_are_suppressed_not_those_of_another() -> None:
    _, fitted = yolo.letterbox(np.zeros((640, 640, 3), np.uint8), (640, 640))
    output = head_output(
        [[100, 100, 50, 50], [102, 101, 50, 50], [101, 100, 50, 50], [400, 400, 30, 30]],
        [{0: 0.9}, {0: 0.8}, {27: 0.7}, {0: 0.2}],
    )

    boxes = yolo.decode(output, fitted, (640, 640), confidence=0.25)

    assert boxes.class_id.tolist() == [0, 27]  # the weaker person is suppressed; the tie stays; 0.2 is below
    np.testing.assert_allclose(boxes.confidence, [0.9, 0.7])


def test_nothing_above_the_threshold_gives_no_boxes() -> None:
    _, fitted = yolo.letterbox(np.zeros((64, 64, 3), np.uint8), (640, 640))

    boxes = yolo.decode(head_output([[10, 10, 5, 5]], [{3: 0.1}]), fitted, (64, 64), confidence=0.25)

    assert len(boxes) == 0 and boxes.xyxy.shape == (0, 4)


def test_reproduced_counts_same_class_overlapping_boxes_once() -> None:
    reference = yolo.Boxes(
        np.array([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32),
        np.array([0.9, 0.8, 0.7], np.float32),
        np.array([0, 0, 5]),
    )
    candidate = yolo.Boxes(
        np.array([[1, 1, 10, 10], [50, 50, 60, 60]], np.float32), np.array([0.9, 0.6], np.float32), np.array([0, 2])
    )

    assert yolo.reproduced(reference, candidate) == 1  # one person box for two; the bus is not a car
    assert yolo.reproduced(candidate, reference) == 1


def test_one_candidate_box_reproduces_one_reference_box_only() -> None:
    twins = yolo.Boxes(
        np.array([[10, 10, 50, 50], [11, 10, 51, 50]], np.float32), np.array([0.3, 0.9], np.float32), np.array([0, 0])
    )
    one = yolo.Boxes(np.array([[10, 10, 50, 50]], np.float32), np.array([0.8], np.float32), np.array([0]))

    assert yolo.matched(twins, one) == [False, True]
    assert yolo.reproduced(twins, one) == 1
