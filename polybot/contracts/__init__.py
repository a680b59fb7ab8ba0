"""The messages between Polybot's states, one JSON Schema each, in one file.

Writers call `validate` before sending and readers after receiving, so a
change to a message is a change to `messages.schema.json` that both sides see.
Used by the bot, the Lambda functions, the worker and the tests.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from polybot.errors import ContractViolation

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
    return Draft202012Validator(schema, format_checker=FormatChecker())


def validate(message: str, data: Any) -> Any:
    """Return `data` unchanged if it is a valid `message`, else raise ContractViolation."""
    errors = sorted(_validator(message).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "(root)"
        raise ContractViolation(f"{message} invalid at {where}: {first.message}")
    return data
