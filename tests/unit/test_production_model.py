"""The production model is named in one place, polybot/settings.py, and every
path takes it from there: the worker (settings), the image build (`make
models` stages that file; the Dockerfile loads it from POLYBOT_MODEL_DIR), the
local stack and Terraform (which leave it to the image)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local.models import stage_weights
from local.polybot_stack import StackOptions
from polybot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS_NAME = re.compile(r"yolo[\w.-]*\.(pt|onnx|tflite)\b", re.IGNORECASE)
# Everything that builds, deploys or runs Polybot.
SOURCES = [
    *ROOT.glob("*/Dockerfile"),
    ROOT / "Makefile",
    ROOT / "template.yaml",
    *ROOT.glob(".github/workflows/*.yml"),
    *ROOT.glob("terraform/**/*.tf"),
    *ROOT.glob("terraform/**/*.tftpl"),
    *[p for package in ("bot", "inference", "functions", "local", "polybot") for p in (ROOT / package).rglob("*.py")],
]


def test_the_model_is_named_in_the_settings() -> None:
    assert WEIGHTS_NAME.fullmatch(Settings().model)


@pytest.mark.parametrize("source", sorted(SOURCES), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_nothing_else_names_a_weights_file(source: Path) -> None:
    if source == ROOT / "polybot" / "settings.py":
        return
    assert not WEIGHTS_NAME.search(source.read_text(encoding="utf-8")), "name the model in polybot/settings.py only"


def test_the_local_stack_runs_the_production_model_unless_told_otherwise() -> None:
    assert StackOptions().model is None


def test_make_models_stages_the_production_model_only(tmp_path: Path) -> None:
    (tmp_path / "stale.pt").write_bytes(b"an older model")
    settings = Settings(model="yolov8n.pt")

    staged = stage_weights(tmp_path, settings)

    assert staged == tmp_path / "yolov8n.pt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["yolov8n.pt"]
