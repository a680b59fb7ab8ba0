"""What seeing a panorama in tiles costs, and what it finds (issue 19, rough
edge 11; inference/tiles.py).

The panorama is the test's: a 12000x1500 strip of 11 tiles, each holding
bus.jpg's bus (tests/auxil/images.py `bus_strip`, which needs no network: the
photo ships with Ultralytics). On the worker's backend, in a process of its
own (`python -m benchmarks.tiles BACKEND`), the quietest of a few rounds of:
the model run once on the whole strip (what the worker did before), the
tiled path (every tile through the model, then the merge), and the worker's
whole `detect` (tiles, drawing and JPEG encoding), beside one run on bus.jpg
(a photo's cost: the tiles should cost about one photo each); and the objects each finds
(all, and those at least `polybot.summary.CONFIDENT`: what the caption
states without "maybe"). Called by `benchmarks.__main__` (`make bench`).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import Any

from polybot.settings import Settings

STRIP = (12_000, 1_500)
BUSES = 11
ROUNDS = 3


def measure(settings: Settings, backend: str) -> dict[str, Any]:
    """The figures `make bench` writes, from a process of its own."""
    from benchmarks.pipeline import module_answer

    return module_answer("benchmarks.tiles", backend, settings, timeout_s=600)


def run_here(backend_name: str, rounds: int = ROUNDS) -> dict[str, Any]:
    from inference import tiles
    from inference.detector import Detector
    from polybot import imaging, summary

    # The integration test's own panorama (tests/integration/test_panorama_tiles.py), so
    # that the bench measures what the test checks.
    from tests.auxil.images import bus_strip, ultralytics_asset

    settings = Settings.from_env()
    detector = Detector(
        settings.model,
        settings.confidence,
        settings.image_size,
        settings.model_dir,
        backend_name,
        settings.export_dir,
        settings.threads,
        settings.label_font,
    )
    strip = imaging.decode_image(bus_strip(BUSES, STRIP))
    threshold = settings.confidence
    names = detector.backend.names

    def timed(work: Any) -> tuple[float, Any]:
        best, result = float("inf"), None
        for _ in range(rounds):
            started = time.perf_counter()
            result = work()
            best = min(best, (time.perf_counter() - started) * 1000)
        return round(best, 1), result

    photo = imaging.decode_image(ultralytics_asset("bus.jpg"))
    photo_ms, _ = timed(lambda: detector.backend.predict(photo, threshold))
    untiled_ms, untiled = timed(lambda: detector.backend.predict(strip, threshold))
    tiled_ms, tiled = timed(lambda: tiles.predict(detector.backend.predict, strip, threshold))
    detect_ms, output = timed(lambda: detector.detect(strip, threshold))

    def labelled(boxes: Any) -> list[tuple[str, float]]:
        return [(names[int(c)], float(s)) for c, s in zip(boxes.class_id, boxes.confidence, strict=True)]

    def counts(labels_and_scores: list[tuple[str, float]]) -> dict[str, Any]:
        return {
            "buses": sum(label == "bus" for label, _ in labels_and_scores),
            "buses_sure": sum(label == "bus" and score >= summary.CONFIDENT for label, score in labels_and_scores),
            "objects": dict(Counter(label for label, _ in labels_and_scores)),
        }

    return {
        "backend": detector.backend.name,
        "panorama": f"{STRIP[0]}x{STRIP[1]}, {BUSES} buses",
        "tiles": len(tiles.tiles(STRIP[1], STRIP[0])),
        "untiled_ms": untiled_ms,
        "tiled_ms": tiled_ms,
        "tiled_to_untiled": round(tiled_ms / untiled_ms, 1),
        "photo_ms": photo_ms,
        "tiled_to_photo": round(tiled_ms / photo_ms, 1),
        "detect_ms": detect_ms,
        "draw_ms": output.draw_ms,
        "encode_ms": output.encode_ms,
        "untiled": counts(labelled(untiled)),
        "tiled": counts(labelled(tiled)),
        "caption_untiled": summary.caption(
            [
                {"label": names[int(c)], "confidence": float(s), "box": [float(v) for v in b]}
                for b, s, c in zip(untiled.xyxy, untiled.confidence, untiled.class_id, strict=True)
            ]
        ),
        "caption_tiled": summary.caption(output.detections),
    }


def results(figures: dict[str, Any]) -> dict[str, Any]:
    """The keys `make bench` writes (bench/results/latest.json)."""
    return {"panorama_tiles": figures}


def table_line(figures: dict[str, Any]) -> str:
    f = figures
    return (
        f"{f['tiles']} tiles {f['tiled_ms']} ms ({f['tiled_to_photo']}x a photo's {f['photo_ms']} ms; "
        f"one run on the strip {f['untiled_ms']} ms); "
        f"buses sure/all: tiled {f['tiled']['buses_sure']}/{f['tiled']['buses']}, "
        f"untiled {f['untiled']['buses_sure']}/{f['untiled']['buses']}"
    )


if __name__ == "__main__":
    from polybot import logs

    logs.configure("bench", "WARNING")
    print(json.dumps(run_here(sys.argv[1])))
