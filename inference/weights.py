"""Where a model's weights are, and how Ultralytics is kept offline while it
reads them: the weights file named by the settings (a path, or a file in
POLYBOT_MODEL_DIR, else fetched by Ultralytics), and where exports of it are
kept by default.

Used by `inference.detector` (loading a model), `inference.export` (making an
export of the weights) and `benchmarks.models`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """The configured weights (or their export for the backend) are not here and cannot be made."""


def offline_safe_environment() -> None:
    """Ultralytics settings that keep it from reaching the internet at import and
    at run time (probes, usage events, pip installs of missing backends). Must run
    before the first `import ultralytics`. Explicit environment values win."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_VERBOSE", "0")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(tempfile.gettempdir()) / "polybot-ultralytics"))


def default_export_dir() -> Path:
    """Where exports made on first start are kept when POLYBOT_EXPORT_DIR is not set."""
    return Path(tempfile.gettempdir()) / "polybot-exports"


def weights_path(spec: str, model_dir: str = "") -> Path:
    """Where the weights named `spec` are: `spec` itself if it is a file, else the
    file of that name in `model_dir`, else `spec` (for Ultralytics to fetch)."""
    path = Path(spec).expanduser()
    if not path.is_file() and model_dir and (Path(model_dir) / path.name).is_file():
        return Path(model_dir) / path.name
    return path


def fetched_weights(spec: str, model_dir: str) -> Path:
    """The weights file: local, else asked of Ultralytics by name; fails with a
    message that says how to provide it."""
    path = weights_path(spec, model_dir)
    if path.is_file():
        return path
    log.warning("weights file %s not found; asking Ultralytics for %s", spec, path.name)
    try:
        offline_safe_environment()
        from ultralytics import YOLO

        return Path(str(YOLO(path.name, task="detect").ckpt_path))
    except Exception as exc:
        raise ModelUnavailable(
            f"Cannot load the YOLO model {spec!r}: no such file here or in POLYBOT_MODEL_DIR={model_dir!r}, "
            f"and Ultralytics could not download {path.name!r} ({type(exc).__name__}: {exc}). Run `make models`, "
            "or set POLYBOT_MODEL to the path of a weights file."
        ) from exc
