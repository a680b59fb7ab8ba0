from __future__ import annotations

import ast
import copy
import typing
from pathlib import Path
from typing import Any

import pytest

from polybot import contracts
from polybot.contracts import generate, messages
from polybot.errors import ContractViolation

REQUEST: dict[str, Any] = {
    "chat_id": -1001234567890,
    "message_id": 77,
    "user_id": 1001,
    "language_code": "en",
    "file_id": "AgACAgIAAxkBAAIB",
    "file_unique_id": "AQADx",
    "file_size": 180_000,
    "file_name": None,
    "mime_type": "image/jpeg",
    "source": "photo",
    "received_at": "2024-05-01T10:00:00.123Z",
    "expires_at": 1717149600,
    "preferences": {"language": "en", "confidence": 0.25, "model": "yolov8n.pt", "album_reply": "album"},
}
OPTIONS: dict[str, Any] = {"confidence": 0.25, "model": "yolov8n.pt", "language": "en"}
STAGED: dict[str, Any] = {
    "bucket": "polybot-imagesbucket",
    "original_key": "originals/tg-1001234567890_77.jpg",
    "annotated_key": "annotated/tg-1001234567890_77.jpg",
    "content_type": "image/jpeg",
    "size_bytes": 180_000,
    "width": 1280,
    "height": 960,
    "stage_ms": 412,
}
DETECTION: dict[str, Any] = {"label": "person", "class_id": 0, "confidence": 0.91, "box": [10.5, 20, 300, 940.25]}
RESULT: dict[str, Any] = {
    "model": "yolov8n",
    "detections": [DETECTION, {**DETECTION, "label": "bus", "class_id": 5, "confidence": 0.4}],
    "annotated_key": "annotated/tg-1001234567890_77.jpg",
    "timings": {"queue_wait_ms": 30, "download_ms": 12, "inference_ms": 150, "upload_ms": 9},
}
FAILURE: dict[str, Any] = {"Error": "NotAnImage", "Cause": '{"errorMessage": "the file is empty"}'}
REFUSAL: dict[str, Any] = {"kind": "refused", "failure": {"Error": "NotAnImage", "Cause": "the file is empty"}}
NAME = "tg-1001234567890_77"
ALBUM = "tg-1001234567890_album_13579"
PHOTO = {"execution_name": NAME, "request": REQUEST, "staged": STAGED, "detection": RESULT}

FORGET: dict[str, Any] = {
    "chat_id": -1001234567890,
    "message_id": 80,
    "language": "es",
    "requested_at": "2024-05-01T10:05:00.000Z",
}
FORGETTING: dict[str, Any] = {"kind": "deleting", "passes": 0, "items": 0, "images": 0, "wait_s": 1}
SAMPLES: dict[str, dict[str, Any]] = {
    "ImageRequest": REQUEST,
    "Preferences": REQUEST["preferences"],
    "Question": {"kind": "unknown", "class_name": "cat", "asked": "tigres"},
    "ExecutionInput": {"request": REQUEST, "album": {"media_group_id": "13579"}},
    "StagedImage": STAGED,
    "DetectionTask": {"task_token": "AQCEAAAAKgAAAA", "execution_name": NAME, "image": STAGED, "options": OPTIONS},
    "DetectionOptions": OPTIONS,
    "Detection": DETECTION,
    "DetectionResult": RESULT,
    "Failure": FAILURE,
    "Refusal": REFUSAL,
    "StageOutcome": REFUSAL,
    "ReplyReceipt": {"kind": "annotated_photo", "message_id": 78},
    "TelegramWait": {"kind": "rate_limited", "retry_after_s": 30},
    "ReplyOutcome": {"kind": "rate_limited", "retry_after_s": 30},
    "StageImageInput": {"execution_name": NAME, "request": REQUEST},
    "SendReplyInput": {"execution_name": NAME, "request": REQUEST, "staged": STAGED, "detection": RESULT},
    "NotifyFailureInput": {"execution_name": NAME, "request": REQUEST, "failure": FAILURE},
    "AlbumPhoto": PHOTO,
    "SendAlbumReplyInput": {
        "execution_name": ALBUM,
        "request": REQUEST,
        "photos": [PHOTO, {"execution_name": "tg-1001234567890_78", "request": REQUEST, "failure": FAILURE}],
    },
    "GatherAlbumInput": {"execution_name": ALBUM, "request": REQUEST, "started_at": "2024-05-01T10:00:00.2Z"},
    "AlbumGathering": {"kind": "gathered", "photos": [{"execution_name": NAME, "request": REQUEST}]},
    "ForgetRequest": FORGET,
    "ForgetProgress": FORGETTING,
    "ForgetInput": {"forget": FORGET, "forgetting": FORGETTING},
    "ForgetChatInput": {"forget": FORGET, "progress": FORGETTING},
    "ForgetFailedInput": {"forget": FORGET, "failure": FAILURE},
    "ForgetOutcome": {**FORGETTING, "kind": "forgotten", "passes": 1, "items": 12, "images": 4},
}

# One broken sample per message: (message, path to change, new value or DELETE, path the error names).
DELETE = object()
BROKEN: list[tuple[str, tuple[Any, ...], Any, str]] = [
    ("ImageRequest", ("file_id",), DELETE, "(root)"),
    ("ImageRequest", ("chat_id",), "4242", "chat_id"),
    ("ImageRequest", ("received_at",), "yesterday", "received_at"),
    ("ImageRequest", ("received_at",), "2024-05-01T10:00:00", "received_at"),  # no time zone
    ("ImageRequest", ("source",), "sticker", "source"),
    ("ImageRequest", ("message_id",), 0, "message_id"),
    ("ImageRequest", ("caption",), "hello", "(root)"),  # not a field of the message
    ("ExecutionInput", ("request", "file_unique_id"), "", "request/file_unique_id"),
    ("StagedImage", ("content_type",), "text/plain", "content_type"),
    ("StagedImage", ("size_bytes",), 0, "size_bytes"),
    ("DetectionTask", ("task_token",), DELETE, "(root)"),
    ("DetectionTask", ("image", "width"), 12.5, "image/width"),
    ("Detection", ("confidence",), 1.5, "confidence"),
    ("Detection", ("box",), [1, 2, 3], "box"),
    ("DetectionResult", ("detections", 1, "confidence"), -0.1, "detections/1/confidence"),
    ("DetectionResult", ("timings", "inference_ms"), DELETE, "timings"),
    ("Failure", ("Error",), 500, "Error"),
    ("Refusal", ("failure",), DELETE, "(root)"),
    ("Refusal", ("failure", "Error"), None, "failure/Error"),
    ("StageOutcome", ("kind",), "staged", "(root)"),  # neither a stored image nor a refusal
    ("ReplyReceipt", ("kind",), "photo", "kind"),
    ("TelegramWait", ("retry_after_s",), 0, "retry_after_s"),
    ("ReplyOutcome", ("retry_after_s",), DELETE, "(root)"),
    ("StageImageInput", ("request", "chat_id"), None, "request/chat_id"),
    ("SendReplyInput", ("detection", "model"), "", "detection/model"),
    ("NotifyFailureInput", ("failure",), DELETE, "(root)"),
    ("ImageRequest", ("preferences",), DELETE, "(root)"),
    ("Preferences", ("language",), "de", "language"),
    ("Preferences", ("confidence",), 1, "confidence"),
    ("Preferences", ("album_reply",), "none", "album_reply"),
    ("DetectionTask", ("options",), DELETE, "(root)"),
    ("DetectionOptions", ("model",), "", "model"),
    ("AlbumPhoto", ("staged",), DELETE, "(root)"),  # neither a result nor a failure
    ("SendAlbumReplyInput", ("photos",), [], "photos"),
    ("GatherAlbumInput", ("started_at",), "soon", "started_at"),
    ("AlbumGathering", ("photos",), [], "(root)"),
    ("ImageRequest", ("expires_at",), DELETE, "(root)"),
    ("ForgetRequest", ("language",), "fr", "language"),
    ("ForgetRequest", ("requested_at",), "now", "requested_at"),
    ("ForgetProgress", ("kind",), "done", "kind"),
    ("ForgetInput", ("forgetting", "items"), -1, "forgetting/items"),
    ("ForgetChatInput", ("progress",), DELETE, "(root)"),
    ("ForgetFailedInput", ("failure",), DELETE, "(root)"),
    ("Question", ("kind",), "explain", "kind"),
    ("Question", ("class_name",), "", "class_name"),
    ("ForgetOutcome", ("kind",), "finished", "(root)"),
]


def broken(message: str, path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(SAMPLES[message])
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


def test_every_message_has_a_sample_here() -> None:
    assert sorted(SAMPLES) == contracts.message_names()


@pytest.mark.parametrize("message", sorted(SAMPLES))
def test_a_realistic_sample_is_valid_and_returned_unchanged(message: str) -> None:
    sample = copy.deepcopy(SAMPLES[message])

    assert contracts.validate(message, sample) is sample
    assert sample == SAMPLES[message]


def test_every_message_has_a_broken_sample_here() -> None:
    assert {message for message, *_ in BROKEN} == set(contracts.message_names())


@pytest.mark.parametrize(
    ("message", "path", "value", "where"),
    BROKEN,
    ids=[f"{m}-{'.'.join(map(str, p))}" for m, p, *_ in BROKEN],
)
def test_a_broken_sample_is_refused_naming_where(message: str, path: tuple[Any, ...], value: Any, where: str) -> None:
    with pytest.raises(ContractViolation) as refused:
        contracts.validate(message, broken(message, path, value))

    assert str(refused.value).startswith(f"{message} invalid at {where}: ")
    assert refused.value.name == "ContractViolation"


def test_the_refusal_names_the_missing_field() -> None:
    with pytest.raises(ContractViolation, match='"file_id" is a required property'):
        contracts.validate("ImageRequest", broken("ImageRequest", ("file_id",), DELETE))


# Corner cases where validators are known to differ (JSON's types against Python's, date-time's forms).
CORNERS: list[tuple[str, tuple[Any, ...], Any]] = [
    ("ImageRequest", ("message_id",), True),  # a bool is not an integer in JSON
    ("ImageRequest", ("message_id",), 77.0),  # an integral number is an integer in 2020-12
    ("ImageRequest", ("message_id",), 77.5),
    ("ImageRequest", ("received_at",), "2024-05-01T10:00:00+02:00"),
    ("ImageRequest", ("received_at",), "2024-05-01t10:00:00z"),  # RFC 3339 allows lower case
    ("ImageRequest", ("received_at",), "2024-05-01 10:00:00Z"),  # but not a space
    ("ImageRequest", ("received_at",), "2024-02-30T10:00:00Z"),  # no such day
    ("ImageRequest", ("file_size",), 2**70),
    ("Detection", ("confidence",), 1),
    ("Detection", ("box",), [1, 2, 3, "4"]),
    ("DetectionResult", ("detections",), [DETECTION] * 301),
    ("Question", ("class_name",), "\u00e9"),
]


@pytest.mark.parametrize(
    ("message", "data"),
    [(m, SAMPLES[m]) for m in SAMPLES]
    + [(m, broken(m, p, v)) for m, p, v, _ in BROKEN]
    + [(m, broken(m, p, v)) for m, p, v in CORNERS],
)
def test_the_validator_judges_every_sample_as_the_reference_jsonschema_does(message: str, data: Any) -> None:
    # polybot.contracts validates with jsonschema-rs for speed; jsonschema, the
    # reference implementation of the specification, is the judge of what is valid.
    from jsonschema import Draft202012Validator, FormatChecker

    document = contracts.schema_document()
    reference = Draft202012Validator({**document, "$ref": f"#/$defs/{message}"}, format_checker=FormatChecker())
    expected = sorted("/".join(map(str, e.path)) or "(root)" for e in reference.iter_errors(data))
    try:
        contracts.validate(message, data)
        where = None
    except ContractViolation as refused:
        where = str(refused).split(" invalid at ", 1)[1].split(": ", 1)[0]

    assert (where is None) == (not expected)
    assert where is None or where in expected


def test_nullable_fields_accept_null() -> None:
    request = {**REQUEST, "user_id": None, "language_code": None, "file_size": None, "mime_type": None}

    assert contracts.validate("ImageRequest", request) is request


def test_not_an_object_is_refused_at_the_root() -> None:
    with pytest.raises(ContractViolation, match=r"^ReplyReceipt invalid at \(root\): "):
        contracts.validate("ReplyReceipt", [])


def test_unknown_message_name_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="NoSuchMessage"):
        contracts.validate("NoSuchMessage", {})


# --- the TypedDicts generated from the schema -----------------------------------


def test_the_typed_messages_are_what_the_schema_generates(tmp_path: Path) -> None:
    written = generate.write(tmp_path / "messages.py")

    assert written.read_text(encoding="utf-8") == generate.MODULE.read_text(encoding="utf-8"), (
        "polybot/contracts/messages.py is not what messages.schema.json generates: run `make contracts`"
    )


def test_every_message_has_its_typed_dict() -> None:
    assert set(contracts.message_names()) <= set(vars(messages))


def test_the_typed_messages_need_nothing_but_typing_at_run_time() -> None:
    # The Lambda layer and the images carry neither datamodel-code-generator nor pydantic.
    tree = ast.parse(generate.MODULE.read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}

    assert imported == {"__future__", "typing"}


def test_validate_is_typed_as_the_message_it_checks() -> None:
    typed: dict[str, Any] = {}
    for signature in typing.get_overloads(contracts.validate):
        hints = typing.get_type_hints(signature, globalns=vars(contracts))
        if typing.get_origin(hints["message"]) is typing.Literal:
            [name] = typing.get_args(hints["message"])
            typed[name] = hints["return"]

    assert typed == {name: getattr(messages, name) for name in contracts.message_names()}
