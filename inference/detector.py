"""The object detector: an Ultralytics YOLO model, loaded once per process.

Called by the worker for each image; pure apart from loading the weights.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from polybot import logs
from polybot.settings import Settings

log = logging.getLogger(__name__)

JPEG_QUALITY = 90


class ModelUnavailable(RuntimeError):
    """The configured weights are neither a file here nor downloadable."""


@dataclass(frozen=True)
class DetectionOutput:
    detections: list[dict[str, Any]]
    annotated_jpeg: bytes
    inference_ms: int


def offline_safe_environment() -> None:
    """Ultralytics settings that keep it from reaching the internet at import and
    at run time (probes, usage events, pip installs of missing backends). Must run
    before the first `import ultralytics`. Explicit environment values win."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_VERBOSE", "0")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(tempfile.gettempdir()) / "polybot-ultralytics"))


def weights_path(spec: str, model_dir: str = "") -> Path:
    """Where the weights named `spec` are: `spec` itself if it is a file, else the
    file of that name in `model_dir`, else `spec` (for Ultralytics to fetch)."""
    path = Path(spec).expanduser()
    if not path.is_file() and model_dir and (Path(model_dir) / path.name).is_file():
        return Path(model_dir) / path.name
    return path


def load_model(spec: str, model_dir: str = "") -> Any:
    """Load weights from a file (in `model_dir` or as given), else let Ultralytics
    fetch the model of the same name; fail with a message that says how to
    provide the weights."""
    offline_safe_environment()
    from ultralytics import YOLO

    logs.adopt("ultralytics")

    path = weights_path(spec, model_dir)
    if path.is_file():
        return YOLO(str(path), task="detect")
    name = path.name
    log.warning("weights file %s not found; asking Ultralytics for %s", spec, name)
    try:
        return YOLO(name, task="detect")
    except Exception as exc:
        raise ModelUnavailable(
            f"Cannot load the YOLO model {spec!r}: no such file here or in POLYBOT_MODEL_DIR={model_dir!r}, "
            f"and Ultralytics could not download {name!r} ({type(exc).__name__}: {exc}). Run `make models`, "
            "or set POLYBOT_MODEL to the path of a weights file."
        ) from exc


class Detector:
    def __init__(self, model_spec: str, confidence: float = 0.25, image_size: int = 640, model_dir: str = "") -> None:
        import torch

        # Ultralytics leaves one core idle; a worker instance exists to run this model.
        torch.set_num_threads(os.cpu_count() or 1)
        self._model = load_model(model_spec, model_dir)
        self.name = Path(model_spec).stem
        self.confidence = confidence
        self.image_size = image_size
        # The first prediction builds the network's buffers (seconds on a CPU):
        # pay it at start-up, not on a user's photo.
        self.detect(np.zeros((image_size, image_size, 3), dtype=np.uint8))

    @classmethod
    def from_settings(cls, settings: Settings) -> Detector:
        return cls(settings.model, settings.confidence, settings.image_size, settings.model_dir)

    def detect(self, image_bgr: np.ndarray) -> DetectionOutput:
        started = time.perf_counter()
        result = self._model.predict(
            image_bgr, conf=self.confidence, imgsz=self.image_size, verbose=False, save=False, max_det=300
        )[0]
        inference_ms = int((time.perf_counter() - started) * 1000)
        names = result.names
        detections: list[dict[str, Any]] = [
            {
                "label": str(names[int(cls)]),
                "class_id": int(cls),
                "confidence": round(float(conf), 4),
                "box": [round(float(v), 1) for v in box],
            }
            for box, conf, cls in zip(
                result.boxes.xyxy.tolist(), result.boxes.conf.tolist(), result.boxes.cls.tolist(), strict=True
            )
        ]
        detections.sort(key=lambda d: d["confidence"], reverse=True)
        ok, jpeg = cv2.imencode(".jpg", result.plot(), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError("could not encode the annotated image")
        return DetectionOutput(detections=detections, annotated_jpeg=jpeg.tobytes(), inference_ms=inference_ms)
