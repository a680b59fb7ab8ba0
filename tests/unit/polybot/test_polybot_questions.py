"""polybot.questions: the grammar of intents (a table per language: counts,
finds, unknowns, non-questions) and the answers' texts, plurals per language."""

from __future__ import annotations

from typing import Any

import pytest

from polybot import i18n, questions, summary
from polybot.questions import Question

COUNTS = [
    ("how many people?", "en", "person"),
    ("How many people are in the last photo?", "en", "person"),
    ("how many dogs are there", "en", "dog"),
    ("count the cars", "en", "car"),
    ("number of buses?", "en", "bus"),
    ("¿Cuántos perros hay?", "es", "dog"),
    ("cuántas personas", "es", "person"),
    ("cuenta los coches", "es", "car"),
    ("¿cuantos autobuses?", "es", "bus"),
    ("сколько собак?", "ru", "dog"),
    ("Сколько людей на фото", "ru", "person"),
    ("посчитай машины", "ru", "car"),
    ("сколько тут светофоров?", "ru", "traffic light"),
]
FINDS = [
    ("find the cat", "en", "cat"),
    ("only ties", "en", "tie"),
    ("count only the ties", "en", "tie"),
    ("show me the buses", "en", "bus"),
    ("where is the dog?", "en", "dog"),
    ("busca el gato", "es", "cat"),
    ("solo personas", "es", "person"),
    ("sólo los autobuses", "es", "bus"),
    ("muéstrame las señales de stop", "es", "stop sign"),
    ("найди собаку", "ru", "dog"),
    ("покажи только людей", "ru", "person"),
    ("только автобусы", "ru", "bus"),
    ("где кошка?", "ru", "cat"),
]
UNKNOWNS = [
    ("how many tigers?", "en", "tigers", "cat"),
    ("how many lions are there", "en", "lions", "cat"),
    ("how many vans", "en", "vans", "truck"),
    ("find the wolf", "en", "wolf", "dog"),
    ("how many unicorns?", "en", "unicorns", None),
    ("¿cuántos tigres hay?", "es", "tigres", "cat"),
    ("busca los lobos", "es", "lobos", "dog"),
    ("cuántas furgonetas", "es", "furgonetas", "truck"),
    ("сколько тигров?", "ru", "тигров", "cat"),
    ("найди волка", "ru", "волка", "dog"),
    ("сколько фургонов", "ru", "фургонов", "truck"),
]
NOT_QUESTIONS = [
    ("Hi all, photos from Saturday", "en"),
    ("my dog", "en"),
    ("how many?", "en"),
    ("show me the photo", "en"),
    ("find the unicorn", "en"),
    ("Count me in!", "en"),
    ("Photos from our trip, only the best ones", "en"),
    ("Show me what you see", "en"),
    ("", "en"),
    ("Fotos del sábado con mi perro", "es"),
    ("¿cuántos?", "es"),
    ("Фото с субботы", "ru"),
    ("сколько здесь?", "ru"),
    ("Привет всем", "ru"),
]


@pytest.mark.parametrize(("text", "language", "class_name"), COUNTS)
def test_a_count_question_names_its_class(text: str, language: str, class_name: str) -> None:
    question = questions.parse(text, language)

    assert question is not None and (question.kind, question.class_name) == ("count", class_name)
    assert question.only == [], "a count draws every detection"


@pytest.mark.parametrize(("text", "language", "class_name"), FINDS)
def test_a_find_question_draws_its_class_alone(text: str, language: str, class_name: str) -> None:
    question = questions.parse(text, language)

    assert question is not None and (question.kind, question.class_name) == ("find", class_name)
    assert question.only == [class_name]


@pytest.mark.parametrize(("text", "language", "asked", "nearest"), UNKNOWNS)
def test_a_thing_the_model_does_not_know_is_named_with_the_nearest_it_knows(
    text: str, language: str, asked: str, nearest: str | None
) -> None:
    question = questions.parse(text, language)

    assert question == Question("unknown", nearest, asked)
    assert question.only == []


@pytest.mark.parametrize(("text", "language"), NOT_QUESTIONS)
def test_a_text_that_asks_nothing_is_no_question(text: str, language: str) -> None:
    assert questions.parse(text, language) is None


def test_a_question_in_another_language_than_the_users_is_understood() -> None:
    assert questions.parse("сколько собак?", "en") == Question("count", "dog", "собак")
    assert questions.parse("how many dogs?", "ru") == Question("count", "dog", "dogs")


def test_the_nearest_class_falls_back_to_string_closeness() -> None:
    assert questions.nearest_class("dogz", "en") == "dog"
    assert questions.nearest_class("xylophone", "en") is None


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_related_word_points_at_a_class_the_model_knows(language: str) -> None:
    assert set(questions.RELATED[language].values()) <= set(i18n.class_names(language))


def test_the_message_form_of_a_question_reads_back() -> None:
    question = Question("find", "dog", "собаку")

    assert Question.from_message(question.as_message()) == question


def _people(sure: int, unsure: int) -> list[dict[str, Any]]:
    return [{"label": "person", "confidence": 0.9, "box": [0, 0, 10, 10]}] * sure + [
        {"label": "person", "confidence": 0.3, "box": [0, 0, 10, 10]}
    ] * unsure


BUS = {"label": "bus", "confidence": 0.9, "box": [0, 0, 100, 100]}


@pytest.mark.parametrize(
    ("language", "sure", "unsure", "expected"),
    [
        ("en", 24, 1, "I count 24 people (maybe 25)."),
        ("en", 1, 0, "I count 1 person."),
        ("en", 0, 2, "I'm not sure, but I may see 2 people."),
        ("es", 24, 1, "Cuento 24 personas (quizás 25)."),
        ("es", 1, 0, "Cuento 1 persona."),
        ("ru", 24, 1, "Я насчитал: 24 человека (возможно, 25)."),
        ("ru", 5, 0, "Я насчитал: 5 человек."),
        ("ru", 21, 0, "Я насчитал: 21 человек."),
    ],
)
def test_a_count_counts_the_class_alone_with_the_hedge(language: str, sure: int, unsure: int, expected: str) -> None:
    detections = [*_people(sure, unsure), BUS]

    assert questions.counting(Question("count", "person"), detections, language) == expected


@pytest.mark.parametrize(
    ("language", "class_name", "expected"),
    [
        ("en", "dog", "I don't see any dogs."),
        ("en", "person", "I don't see any people."),
        ("es", "dog", "No veo perros."),
        ("es", "person", "No veo personas."),
        ("ru", "dog", "Я не вижу собак."),
        ("ru", "person", "Я не вижу людей."),
        ("ru", "bus", "Я не вижу автобусов."),
    ],
)
def test_none_found_is_said_in_the_languages_plural(language: str, class_name: str, expected: str) -> None:
    assert questions.counting(Question("count", class_name), [BUS] if class_name != "bus" else [], language) == (
        expected
    )


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_an_unknown_is_said_with_the_nearest_and_the_usual_summary(language: str) -> None:
    detections = [BUS]
    text = questions.answer(Question("unknown", "cat", "tigers"), detections, language)

    said, usual = text.split("\n\n")
    assert "tigers" in said and i18n.counted("cat", 1, language) in said
    assert usual == summary.caption(detections, language)


def test_an_unknown_without_a_nearest_class_says_so() -> None:
    text = questions.answer(Question("unknown", None, "unicorns"), [BUS], "en")

    assert text.startswith(i18n.text("question.unknown", "en", asked="unicorns"))


HELP_EXAMPLES = {
    "en": [("how many people?", "count", "person"), ("find the dogs", "find", "dog")],
    "es": [("¿cuántas personas hay?", "count", "person"), ("busca los perros", "find", "dog")],
    "ru": [("сколько людей?", "count", "person"), ("найди собак", "find", "dog")],
}
HELP_SEARCHES = {"en": ("/history cat", "cat"), "es": ("/history gato", "cat"), "ru": ("/history кошка", "cat")}


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_questions_help_shows_are_the_ones_understood(language: str) -> None:
    """/help quotes two questions and a /history search: each, as quoted, is
    understood in that language, so the help cannot promise what is not."""
    from polybot import vocabulary

    shown = i18n.text("help", language, retention="30 days")
    for example, kind, class_name in HELP_EXAMPLES[language]:
        assert example in shown, example
        question = questions.parse(example, language)
        assert question is not None and (question.kind, question.class_name) == (kind, class_name), example
    search, class_name = HELP_SEARCHES[language]
    assert search in shown
    assert vocabulary.class_named(search.split(" ", 1)[1], language) == class_name
