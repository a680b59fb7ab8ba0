"""What the worker honours of a chat's preferences (DetectionOptions): the
model among those offered (inference.detector.Detectors), the confidence
threshold and the labels' language (inference.drawing)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest

from inference import drawing, yolo
from inference.detector import DetectionOutput, Detector, Detectors
from polybot import i18n
from polybot.errors import ModelNotOffered
from polybot.settings import Settings

SETTINGS = Settings(model="yolov8n.pt", extra_models="yolov5n.onnx, yolo11s.pt")


class NamedDetector:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[float | None, str]] = []

    def detect(
        self, image_bgr: Any, confidence: float | None = None, language: str = "en", only: Any = ()
    ) -> DetectionOutput:
        self.calls.append((confidence, language))
        return DetectionOutput([], b"", 1)


def test_the_production_model_is_there_and_the_others_load_once_on_first_use() -> None:
    loaded: list[str] = []

    def load(model: str) -> NamedDetector:
        loaded.append(model)
        return NamedDetector(model)

    production = NamedDetector("yolov8n")
    detectors = Detectors(SETTINGS, production, load)

    assert detectors.get("yolov8n.pt") is production and loaded == []
    assert detectors.get("yolov5n.onnx") is detectors.get("yolov5n.onnx")
    assert loaded == ["yolov5n.onnx"]


def test_a_model_not_offered_is_refused_by_name() -> None:
    detectors = Detectors(SETTINGS, NamedDetector("yolov8n"), lambda model: pytest.fail("nothing to load"))

    with pytest.raises(
        ModelNotOffered, match=re.escape("'yolov9e.pt' is not one of yolov8n.pt, yolov5n.onnx, yolo11s.pt")
    ):
        detectors.get("yolov9e.pt")
    assert ModelNotOffered("x").name == "ModelNotOffered"


@pytest.mark.parametrize(
    ("language", "tag"), [("en", "person 91%"), ("es", "persona 91\u00a0%"), ("ru", "человек 91\u00a0%")]
)
def test_the_tag_names_the_class_in_the_chats_language(language: str, tag: str) -> None:
    detection = {"label": "person", "class_id": 0, "confidence": 0.9123, "box": [0, 0, 10, 10]}

    assert drawing.tag_text(detection, language) == tag


def test_cyrillic_tags_are_drawn_with_the_truetype_font() -> None:
    image = np.full((240, 320, 3), 90, dtype=np.uint8)
    detection = {"label": "tie", "class_id": 27, "confidence": 0.5, "box": [40, 60, 200, 200]}
    font = drawing.LabelFont(i18n.label_font_path())

    annotated = drawing.annotate(image, [detection], "ru", font)
    mask = font.mask("галстук 0.50", 16)

    assert annotated.shape == image.shape and not np.array_equal(annotated, image)
    assert mask.max() == 255 and mask.shape[1] > mask.shape[0] * 3, "a line of glyphs, not boxes"
    assert font._sized(16) is font._sized(16), "each size is loaded once"


def test_the_configured_font_comes_first(tmp_path: Path) -> None:
    shipped = tmp_path / "DejaVuSans.ttf"
    shipped.write_bytes(i18n.label_font_path().read_bytes())

    assert i18n.label_font_path(str(shipped)) == shipped
    assert i18n.label_font_path(str(tmp_path / "missing.ttf")) == i18n.label_font_path()
    assert Settings.from_env({"POLYBOT_LABEL_FONT": str(shipped)}).label_font == str(shipped)


class TwoThings:
    """A backend that finds a person on the left and a bus on the right."""

    names: ClassVar[dict[int, str]] = {0: "person", 5: "bus"}
    PERSON = (20, 20, 100, 200)
    BUS = (160, 30, 300, 200)

    def predict(self, image_bgr: Any, confidence: float | None = None) -> yolo.Boxes:
        return yolo.Boxes(np.array([self.PERSON, self.BUS], dtype=np.float32), np.array([0.9, 0.8]), np.array([0, 5]))


def outline_change(original: np.ndarray, annotated: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """How much the box's outline differs between the two images (mean absolute, 0-255)."""
    x1, y1, x2, y2 = box
    edges = [annotated[y, x1:x2] for y in (y1, y2)] + [annotated[y1:y2, x] for x in (x1, x2)]
    plain = [original[y, x1:x2] for y in (y1, y2)] + [original[y1:y2, x] for x in (x1, x2)]
    return float(np.mean([np.abs(a.astype(int) - p.astype(int)).mean() for a, p in zip(edges, plain, strict=True)]))


@pytest.mark.parametrize(("only", "drawn"), [((), {"person", "bus"}), (["bus"], {"bus"}), (["person"], {"person"})])
def test_a_find_draws_its_class_alone_and_returns_every_detection(only: Any, drawn: set[str]) -> None:
    detector = object.__new__(Detector)
    detector.backend = TwoThings()  # type: ignore[assignment]
    detector.font = drawing.label_font()
    image = np.full((240, 320, 3), 120, dtype=np.uint8)

    output = detector.detect(image, 0.25, "en", only)

    annotated = cv2.imdecode(np.frombuffer(output.annotated_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert sorted(d["label"] for d in output.detections) == ["bus", "person"]
    boxes = {"person": TwoThings.PERSON, "bus": TwoThings.BUS}
    changed = {label for label, box in boxes.items() if outline_change(image, annotated, box) > 20}
    assert changed == drawn
