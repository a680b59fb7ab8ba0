"""`python -m benchmarks` (`make bench`): what the YOLO worker costs and how fast
a photo goes through Polybot, measured in one run on this machine. A script,
never a test: nothing is asserted; compare the figures (docs/performance.md).

1. The model alone on each backend (PyTorch through Ultralytics with every
   core, ONNX Runtime, OpenVINO FP32 and int8), interleaved image by image on
   the fixed image set: time per image and agreement with PyTorch; and a
   panorama seen in tiles (`benchmarks.tiles`).
2. The local stack with the worker and the bot as processes of their own: the
   worker's cold start, photos one after another (webhook -> reply, the
   worker's own per-image timings, each state's duration), a burst from ten
   chats, and one worker's throughput on 100 queued images with and without
   the overlap of receive/download and upload/report with the model.
3. The execution histories of a photo, an album, a failure, a 429 and a
   retry, their state transitions counted as AWS bills them
   (`benchmarks.histories`; priced by `benchmarks.costs`).
4. Each Lambda function's cold start (benchmarks/coldstart.py; alone:
   `make bench-coldstart`).
5. One worker across AWS's latencies on 300 queued images, beside its model
   alone (`benchmarks.networked`; that part alone: `python -m benchmarks.networked`).

Prints a table and writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import accuracy, coldstart, histories, models, pipeline, tiles
from benchmarks.models import percentile
from local.polybot_stack import REPO_ROOT, PolybotStack, StackOptions
from polybot import logs

RESULTS = REPO_ROOT / "bench" / "results" / "latest.json"
BREAKDOWN = (
    "receive_ms",
    "first_heartbeat_ms",
    "download_ms",
    "decode_ms",
    "model_wait_ms",
    "inference_ms",
    "draw_ms",
    "encode_ms",
    "upload_ms",
    "report_ms",
)


def machine() -> dict[str, Any]:
    cpu = ""
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not cpu:
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cpu": cpu or platform.processor(),
        "cores": len(os.sched_getaffinity(0)),
        "memory_gb": round(memory_gb, 1),
        "isa": sorted(f for f in flags if f.startswith(("avx512", "amx", "avx2", "avx_vnni"))),
        "gpu": "none used",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "versions": {p: version(p) for p in ("torch", "ultralytics", "openvino", "nncf", "onnxruntime")},
    }


def median_by_key(rows: list[dict[str, int]], keys: tuple[str, ...]) -> dict[str, float]:
    return {k.removesuffix("_ms"): round(statistics.median([r.get(k, 0) for r in rows]), 1) for k in keys if rows}


def _queued_throughput(images: int) -> dict[str, Any]:
    """benchmarks.throughput in a process of its own (its own embedded AWS)."""
    done = subprocess.run(  # noqa: S603 - our own module, no shell
        [sys.executable, "-m", "benchmarks.throughput", "--images", str(images)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the throughput run failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _networked(images: int) -> dict[str, Any]:
    """benchmarks.networked in a process of its own (its own embedded AWS, AWS's latencies)."""
    done = subprocess.run(  # noqa: S603 - our own module, no shell
        [sys.executable, "-m", "benchmarks.networked", "--images", str(images)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the networked run failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    photos_bytes = [Path(p).read_bytes() for p in args.photos] or models.image_set_as_jpeg()
    stack = PolybotStack(StackOptions(queue_wait_s=1)).start(worker=False, bot=False)
    try:
        print("1/5 the model alone on each backend ...", flush=True)
        backends = models.compare_backends(stack.settings, args.rounds)
        table = models.summary(backends)
        chosen = next(row for row in table if row["backend"] == stack.settings.backend)
        results.update(
            backends=table,
            image_set=[p.name for p in models.image_set()],
            bare_model_ms_p50=table[0]["ms_p50"],
            backend=chosen["backend"],
            backend_bare_ms_p50=chosen["ms_p50"],
            backend_to_bare=chosen["to_pytorch"],
        )
        print("   and its agreement with PyTorch on the accuracy set ...", flush=True)
        results.update(accuracy.results(accuracy.compare(stack.settings, stack.settings.backend)))
        print("   and a 12000x1500 panorama in tiles ...", flush=True)
        results.update(tiles.results(tiles.measure(stack.settings, stack.settings.backend)))
        with pipeline.bot_process(stack) as bot:
            print("2/5 worker cold start, then photos one after another ...", flush=True)
            pipeline.queue_photos(stack, photos_bytes, 1)
            environment = pipeline.worker_environment(stack, prefetch=stack.settings.prefetch)
            with pipeline.process(["-m", "inference"], environment) as worker:
                cold = worker.wait_for("served in")
                to_reply, states = pipeline.paced_photos(stack, photos_bytes, args.photos_paced)
                served = worker.served()[1:]
                print("3/5 a burst from ten chats ...", flush=True)
                bursts = pipeline.burst(stack, photos_bytes, args.burst, chats=10)
                # Histories of a photo, an album, a failure, a 429 and a retry: what the bill counts.
                results.update(histories.record(stack, photos_bytes))
                worker.sample_memory()
                worker_rss = worker.peak_rss_mb
            bot.sample_memory()
            bot_rss = bot.peak_rss_mb
    finally:
        stack.stop()
    print(f"4/5 {args.queued} queued images, one worker, in sequence then overlapped ...", flush=True)
    queued = _queued_throughput(args.queued)
    print(
        f"5/5 {args.networked} queued images, one worker, AWS's latencies in front of the embedded AWS ...", flush=True
    )
    results["networked"] = _networked(args.networked)
    sequential, overlapped = queued["sequential"], queued["overlapped"]
    service = [float(s["service_ms"]) for s in served]
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results.update(
        worker_service_ms_p50=percentile(service, 0.5),
        worker_service_ms_p95=percentile(service, 0.95),
        worker_to_bare_ratio=round(percentile(service, 0.5) / results["bare_model_ms_p50"], 2),
        # Photos one after another; "receive" is the API call's own time, from the
        # queued run (in the paced run it includes the long poll's wait for a photo).
        worker_time_breakdown_ms={
            **median_by_key(served, BREAKDOWN),
            "receive": median_by_key(sequential["served"], ("receive_ms",))["receive"],
        },
        worker_images_per_s={
            "sequential": sequential["images_per_s"],
            "overlapped": overlapped["images_per_s"],
            "model_alone": round(1000 / results["backend_bare_ms_p50"], 1),
        },
        worker_queued_run_breakdown_ms={
            "sequential": median_by_key(sequential["served"], (*BREAKDOWN, "service_ms")),
            "overlapped": median_by_key(overlapped["served"], (*BREAKDOWN, "service_ms")),
        },
        e2e_ms_p50=round(percentile(to_reply, 0.5)),
        e2e_ms_p95=round(percentile(to_reply, 0.95)),
        e2e_state_ms_p50={
            state: round(statistics.median([s[state] for s in states if state in s])) for state in states[0]
        },
        burst={
            "photos": args.burst,
            "chats": 10,
            "workers": 1,
            "reply_ms_p50": round(percentile(bursts, 0.5)),
            "reply_ms_p95": round(percentile(bursts, 0.95)),
        },
        worker_cold_start_s=round(cold, 2),
        worker_first_start_export_s=next(
            (row["export_s"] for row in table if row["backend"] == results["backend"]), None
        ),
        worker_peak_rss_mb=round(max(worker_rss, sequential["peak_rss_mb"], overlapped["peak_rss_mb"])),
        bot_peak_rss_mb=round(bot_rss),
        photos_paced=args.photos_paced,
        **_networked_keys(results["networked"]),
    )
    print("cold starts of the Lambda functions ...", flush=True)
    in_containers = args.coldstart == "all"
    results.update(coldstart.measure(args.coldstart_rounds, container=in_containers, invoke=in_containers))
    return results


def _networked_keys(networked: dict[str, Any]) -> dict[str, Any]:
    """The networked run's headline figures, as top-level keys of latest.json."""
    keys = ("worker_images_per_s_networked", "model_images_per_s", "networked_to_model")
    return {key: networked[key] for key in (*keys, "worker_cpu_ms_per_image_outside_model")}


def print_table(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(
        f"\nmachine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, no GPU; "
        f"load average {m['load_average']} at start, {m['load_average_at_end']} at end"
    )
    print(f"image set: {len(r['image_set'])} images (packaged photos and variants); ms p50 = the quietest round's")
    print(
        f"{'backend':<15}{'threads':>8}{'ms p50':>9}{'all p95':>9}{'x PyTorch':>11}{'agreement':>11}"
        f"{'held out':>10}{'precision':>11}{'export s':>10}"
    )
    for row in r["backends"]:
        export = "-" if row["export_s"] is None else f"{row['export_s']:.1f}"
        print(
            f"{row['backend']:<15}{row['threads']:>8}{row['ms_p50']:>9.1f}{row['ms_p95_all_rounds']:>9.1f}{row['to_pytorch']:>11.2f}"
            f"{row['agreement']:>11.3f}{row['agreement_held_out']:>10.3f}{row['precision_vs_pytorch']:>11.3f}{export:>10}"
        )
    ips = r["worker_images_per_s"]
    lines = [
        ("worker backend", r["backend"]),
        ("bare PyTorch model p50 (all cores)", f"{r['bare_model_ms_p50']} ms"),
        ("backend bare p50", f"{r['backend_bare_ms_p50']} ms ({r['backend_to_bare']}x PyTorch)"),
        ("backend agreement with PyTorch", accuracy.table_line(r)),
        ("panorama in tiles (12000x1500, 11 buses)", tiles.table_line(r["panorama_tiles"])),
        ("worker service p50 / p95", f"{r['worker_service_ms_p50']} / {r['worker_service_ms_p95']} ms"),
        ("worker service p50 / bare PyTorch", f"{r['worker_to_bare_ratio']}"),
        ("worker time breakdown p50 (ms)", json.dumps(r["worker_time_breakdown_ms"])),
        (
            "one worker, 100 queued: images/s",
            f"{ips['sequential']} in sequence, {ips['overlapped']} overlapped (model alone {ips['model_alone']})",
        ),
        *_networked_lines(r["networked"]),
        ("webhook -> reply p50 / p95", f"{r['e2e_ms_p50']} / {r['e2e_ms_p95']} ms"),
        ("per state p50 (ms)", json.dumps(r["e2e_state_ms_p50"])),
        (
            "burst 30 photos, 10 chats, 1 worker",
            f"reply p50 {r['burst']['reply_ms_p50']} ms, p95 {r['burst']['reply_ms_p95']} ms",
        ),
        ("worker cold start (start -> first report)", f"{r['worker_cold_start_s']} s"),
        ("peak memory: worker / bot", f"{r['worker_peak_rss_mb']} / {r['bot_peak_rss_mb']} MB"),
        (
            "state transitions (recorded histories)",
            f"photo {r['transitions_per_photo']}, album photo {r['transitions_per_album_photo']}, "
            f"failure {r['transitions_per_failure']}, 429 wait +{r['transitions_per_429_wait']}, "
            f"retry +{r['transitions_per_retry']}",
        ),
    ]
    print()
    for label, value in lines:
        print(f"{label:<44}{value}")


def _networked_lines(n: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            "one worker across AWS's latencies: images/s",
            f"{n['worker_images_per_s_networked']} (model alone {n['model_images_per_s']}: "
            f"{n['networked_to_model']}x; model busy {n['model_busy_share']}; "
            f"cores: worker {n['cpus']['worker_and_model']}, AWS {n['cpus']['aws_and_bench']})",
        ),
        (
            "worker CPU per image outside the model",
            f"{n['worker_cpu_ms_per_image_outside_model']} ms (embedded AWS: {n['aws_emulator_cpu_ms_per_image']} ms)",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--rounds", type=int, default=4, help="rounds over the image set per backend")
    parser.add_argument("--photos-paced", type=int, default=54, help="photos sent one after another")
    parser.add_argument("--burst", type=int, default=30, help="photos sent at once from ten chats")
    parser.add_argument("--queued", type=int, default=100, help="images queued for the throughput run")
    parser.add_argument(
        "--networked",
        type=int,
        default=300,
        help="images queued for the networked run: 300, a worker's steady state "
        "(over 100 its start-up costs still weigh: docs/performance.md, 'The worker's own CPU, cut')",
    )
    parser.add_argument("--coldstart-rounds", type=int, default=5, help="fresh interpreters per cold-start figure")
    parser.add_argument(
        "--coldstart",
        choices=("all", "process"),
        default="all",
        help="cold starts in process and in the Lambda containers (all), or in process only",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("photos", nargs="*", help="photos to send (default: the image set, as JPEG)")
    args = parser.parse_args()
    logs.configure("bench", "ERROR")
    pipeline.yield_to_the_measured()
    results = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_table(results)
    coldstart.print_table(results)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
