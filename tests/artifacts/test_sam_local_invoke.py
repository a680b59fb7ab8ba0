"""Each workflow function in its Lambda container (`sam local invoke` on the
built template, what `make invoke FN=...` runs), against the embedded AWS and
the Telegram stand-in, with its sample event from events/. The container is the
Lambda base image of the runtime the template names (SAM picks it from
`Runtime`), and a probe with each function's runtime, architecture and layers
reports the Python that runs there.

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
import yaml

from local.invoke import functions, sam_local_invoke
from local.stack import load_template
from tests.auxil.runtimes import python_minor, shipped_runtime, support_problem

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


RUNTIME_PROBE = """\
import sys


def handler(event, context):
    import PIL._imaging
    import polybot

    return {
        "python": list(sys.version_info[:3]),
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        "polybot": polybot.__file__,
        "pillow": PIL._imaging.__file__,
    }
"""
"""A handler that says which Python runs it, and where the layer's package and
compiled wheel (Pillow's C core) were imported from."""

_RUNS_ON = ("Runtime", "Architectures", "Layers")
"""What chooses a function's container: SAM runs the Lambda base image of its
runtime and architecture, with its layers in /opt."""


def probe_template(built: dict[str, Any], built_dir: Path, probe_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """The built template with one probe function per distinct container its
    functions run in (code locations made absolute, so it may live elsewhere), and the probes' names."""
    template = json.loads(json.dumps(built))
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(key), str) and "://" not in properties[key]:
                properties[key] = str((built_dir / properties[key]).resolve())
    defaults = template.get("Globals", {}).get("Function", {})
    probes: dict[str, str] = {}
    for logical_id, resource in built["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        container = json.dumps({key: properties.get(key, defaults.get(key)) for key in _RUNS_ON}, sort_keys=True)
        probes.setdefault(container, logical_id)
    names = []
    for logical_id in probes.values():
        name = logical_id.removesuffix("Function") + "Probe"
        properties = {**template["Resources"][logical_id]["Properties"], "CodeUri": str(probe_dir)}
        properties["Handler"] = "runtime_probe.handler"
        properties.pop("Environment", None)
        template["Resources"][f"{name}Function"] = {"Type": "AWS::Serverless::Function", "Properties": properties}
        names.append(name)
    return template, names


def test_every_function_runs_on_the_python_of_its_runtime(
    sam_build: Path, tmp_path: Path, report: dict[str, Any]
) -> None:
    built = load_template(sam_build / "template.yaml")
    runtime = shipped_runtime(built)
    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    (probe_dir / "runtime_probe.py").write_text(RUNTIME_PROBE, encoding="utf-8")
    template, probes = probe_template(built, sam_build, probe_dir)
    (tmp_path / "template.yaml").write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    (tmp_path / "event.json").write_text("{}", encoding="utf-8")

    assert probes
    for probe in probes:
        answer, logs = sam_local_invoke(probe, tmp_path / "event.json", {}, tmp_path / "template.yaml")

        assert isinstance(answer, dict) and "python" in answer, f"{probe}: {answer}\n{logs[-6000:]}"
        in_force = "{}.{}".format(*answer["python"])
        assert in_force == python_minor(runtime), f"{probe} on {runtime}: {answer}"
        assert support_problem(f"python{in_force}") is None, support_problem(f"python{in_force}")
        assert answer["implementation"] == "cpython"
        # The layer (PolybotLayer in /opt/python): its package and its compiled wheels load in that Python.
        assert answer["polybot"].startswith("/opt/python/"), answer
        assert answer["pillow"].startswith("/opt/python/"), answer
        report["lambda_python"] = {**report.get("lambda_python", {}), probe: ".".join(map(str, answer["python"]))}


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def test_every_function_has_a_sample_event() -> None:
    assert set(functions()) == {"StageImage", "GatherAlbum", "SendReply", "NotifyFailure", "ForgetChat"}
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
    # What the user sent caused it: no reference for an operator (issue 19, rough edge 8).
    assert sample["failure"]["Error"] == "NotAnImage" and "(ref " not in sent["text"]
    assert result["response"]["kind"] == "failure_notice"
    report["sam_local_invoke_s"] = {**report.get("sam_local_invoke_s", {}), "NotifyFailure": result["seconds"]}


def test_forget_chat_deletes_the_chats_records_and_images_and_says_so(sam_build: Path, report: dict[str, Any]) -> None:
    result = invoke("ForgetChat")
    forget = event("forget_chat.json")["forget"]
    chat = forget["chat_id"]

    # local/invoke.py gave the chat its settings and one photo's two images, and the next chat a photo.
    assert result["response"]["kind"] == "forgotten", result["response"]
    assert (result["response"]["items"], result["response"]["images"]) == (1, 2)
    assert not [key for key in result["stored_keys"] if f"/tg{chat}_" in key]
    assert [key for key in result["stored_keys"] if f"/tg{chat + 1}_" in key], "another chat's image is left alone"
    [told] = result["telegram_sent"]  # the confirmation message is not the stand-in's: a new message
    assert told["chat_id"] == chat and told["text"].startswith("Done: nothing of this chat is kept any more.")
    report["sam_local_invoke_s"] = {**report.get("sam_local_invoke_s", {}), "ForgetChat": result["seconds"]}
