"""The runtimes that can run the model, one class each, behind one method:
`predict(image_bgr) -> Boxes`.

- `pytorch`: the weights as trained, through Ultralytics' own predictor (the
  reference every other backend is measured against; needs torch).
- `onnxruntime`, `openvino`, `openvino-int8`: an export of the same weights
  (`inference.export`), run by that runtime with `inference.yolo`'s letterbox
  and NMS: no torch, no Ultralytics. `openvino` runs in FP32; `openvino-int8`
  is quantized by NNCF on offline calibration images.

Every backend uses every core: `threads` reports what its runtime actually
runs with (asked of the runtime, not of our setting), which the tests check.
Built by `inference.detector.Detector`; the benchmarks build them directly.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from inference import yolo

log = logging.getLogger(__name__)

BACKENDS = ("pytorch", "onnxruntime", "openvino", "openvino-int8")
TELEGRAM_SHAPES = ((480, 640), (640, 480), (384, 640), (640, 384), (640, 640))
"""Model inputs of the photos Telegram sends (longest side 1280: 4:3, 16:9 and
1:1, both ways), compiled in the background at start so no user waits for one."""
SHAPES_KEPT = 12
"""Compiled input shapes an OpenVINO backend keeps: Telegram photos come in a
handful of aspect ratios (4:3, 16:9, 1:1, both ways), each one shape."""


class Backend(Protocol):
    name: str
    names: dict[int, str]

    @property
    def threads(self) -> int: ...

    def predict(self, image_bgr: np.ndarray, confidence: float | None = None) -> yolo.Boxes:
        """Boxes of at least `confidence` (None: the backend's own threshold)."""
        ...


def cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's cpuset)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class PyTorchBackend:
    """`YOLO(weights).predict`, with torch on every core. Ultralytics sets torch to
    one thread fewer than the cores twice: on import (OMP_NUM_THREADS=1 unless
    set) and when its predictor picks the device on the first prediction; so the
    thread count is set after that first prediction, not before."""

    name = "pytorch"

    def __init__(self, weights: Path, confidence: float, image_size: int, threads: int) -> None:
        from ultralytics import YOLO

        self._model = YOLO(str(weights), task="detect")
        self.confidence, self.image_size = confidence, image_size
        self._wanted_threads = threads
        self.names = {int(k): str(v) for k, v in self._model.names.items()}
        self.predict(np.zeros((image_size, image_size, 3), dtype=np.uint8))

    @property
    def threads(self) -> int:
        import torch

        return int(torch.get_num_threads())

    def predict(self, image_bgr: np.ndarray, confidence: float | None = None) -> yolo.Boxes:
        import torch

        results: Any = self._model.predict(
            image_bgr, conf=confidence or self.confidence, imgsz=self.image_size, verbose=False, save=False, max_det=300
        )
        result = results[0]
        if torch.get_num_threads() != self._wanted_threads:
            torch.set_num_threads(self._wanted_threads)
        boxes: Any = result.boxes
        return yolo.Boxes(
            boxes.xyxy.numpy().astype(np.float32), boxes.conf.numpy().astype(np.float32), boxes.cls.numpy().astype(int)
        )


class GraphBackend:
    """An exported detection graph: letterbox, run, decode. Subclasses run it
    (and may take over the pixels' conversion into the graph's input)."""

    name = ""

    def __init__(self, confidence: float, image_size: int, names: dict[int, str], static_shape: tuple[int, int] | None):
        self.confidence, self.image_size, self.names = confidence, image_size, names
        self._static_shape = static_shape

    def predict(self, image_bgr: np.ndarray, confidence: float | None = None) -> yolo.Boxes:
        height, width = image_bgr.shape[:2]
        shape = self._static_shape or yolo.input_shape(height, width, self.image_size)
        graph_input, fitted = self.fit(image_bgr, shape)
        return yolo.decode(self.run(graph_input), fitted, (height, width), confidence or self.confidence)

    def fit(self, image_bgr: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, yolo.Letterbox]:
        """The graph's input for the image (by default the float blob `yolo.letterbox` makes)."""
        return yolo.letterbox(image_bgr, shape)

    def run(self, graph_input: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def warm_up(self) -> None:
        """Pay the first run's set-up (memory, kernels) at start-up, not on a user's photo."""
        self.predict(np.zeros((self.image_size, self.image_size, 3), dtype=np.uint8))


class OnnxRuntimeBackend(GraphBackend):
    name = "onnxruntime"

    def __init__(self, model: Path, confidence: float, image_size: int, names: dict[int, str], threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle pool threads would otherwise spin, taking the cores from the work
        # around the model (decoding, drawing, the next image's download).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0]
        self._threads = threads
        dims = self._input.shape[2:]
        static = (int(dims[0]), int(dims[1])) if all(isinstance(d, int) for d in dims) else None
        super().__init__(confidence, image_size, names, static)
        self.warm_up()

    @property
    def threads(self) -> int:
        # ONNX Runtime does not report its pool size back; it is the option the session was built with.
        return int(self._session.get_session_options().intra_op_num_threads)

    def run(self, blob: np.ndarray) -> np.ndarray:
        return np.asarray(self._session.run(None, {self._input.name: blob})[0])


class OpenVinoBackend(GraphBackend):
    """An OpenVINO IR with dynamic input size, compiled once per input shape
    (a static shape runs faster than a dynamic one on the CPU plugin).

    The graph takes the letterboxed image as it is (1xHxWx3 uint8 BGR): the
    conversion to the model's float RGB planes in [0, 1] is compiled into it
    (OpenVINO's PrePostProcessor), on every core, instead of done in NumPy
    on one (measured: 0.6 instead of 2.0 ms per image; the same outputs to
    within float rounding in FP32).

    Both ask for FP32 explicitly: on CPUs with bf16 (AVX512_BF16, AMX)
    OpenVINO would otherwise run FP32 graphs, and the layers the int8 model
    keeps in floating point, in bf16, and the int8 model's answers would
    depend on the CPU (agreement with PyTorch 0.953 on a Xeon with AMX, 0.984
    on an EPYC with AVX-512 BF16, 0.976 there with f32: issue 20,
    docs/performance.md "Accuracy"). `float_precision` reports what the
    runtime runs them in."""

    def __init__(
        self,
        model: Path,
        confidence: float,
        image_size: int,
        names: dict[int, str],
        threads: int,
        name: str = "openvino",
    ) -> None:
        import openvino as ov

        self.name = name
        self._core = ov.Core()
        self._model = _reading_uint8_bgr(self._core.read_model(str(model)))
        self._config: dict[str, Any] = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": "f32",
        }
        self._compiled: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self._lock = threading.Lock()
        partial = self._model.inputs[0].get_partial_shape()  # N, H, W, C
        static = None if partial.is_dynamic else (partial[1].get_length(), partial[2].get_length())
        super().__init__(confidence, image_size, names, static)
        self.warm_up()

    def _request_for(self, shape: tuple[int, int]) -> Any:
        with self._lock:
            if shape in self._compiled:
                self._compiled.move_to_end(shape)
                return self._compiled[shape]
            model = self._model.clone()
            if self._static_shape is None:
                model.reshape([1, *shape, 3])
            request = self._core.compile_model(model, "CPU", self._config).create_infer_request()
            self._compiled[shape] = request
            while len(self._compiled) > SHAPES_KEPT:
                self._compiled.popitem(last=False)
            log.debug("compiled %s for input %sx%s", self.name, *shape)
            return request

    def compile_in_background(self, shapes: tuple[tuple[int, int], ...] = TELEGRAM_SHAPES) -> threading.Thread:
        """Compile the given input shapes now, in a thread, while the worker serves."""

        def compile_all() -> None:
            for shape in shapes:
                self._request_for(shape)

        # Not a daemon: a process that ends meanwhile waits for it rather than
        # tearing OpenVINO down in the middle of a compile (which aborts).
        thread = threading.Thread(target=compile_all, name="compile-shapes")
        if self._static_shape is None:
            thread.start()
        return thread

    @property
    def threads(self) -> int:
        request = next(iter(self._compiled.values()))
        return int(request.get_compiled_model().get_property("INFERENCE_NUM_THREADS"))

    @property
    def float_precision(self) -> str:
        """What the runtime runs floating-point layers in (asked of the compiled model)."""
        request = next(iter(self._compiled.values()))
        return str(request.get_compiled_model().get_property("INFERENCE_PRECISION_HINT").to_string())

    def fit(self, image_bgr: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, yolo.Letterbox]:
        padded, fitted = yolo.fit(image_bgr, shape)
        return padded[np.newaxis], fitted

    def run(self, graph_input: np.ndarray) -> np.ndarray:
        request = self._request_for((graph_input.shape[1], graph_input.shape[2]))
        request.infer({0: graph_input})
        return np.asarray(request.get_output_tensor(0).data).copy()


def _reading_uint8_bgr(model: Any) -> Any:
    """`model` (input 1x3xHxW float RGB in [0, 1]) taking 1xHxWx3 uint8 BGR instead."""
    import openvino as ov
    from openvino.preprocess import ColorFormat, PrePostProcessor

    steps = PrePostProcessor(model)
    steps.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")).set_color_format(ColorFormat.BGR)
    steps.input().model().set_layout(ov.Layout("NCHW"))
    steps.input().preprocess().convert_element_type(ov.Type.f32).convert_color(ColorFormat.RGB).scale(255.0)
    return steps.build()
