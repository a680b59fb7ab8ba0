"""The messages between Polybot's states, one JSON Schema each, in one file.

Writers call `validate` before sending and readers after receiving, so a
change to a message is a change to `messages.schema.json` that both sides see.
`messages.py` holds the same messages as TypedDicts, generated from the schema
(`make contracts`), and `validate` returns the one it checked: the code on both
sides is typed by the schema too. Used by the bot, the Lambda functions, the
worker and the tests.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal, overload

from polybot.contracts import messages
from polybot.errors import ContractViolation

if TYPE_CHECKING:
    from jsonschema_rs import Draft202012Validator

SCHEMA_FILE = "messages.schema.json"


@cache
def schema_document() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def message_names() -> list[str]:
    return sorted(schema_document()["$defs"])


@cache
def _validator(message: str) -> Draft202012Validator:
    document = schema_document()
    if message not in document["$defs"]:
        raise KeyError(f"no message named {message!r} in {SCHEMA_FILE}")
    # Validate against the one definition while keeping the document's other
    # definitions reachable for its $refs.
    schema = {**document, "$ref": f"#/$defs/{message}"}
    # jsonschema-rs, not jsonschema: a DetectionResult of ten objects takes it 2.4 us
    # against 1 ms, which the worker paid for every image on its model's core
    # (docs/performance.md, "The worker's own CPU, cut"); the tests hold it to
    # jsonschema's judgement on every sample (tests/unit/polybot/test_polybot_contracts.py).
    # Imported here, not with this module: importing a handler module must stay cheap
    # (cold starts, docs/performance.md). Each message's validator is compiled once, on first use.
    from jsonschema_rs import Draft202012Validator

    return Draft202012Validator(schema, validate_formats=True)


@overload
def validate(message: Literal["AlbumGathering"], data: object) -> messages.AlbumGathering: ...


@overload
def validate(message: Literal["AlbumPhoto"], data: object) -> messages.AlbumPhoto: ...


@overload
def validate(message: Literal["Detection"], data: object) -> messages.Detection: ...


@overload
def validate(message: Literal["DetectionOptions"], data: object) -> messages.DetectionOptions: ...


@overload
def validate(message: Literal["DetectionResult"], data: object) -> messages.DetectionResult: ...


@overload
def validate(message: Literal["DetectionTask"], data: object) -> messages.DetectionTask: ...


@overload
def validate(message: Literal["ForgetChatInput"], data: object) -> messages.ForgetChatInput: ...


@overload
def validate(message: Literal["ForgetFailedInput"], data: object) -> messages.ForgetFailedInput: ...


@overload
def validate(message: Literal["ForgetInput"], data: object) -> messages.ForgetInput: ...


@overload
def validate(message: Literal["ForgetOutcome"], data: object) -> messages.ForgetOutcome: ...


@overload
def validate(message: Literal["ForgetProgress"], data: object) -> messages.ForgetProgress: ...


@overload
def validate(message: Literal["ForgetRequest"], data: object) -> messages.ForgetRequest: ...


@overload
def validate(message: Literal["ExecutionInput"], data: object) -> messages.ExecutionInput: ...


@overload
def validate(message: Literal["Failure"], data: object) -> messages.Failure: ...


@overload
def validate(message: Literal["GatherAlbumInput"], data: object) -> messages.GatherAlbumInput: ...


@overload
def validate(message: Literal["ImageRequest"], data: object) -> messages.ImageRequest: ...


@overload
def validate(message: Literal["NotifyFailureInput"], data: object) -> messages.NotifyFailureInput: ...


@overload
def validate(message: Literal["Preferences"], data: object) -> messages.Preferences: ...


@overload
def validate(message: Literal["Question"], data: object) -> messages.Question: ...


@overload
def validate(message: Literal["Refusal"], data: object) -> messages.Refusal: ...


@overload
def validate(message: Literal["ReplyOutcome"], data: object) -> messages.ReplyOutcome: ...


@overload
def validate(message: Literal["ReplyReceipt"], data: object) -> messages.ReplyReceipt: ...


@overload
def validate(message: Literal["SendAlbumReplyInput"], data: object) -> messages.SendAlbumReplyInput: ...


@overload
def validate(message: Literal["SendReplyInput"], data: object) -> messages.SendReplyInput: ...


@overload
def validate(message: Literal["StageImageInput"], data: object) -> messages.StageImageInput: ...


@overload
def validate(message: Literal["StageOutcome"], data: object) -> messages.StageOutcome: ...


@overload
def validate(message: Literal["StagedImage"], data: object) -> messages.StagedImage: ...


@overload
def validate(message: Literal["TelegramWait"], data: object) -> messages.TelegramWait: ...


@overload
def validate(message: str, data: object) -> Any: ...


def validate(message: str, data: object) -> Any:
    """Return `data` unchanged if it is a valid `message`, else raise ContractViolation.
    Typed as the message's TypedDict (polybot.contracts.messages) where `message`
    is a literal name."""
    validator = _validator(message)
    if validator.is_valid(data):
        return data
    first = min(validator.iter_errors(data), key=lambda e: [str(p) for p in e.instance_path])
    where = "/".join(str(p) for p in first.instance_path) or "(root)"
    raise ContractViolation(f"{message} invalid at {where}: {first.message}")
