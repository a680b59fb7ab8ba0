"""The catalogs (polybot/i18n/*.json): every key and class in every language,
with every plural form its CLDR rules need, the same placeholders everywhere,
and every character the worker draws covered by the label font."""

from __future__ import annotations

import importlib.util
import string
from pathlib import Path

import pytest
import yaml
from babel import Locale
from PIL import ImageFont

from polybot import i18n

OTHERS = [language for language in i18n.LANGUAGES if language != i18n.DEFAULT_LANGUAGE]


def coco_class_names() -> list[str]:
    """The 80 class names of the COCO-trained models, as Ultralytics ships them (no model loaded)."""
    spec = importlib.util.find_spec("ultralytics")
    assert spec is not None and spec.submodule_search_locations
    dataset = Path(spec.submodule_search_locations[0]) / "cfg" / "datasets" / "coco.yaml"
    names = yaml.safe_load(dataset.read_text(encoding="utf-8"))["names"]
    return [names[index] for index in sorted(names)]


def plural_categories(language: str) -> set[str]:
    return set(Locale.parse(i18n.catalog(language)["locale"]).plural_form.tags) | {"other"}


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def test_english_names_exactly_the_classes_the_models_detect() -> None:
    assert i18n.class_names("en") == coco_class_names()


@pytest.mark.parametrize("language", OTHERS)
def test_every_text_and_class_exists_in_every_language(language: str) -> None:
    english, other = i18n.catalog("en"), i18n.catalog(language)

    assert set(other["texts"]) == set(english["texts"])
    assert list(other["classes"]) == list(english["classes"])


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_texts_have_the_placeholders_and_plural_forms_of_english(language: str) -> None:
    for key, english in i18n.catalog("en")["texts"].items():
        entry = i18n.catalog(language)["texts"][key]
        if isinstance(english, dict):
            assert set(entry) == plural_categories(language), key
            assert all(placeholders(form) == {"n"} for form in entry.values()), key
        else:
            assert isinstance(entry, str) and entry.strip(), key
            assert placeholders(entry) == placeholders(english), key


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_class_has_its_name_one_object_and_each_plural_form(language: str) -> None:
    for class_name, forms in i18n.catalog(language)["classes"].items():
        # `none`, where the catalog has it: the class after "I don't see any" (polybot.questions.none_of).
        assert set(forms) - {"words", "none"} == {"name", "single"} | plural_categories(language), class_name
        assert all(isinstance(word, str) and word.strip() for word in forms.get("words", [])), class_name
        assert forms["name"] and forms["single"] and "{" not in forms["single"], class_name
        assert all("{n}" in forms[c] for c in plural_categories(language)), class_name


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["a person", "2 people", "5 people", "21 people"]),
        ("es", ["una persona", "2 personas", "5 personas", "21 personas"]),
        ("ru", ["человек", "2 человека", "5 человек", "21 человек"]),
    ],
)
def test_counts_take_the_plural_form_the_language_needs(language: str, expected: list[str]) -> None:
    assert [i18n.counted("person", n, language) for n in (1, 2, 5, 21)] == expected


def test_russian_needs_three_forms_for_whole_numbers() -> None:
    assert [i18n.counted("bus", n, "ru") for n in (2, 5, 11, 22, 101)] == [
        "2 автобуса",
        "5 автобусов",
        "11 автобусов",
        "22 автобуса",
        "101 автобус",
    ]


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("es-MX", "es"),
        ("ES", "es"),
        ("ru", "ru"),
        ("uk", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_users_telegram_language_picks_the_language_english_otherwise(code: str | None, language: str) -> None:
    assert i18n.language_of(code) == language


def test_labels_are_translated_and_unknown_classes_keep_their_name() -> None:
    assert [i18n.label("traffic light", language) for language in i18n.LANGUAGES] == [
        "traffic light",
        "semáforo",
        "светофор",
    ]
    assert i18n.label("forklift", "es") == "forklift"
    assert i18n.label("person", "de") == "person", "a language Polybot does not speak: English"


def test_lists_are_joined_as_each_language_writes_them() -> None:
    items = ["3 people", "a bus", "a handbag"]
    assert i18n.join(items, "en") == "3 people, a bus and a handbag"
    assert i18n.join(items, "es") == "3 people, a bus y a handbag"
    assert i18n.join(items, "ru") == "3 people, a bus и a handbag"


def _notdef_free(font: ImageFont.FreeTypeFont, text: str) -> list[str]:
    """The characters of `text` the font has no glyph for (it would draw its .notdef box)."""
    missing = font.getmask("\U0010fffd")
    notdef = (missing.size, bytes(missing))
    found = []
    for character in set(text) - set(string.whitespace):
        mask = font.getmask(character)
        if (mask.size, bytes(mask)) == notdef:
            found.append(character)
    return sorted(found)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_label_font_has_a_glyph_for_every_character_of_every_label(language: str) -> None:
    font = ImageFont.truetype(str(i18n.label_font_path()), 24)
    labels = "".join(i18n.label(name, language) for name in i18n.class_names(language))

    assert _notdef_free(font, "中") == ["中"], "the check tells a missing glyph"
    assert _notdef_free(font, labels + "0123456789.%") == []
    rendered = font.getbbox(i18n.label("person", language) + " 90%")
    assert rendered[2] - rendered[0] > 50, "the label renders with a width"
