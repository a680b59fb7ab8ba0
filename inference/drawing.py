"""The annotated photo the user gets back: a coloured box and a "label 0.90" tag
per detection, drawn with OpenCV in the style of Ultralytics' `plot()` (its
palette, line width from the image size), without torch.

Called by `inference.detector` for every image.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

# Ultralytics' class palette (20 colours, by class id modulo 20), as RGB hex.
PALETTE_HEX = [
    *("042AFF", "0BDBEB", "F3F3F3", "00DFB7", "111F68", "FF6FDD", "FF444F", "CCED00", "00F344", "BD00FF"),
    *("00B4FF", "DD00BA", "00FFFF", "26C000", "01FFB3", "7D24FF", "7B0068", "FF1B6C", "FC6D2F", "A2FF0B"),
]
PALETTE_BGR = [(int(h[4:6], 16), int(h[2:4], 16), int(h[0:2], 16)) for h in PALETTE_HEX]
FONT = cv2.FONT_HERSHEY_SIMPLEX


def annotate(image_bgr: np.ndarray, detections: list[dict[str, Any]]) -> np.ndarray:
    """A copy of the image with each detection's box and label drawn on it."""
    canvas = image_bgr.copy()
    height, width = canvas.shape[:2]
    line = max(round((height + width) / 2 * 0.003), 2)
    scale, text_thickness = line / 3, max(line - 1, 1)
    for detection in detections:
        colour = PALETTE_BGR[detection["class_id"] % len(PALETTE_BGR)]
        x1, y1, x2, y2 = (round(v) for v in detection["box"])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, line, cv2.LINE_AA)
        label = f"{detection['label']} {detection['confidence']:.2f}"
        (text_w, text_h), _ = cv2.getTextSize(label, FONT, scale, text_thickness)
        above = y1 - text_h - 3 >= 0
        top = y1 - text_h - 3 if above else y1
        x1 = max(0, min(x1, width - text_w))  # the tag stays inside the picture
        cv2.rectangle(canvas, (x1, top), (x1 + text_w, top + text_h + 3), colour, -1, cv2.LINE_AA)
        # Dark text on light colours, white on the rest, as Ultralytics does.
        luminance = 0.299 * colour[2] + 0.587 * colour[1] + 0.114 * colour[0]
        text_colour = (0, 0, 0) if luminance > 160 else (255, 255, 255)
        cv2.putText(canvas, label, (x1, top + text_h + 1), FONT, scale, text_colour, text_thickness, cv2.LINE_AA)
    return canvas
