"""A YOLOv8 detection graph's input and output, in NumPy and OpenCV only: the
letterbox that makes its input and the box decoding and non-maximum
suppression that read its output.

They reproduce Ultralytics' own `LetterBox` (minimal padding to the stride, as
its PyTorch predictor does), `non_max_suppression` (best class per box,
class-aware, IoU 0.7) and `scale_boxes`, so that an exported graph run by
`inference.backends` finds what `YOLO(weights).predict` finds, without torch.
Pure functions; called by the backends for every image.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114
"""Ultralytics pads with this grey; the model was trained on it."""
IOU_THRESHOLD = 0.7
"""Ultralytics' default NMS IoU at prediction time."""
MAX_CANDIDATES = 30_000
CLASS_OFFSET = 7680.0
"""Ultralytics separates the classes for one NMS pass by shifting boxes this far per class id."""


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the model's input: scale, then padding."""

    gain_x: float
    gain_y: float
    pad_x: int
    pad_y: int
    input_height: int
    input_width: int


@dataclass(frozen=True)
class Boxes:
    """Detections in the original image's pixels: xyxy (n, 4), confidence (n,), class id (n,)."""

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray

    def __len__(self) -> int:
        return len(self.confidence)


def input_shape(height: int, width: int, size: int, stride: int = 32) -> tuple[int, int]:
    """The model input (height, width) for an image: longest side `size`, the
    other rounded up to the stride (Ultralytics' `auto` letterbox)."""
    r = min(size / height, size / width)
    new_w, new_h = max(round(width * r), 1), max(round(height * r), 1)
    return new_h + (size - new_h) % stride, new_w + (size - new_w) % stride


def fit(image_bgr: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """The image resized into `shape` (height, width) keeping its aspect ratio,
    centred on grey padding: HxWx3 uint8 BGR, as the graph's pre-processing
    takes it where the runtime does that part (`letterbox` does it here)."""
    height, width = image_bgr.shape[:2]
    r = min(shape[0] / height, shape[1] / width)
    new_w, new_h = max(round(width * r), 1), max(round(height * r), 1)
    dw, dh = (shape[1] - new_w) / 2, (shape[0] - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    resized = image_bgr if (width, height) == (new_w, new_h) else cv2.resize(image_bgr, (new_w, new_h))
    padded = cv2.copyMakeBorder(resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return padded, Letterbox(new_w / width, new_h / height, left, top, shape[0], shape[1])


def letterbox(image_bgr: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """`fit`, then the graph's own input: a 1x3xHxW float32 RGB blob in [0, 1]."""
    padded, fitted = fit(image_bgr, shape)
    return cv2.dnn.blobFromImage(padded, scalefactor=1 / 255.0, swapRB=True), fitted


def decode(
    output: np.ndarray,
    fitted: Letterbox,
    original_shape: tuple[int, int],
    confidence: float,
    max_det: int = 300,
    iou: float = IOU_THRESHOLD,
) -> Boxes:
    """Boxes from a detection head's output (1, 4 + classes, anchors): best
    class per anchor above `confidence`, class-aware NMS, back to the original
    image's pixels and clipped to it, most confident first."""
    predictions = output[0].T  # anchors x (4 + classes)
    scores = predictions[:, 4:]
    class_id = scores.argmax(1)
    best = scores[np.arange(len(scores)), class_id]
    keep = best > confidence
    if not keep.any():
        return Boxes(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
    xywh, best, class_id = predictions[keep, :4], best[keep], class_id[keep]
    order = best.argsort()[::-1][:MAX_CANDIDATES]
    xywh, best, class_id = xywh[order], best[order], class_id[order]
    xyxy = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], axis=1)
    chosen = non_max_suppression(xyxy + (class_id * CLASS_OFFSET)[:, None], iou)[:max_det]
    xyxy, best, class_id = xyxy[chosen], best[chosen], class_id[chosen]
    xyxy = (xyxy - [fitted.pad_x, fitted.pad_y, fitted.pad_x, fitted.pad_y]) / [
        fitted.gain_x,
        fitted.gain_y,
        fitted.gain_x,
        fitted.gain_y,
    ]
    height, width = original_shape
    xyxy = xyxy.clip(0, [width, height, width, height])
    return Boxes(xyxy.astype(np.float32), best.astype(np.float32), class_id.astype(np.int64))


def non_max_suppression(xyxy: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS; `xyxy` sorted most confident first."""
    x1, y1, x2, y2 = xyxy.T
    areas = (x2 - x1) * (y2 - y1)
    remaining = np.arange(len(xyxy))
    kept: list[int] = []
    while remaining.size:
        first, rest = remaining[0], remaining[1:]
        kept.append(int(first))
        width = (np.minimum(x2[first], x2[rest]) - np.maximum(x1[first], x1[rest])).clip(0)
        height = (np.minimum(y2[first], y2[rest]) - np.maximum(y1[first], y1[rest])).clip(0)
        overlap = width * height
        remaining = rest[overlap / (areas[first] + areas[rest] - overlap + 1e-9) <= iou]
    return np.array(kept, dtype=np.int64)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of xyxy boxes: (len(a), len(b))."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), np.float32)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    overlap = (bottom_right - top_left).clip(0).prod(2)
    area_a = (a[:, 2:] - a[:, :2]).prod(1)
    area_b = (b[:, 2:] - b[:, :2]).prod(1)
    return overlap / (area_a[:, None] + area_b[None, :] - overlap + 1e-9)


def reproduced(reference: Boxes, candidate: Boxes, min_iou: float = 0.5) -> int:
    """How many reference boxes the candidate reproduces (`matched`)."""
    return sum(matched(reference, candidate, min_iou))


def matched(reference: Boxes, candidate: Boxes, min_iou: float = 0.5) -> list[bool]:
    """For each reference box, whether the candidate reproduces it: same class,
    IoU >= `min_iou`, each candidate box used once, most confident reference first."""
    overlap = box_iou(reference.xyxy, candidate.xyxy)
    used: set[int] = set()
    hits = [False] * len(reference)
    for i in np.argsort(-reference.confidence):
        for j in np.argsort(-overlap[i]):
            if overlap[i, j] < min_iou:
                break
            if int(j) not in used and reference.class_id[i] == candidate.class_id[j]:
                used.add(int(j))
                hits[int(i)] = True
                break
    return hits
