"""The /settings message: the chat's preferences in words, and inline keyboards
whose buttons change them ("s:<field>:<value>"; bot/handlers.py answers the
taps and edits the message to show the new choice). Pure rendering.

Telegram's inline keyboards have no row labels, so each row of choices comes
under a header button of its own naming it ("Confidence threshold ↓"); a tap
on a header ("s:about:<field>") changes nothing and answers with what the row
is for. The message's text names the same three, in the same order.

Models are shown by what they mean to a user (fast, balanced, more
accurate…), from the size letter of a YOLO weights file's name (yolov8n:
nano, the fastest); two offered models of the same size add their generation
("fast (YOLOv5)"); a weights file of another name is shown by that name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.preferences import ALBUM_REPLIES, Choices
from polybot import callbacks, i18n, summary
from polybot.contracts.messages import Preferences

CHOSEN = "✓ "
ABOUT = "about"
"""The field of a row's header button: "s:about:<field>"."""
FIELDS = {"confidence": "settings.confidence", "model": "settings.model", "album_reply": "settings.album"}
"""The rows of the keyboard, top to bottom, as the text names them, and the text naming each."""

_YOLO = re.compile(r"^yolo(?:v)?(?P<generation>\d+)(?P<size>[nsmlx])u?$", re.IGNORECASE)
"""Ultralytics' weights names: yolov8n, yolov5nu, yolo11s... (generation, size letter)."""


def file_name(model: str) -> str:
    """A weights file without folder and extension: "yolov8n"."""
    return model.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def model_name(model: str, language: str, offered: Sequence[str] = ()) -> str:
    """What `model` means to a user, in `language`: its speed and accuracy for a
    YOLO weights file, its file name otherwise. Among `offered`, two of the same
    size are told apart by their generation."""
    found = _YOLO.match(file_name(model))
    if found is None:
        return file_name(model)
    size = found["size"].lower()
    name = i18n.text(f"settings.model.{size}", language)
    same_size = [m for m in offered if (other := _YOLO.match(file_name(m))) and other["size"].lower() == size]
    if len(same_size) > 1:
        name += f" (YOLOv{found['generation']})"
    return name


def threshold_explained(confidence: float, language: str) -> str:
    """What the chosen threshold does: below it nothing is reported; between it and
    summary.CONFIDENT a detection is hedged with "maybe" (a band there is only
    while the threshold is under CONFIDENT)."""
    if summary.hedged_between(confidence):
        return i18n.text(
            "settings.explain.hedged",
            language,
            confidence=i18n.percent(confidence, language),
            sure=i18n.percent(summary.CONFIDENT, language),
        )
    return i18n.text("settings.explain.sure", language, confidence=i18n.percent(confidence, language))


def settings_text(preferences: Preferences, language: str, offered: Sequence[str] = ()) -> str:
    return i18n.text(
        "settings.title",
        language,
        confidence=i18n.percent(preferences["confidence"], language),
        model=model_name(preferences["model"], language, offered),
        album=i18n.text(f"settings.album.{preferences['album_reply']}", language),
        explained=threshold_explained(preferences["confidence"], language),
    )


def parse(data: str) -> tuple[str, Any]:
    """(field, value) of a settings button's callback_data; ValueError if it is not one."""
    field, _, raw = data.removeprefix(callbacks.SETTINGS).partition(":")
    if field == "confidence":
        return field, float(raw)
    if field in ("model", "album_reply") and raw:
        return field, raw
    raise ValueError(f"not a settings button: {data!r}")


def about(data: str, language: str) -> str | None:
    """The notice a row's header button answers with; None for any other button."""
    field, _, raw = data.removeprefix(callbacks.SETTINGS).partition(":")
    if field != ABOUT or raw not in FIELDS:
        return None
    return i18n.text(f"settings.about.{raw}", language)


def _button(text: str, field: str, value: Any, chosen: bool) -> InlineKeyboardButton | None:
    data = f"{callbacks.SETTINGS}{field}:{value}"
    if len(data.encode()) > callbacks.MAX_BYTES:
        return None  # Telegram refuses longer callback_data; a model with such a name is not offered here
    return InlineKeyboardButton((CHOSEN if chosen else "") + text, callback_data=data)


def _header(field: str, language: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        i18n.text("settings.row", language, name=i18n.text(FIELDS[field], language)),
        callback_data=f"{callbacks.SETTINGS}{ABOUT}:{field}",
    )


def settings_keyboard(preferences: Preferences, choices: Choices, language: str) -> InlineKeyboardMarkup:
    rows: dict[str, list[InlineKeyboardButton | None]] = {
        "confidence": [
            _button(i18n.percent(c, language), "confidence", c, c == preferences["confidence"])
            for c in choices.confidences
        ],
        "model": [
            _button(model_name(m, language, choices.models), "model", m, m == preferences["model"])
            for m in choices.models
        ],
        "album_reply": [
            _button(i18n.text(f"settings.album.{a}", language), "album_reply", a, a == preferences["album_reply"])
            for a in ALBUM_REPLIES
        ],
    }
    markup = InlineKeyboardMarkup()
    for field in FIELDS:
        buttons = [b for b in rows[field] if b is not None]
        if buttons:
            markup.row(_header(field, language))
            markup.row(*buttons)
    return markup
