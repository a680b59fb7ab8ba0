"""A panorama through the worker's detector with the production model and
backend (issue 19, rough edge 11): a 12000x1500 strip of 11 tiles, each
holding bus.jpg's bus, is seen in overlapping tiles (inference/tiles.py) and
the 11 buses are found, each once, where it is; the model run once on the
whole strip (what the worker did before) finds far fewer, none of them sure."""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from inference import tiles
from inference.detector import Detector
from local.models import DEVELOPER_MODELS
from polybot import imaging, summary
from polybot.settings import Settings
from tests.auxil.images import bus_strip

pytestmark = pytest.mark.model

BUSES = 11
WIDTH, HEIGHT = 12_000, 1_500


@cache
def detector() -> Detector:
    settings = Settings()
    return Detector(settings.model, backend=settings.backend, model_dir=str(DEVELOPER_MODELS))


def test_a_strip_of_eleven_buses_is_seen_in_tiles_and_each_bus_found_once() -> None:
    strip = imaging.decode_image(bus_strip(BUSES, (WIDTH, HEIGHT)))
    threshold = Settings().confidence

    untiled = detector().backend.predict(strip, threshold)
    output = detector().detect(strip, threshold)

    names = detector().backend.names
    untiled_buses = [c for k, c in zip(untiled.class_id, untiled.confidence, strict=True) if names[int(k)] == "bus"]
    buses = [d for d in output.detections if d["label"] == "bus"]
    assert len(tiles.tiles(HEIGHT, WIDTH)) > 1
    assert len(buses) == BUSES, [d["box"] for d in buses]
    assert all(d["confidence"] >= summary.CONFIDENT for d in buses), [d["confidence"] for d in buses]
    # Each bus in its own tile of the strip, in the original's pixels.
    cell = WIDTH / BUSES
    assert Counter(int((d["box"][0] + d["box"][2]) / 2 // cell) for d in buses) == Counter(range(BUSES))
    assert all(d["box"][2] - d["box"][0] > cell * 0.7 for d in buses)
    assert summary.caption(output.detections).startswith(f"I see {BUSES} buses")
    # The whole strip at the model's 640 px (80 px tall): far fewer buses it is sure of.
    assert len([c for c in untiled_buses if c >= summary.CONFIDENT]) <= BUSES // 4, untiled_buses


def test_an_ordinary_photo_is_seen_whole_as_before() -> None:
    from tests.auxil.images import ultralytics_asset

    photo = imaging.decode_image(ultralytics_asset("bus.jpg"))

    output = detector().detect(photo, 0.25)
    whole = detector().backend.predict(photo, 0.25)

    assert len(tiles.tiles(*photo.shape[:2])) == 1
    assert sorted(round(d["confidence"], 3) for d in output.detections) == sorted(
        round(float(c), 3) for c in whole.confidence
    )
