"""The backends the worker can run the model on (inference/backends.py), with
the production weights: each uses every core, the FP32 exports find exactly
what the PyTorch weights find (our letterbox and NMS are Ultralytics'), and
the worker's backend agrees with them on the packaged photos and their variants."""

from __future__ import annotations

from functools import cache

import pytest

from inference import calibration, yolo
from inference.backends import BACKENDS, Backend, cores
from inference.detector import load_backend
from local.models import DEVELOPER_MODELS
from polybot import imaging
from polybot.settings import Settings
from tests.auxil.images import ultralytics_asset

pytestmark = pytest.mark.model


@cache
def backend(name: str) -> Backend:
    settings = Settings()
    loaded, _ = load_backend(settings.model, name, model_dir=str(DEVELOPER_MODELS))
    return loaded


@cache
def photos() -> list[calibration.Photo]:
    return [p for photo in calibration.packaged_photos() for p in (photo, *calibration.variants(photo))]


@pytest.mark.parametrize("name", BACKENDS)
def test_the_model_runs_on_every_core(name: str) -> None:
    running = backend(name)
    running.predict(imaging.decode_image(ultralytics_asset("bus.jpg")))

    assert running.threads == cores() >= 1


@pytest.mark.parametrize("name", ["onnxruntime", "openvino"])
def test_fp32_exports_find_what_the_pytorch_weights_find(name: str) -> None:
    for photo in photos():
        reference = backend("pytorch").predict(photo.image_bgr)
        found = backend(name).predict(photo.image_bgr)

        assert yolo.reproduced(reference, found) == len(reference) == len(found), photo.name


def test_the_worker_backend_agrees_with_the_pytorch_weights() -> None:
    reproduced = confirmed = reference_count = found_count = 0
    for photo in photos():
        reference = backend("pytorch").predict(photo.image_bgr)
        found = backend(Settings().backend).predict(photo.image_bgr)
        reproduced += yolo.reproduced(reference, found)
        confirmed += yolo.reproduced(found, reference)
        reference_count += len(reference)
        found_count += len(found)

    assert reference_count > 100, "too few detections to judge"
    assert reproduced / reference_count >= 0.95
    assert confirmed / found_count >= 0.95
