"""What an export records and checks (inference/export.py): the digest of an
OpenVINO IR, the record beside it, and a quantization that stays quiet. The
export of the real model twice, byte for byte, is
tests/integration/test_int8_export_reproducible.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference import export
from inference.weights import ModelUnavailable
from local.polybot_stack import REPO_ROOT


def an_ir(folder: Path, weights: bytes = b"\x01\x02\x03\x04") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "model.xml"
    model.write_text('<net name="m"><layers/></net>', encoding="utf-8")
    model.with_suffix(".bin").write_bytes(weights)
    (folder / "metadata.yaml").write_text("date: '2026-12-05T03:47:18'\n", encoding="utf-8")
    return model


@pytest.mark.parametrize("part", [".xml", ".bin"])
def test_the_digest_covers_every_byte_of_graph_and_weights(tmp_path: Path, part: str) -> None:
    model = an_ir(tmp_path)
    before = export.ir_sha256(model)
    changed = model.with_suffix(part)
    content = bytearray(changed.read_bytes())
    content[-1] ^= 1
    changed.write_bytes(bytes(content))

    assert export.ir_sha256(model) != before


def test_the_digest_leaves_out_the_export_date(tmp_path: Path) -> None:
    model = an_ir(tmp_path)
    before = export.ir_sha256(model)
    (tmp_path / "metadata.yaml").write_text("date: '2026-12-06T00:00:00'\n", encoding="utf-8")

    assert export.ir_sha256(model) == before


def test_the_digest_tells_bytes_moved_between_graph_and_weights(tmp_path: Path) -> None:
    one = an_ir(tmp_path / "one", b"ab")
    other = an_ir(tmp_path / "other", b"b")
    other.write_text(one.read_text(encoding="utf-8") + "a", encoding="utf-8")

    assert export.ir_sha256(one) != export.ir_sha256(other)


def test_a_recorded_export_is_checked_against_its_record(tmp_path: Path) -> None:
    model = an_ir(tmp_path)
    written = export.write_record(model, "openvino-int8", "c" * 64, 96)

    assert export.check_record(model) == written
    assert json.loads((tmp_path / export.RECORD).read_text(encoding="utf-8"))["ir_sha256"] == written.ir_sha256

    model.with_suffix(".bin").write_bytes(b"\x01\x02\x03\x05")
    with pytest.raises(ModelUnavailable, match="not the one recorded"):
        export.check_record(model)


def test_calibration_inputs_are_digested_in_order() -> None:
    blobs = [np.zeros((1, 3, 32, 32), np.float32), np.ones((1, 3, 32, 32), np.float32)]

    assert export.calibration_sha256(blobs) == export.calibration_sha256([b.copy() for b in blobs])
    assert export.calibration_sha256(blobs) != export.calibration_sha256(blobs[::-1])


def save_a_small_graph(folder: Path) -> Path:
    """A graph made afresh (as NNCF makes the quantized one) and saved as the export saves it."""
    import openvino as ov
    import openvino.opset13 as ops

    image = ops.parameter([1, 3, 16, 16], np.float32, name="image")
    weights = ops.constant(np.ones((8, 3, 3, 3), np.float32))
    scores = ops.relu(ops.convolution(image, weights, [1, 1], [1, 1], [1, 1], [1, 1]))
    scores.output(0).set_names({"scores"})  # as the exported graph's inputs and outputs are named
    model = ov.Model([scores], [image], "small")
    export._name_by_position(model)
    ov.save_model(model, str(folder / "model.xml"))
    return folder / "model.xml"


def test_the_same_graph_saved_twice_in_one_process_is_the_same_ir(tmp_path: Path) -> None:
    """OpenVINO numbers unnamed nodes from a counter global to the process."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()

    assert export.ir_sha256(save_a_small_graph(tmp_path / "one")) == export.ir_sha256(
        save_a_small_graph(tmp_path / "two")
    )


QUANTIZE_A_SMALL_MODEL = """
import json, logging
import numpy as np, openvino as ov, openvino.opset13 as ops
from inference import export
image = ops.parameter([1, 3, 16, 16], np.float32, name="image")
weights = ops.constant(np.random.default_rng(0).standard_normal((8, 3, 3, 3)).astype(np.float32))
model = ov.Model([ops.relu(ops.convolution(image, weights, [1, 1], [1, 1], [1, 1], [1, 1]))], [image])
export.quantize(model, [np.random.default_rng(i).random((1, 3, 16, 16), dtype=np.float32) for i in range(3)], [])
print(json.dumps({name: logging.getLogger(name).getEffectiveLevel() for name in export.QUIETED_LIBRARIES}))
"""


def test_a_quantization_prints_nothing_and_leaves_the_libraries_at_warning() -> None:
    """In a fresh process, as on a first `make run`: NNCF sets its own logger to
    INFO when imported, and prints progress bars, unless told otherwise."""
    done = subprocess.run(
        [sys.executable, "-c", QUANTIZE_A_SMALL_MODEL],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    *printed, levels = done.stdout.splitlines()
    assert printed == []
    assert done.stderr.splitlines() == []
    assert json.loads(levels) == {name: 30 for name in export.QUIETED_LIBRARIES}
