"""The sample events in events/: one per Lambda function of template.yaml, for
`sam local invoke <Function> -e events/<module>.json`, each a valid input of
its handler, so the samples cannot drift from the contracts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template
from polybot import contracts, naming

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"

# Each handler validates its event against this message first thing.
HANDLER_INPUT = {
    "stage_image": "StageImageInput",
    "send_reply": "SendReplyInput",
    "notify_failure": "NotifyFailureInput",
    "gather_album": "GatherAlbumInput",
    "forget_chat": "ForgetChatInput",
}


def _function_modules() -> dict[str, str]:
    """Logical id -> handler module ('stage_image.handler' -> 'stage_image') of each function."""
    resources: dict[str, Any] = load_template(ROOT / "template.yaml")["Resources"]
    return {
        logical_id: resource["Properties"]["Handler"].rsplit(".", 1)[0]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_one_event_per_function() -> None:
    modules = _function_modules()
    expected = {f"{module}.json" for module in modules.values()}
    present = {path.name for path in EVENTS.glob("*.json")}
    assert present == expected, f"functions {modules} need exactly the events {sorted(expected)}"


def test_every_function_has_a_known_input_message() -> None:
    assert set(_function_modules().values()) == set(HANDLER_INPUT)


@pytest.mark.parametrize(("module", "message"), sorted(HANDLER_INPUT.items()))
def test_event_is_a_valid_handler_input(module: str, message: str) -> None:
    event = _load(EVENTS / f"{module}.json")
    assert contracts.validate(message, event) == event


def test_events_describe_one_consistent_image() -> None:
    """The samples follow polybot.naming, so they read like one real run."""
    for module in set(HANDLER_INPUT) - {"gather_album", "forget_chat"}:
        event = _load(EVENTS / f"{module}.json")
        request = event["request"]
        assert event["execution_name"] == naming.execution_name(request["chat_id"], request["message_id"])
    album = _load(EVENTS / "gather_album.json")
    request = album["request"]
    assert album["execution_name"] == naming.album_execution_name(request["chat_id"], request["media_group_id"])
    reply = _load(EVENTS / "send_reply.json")
    name, staged = reply["execution_name"], reply["staged"]
    assert staged["original_key"] == naming.original_key(name, staged["content_type"])
    assert staged["annotated_key"] == reply["detection"]["annotated_key"] == naming.annotated_key(name)
    forget = _load(EVENTS / "forget_chat.json")["forget"]
    assert forget["chat_id"] == request["chat_id"], "the chat of the other samples is the one forgotten"
