"""Hypothesis strategies for updates the webhook may receive: updates Telegram
could send (a text command, a photo, an album's photo, a file, a button tap),
each with one to three of its fields, at any depth, replaced by a value of any
JSON type or taken out: a string message_id, a chat id 1.5, a photo size whose
file_id is a list, a callback query whose message is a number."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
"""A JSON value of any type."""

MISSING = object()
"""In a replacement: take the field out."""


def usable_updates(chat_id: int) -> list[dict[str, Any]]:
    """One update of each kind the handlers serve, in chat `chat_id`, as Telegram sends them."""
    user = {"id": 1001, "is_bot": False, "first_name": "Ada", "language_code": "en"}
    chat = {"id": chat_id, "type": "private", "first_name": "Ada"}
    size = {"file_id": "AgAD-small", "file_unique_id": "u-small", "width": 90, "height": 60, "file_size": 1200}
    large = {"file_id": "AgAD-large", "file_unique_id": "u-large", "width": 900, "height": 600, "file_size": 52000}

    def message(**content: Any) -> dict[str, Any]:
        return {"message_id": 41, "date": 1_714_557_600, "chat": dict(chat), "from": dict(user), **content}

    texts = [message(text=t, entities=[{"type": "bot_command", "offset": 0, "length": len(t)}]) for t in COMMANDS]
    kinds = [
        *texts,
        message(text="hello"),
        message(photo=[dict(size), dict(large)]),
        message(photo=[dict(size), dict(large)], media_group_id="13579"),
        message(document={"file_id": "BQAD", "file_unique_id": "u2", "file_name": "a.png", "mime_type": "image/png"}),
        message(document={"file_id": "BQAE", "file_unique_id": "u3", "file_name": "a.pdf", "mime_type": "x/pdf"}),
        # Asking for a photo as a group does: a caption mention, /detect in reply to a photo.
        message(
            photo=[dict(size), dict(large)],
            caption="@polybot_local_bot what is it?",
            caption_entities=[{"type": "mention", "offset": 0, "length": 18}],
        ),
        message(
            text="/detect",
            entities=[{"type": "bot_command", "offset": 0, "length": 7}],
            reply_to_message=message(photo=[dict(size), dict(large)]),
        ),
    ]
    updates: list[dict[str, Any]] = [{"update_id": 1, "message": m} for m in kinds]
    for data in ("s:confidence:0.4", f"d:tg{chat_id}_5", f"h:tg{chat_id}_5", "unknown"):
        query = {"id": "77", "from": dict(user), "chat_instance": "ci", "data": data, "message": message(text="x")}
        updates.append({"update_id": 2, "callback_query": query})
    return updates


COMMANDS = ("/start", "/help", "/history", "/settings")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every field's path in `value` (keys and list indexes), outermost first."""
    found: list[tuple[Any, ...]] = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in children:
        found.append((*prefix, key))
        found += _paths(child, (*prefix, key))
    return found


def _replace(update: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Put `value` at `path` (MISSING: take the field out), where an earlier
    replacement left the path in place."""
    where: Any = update
    for key in path[:-1]:
        where = _child(where, key)
        if where is MISSING:
            return
    key = path[-1]
    if _child(where, key) is MISSING and (value is MISSING or not isinstance(where, dict)):
        return
    if value is MISSING:
        del where[key]
    else:
        where[key] = value


def _child(value: Any, key: Any) -> Any:
    if isinstance(value, dict) and isinstance(key, str):
        return value.get(key, MISSING)
    if isinstance(value, list) and isinstance(key, int) and key < len(value):
        return value[key]
    return MISSING


@st.composite
def odd_updates(draw: st.DrawFn, chat_id: int) -> dict[str, Any]:
    """A usable update (usable_updates) with one to three fields replaced by any JSON
    value, by a float or string of the same number, or taken out."""
    update = copy.deepcopy(draw(st.sampled_from(usable_updates(chat_id))))
    paths = _paths(update)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        value = draw(ANY_JSON | st.just(MISSING) | st.sampled_from([1.5, float(chat_id), str(chat_id), "abc", -1, 0]))
        _replace(update, path, value)
    return update
