"""Why the production model (polybot.settings: YOLOv8n) and not the seed's
YOLOv5n: on the same photos, through the worker's own Detector, it finds every
object YOLOv5n finds and more, each more confidently.

Both are COCO-trained nano models of the same size class (../shared/models:
yolov8n.pt, and the original YOLOv5n v6.1 checkpoint as ONNX).
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

import pytest

from inference.detector import Detector
from local.models import DEVELOPER_MODELS
from polybot import imaging
from polybot.settings import Settings
from tests.auxil.images import ultralytics_asset

pytestmark = pytest.mark.model

SEED_MODEL = "yolov5n.onnx"
# What a person sees in the two photos that ship with Ultralytics.
PHOTOS = {"bus.jpg": {"person": 4, "bus": 1}, "zidane.jpg": {"person": 2, "tie": 1}}


# Each on what it runs on in production: YOLOv8n on the worker's backend, the seed's
# ONNX graph as it is, on ONNX Runtime.
BACKENDS = {SEED_MODEL: "onnxruntime"}


@cache
def detector(model: str) -> Detector:
    if not (DEVELOPER_MODELS / model).is_file():
        pytest.skip(f"{DEVELOPER_MODELS / model} is not on this machine, so the models cannot be compared")
    return Detector(model, model_dir=str(DEVELOPER_MODELS), backend=BACKENDS.get(model, Settings().backend))


def found(model: str, photo: str) -> list[dict[str, Any]]:
    return detector(model).detect(imaging.decode_image(ultralytics_asset(photo))).detections


def recalled(detections: list[dict[str, Any]], expected: dict[str, int]) -> tuple[int, float]:
    """How many of the expected objects were found, and their summed confidence (most confident first)."""
    count, confidence = 0, 0.0
    for label, wanted in expected.items():
        scores = sorted((d["confidence"] for d in detections if d["label"] == label), reverse=True)[:wanted]
        count += len(scores)
        confidence += sum(scores)
    return count, confidence


@pytest.mark.parametrize("photo", sorted(PHOTOS))
def test_the_production_model_finds_more_and_more_surely_than_yolov5n(photo: str) -> None:
    production = found(Settings().model, photo)
    seed = found(SEED_MODEL, photo)

    production_count, production_confidence = recalled(production, PHOTOS[photo])
    seed_count, seed_confidence = recalled(seed, PHOTOS[photo])

    assert production_count >= seed_count
    assert production_confidence > seed_confidence
    assert Counter(d["label"] for d in production) >= Counter(d["label"] for d in seed)
