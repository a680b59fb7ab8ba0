"""Polybot in the user's language: what it says, the names of what it detects,
and the font that draws those names on the annotated image.

Each language is one data file beside this module (`en.json`, `es.json`,
`ru.json`): its Babel locale, its texts by key, and the 80 COCO class names
with their forms (`name`, as on the image and in the details; `single`, one
object in a sentence, "a bus"; one `{n}` form per CLDR plural category of the
language, "3 buses"). Plural categories, lists ("a, b and c"), dates and
percentages come from Babel (CLDR data): Russian alone has three plural forms
for whole numbers, which no hand-written rule should guess.

A Telegram `language_code` ("es-MX", "ru") picks the language; anything else
gets English. Used by the bot, the reply functions (`polybot.summary`) and,
for `label` and `label_font_path`, the YOLO worker; `label` needs no Babel.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "es", "ru")
"""Languages Polybot speaks; the first is the fallback."""
DEFAULT_LANGUAGE = LANGUAGES[0]

LABEL_FONT = ("matplotlib", "mpl-data/fonts/ttf/DejaVuSans.ttf")
"""The labels' font: DejaVu Sans, which ships with matplotlib (a dependency of
Ultralytics) and covers Latin, accents and Cyrillic; nothing is downloaded at
run time (Ultralytics' own label font would be). The worker image has no
matplotlib: its build copies this file to /opt/polybot/fonts/ and names it in
POLYBOT_LABEL_FONT (polybot.settings `label_font`)."""


class UnknownText(KeyError):
    """A text key that the catalogs do not have."""


@cache
def catalog(language: str) -> dict[str, Any]:
    if language not in LANGUAGES:
        raise ValueError(f"Polybot does not speak {language!r}")
    document: dict[str, Any] = json.loads(resources.files(__package__).joinpath(f"{language}.json").read_text("utf-8"))
    return document


def language_of(language_code: str | None) -> str:
    """The language to answer a Telegram user in ("es-MX" -> "es"), English when not spoken."""
    primary = (language_code or "").replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def _locale(language: str) -> Any:
    from babel import Locale

    return Locale.parse(catalog(language)["locale"])


def plural_category(language: str, n: float) -> str:
    """CLDR's plural category of `n` in `language`: "one", "few", "many" or "other"."""
    return str(_locale(language).plural_form(n))


def _pick(forms: Mapping[str, str], language: str, n: float) -> str:
    return forms.get(plural_category(language, n)) or forms["other"]


def text(key: str, language: str, /, n: float | None = None, **values: Any) -> str:
    """The text `key` in `language`, filled with `values`; `n` chooses a plural form."""
    try:
        entry = catalog(language)["texts"][key]
    except KeyError:
        raise UnknownText(key) from None
    if isinstance(entry, dict):
        if n is None:
            raise ValueError(f"text {key!r} has plural forms: pass n")
        entry = _pick(entry, language, n)
    return str(entry).format(n=n, **values)


def _class_forms(class_name: str, language: str) -> Mapping[str, str] | None:
    forms: Mapping[str, str] | None = catalog(language)["classes"].get(class_name)
    return forms


def label(class_name: str, language: str) -> str:
    """What an object of `class_name` (a COCO class name) is called in `language`,
    as drawn on the annotated image and listed in the details; unknown classes
    (a model trained on others) keep their own name."""
    forms = _class_forms(class_name, language if language in LANGUAGES else DEFAULT_LANGUAGE)
    return forms["name"] if forms else class_name


def counted(class_name: str, count: int, language: str) -> str:
    """`count` objects of `class_name` in a sentence: "a bus", "3 people", "3 человека"."""
    forms = _class_forms(class_name, language)
    if forms is None:
        return class_name if count == 1 else f"{count} × {class_name}"
    if count == 1:
        return forms["single"]
    return _pick(forms, language, count).format(n=count)


def join(items: list[str], language: str) -> str:
    """ "a, b and c" as `language` writes lists."""
    from babel.lists import format_list

    return str(format_list(items, locale=_locale(language))) if items else ""


def percent(fraction: float, language: str) -> str:
    from babel.numbers import format_percent

    return str(format_percent(fraction, locale=_locale(language)))


RELATIVE_WITHIN = timedelta(hours=1)
"""Closer to now than this, a time is said relatively ("5 minutes ago")."""


def when(moment: datetime, language: str, now: datetime | None = None) -> str:
    """When something happened, plain about its zone: Telegram does not tell a bot
    its user's time zone, so a time is relative while recent ("5 minutes ago",
    "hace 5 minutos"), else stated in UTC and said so: "today 09:27 UTC",
    "yesterday 09:27 UTC", "29 Nov 09:27 UTC", "29 Nov 2024 09:27 UTC" (another year)."""
    from babel.dates import format_skeleton, format_time, format_timedelta

    locale = _locale(language)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    ago = now - moment
    if timedelta(0) <= ago < RELATIVE_WITHIN:
        return str(format_timedelta(-ago, add_direction=True, locale=locale))
    time = format_time(moment, "short", locale=locale)
    days = (now.date() - moment.date()).days
    if days in (0, 1):
        return text("when.today" if days == 0 else "when.yesterday", language, time=time)
    skeleton = "MMMd" if moment.year == now.year else "yMMMd"
    return text("when.date", language, date=format_skeleton(skeleton, moment, locale=locale), time=time)


def class_names(language: str = DEFAULT_LANGUAGE) -> list[str]:
    return list(catalog(language)["classes"])


def label_font_path(configured: str = "") -> Path:
    """The TrueType font the worker draws labels with: `configured` (the setting
    `label_font`; the worker image ships DejaVu Sans at /opt/polybot/fonts) when
    that file is there, else LABEL_FONT found without importing its package;
    FileNotFoundError where neither is."""
    if configured and Path(configured).is_file():
        return Path(configured)
    package, relative = LABEL_FONT
    spec = importlib.util.find_spec(package)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    where = f"{configured!r} is not a file and " if configured else ""
    raise FileNotFoundError(f"no label font: {where}{relative} of the {package} package is not installed")
