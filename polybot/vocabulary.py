"""Which of the model's classes a user's words name, in English, Spanish and
Russian: "how many dogs?", "¿cuántos perros?", "сколько собак?", "найди
собаку", "/history gato".

Every form polybot.i18n knows of a class (its name, "a bus", each plural form
"3 buses", "3 de personas", "5 собак") and the few extra words of the
catalogs' `words` lists ("people", "gente", "людей", "kitten") are cut into
words and stemmed with the language's Snowball stemmer (snowballstemmer, the
stemmers Sphinx and Lucene-based search use), so "собаку", "собаки" and
"собак" all name `dog` and "perros" names it as "perro" does, without a table
of every case. Multi-word classes ("traffic light", "señal de stop",
"плюшевый мишка") match as a run of words; the longest run wins.

Pure: no I/O after the catalogs are read. Used by the bot (a caption's
question, /history <class>).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

import snowballstemmer

from polybot import i18n

_STEMMERS = {"en": "english", "es": "spanish", "ru": "russian"}
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_NOT_PART_OF_A_NAME = {
    "en": {"a", "an", "the"},
    "es": {"un", "una", "unos", "unas", "el", "la", "los", "las", "de"},
    "ru": set(),
}
"""Words a catalog form carries around the name ("a bus", "5 de personas")."""


@dataclass(frozen=True)
class Word:
    text: str
    """As written."""
    start: int
    end: int
    """Its place in the text (character offsets)."""


@dataclass(frozen=True)
class Mention:
    """Words of a text that name one of the model's classes."""

    class_name: str
    """The COCO class name, as polybot.i18n and the detections call it."""
    language: str
    """The language whose words matched."""
    start: int
    end: int
    """Character offsets of the words in the text."""


def _normal(word: str) -> str:
    """Lower case, composed, "ё" as its plain letter (Russian writes both), no typographic apostrophe."""
    return unicodedata.normalize("NFC", word).lower().replace("ё", "е").replace("’", "'")


def words(text: str) -> list[Word]:
    """The words of `text`, hyphenated and apostrophised ones whole ("хот-дог")."""
    return [Word(match.group(), match.start(), match.end()) for match in _WORD.finditer(text)]


@cache
def _stemmer(language: str) -> snowballstemmer.Stemmer:
    return snowballstemmer.stemmer(_STEMMERS[language])


def stem(word: str, language: str) -> str:
    return str(_stemmer(language).stemWord(_normal(word)))


def _stems(phrase: str, language: str) -> tuple[str, ...]:
    found = [w.text for w in words(phrase.replace("{n}", " "))]
    while found and _normal(found[0]) in _NOT_PART_OF_A_NAME[language]:
        found.pop(0)
    return tuple(stem(w, language) for w in found)


@cache
def _names(language: str) -> dict[tuple[str, ...], str]:
    """Every stemmed run of words that names a class in `language` -> the class."""
    names: dict[tuple[str, ...], str] = {}
    for class_name, forms in i18n.catalog(language)["classes"].items():
        phrases: Iterable[str] = [value for key, value in forms.items() if isinstance(value, str)]
        phrases = [*phrases, *forms.get("words", [])]
        for phrase in phrases:
            run = _stems(phrase, language)
            if run:
                names.setdefault(run, class_name)
    return names


def names(language: str) -> Mapping[tuple[str, ...], str]:
    """Every stemmed run of words that names a class in `language` -> the class (polybot.questions
    measures an unknown word's closeness to them)."""
    return _names(language)


def _languages(prefer: str) -> list[str]:
    first = prefer if prefer in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    return [first, *(language for language in i18n.LANGUAGES if language != first)]


def mentions(text: str, prefer: str = i18n.DEFAULT_LANGUAGE) -> list[Mention]:
    """The classes `text` names, in order, each run of words once. Words are
    tried in `prefer` (the user's language) first, then in the others, so a
    Spanish speaker writing "cat" is understood too."""
    found = words(text)
    taken: list[Mention] = []
    index = 0
    while index < len(found):
        match = _longest_at(found, index, prefer)
        if match is None:
            index += 1
            continue
        mention, length = match
        taken.append(mention)
        index += length
    return taken


def _longest_at(found: list[Word], index: int, prefer: str) -> tuple[Mention, int] | None:
    best: tuple[Mention, int] | None = None
    for language in _languages(prefer):
        names = _names(language)
        longest = max(len(run) for run in names)
        stems = [stem(w.text, language) for w in found[index : index + longest]]
        for length in range(len(stems), 0, -1):
            class_name = names.get(tuple(stems[:length]))
            if class_name is not None:
                if best is None or length > best[1]:
                    mention = Mention(class_name, language, found[index].start, found[index + length - 1].end)
                    best = (mention, length)
                break
    return best


def class_named(text: str, prefer: str = i18n.DEFAULT_LANGUAGE) -> str | None:
    """The class `text` names when that is all it names ("cats", "señal de stop"), else None."""
    found = mentions(text, prefer)
    return found[0].class_name if len(found) == 1 else None
