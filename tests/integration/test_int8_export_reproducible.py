"""The int8 export is reproducible (issue 20): quantizing the production
weights' FP32 IR again, from the same calibration photos, gives the same IR
byte for byte as the export the worker runs, and its record says so.

One quantization (about a minute on a quiet machine; the FP32 export and the
worker's int8 export are made once, shared with the other model tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import export
from inference.weights import default_export_dir, fetched_weights
from local.models import DEVELOPER_MODELS
from polybot.settings import Settings

pytestmark = pytest.mark.model


def test_a_second_int8_export_is_the_same_ir_byte_for_byte(tmp_path: Path) -> None:
    settings = Settings()
    weights = fetched_weights(settings.model, str(DEVELOPER_MODELS))
    shipped, _ = export.ensure_export(weights, "openvino-int8", default_export_dir(), settings.image_size)
    record = export.check_record(shipped)
    fp32 = export.model_file(weights, "openvino", default_export_dir())

    again = export._quantized(fp32, tmp_path / "again", settings.image_size) / shipped.name

    assert record is not None
    assert export.ir_sha256(again) == export.ir_sha256(shipped) == record.ir_sha256
    assert export.read_record(again) == record
