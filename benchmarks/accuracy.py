"""How closely the worker's backend reproduces the PyTorch weights, on a set of
images built offline (`inference.calibration.accuracy_set`: every packaged
photo framed twelve ways, and crowded composites of them), by class family.

The definition (docs/performance.md, "Accuracy"): a PyTorch detection (at the
worker's confidence threshold) is **reproduced** when the backend has a
detection of the same class with IoU >= 0.5 at that same threshold, each
backend box used once. **Agreement** is reproduced / PyTorch's detections:
a box PyTorch finds at 0.26 and the backend at 0.24 is a miss, because the
user's reply (the drawn boxes, "3 people") would lose it. **Precision** is
the other direction (the backend's boxes PyTorch has). **Same answer** is
the share of images where both find the same number of objects of each
class: the caption the user reads.

Each backend runs in a process of its own (`python -m benchmarks.accuracy
BACKEND`), once: the figures are deterministic (same export, same pixels,
same result), which `detections_sha256` lets two runs show. Called by
`benchmarks.__main__`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inference import calibration, export, yolo
from inference.detector import load_backend
from inference.weights import default_export_dir, fetched_weights
from polybot.settings import Settings

VEHICLES = frozenset({"bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat"})
ANIMALS = frozenset(
    {"bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"}
)  # COCO's supercategories "vehicle" and "animal"
FAMILIES = ("people", "vehicles", "animals", "everyday objects")
"""Families of COCO classes the agreement is reported by: `person`; COCO's
"vehicle" and "animal" supercategories; every other class (its "outdoor",
"accessory", "sports", "kitchen", "food", "furniture", "electronic",
"appliance" and "indoor" ones), too few of each on this set to report apart."""


def family(class_name: str) -> str:
    if class_name == "person":
        return "people"
    if class_name in VEHICLES:
        return "vehicles"
    return "animals" if class_name in ANIMALS else "everyday objects"


@dataclass
class Tally:
    reference: int = 0
    reproduced: int = 0

    @property
    def agreement(self) -> float:
        return self.reproduced / self.reference if self.reference else 1.0


@dataclass
class Agreement:
    """One backend against PyTorch over the accuracy set."""

    images: int = 0
    overall: Tally = field(default_factory=Tally)
    held_out: Tally = field(default_factory=Tally)
    by_family: dict[str, Tally] = field(default_factory=lambda: {name: Tally() for name in FAMILIES})
    found: int = 0
    confirmed: int = 0
    same_answer: int = 0

    def add(self, photo_name: str, reference: yolo.Boxes, found: yolo.Boxes, names: dict[int, str]) -> None:
        self.images += 1
        hits = yolo.matched(reference, found)
        for class_id, hit in zip(reference.class_id.tolist(), hits, strict=True):
            for tally in (self.overall, self.by_family[family(names[class_id])]):
                tally.reference += 1
                tally.reproduced += int(hit)
        if not calibration.calibrated(photo_name):
            self.held_out.reference += len(reference)
            self.held_out.reproduced += int(sum(hits))
        self.found += len(found)
        self.confirmed += yolo.reproduced(found, reference)
        self.same_answer += Counter(reference.class_id.tolist()) == Counter(found.class_id.tolist())

    def summary(self) -> dict[str, Any]:
        return {
            "agreement": round(self.overall.agreement, 3),
            "agreement_held_out": round(self.held_out.agreement, 3),
            "precision_vs_pytorch": round(self.confirmed / self.found if self.found else 1.0, 3),
            "same_answer": round(self.same_answer / self.images if self.images else 1.0, 3),
            "by_family": {
                name: {"agreement": round(t.agreement, 3), "pytorch_detections": t.reference}
                for name, t in self.by_family.items()
            },
            "pytorch_detections": self.overall.reference,
            "pytorch_detections_held_out": self.held_out.reference,
        }


def compare(settings: Settings, backend: str) -> dict[str, Any]:
    """`backend` against PyTorch on the accuracy set: the figures `make bench` writes."""
    photos = calibration.accuracy_set()
    reference, names, _ = _detections_in_process(settings, "pytorch")
    found, _, facts = _detections_in_process(settings, backend)
    agreement = Agreement()
    for photo, expected, got in zip(photos, reference, found, strict=True):
        agreement.add(photo.name, expected, got, names)
    weights = fetched_weights(settings.model, settings.model_dir)
    export_dir = Path(settings.export_dir) if settings.export_dir else default_export_dir()
    record = export.read_record(export.model_file(weights, backend, export_dir)) if backend != "pytorch" else None
    return {
        **agreement.summary(),
        "images": len(photos),
        "held_out_images": sum(not calibration.calibrated(p.name) for p in photos),
        "export_ir_sha256": record.ir_sha256 if record else None,
        "calibration_sha256": record.calibration_sha256 if record else None,
        "calibration_images": record.calibration_images if record else None,
        "detections_sha256": facts["detections_sha256"],
        "float_precision": facts["float_precision"],
    }


def _detections_in_process(settings: Settings, backend: str) -> tuple[list[yolo.Boxes], dict[int, str], dict[str, Any]]:
    from benchmarks.pipeline import module_answer

    result = module_answer("benchmarks.accuracy", backend, settings, timeout_s=900)
    boxes = [
        yolo.Boxes(np.array(xyxy, np.float32).reshape(-1, 4), np.array(confidence, np.float32), np.array(classes, int))
        for xyxy, confidence, classes in result.pop("boxes")
    ]
    return boxes, {int(k): v for k, v in result.pop("names").items()}, result


def detect_all(backend_name: str) -> dict[str, Any]:
    """Every accuracy-set image through `backend_name` (this process)."""
    settings = Settings.from_env()
    backend, _ = load_backend(
        settings.model,
        backend_name,
        confidence=settings.confidence,
        image_size=settings.image_size,
        model_dir=settings.model_dir,
        export_dir=settings.export_dir,
        threads=settings.threads,
    )
    digest = hashlib.sha256()
    boxes = []
    for photo in calibration.accuracy_set():
        found = backend.predict(photo.image_bgr)
        for array in (found.xyxy, found.confidence, found.class_id):
            digest.update(np.ascontiguousarray(array).tobytes())
        boxes.append([found.xyxy.tolist(), found.confidence.tolist(), found.class_id.tolist()])
    return {
        "boxes": boxes,
        "names": backend.names,
        "detections_sha256": digest.hexdigest(),
        "float_precision": getattr(backend, "float_precision", None),
    }


if __name__ == "__main__":
    from polybot import logs

    logs.configure("bench", "WARNING")
    print(json.dumps(detect_all(sys.argv[1])))


def results(figures: dict[str, Any]) -> dict[str, Any]:
    """The keys `make bench` writes (bench/results/latest.json)."""
    return {
        "backend_agreement": figures["agreement"],
        "backend_agreement_held_out": figures["agreement_held_out"],
        "backend_precision_vs_pytorch": figures["precision_vs_pytorch"],
        "backend_agreement_by_family": figures["by_family"],
        "backend_export_sha256": figures["export_ir_sha256"],
        "accuracy": figures,
    }


def table_line(r: dict[str, Any]) -> str:
    families = ", ".join(
        f"{name} {f['agreement']} of {f['pytorch_detections']}" for name, f in r["backend_agreement_by_family"].items()
    )
    a = r["accuracy"]
    return (
        f"{r['backend_agreement']} of {a['pytorch_detections']} detections on {a['images']} images "
        f"(held out {r['backend_agreement_held_out']}; {families}; export {str(r['backend_export_sha256'])[:16]})"
    )
