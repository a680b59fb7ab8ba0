"""The model on each backend, bare: time per image and agreement with the
PyTorch weights, on the fixed image set (`inference.calibration`'s packaged
photos and their variants).

Each backend runs in a process of its own (`python -m benchmarks.models
BACKEND`), as in a worker: two runtimes in one process fight over the cores
(their idle threads spin). Rounds alternate the backends, so that a noisy
neighbour on the machine slows them alike. Each backend's agreement is the
share of the PyTorch model's detections it reproduces (same class, IoU >=
0.5), and the share of its own detections PyTorch has (the other direction:
extra boxes). Called by `benchmarks.__main__`.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inference import calibration, yolo
from inference.backends import BACKENDS
from inference.detector import load_backend
from inference.export import exported_model
from inference.weights import default_export_dir, fetched_weights
from polybot.settings import Settings


@dataclass
class BackendFigures:
    name: str
    threads: int
    load_s: float
    export_s: float | None
    rounds_ms: list[list[float]] = field(default_factory=list)
    reproduced: int = 0
    reference: int = 0
    confirmed: int = 0
    found: int = 0
    held_out_reproduced: int = 0
    held_out_reference: int = 0

    def p(self, fraction: float) -> float:
        """Over every round's images."""
        return percentile([t for r in self.rounds_ms for t in r], fraction)

    @property
    def quietest_p50(self) -> float:
        """The median of the backend's quietest round: other jobs share this
        machine, and a round they disturb says more about them than about the backend."""
        return min(statistics.median(r) for r in self.rounds_ms)

    @property
    def agreement(self) -> float:
        return self.reproduced / self.reference if self.reference else 1.0

    @property
    def precision(self) -> float:
        return self.confirmed / self.found if self.found else 1.0

    @property
    def held_out_agreement(self) -> float:
        return self.held_out_reproduced / self.held_out_reference if self.held_out_reference else 1.0


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def image_set() -> list[calibration.Photo]:
    """Every packaged photo and its variants, fixed order."""
    return [p for photo in calibration.packaged_photos() for p in (photo, *calibration.variants(photo))]


def image_set_as_jpeg() -> list[bytes]:
    """The image set the model alone is timed on, as the photos users send: so that
    the worker's service time and the bare model's time are over the same images."""
    return [cv2.imencode(".jpg", photo.image_bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes() for photo in image_set()]


def compare_backends(settings: Settings, repeats: int, backends: tuple[str, ...] = BACKENDS) -> list[BackendFigures]:
    """Each backend's figures; the first is PyTorch, the reference."""
    names = ("pytorch", *[b for b in backends if b != "pytorch"])
    weights = fetched_weights(settings.model, settings.model_dir)
    export_dir = Path(settings.export_dir) if settings.export_dir else default_export_dir()
    exported = {b: exported_model(weights, b, export_dir, settings.image_size)[1] for b in names if b != "pytorch"}
    figures: dict[str, BackendFigures] = {}
    boxes: dict[str, list[yolo.Boxes]] = {}
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else reversed(names):
            measured = _measure_in_process(settings, name)
            if name not in figures:
                figures[name] = BackendFigures(name, measured["threads"], measured["load_s"], exported.get(name))
                boxes[name] = [yolo.Boxes(*(np.array(a) for a in image)) for image in measured["boxes"]]
            figures[name].rounds_ms.append(measured["times_ms"])
    photos = image_set()
    for index, photo in enumerate(photos):
        _count_agreement(photo, [boxes[n][index] for n in names], [figures[n] for n in names])
    return [figures[n] for n in names]


def _measure_in_process(settings: Settings, backend: str) -> dict[str, Any]:
    from benchmarks.pipeline import module_answer

    return module_answer("benchmarks.models", backend, settings, timeout_s=600)


def measure(backend_name: str) -> dict[str, Any]:
    """One pass over the image set after a warm-up pass: times and boxes (this process)."""
    settings = Settings.from_env()
    started = time.perf_counter()
    backend, _ = load_backend(
        settings.model,
        backend_name,
        confidence=settings.confidence,
        image_size=settings.image_size,
        model_dir=settings.model_dir,
        export_dir=settings.export_dir,
        threads=settings.threads,
    )
    load_s = time.perf_counter() - started
    photos = image_set()
    for photo in photos:  # every input shape compiled and warm
        backend.predict(photo.image_bgr)
    times, found = [], []
    for photo in photos:
        started = time.perf_counter()
        result = backend.predict(photo.image_bgr)
        times.append((time.perf_counter() - started) * 1000)
        found.append([result.xyxy.tolist(), result.confidence.tolist(), result.class_id.tolist()])
    return {"threads": backend.threads, "load_s": load_s, "times_ms": times, "boxes": found}


def _count_agreement(photo: calibration.Photo, results: list[yolo.Boxes], figures: list[BackendFigures]) -> None:
    reference = results[0]
    held_out = photo.name.split(":")[0] in calibration.HELD_OUT
    for boxes, backend in zip(results, figures, strict=True):
        backend.reference += len(reference)
        backend.reproduced += yolo.reproduced(reference, boxes)
        backend.found += len(boxes)
        backend.confirmed += yolo.reproduced(boxes, reference)
        if held_out:
            backend.held_out_reference += len(reference)
            backend.held_out_reproduced += yolo.reproduced(reference, boxes)


def summary(figures: list[BackendFigures]) -> list[dict[str, Any]]:
    reference = figures[0].quietest_p50
    return [
        {
            "backend": f.name,
            "threads": f.threads,
            "ms_p50": round(f.quietest_p50, 1),
            "ms_p50_all_rounds": round(f.p(0.5), 1),
            "ms_p95_all_rounds": round(f.p(0.95), 1),
            "rounds": len(f.rounds_ms),
            "to_pytorch": round(f.quietest_p50 / reference, 2),
            "agreement": round(f.agreement, 3),
            "agreement_held_out": round(f.held_out_agreement, 3),
            "precision_vs_pytorch": round(f.precision, 3),
            "pytorch_detections": f.reference,
            "load_s": round(f.load_s, 1),
            "export_s": None if f.export_s is None else round(f.export_s, 1),
        }
        for f in figures
    ]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


if __name__ == "__main__":
    from polybot import logs

    logs.configure("bench", "WARNING")
    print(json.dumps(measure(sys.argv[1])))
