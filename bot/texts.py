"""What the bot itself says, in the user's language: a thin door to the
catalogs of polybot.i18n (the workflow's replies come from the same catalogs)."""

from __future__ import annotations

from typing import Any

from polybot import i18n


def say(key: str, language_code: str | None, /, **values: Any) -> str:
    """The text `key` for a Telegram user whose app speaks `language_code` (English otherwise)."""
    return i18n.text(key, i18n.language_of(language_code), **values)


def progress_texts() -> frozenset[str]:
    """Every progress message in every language (the stand-in waits past them), the
    one kept for a redelivery while AWS does not answer (bot/handlers.py) included."""
    keys = ("progress", "progress_album", "unavailable_retrying")
    return frozenset(i18n.text(key, lang) for key in keys for lang in i18n.LANGUAGES)


def keeping(language: str, retention_days: int, region: str) -> dict[str, Any]:
    """The values /start, /help and /privacy state what is kept with: for how long
    (the retention in force, polybot.retention) and where (the AWS region)."""
    return {"retention": i18n.text("retention.days", language, n=retention_days), "region": region}
