"""Memory with a margin: the largest image of each kind Polybot accepts (100
megapixels, under the Bot API's 20 MB download limit) stays well inside the
memory of each function that handles it and of the worker.

Each figure is the peak resident set of a fresh Python process that imports the
function's (or the worker's) module and runs its image code path on the file:
StageImage's `inspect_image` (the check before anything is stored), the
worker's `decode_original` (the pixels the detector takes), SendReply's
`photo_rendition` (the photo Telegram shows, from the worker's full-size
annotated JPEG). The functions run inside the embedded AWS's process in the
local stack, where their memory cannot be told apart, hence the child process
(tests/auxil/largest_images.py).

Budgets:
- a function: at most 60 % of its MemorySize in template.yaml;
- the worker's decoding: at most 1 GiB, a quarter of a c7i.large's 4 GiB
  (terraform/variables.tf `yolo_instance_type`): the worker process (569 MB
  with the model, docs/performance.md) also holds the images it prefetched
  (two, 300 MB each at this size) while it decodes one.
A kind StageImage refuses as too large (ImageTooLarge, before it is stored)
never reaches the worker: its row says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template
from polybot import imaging
from polybot.settings import TELEGRAM_DOWNLOAD_LIMIT_BYTES
from tests.auxil import largest_images
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_SHARE = 0.6
WORKER_DECODE_BUDGET_MB = 1024
MB = 1024 * 1024
REFUSED = {"TIFF float grey", "WEBP RGBA", "JPEG RGB progressive"}
"""The kinds StageImage refuses at 100 megapixels, as checking them would hold
more than imaging.DECODE_WHOLE_BYTES (their decoders cannot work in pieces);
the largest of each it accepts has a row of its own."""


def memory_size(function: str) -> int:
    resources: dict[str, Any] = load_template(ROOT / "template.yaml")["Resources"]
    globals_: dict[str, Any] = load_template(ROOT / "template.yaml")["Globals"]["Function"]
    return int(resources[function]["Properties"].get("MemorySize", globals_["MemorySize"]))


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("largest-images")


@pytest.mark.parametrize("kind", list(largest_images.KINDS))
def test_the_largest_image_of_each_kind_stays_well_inside_memory(faults: FaultSession, images: Path, kind: str) -> None:
    path = images / kind.replace(" ", "-").replace(",", "")
    side = largest_images.side_of(kind)
    largest_images.make_in_child(kind, path)
    assert path.stat().st_size <= TELEGRAM_DOWNLOAD_LIMIT_BYTES, "not an image a bot may download"
    stage_budget = memory_size("StageImageFunction") * FUNCTION_SHARE

    stage = largest_images.peak_in_child("stage", path)

    assert stage["peak_mb"] <= stage_budget, stage
    if kind in REFUSED:
        assert stage["outcome"] == "ImageTooLarge", stage
        faults.record(
            f"largest {kind} ({side}×{side})",
            "StageImage refuses it as too large, before storing it",
            f"StageImage peak {stage['peak_mb']} MB of {stage_budget:.0f} MB allowed",
        )
        return
    assert stage["outcome"] == "accepted", stage

    worker = largest_images.peak_in_child("worker", path)

    assert worker["outcome"] == "accepted", worker
    assert worker["peak_mb"] <= WORKER_DECODE_BUDGET_MB, worker
    faults.record(
        f"{kind} ({side}×{side}, {path.stat().st_size / MB:.1f} MB)",
        "StageImage accepts it, the worker decodes it",
        f"peak StageImage {stage['peak_mb']} MB (of {stage_budget:.0f} allowed, 512 MB), "
        f"worker decode {worker['peak_mb']} MB (of {WORKER_DECODE_BUDGET_MB} allowed)",
    )
    path.unlink()


def test_sendreply_shows_the_largest_annotated_image_well_inside_its_memory(faults: FaultSession, images: Path) -> None:
    # The worker's annotated image is a JPEG at the original's size: 100
    # megapixels for the largest accepted one.
    path = images / "annotated.jpg"
    largest_images.make_in_child("JPEG RGB", path)
    budget = memory_size("SendReplyFunction") * FUNCTION_SHARE

    reply = largest_images.peak_in_child("reply", path)

    assert reply["outcome"] == "accepted", reply
    assert reply["peak_mb"] <= budget, reply
    faults.record(
        f"SendReply shows a {largest_images.SIDE}×{largest_images.SIDE} annotated JPEG",
        "a photo rendition",
        f"peak {reply['peak_mb']} MB (of {budget:.0f} allowed, {memory_size('SendReplyFunction')} MB)",
    )


def test_the_pixel_limit_is_the_one_measured() -> None:
    # The rows above are the largest accepted images only while this holds.
    assert largest_images.SIDE * largest_images.SIDE == imaging.MAX_PIXELS
