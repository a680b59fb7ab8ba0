"""`python -m inference.export [BACKEND ...] --export-dir DIR`: the production
weights (polybot.settings) exported, through Ultralytics, for each backend that
runs an export (`onnxruntime`, `openvino`, `openvino-int8`).

Exports have dynamic input size (each image runs at its own letterboxed
shape, as Ultralytics' PyTorch predictor does). The int8 model is the FP32
OpenVINO export quantized by NNCF (post-training, MIXED preset, full bias
correction), calibrated on `inference.calibration`'s offline images
letterboxed exactly as the worker does; the detection head's decoding and
last convolutions (HEAD_KEPT_FLOAT) and the few layers in KEEP_FLOAT stay in
floating point. Each export sits under a folder named after the weights'
SHA-256 and this recipe's version, so other weights or a changed recipe never
reuse a stale export; each OpenVINO export records beside it (`RECORD`) the
SHA-256 of its IR and of its calibration inputs, checked when it is loaded.
The same weights, calibration images and library versions give the same IR
byte for byte (`quantize`).

Run at image build time (inference/Dockerfile's export stage), and by
`inference.detector` on first start where no export is found (developer
machines, the local stack; `exported_model`), which needs the `export` extra
(torch, Ultralytics, NNCF). Nothing is downloaded: the weights are a local
file. `benchmarks.models` times every backend's export.
"""

from __future__ import annotations

import argparse
import ast
import fcntl
import hashlib
import json
import logging
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from inference import calibration
from inference.weights import ModelUnavailable, offline_safe_environment, weights_path
from polybot import logs

log = logging.getLogger(__name__)

RECIPE = 4
"""Bump when the export arguments below change: cached exports are then remade."""
# backend -> (Ultralytics format, extra export arguments, file or folder it writes, model file inside)
FORMATS: dict[str, tuple[str, dict[str, object], str, str]] = {
    "onnxruntime": ("onnx", {"simplify": True}, "{stem}.onnx", ""),
    "openvino": ("openvino", {}, "{stem}_openvino_model", "{stem}.xml"),
    "openvino-int8": ("", {}, "{stem}_int8_openvino_model", "{stem}.xml"),
}
KEEP_FLOAT = (
    "__module.model.0.conv/",
    "__module.model.1.",
    "__module.model.2.",
    "__module.model.6.m.0.cv2.conv/",
    "__module.model.9.cv1.conv/",
)
"""YOLOv8 layers left unquantized (by their names in the traced graph; other
architectures simply match none): the ones NNCF's accuracy-controlled
quantization (`quantize_with_accuracy_control`, metric: agreement with the
FP32 model on the calibration photos) reverted first, and the stem's two
high-resolution blocks (1, 2) around them. On `make bench`'s image set this
took agreement with the PyTorch weights from 0.92 (Ultralytics' own int8
recipe) to 0.97, extra detections from 4 % to under 1 %, for a few
milliseconds per image (docs/performance.md)."""
HEAD_KEPT_FLOAT = (
    *(f"{branch}.{scale}.2/" for branch in ("cv2", "cv3") for scale in range(3)),
    *(f"cv3.{scale}.1." for scale in range(3)),
)
"""The detection head's convolutions left in floating point (besides its
decoding): on each of its three scales, the last 1x1 convolution of both
branches (cv2: box distances, cv3: class logits), whose outputs are the
scores themselves, and the class branch's 3x3 convolution before it. About
an eighth of the model's multiply-adds. Quantized, they made every score a
little lower (mean -0.013 against PyTorch on `make bench`'s accuracy set),
so detections near the threshold were lost: agreement 0.961 with the
whole head quantized, 0.969 keeping the last convolutions, 0.972 (and no
bias: 25 missed, 25 extra of 880) with these too (issue 20,
docs/performance.md "Accuracy")."""


def sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def export_folder(weights: Path, export_dir: Path) -> Path:
    """Where the exports of these weights (by content) live."""
    return export_dir / f"{weights.stem}-{sha256(weights)[:16]}-r{RECIPE}"


def model_file(weights: Path, backend: str, export_dir: Path) -> Path:
    """The file the runtime loads for `backend` (it may not exist yet)."""
    _, _, written, inside = FORMATS[backend]
    target = export_folder(weights, export_dir) / written.format(stem=weights.stem)
    return target / inside.format(stem=weights.stem) if inside else target


def class_names(model: Path) -> dict[int, str]:
    """The class names an Ultralytics export carries (ONNX metadata, or the
    metadata.yaml beside an OpenVINO IR)."""
    if model.suffix == ".onnx":
        # OpenVINO reads the graph's metadata too, and is in the worker image
        # (ONNX Runtime is not).
        import openvino as ov

        framework = ov.Core().read_model(str(model)).get_rt_info(["framework", "names"])
        names = ast.literal_eval(str(framework.value))
    else:
        names = yaml.safe_load((model.parent / "metadata.yaml").read_text(encoding="utf-8"))["names"]
    return {int(k): str(v) for k, v in names.items()}


def exported_model(weights: Path, backend: str, export_dir: Path, image_size: int) -> tuple[Path, float | None]:
    """The backend's export of the weights: found, or made now (needs the `export`
    extra); and the seconds the export took (None: it was there)."""
    found = model_file(weights, backend, export_dir)
    if found.exists():
        check_record(found)
        return found, None
    try:
        offline_safe_environment()
        import nncf  # noqa: F401 - only to fail early, with the message below
        import ultralytics  # noqa: F401
    except ImportError as exc:
        raise ModelUnavailable(
            f"No {backend} export of {weights.name} in POLYBOT_EXPORT_DIR={export_dir}, and this environment "
            f"cannot make one ({exc}): the worker image exports at build time; elsewhere install the "
            "`export` extra (pip install '.[export]') or set POLYBOT_BACKEND=pytorch."
        ) from exc
    return ensure_export(weights, backend, export_dir, image_size)


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """One exporting process at a time per folder (the local stack's worker and a
    `python -m inference` beside it may start together)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_export(weights: Path, backend: str, export_dir: Path, image_size: int = 640) -> tuple[Path, float | None]:
    """The model file for `backend`, exported now if it is not there yet; and the
    seconds the export took (None: it was there)."""
    target = model_file(weights, backend, export_dir)
    if target.exists():
        return target, None
    folder = export_folder(weights, export_dir)
    with _exclusive(folder.with_suffix(".lock")):
        if target.exists():
            return target, None
        log.info("exporting %s for %s (once: a minute or two; reused from then on) ...", weights.name, backend)
        started = time.perf_counter()
        _export(weights, backend, folder, image_size)
        seconds = time.perf_counter() - started
    log.warning("exported %s for %s in %.1f s into %s (reused from now on)", weights.name, backend, seconds, folder)
    return target, seconds


def _export(weights: Path, backend: str, folder: Path, image_size: int) -> None:
    fmt, arguments, written, _ = FORMATS[backend]
    quiet_export_libraries()
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / written.format(stem=weights.stem)
    with tempfile.TemporaryDirectory(dir=folder) as work_dir:
        work = Path(work_dir)
        if backend == "openvino-int8":
            fp32 = model_file(weights, "openvino", folder.parent)
            if not fp32.exists():  # this process holds the folder's lock already
                _export(weights, "openvino", folder, image_size)
            produced = _quantized(fp32, work / final.name, image_size)
        else:
            # Ultralytics writes the export beside the weights: give it a copy to write beside.
            source = work / weights.name
            shutil.copyfile(weights, source)
            with warnings.catch_warnings():
                # torch.jit's deprecation notices and the like, while tracing: not ours to fix.
                warnings.simplefilter("ignore")
                from ultralytics import YOLO

                model = YOLO(str(source), task="detect")
                produced = Path(model.export(format=fmt, imgsz=image_size, dynamic=True, batch=1, **arguments))
            if backend == "openvino":
                write_record(produced / FORMATS[backend][3].format(stem=weights.stem), backend)
        if final.exists():
            shutil.rmtree(final) if final.is_dir() else final.unlink()
        produced.rename(final)


def _quantized(fp32_model: Path, folder: Path, image_size: int) -> Path:
    """The FP32 OpenVINO model quantized to int8 by NNCF into `folder`, with its record."""
    import openvino as ov

    from inference import yolo

    model = ov.Core().read_model(str(fp32_model))
    operations = model.get_ordered_ops()
    # As Ultralytics does: the head's box decoding (DFL, anchors) and the class sigmoids stay in floating point.
    head = [op.get_friendly_name() for op in operations if op.get_type_name() == "Sigmoid"][-1].split("/", 1)[0]
    keep = (f"{head}/", f"{head}.dfl", *(f"{head}.{branch}" for branch in HEAD_KEPT_FLOAT), *KEEP_FLOAT)
    ignored = [
        op.get_friendly_name()
        for op in operations
        if op.get_type_name() == "Sigmoid" or op.get_friendly_name().startswith(keep)
    ]
    blobs = []
    for photo in calibration.calibration_photos():
        height, width = photo.image_bgr.shape[:2]
        blobs.append(yolo.letterbox(photo.image_bgr, yolo.input_shape(height, width, image_size))[0])
    if not blobs:
        raise RuntimeError("no packaged photos found to calibrate on (is ultralytics installed?)")
    quantized = quantize(model, blobs, ignored)
    _name_by_position(quantized)
    folder.mkdir(parents=True)
    ov.save_model(quantized, str(folder / fp32_model.name))
    shutil.copyfile(fp32_model.parent / "metadata.yaml", folder / "metadata.yaml")
    write_record(folder / fp32_model.name, "openvino-int8", calibration_sha256(blobs), len(blobs))
    return folder


def quantize(model: Any, calibration_blobs: list[np.ndarray], ignored: list[str]) -> Any:
    """`model` (an OpenVINO model) quantized to int8 by NNCF with this recipe,
    calibrated on `calibration_blobs` (the model's inputs, in order), the
    operations named in `ignored` left in floating point.

    Deterministic: every calibration blob is used, in order (subset_size = all
    of them, so NNCF draws no random subset), statistics are min/max and means
    over all of them, computed by OpenVINO in FP32 whatever the CPU
    (NNCF's engine forces f32), and nothing here depends on the thread count:
    the same model and blobs give the same IR, byte for byte (`ir_sha256`;
    tests/integration/test_int8_export_reproducible.py). Quiet: NNCF's INFO
    lines and progress bars are off (`quiet_export_libraries`)."""
    import nncf

    quiet_export_libraries()
    with warnings.catch_warnings(), _progress_bars_off():
        warnings.simplefilter("ignore")
        return nncf.quantize(
            model,
            nncf.Dataset(calibration_blobs),
            preset=nncf.QuantizationPreset.MIXED,
            subset_size=len(calibration_blobs),
            fast_bias_correction=False,
            ignored_scope=nncf.IgnoredScope(names=ignored, validate=False),
        )


def _name_by_position(model: Any) -> None:
    """OpenVINO names each node nobody named after a counter global to the
    process ("Constant_627157"), so the same quantized graph saved by two
    processes with different histories (a worker that loaded a model first, a
    test session) differed in its .xml though not in its weights: such names
    become the node's position in the graph, the same in every process."""
    for position, operation in enumerate(model.get_ordered_ops()):
        kind = operation.get_type_name()
        if re.fullmatch(rf"{kind}_\d+", operation.get_friendly_name()):
            operation.set_friendly_name(f"{kind}_{position}")


def quiet_export_libraries() -> None:
    """The libraries an export runs through our logging at WARNING and above:
    NNCF adds its own stdout handler at INFO when first imported (about sixty
    lines per export, one per operation it leaves unquantized), so it is
    imported first, then adopted; torch warns on import that this machine has
    no CUDA, which no export needs. Runs as each export starts."""
    logging.getLogger(TORCH_IMPORT_NOTICES).setLevel(logging.ERROR)
    import nncf  # noqa: F401 - imported first: its import resets its logger
    import openvino  # noqa: F401

    for library in QUIETED_LIBRARIES:
        logs.adopt(library)


QUIETED_LIBRARIES = ("nncf", "openvino")
TORCH_IMPORT_NOTICES = "torch.utils.cpp_extension"


@contextmanager
def _progress_bars_off() -> Iterator[None]:
    """NNCF's progress bars (rich, on the process's shared console) silenced
    while it quantizes; `ensure_export` logs one line before and one after."""
    from rich import get_console

    console = get_console()
    before, console.quiet = console.quiet, True
    try:
        yield
    finally:
        console.quiet = before


def calibration_sha256(blobs: list[np.ndarray]) -> str:
    """A digest of the calibration inputs, in order (shape, type and values)."""
    digest = hashlib.sha256()
    for blob in blobs:
        digest.update(f"{blob.shape}{blob.dtype}".encode())
        digest.update(np.ascontiguousarray(blob).tobytes())
    return digest.hexdigest()


def ir_sha256(model: Path) -> str:
    """A digest of an OpenVINO IR, what the runtime loads: its .xml (graph,
    names, NNCF's recorded parameters) and .bin (weights, quantization scales).
    The metadata.yaml beside them is left out: Ultralytics writes the export's
    date into it."""
    digest = hashlib.sha256()
    for part in (model, model.with_suffix(".bin")):
        content = part.read_bytes()
        digest.update(f"{part.suffix}:{len(content)}:".encode())
        digest.update(content)
    return digest.hexdigest()


@dataclass(frozen=True)
class ExportRecord:
    """What an OpenVINO export was made from, and the digest of what it is;
    `RECORD` beside its model file."""

    backend: str
    recipe: int
    ir_sha256: str
    calibration_sha256: str
    calibration_images: int
    versions: dict[str, str | None]


RECORD = "export.json"


def write_record(model: Path, backend: str, calibration: str = "", calibration_images: int = 0) -> ExportRecord:
    record = ExportRecord(backend, RECIPE, ir_sha256(model), calibration, calibration_images, _versions())
    (model.parent / RECORD).write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    return record


def read_record(model: Path) -> ExportRecord | None:
    """The record beside an OpenVINO model file (None: there is none, e.g. an ONNX export)."""
    path = model.parent / RECORD
    if model.suffix != ".xml" or not path.is_file():
        return None
    return ExportRecord(**json.loads(path.read_text(encoding="utf-8")))


def check_record(model: Path) -> ExportRecord | None:
    """The export's record, after checking that its files are still the ones
    recorded (not changed, truncated or mixed with another export's)."""
    record = read_record(model)
    if record is not None and (found := ir_sha256(model)) != record.ir_sha256:
        raise ModelUnavailable(
            f"The export {model} is not the one recorded in {RECORD} beside it (IR sha256 {found[:16]}, "
            f"recorded {record.ir_sha256[:16]}): delete {model.parent} to have it exported again."
        )
    return record


def _versions() -> dict[str, str | None]:
    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {package: version(package) for package in ("nncf", "openvino", "ultralytics", "torch")}


def main(argv: list[str] | None = None) -> int:
    from polybot.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m inference.export", description=__doc__)
    parser.add_argument("backends", nargs="*", default=[b for b in FORMATS], choices=sorted(FORMATS))
    parser.add_argument("--export-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    offline_safe_environment()
    settings = Settings.from_env()
    weights = weights_path(settings.model, settings.model_dir)
    for backend in args.backends:
        path, seconds = ensure_export(weights, backend, args.export_dir, settings.image_size)
        print(f"{backend}: {path}" + (f" (exported in {seconds:.1f} s)" if seconds is not None else " (already there)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
