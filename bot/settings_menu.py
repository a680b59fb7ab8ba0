"""The /settings message: the chat's preferences in words, and inline keyboards
whose buttons change them ("s:<field>:<value>"; bot/handlers.py answers the
taps and edits the message to show the new choice). Pure rendering."""

from __future__ import annotations

from typing import Any

from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.preferences import ALBUM_REPLIES, Choices
from polybot import callbacks, i18n, summary
from polybot.contracts.messages import Preferences

CHOSEN = "✓ "


def model_name(model: str) -> str:
    """A weights file as the user reads it: its name without folder and extension."""
    return model.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def settings_text(preferences: Preferences, language: str) -> str:
    return i18n.text(
        "settings.title",
        language,
        confidence=i18n.percent(preferences["confidence"], language),
        model=model_name(preferences["model"]),
        album=i18n.text(f"settings.album.{preferences['album_reply']}", language),
        sure=i18n.percent(summary.CONFIDENT, language),
    )


def parse(data: str) -> tuple[str, Any]:
    """(field, value) of a settings button's callback_data; ValueError if it is not one."""
    field, _, raw = data.removeprefix(callbacks.SETTINGS).partition(":")
    if field == "confidence":
        return field, float(raw)
    if field in ("model", "album_reply") and raw:
        return field, raw
    raise ValueError(f"not a settings button: {data!r}")


def _button(text: str, field: str, value: Any, chosen: bool) -> InlineKeyboardButton | None:
    data = f"{callbacks.SETTINGS}{field}:{value}"
    if len(data.encode()) > callbacks.MAX_BYTES:
        return None  # Telegram refuses longer callback_data; a model with such a name is not offered here
    return InlineKeyboardButton((CHOSEN if chosen else "") + text, callback_data=data)


def settings_keyboard(preferences: Preferences, choices: Choices, language: str) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton | None]] = [
        [
            _button(i18n.percent(c, language), "confidence", c, c == preferences["confidence"])
            for c in choices.confidences
        ],
        [_button(model_name(m), "model", m, m == preferences["model"]) for m in choices.models],
        [
            _button(i18n.text(f"settings.album.{a}", language), "album_reply", a, a == preferences["album_reply"])
            for a in ALBUM_REPLIES
        ],
    ]
    markup = InlineKeyboardMarkup()
    for row in rows:
        buttons = [b for b in row if b is not None]
        if buttons:
            markup.row(*buttons)
    return markup
