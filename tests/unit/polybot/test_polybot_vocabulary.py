"""polybot.vocabulary: the words users write name the model's classes, in each
language, in any number and (Russian) case, multi-word names whole."""

from __future__ import annotations

import pytest

from polybot import i18n, vocabulary


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("how many dogs?", "en", ["dog"]),
        ("How many people are there", "en", ["person"]),
        ("count only the ties", "en", ["tie"]),
        ("find the traffic lights", "en", ["traffic light"]),
        ("¿Cuántos perros hay?", "es", ["dog"]),
        ("cuántas personas", "es", ["person"]),
        ("busca la señal de stop", "es", ["stop sign"]),
        ("solo los autobuses", "es", ["bus"]),
        ("сколько собак?", "ru", ["dog"]),
        ("найди собаку", "ru", ["dog"]),
        ("сколько людей на фото", "ru", ["person"]),
        ("где светофоры", "ru", ["traffic light"]),
        ("покажи только плюшевых мишек", "ru", ["teddy bear"]),
        ("Сколько ёлок и кошек", "ru", ["cat"]),
        ("cats and a hot dog", "en", ["cat", "hot dog"]),
    ],
)
def test_the_words_users_write_name_the_class(text: str, language: str, expected: list[str]) -> None:
    assert [mention.class_name for mention in vocabulary.mentions(text, language)] == expected


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_form_the_replies_use_names_its_class_again(language: str) -> None:
    """Whatever Polybot itself writes ("3 buses", "5 de personas", "5 собак") reads back as that class."""
    for class_name, forms in i18n.catalog(language)["classes"].items():
        for key, form in forms.items():
            if key == "words":
                continue
            phrase = form.replace("{n}", "5")
            assert vocabulary.class_named(phrase, language) == class_name, (language, phrase)


def test_a_mention_gives_where_the_words_are() -> None:
    text = "is there a fire hydrant here?"
    (mention,) = vocabulary.mentions(text)

    assert text[mention.start : mention.end] == "fire hydrant"
    assert (mention.class_name, mention.language) == ("fire hydrant", "en")


def test_words_of_another_language_are_understood_after_the_users_own() -> None:
    assert vocabulary.class_named("gatos", "en") == "cat"
    assert vocabulary.class_named("cats", "ru") == "cat"


@pytest.mark.parametrize("text", ["hello there", "what is this?", "", "сколько здесь всего", "¿qué es esto?", "tiger"])
def test_words_that_name_no_class_name_none(text: str) -> None:
    assert vocabulary.mentions(text, "en") == []
    assert vocabulary.class_named(text) is None
