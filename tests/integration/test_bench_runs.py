"""`make bench` still runs end to end and writes every figure issue 8 asks for.

A small run (one round over the image set, a few photos per phase) of the
same command, `python -m benchmarks`, into a temporary file. It checks that
the figures are there and plausible, never how fast they are: speed targets
live in the bench itself (docs/performance.md), not in timed tests. Without
this, a change elsewhere (the per-chat quota once) could break the bench
unnoticed until someone ran it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from local.polybot_stack import REPO_ROOT

pytestmark = [pytest.mark.aws, pytest.mark.model]

FIGURES = (
    "bare_model_ms_p50",
    "backend",
    "backend_bare_ms_p50",
    "worker_service_ms_p50",
    "worker_service_ms_p95",
    "worker_to_bare_ratio",
    "backend_agreement",
    "worker_images_per_s",
    "worker_time_breakdown_ms",
    "e2e_ms_p50",
    "e2e_ms_p95",
    "e2e_state_ms_p50",
    "worker_cold_start_s",
    "worker_peak_rss_mb",
    "bot_peak_rss_mb",
    "transitions_per_photo",
    "lambda_init_ms",
    "machine",
    "worker_images_per_s_networked",
    "model_images_per_s",
    "networked_to_model",
    "worker_cpu_ms_per_image_outside_model",
    "panorama_tiles",
)


def test_the_bench_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    small = [
        "--rounds",
        "1",
        "--photos-paced",
        "4",
        "--burst",
        "3",
        "--queued",
        "6",
        "--networked",
        "6",
        "--out",
        str(out),
    ]
    small += ["--coldstart", "process", "--coldstart-rounds", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", *small],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    results = json.loads(out.read_text(encoding="utf-8"))

    assert [f for f in FIGURES if f not in results] == []
    assert results["backend"] == "openvino-int8"
    assert min(results["backend_bare_ms_p50"], results["bare_model_ms_p50"]) > 0
    assert 0.9 <= results["backend_agreement"] <= 1
    assert results["worker_images_per_s"]["sequential"] > 0 and results["worker_images_per_s"]["overlapped"] > 0
    assert {"download", "inference", "upload", "report"} <= set(results["worker_time_breakdown_ms"])
    assert {"StageImage", "DetectObjects", "SendReply"} <= set(results["e2e_state_ms_p50"])
    assert min(results["worker_cold_start_s"], results["worker_peak_rss_mb"], results["bot_peak_rss_mb"]) > 0
    # Counted from a recorded history: each state a photo's execution enters (benchmarks.transitions).
    assert results["transitions_per_photo"] >= 4
    assert results["transitions_per_album_photo"] > 0 and results["transitions_per_429_wait"] > 0
    assert min(results["worker_images_per_s_networked"], results["model_images_per_s"]) > 0
    # Every call the latencies name that the worker makes was held back by the network.
    held_back = results["networked"]["by_prefetch"][str(results["networked"]["prefetch"])]["calls_held_back"]
    assert {"sqs:ReceiveMessage", "s3:GetObject", "s3:PutObject", "states:SendTaskSuccess"} <= set(held_back)
    assert "worker service p50 / bare PyTorch" in done.stdout  # the table is printed
    panorama = results["panorama_tiles"]
    assert panorama["tiles"] > 1 and min(panorama["tiled_ms"], panorama["untiled_ms"], panorama["photo_ms"]) > 0
    assert panorama["tiled"]["buses"] >= panorama["untiled"]["buses_sure"]
    init = results["lambda_init_ms"]
    assert {"StageImage", "SendReply", "NotifyFailure", "GatherAlbum", "ForgetChat"} <= set(init)
    assert all(figures["process"] > 0 for figures in init.values())
