"""The object detector: the model on the configured backend, loaded once per
process, then detect, draw and encode for each image, as the chat prefers
(confidence threshold, label language). `Detectors` holds every model the
deployment offers: the production model, loaded at start, and the others
(`Settings.offered_models`), each loaded on first use and kept.

Built by `inference.service` and called by the worker for each image; pure
apart from loading (the weights: `inference.weights`; and, where no export of
them is found, exporting them once: `inference.export`). `load_backend` is
also what `benchmarks.models` times.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from inference import drawing, export, tiles
from inference.backends import (
    BACKENDS,
    Backend,
    OnnxRuntimeBackend,
    OpenVinoBackend,
    PyTorchBackend,
    cores,
)
from inference.weights import default_export_dir, fetched_weights, offline_safe_environment, weights_path
from polybot import i18n, logs
from polybot.contracts.messages import Detection
from polybot.errors import ModelNotOffered
from polybot.settings import Settings

log = logging.getLogger(__name__)

JPEG_QUALITY = 90


@dataclass(frozen=True)
class DetectionOutput:
    detections: list[Detection]
    annotated_jpeg: bytes
    inference_ms: int
    draw_ms: int = 0
    encode_ms: int = 0


class ObjectDetector(Protocol):
    """What the worker asks of a model: its name, and detect+draw+encode (`Detector`)."""

    name: str

    def detect(
        self,
        image_bgr: np.ndarray,
        confidence: float | None = None,
        language: str = i18n.DEFAULT_LANGUAGE,
        only: Collection[str] = (),
    ) -> DetectionOutput: ...


def load_backend(
    spec: str,
    backend: str,
    *,
    confidence: float = 0.25,
    image_size: int = 640,
    model_dir: str = "",
    export_dir: str = "",
    threads: int = 0,
) -> tuple[Backend, float | None]:
    """The backend running the weights `spec`, with `threads` threads (0: every
    core), warmed up; and the seconds an export took on the way (None: none)."""
    if backend not in BACKENDS:
        raise ValueError(f"POLYBOT_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
    threads = threads or cores()
    weights = weights_path(spec, model_dir)
    if backend in ("onnxruntime", "openvino") and weights.suffix == ".onnx" and weights.is_file():
        # Already an ONNX graph (e.g. the seed model): nothing to export; OpenVINO reads it as it is.
        if backend == "openvino":
            return OpenVinoBackend(weights, confidence, image_size, export.class_names(weights), threads), None
        return OnnxRuntimeBackend(weights, confidence, image_size, export.class_names(weights), threads), None
    if backend == "pytorch":
        offline_safe_environment()
        logs.adopt("ultralytics")
        return PyTorchBackend(fetched_weights(spec, model_dir), confidence, image_size, threads), None
    model, export_s = export.exported_model(
        fetched_weights(spec, model_dir), backend, Path(export_dir) if export_dir else default_export_dir(), image_size
    )
    names = export.class_names(model)
    if backend == "onnxruntime":
        return OnnxRuntimeBackend(model, confidence, image_size, names, threads), export_s
    return OpenVinoBackend(model, confidence, image_size, names, threads, name=backend), export_s


class Detector:
    def __init__(
        self,
        model_spec: str,
        confidence: float = 0.25,
        image_size: int = 640,
        model_dir: str = "",
        backend: str = Settings.backend,
        export_dir: str = "",
        threads: int = 0,
        label_font: str = "",
    ) -> None:
        started = time.perf_counter()
        # The font is found and opened once per process, not per photo.
        self.font = drawing.label_font(label_font)
        self.backend, self.export_s = load_backend(
            model_spec,
            backend,
            confidence=confidence,
            image_size=image_size,
            model_dir=model_dir,
            export_dir=export_dir,
            threads=threads,
        )
        self.name = Path(model_spec).stem
        self.load_s = time.perf_counter() - started
        if isinstance(self.backend, OpenVinoBackend):
            self.backend.compile_in_background()
        log.info(
            "model %s on %s with %d threads, ready in %.1f s%s",
            self.name,
            self.backend.name,
            self.backend.threads,
            self.load_s,
            f" (export {self.export_s:.1f} s)" if self.export_s is not None else "",
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Detector:
        return cls(
            settings.model,
            settings.confidence,
            settings.image_size,
            settings.model_dir,
            settings.backend,
            settings.export_dir,
            settings.threads,
            settings.label_font,
        )

    @property
    def threads(self) -> int:
        """The threads the model actually runs with, as its runtime reports them."""
        return self.backend.threads

    def detect(
        self,
        image_bgr: np.ndarray,
        confidence: float | None = None,
        language: str = i18n.DEFAULT_LANGUAGE,
        only: Collection[str] = (),
    ) -> DetectionOutput:
        """The detections of at least `confidence` (None: the model's threshold), the
        image annotated with their labels in `language`, as JPEG; with `only`, the
        image shows the detections of those classes alone (a find question), and
        the detections returned are all of them still (later questions count them).
        A panorama is seen in tiles (`inference.tiles`); any other image in one run
        of the model."""
        started = time.perf_counter()
        boxes = tiles.predict(self.backend.predict, image_bgr, confidence)
        inference_ms = _ms_since(started)
        names = self.backend.names
        detections: list[Detection] = [
            {
                "label": names.get(int(cls), str(int(cls))),
                "class_id": int(cls),
                "confidence": round(float(conf), 4),
                "box": [round(float(v), 1) for v in box],
            }
            for box, conf, cls in zip(boxes.xyxy, boxes.confidence, boxes.class_id, strict=True)
        ]
        if confidence is not None:
            # Rounded scores can straddle the threshold; the chat's threshold is what counts.
            detections = [d for d in detections if d["confidence"] >= confidence]
        detections.sort(key=lambda d: d["confidence"], reverse=True)
        started = time.perf_counter()
        drawn = [d for d in detections if d["label"] in only] if only else detections
        annotated = drawing.annotate(image_bgr, drawn, language, self.font)
        draw_ms = _ms_since(started)
        started = time.perf_counter()
        ok, jpeg = cv2.imencode(".jpg", annotated, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError("could not encode the annotated image")
        return DetectionOutput(detections, jpeg.tobytes(), inference_ms, draw_ms, _ms_since(started))


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


class Detectors:
    """The models a chat may choose, by the name its preferences give
    (`Settings.offered_models`): the production model on the configured backend;
    any other loaded on first use and kept, an ONNX graph (`.onnx`) on OpenVINO
    as it is (the worker image has OpenVINO, not ONNX Runtime), other weights
    through Ultralytics (`pytorch`). A name not offered is refused with
    ModelNotOffered, which the user is told about."""

    def __init__(
        self,
        settings: Settings,
        production: ObjectDetector,
        load: Callable[[str], ObjectDetector] | None = None,
    ) -> None:
        self._settings = settings
        self._loaded: dict[str, ObjectDetector] = {settings.model: production}
        self._load = load or self._load_offered
        self._lock = threading.Lock()

    @property
    def production(self) -> ObjectDetector:
        return self._loaded[self._settings.model]

    def get(self, model: str) -> ObjectDetector:
        if model not in self._settings.offered_models:
            raise ModelNotOffered(f"model {model!r} is not one of {', '.join(self._settings.offered_models)}")
        with self._lock:
            if model not in self._loaded:
                log.info("loading model %s on first use", model)
                self._loaded[model] = self._load(model)
            return self._loaded[model]

    def _load_offered(self, model: str) -> Detector:
        settings = self._settings
        return Detector(
            model,
            settings.confidence,
            settings.image_size,
            settings.model_dir,
            "openvino" if model.endswith(".onnx") else "pytorch",
            settings.export_dir,
            settings.threads,
            settings.label_font,
        )
