"""Names derived from a Telegram message: the execution name and the S3 keys.

The execution name is a pure function of (chat, message), so a redelivered
update maps to the same name and Step Functions refuses a second execution;
an operator who knows the chat and message finds the execution by name.
"""

from __future__ import annotations

import re

_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "image/gif": "gif",
    "image/tiff": "tiff",
    "image/heic": "heic",
}

ORIGINALS_PREFIX = "originals/"
ANNOTATED_PREFIX = "annotated/"
ALBUM_INFIX = "_album_"
"""Between the chat and the media group in an album's execution name."""

_NAME = re.compile(r"tg(-?\d+)_(\d+)")


def execution_name(chat_id: int, message_id: int) -> str:
    # Step Functions allows [A-Za-z0-9_-], at most 80 characters; a chat id is
    # at most 52 bits and may be negative (groups), a message id is 31 bits.
    return f"tg{chat_id}_{message_id}"


def album_execution_name(chat_id: int, media_group_id: str) -> str:
    """The one execution of an album (a Telegram media group): every photo of it
    maps here, whichever bot instance receives it."""
    group = re.sub(r"[^A-Za-z0-9_-]", "-", media_group_id)[:50]
    return f"tg{chat_id}{ALBUM_INFIX}{group}"


def parse_execution_name(name: str) -> tuple[int, int]:
    """(chat_id, message_id) of an execution name; ValueError if it is not one."""
    match = _NAME.fullmatch(name)
    if not match:
        raise ValueError(f"not a Polybot execution name: {name!r}")
    return int(match.group(1)), int(match.group(2))


def chat_of(name: str) -> int | None:
    """The chat an execution name belongs to (albums included), or None if it is not one of ours."""
    head = name.split(ALBUM_INFIX, 1)[0] + "_1" if ALBUM_INFIX in name else name
    try:
        return parse_execution_name(head)[0]
    except ValueError:
        return None


def forget_execution_name(chat_id: int, message_id: int) -> str:
    """The one /forget execution of a confirmation message (`message_id`): a second
    tap on its button finds it started. Not an image's name (chat_of: None)."""
    return f"forget_{execution_name(chat_id, message_id)}"


def original_key(name: str, content_type: str) -> str:
    return f"{ORIGINALS_PREFIX}{name}.{_EXTENSIONS.get(content_type, 'bin')}"


def annotated_key(name: str) -> str:
    return f"{ANNOTATED_PREFIX}{name}.jpg"
