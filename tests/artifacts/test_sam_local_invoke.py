"""Each workflow function in its Lambda container (`sam local invoke` on the
built template, what `make invoke FN=...` runs), against the embedded AWS and
the Telegram stand-in, with its sample event from events/.

Each runs in a process of its own (`python -m local.invoke --json`): the
embedded AWS keeps its state per process, and this session's other tests have
theirs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local.invoke import functions

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


def invoke(function: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "local.invoke", function, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"python -m local.invoke {function} printed nothing:\n{done.stderr[-6000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert result["error_type"] is None, f"{function} raised in its container:\n{result['logs'][-6000:]}"
    assert done.returncode == 0, done.stderr[-6000:]
    return result


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def test_every_function_has_a_sample_event() -> None:
    assert set(functions()) == {"StageImage", "GatherAlbum", "SendReply", "NotifyFailure"}
    assert all(Path(path).is_file() for path in functions().values())


def test_stage_image_stores_the_telegram_file_in_s3(sam_build: Path, report: dict[str, Any]) -> None:
    result = invoke("StageImage")
    request = event("stage_image.json")["request"]

    assert result["response"]["original_key"] == f"originals/{event('stage_image.json')['execution_name']}.jpg"
    assert f"{result['response']['bucket']}/{result['response']['original_key']}" in result["stored_keys"]
    assert (result["response"]["width"], result["response"]["height"]) == (810, 1080)
    assert result["telegram_sent"] == []
    assert request["file_id"]
    report["sam_local_invoke_s"] = {**report.get("sam_local_invoke_s", {}), "StageImage": result["seconds"]}


def test_gather_album_returns_the_albums_photos_in_message_order(sam_build: Path, report: dict[str, Any]) -> None:
    result = invoke("GatherAlbum")
    request = event("gather_album.json")["request"]

    # local/invoke.py put the event's photo and the next one in the album first.
    assert result["response"]["kind"] == "gathered"
    assert [p["execution_name"] for p in result["response"]["photos"]] == [
        f"tg{request['chat_id']}_{request['message_id']}",
        f"tg{request['chat_id']}_{request['message_id'] + 1}",
    ]
    assert result["telegram_sent"] == []
    report["sam_local_invoke_s"] = {**report.get("sam_local_invoke_s", {}), "GatherAlbum": result["seconds"]}


def test_send_reply_sends_the_annotated_photo_with_its_summary(sam_build: Path, report: dict[str, Any]) -> None:
    result = invoke("SendReply")
    request = event("send_reply.json")["request"]

    [sent] = result["telegram_sent"]
    assert (sent["method"], sent["chat_id"], sent["photo"]) == ("sendPhoto", request["chat_id"], True)
    assert sent["caption"] == "I see a bus and 3 people (maybe 4)."
    assert result["response"] == {"kind": "annotated_photo", "message_id": result["response"]["message_id"]}
    report["sam_local_invoke_s"] = {**report.get("sam_local_invoke_s", {}), "SendReply": result["seconds"]}


def test_notify_failure_tells_the_user_why(sam_build: Path, report: dict[str, Any]) -> None:
    result = invoke("NotifyFailure")
    sample = event("notify_failure.json")

    [sent] = result["telegram_sent"]
    assert (sent["method"], sent["chat_id"]) == ("sendMessage", sample["request"]["chat_id"])
    assert sent["text"].startswith("That file is not an image I can read.")
    assert sent["text"].endswith(f"(ref {sample['execution_name']})")
    assert result["response"]["kind"] == "failure_notice"
    report["sam_local_invoke_s"] = {**report.get("sam_local_invoke_s", {}), "NotifyFailure": result["seconds"]}
