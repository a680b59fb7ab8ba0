"""The question a user asks about a photo, in English, Spanish or Russian, and
its answer: a small grammar of intents, no language model.

- COUNT X: "how many dogs?", "¿cuántos perros hay?", "сколько собак?",
  "count the cars": the answer counts X alone ("I count 4 people (maybe 5).").
- FIND X: "find the cat", "only ties", "show me the buses", "count only the
  ties", "busca el gato", "solo personas", "найди собаку", "покажи только
  людей": the annotated image shows X alone, and the answer counts it. A find
  cue wins over a count cue ("count only the ties" is a find).
- UNKNOWN: a cue followed by a word that names none of the model's classes
  ("how many tigers?"): the answer says the model does not know it, names the
  nearest class it knows, and gives the photo's usual summary.
- Anything else (no cue, "Hi all, photos from Saturday", a cue with no noun:
  "how many?") is no question: the photo gets today's answer.

Class names come from polybot.vocabulary (every form of the catalogs,
Snowball-stemmed, all three languages). The nearest known class of an unknown
word (choice, written down here): first a small table of related words per
language (RELATED: tiger/lion → cat, wolf/fox → dog, van → truck, ...), then
string closeness of the word's stem to the stems of every class name
(difflib, CLOSE_ENOUGH), in the user's language first. A find cue followed by
a word with no nearest class is no question (a caption "show you my
holidays" keeps today's answer); a count cue's is still an UNKNOWN (with no
nearest named): "how many" asks for something countable.

Pure: used by the bot (a photo's caption, a text about the last photo) and
by SendReply (the answer's text, without the grammar's imports).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from polybot import i18n, summary

# The grammar's words (polybot.vocabulary, with its Snowball stemmers) are imported
# where a text is parsed, by the bot: SendReply only phrases answers, and its
# Lambda neither ships snowballstemmer nor pays for importing it (cold starts).

Kind = Literal["count", "find", "unknown"]

_COUNT_CUES = {
    "en": ("how many", "number of", "count"),
    "es": ("cuántos", "cuántas", "cuantos", "cuantas", "cuenta", "contar", "número de", "numero de"),
    "ru": ("сколько", "посчитай", "сосчитай", "подсчитай", "посчитайте", "сосчитайте"),
}
_FIND_CUES = {
    "en": ("find", "only", "show", "where", "locate", "highlight", "look for", "just the"),
    "es": ("busca", "buscar", "encuentra", "solo", "sólo", "solamente", "muestra", "muéstrame", "dónde", "donde"),
    "ru": ("найди", "найдите", "найти", "покажи", "покажите", "только", "где", "отметь", "выдели"),
}
_FILLERS = {
    "en": {"the", "a", "an", "me", "all", "of", "are", "is", "there", "do", "you", "see", "any", "my", "only", "just"},
    "es": {"el", "la", "los", "las", "un", "una", "unos", "unas", "de", "me", "hay", "ves", "todos", "todas", "mis"},
    "ru": {"мне", "все", "всех", "тут", "здесь", "на", "фото", "есть", "видишь", "ты", "мои"},
}
"""Words a question puts between its cue and the thing asked about."""
_NOT_THINGS = {
    "en": {"photo", "photos", "picture", "pictures", "image", "images", "pic", "pics", "here", "it", "them", "this"},
    "es": {"foto", "fotos", "imagen", "imágenes", "aquí", "esto", "esta", "este"},
    "ru": {"фото", "фотографии", "фотография", "картинка", "картинке", "снимок", "снимке", "это", "их"},
}
"""Words after a cue that ask about no thing: "show the photo" is no question."""

RELATED: Mapping[str, Mapping[str, str]] = {
    "en": {
        "tiger": "cat", "lion": "cat", "leopard": "cat", "cheetah": "cat", "panther": "cat", "lynx": "cat",
        "wolf": "dog", "fox": "dog", "coyote": "dog", "jackal": "dog",
        "pony": "horse", "donkey": "horse", "mule": "horse", "zebra": "zebra",
        "goat": "sheep", "lamb": "sheep", "deer": "horse", "camel": "horse",
        "ox": "cow", "bull": "cow", "calf": "cow", "buffalo": "cow", "pig": "cow",
        "van": "truck", "lorry": "truck", "pickup": "truck", "taxi": "car", "jeep": "car", "suv": "car",
        "minibus": "bus", "tram": "train", "scooter": "motorcycle", "moped": "motorcycle", "ship": "boat",
        "plane": "airplane", "aeroplane": "airplane", "jet": "airplane", "helicopter": "airplane",
        "parrot": "bird", "pigeon": "bird", "duck": "bird", "chicken": "bird", "owl": "bird", "eagle": "bird",
        "puppy": "dog", "kitten": "cat", "baby": "person", "girl": "person", "boy": "person",
    },
    "es": {
        "tigre": "cat", "león": "cat", "leon": "cat", "leopardo": "cat", "guepardo": "cat", "lince": "cat",
        "lobo": "dog", "zorro": "dog", "coyote": "dog",
        "poni": "horse", "burro": "horse", "mula": "horse", "asno": "horse", "ciervo": "horse", "camello": "horse",
        "cabra": "sheep", "cordero": "sheep", "toro": "cow", "buey": "cow", "ternero": "cow", "cerdo": "cow",
        "furgoneta": "truck", "camioneta": "truck", "taxi": "car", "coche": "car", "auto": "car",
        "tranvía": "train", "patinete": "motorcycle", "barco": "boat", "buque": "boat",
        "helicóptero": "airplane", "loro": "bird", "paloma": "bird", "pato": "bird", "gallina": "bird",
        "búho": "bird", "águila": "bird", "bebé": "person",
    },
    "ru": {
        "тигр": "cat", "лев": "cat", "леопард": "cat", "гепард": "cat", "рысь": "cat",
        "волк": "dog", "лиса": "dog", "лис": "dog", "шакал": "dog",
        "пони": "horse", "осел": "horse", "мул": "horse", "олень": "horse", "верблюд": "horse",
        "коза": "sheep", "козел": "sheep", "баран": "sheep", "ягненок": "sheep",
        "бык": "cow", "теленок": "cow", "свинья": "cow",
        "фургон": "truck", "микроавтобус": "bus", "такси": "car", "джип": "car", "трамвай": "train",
        "самокат": "motorcycle", "мопед": "motorcycle", "корабль": "boat", "вертолет": "airplane",
        "попугай": "bird", "голубь": "bird", "утка": "bird", "курица": "bird", "сова": "bird", "орел": "bird",
        "младенец": "person",
    },
}  # fmt: skip
"""Words for things the model does not know -> the class nearest to them it knows."""

MIN_THING = 3
"""Letters an unknown thing has at least: "count me in" and "how many of us" ask about nothing."""
CLOSE_ENOUGH = 0.75
"""difflib's ratio from which a word's stem counts as close to a class name's ("dogz" ~ "dog")."""


@dataclass(frozen=True)
class Question:
    """What a user asks about a photo."""

    kind: Kind
    class_name: str | None
    """The COCO class asked about; for an UNKNOWN, the nearest class known (None: none is near)."""
    asked: str = ""
    """The words the user wrote for it."""

    def as_message(self) -> dict[str, Any]:
        """The ImageRequest's `question` (polybot/contracts/messages.schema.json)."""
        return {"kind": self.kind, "class_name": self.class_name, "asked": self.asked}

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Question:
        return cls(message["kind"], message.get("class_name"), message.get("asked") or "")

    @property
    def only(self) -> list[str]:
        """The classes the annotated image shows alone: the one a FIND asks for."""
        return [self.class_name] if self.kind == "find" and self.class_name else []


def _normal(text: str) -> str:
    from polybot import vocabulary

    return " ".join(w.text.lower().replace("ё", "е") for w in vocabulary.words(text))


def _cue(text: str, cues: Mapping[str, Iterable[str]], prefer: str) -> tuple[str, int] | None:
    """The language and end (character offset in the normalised text) of the first cue found."""
    found: list[tuple[int, int, str]] = []
    for language in _languages(prefer):
        for cue in cues[language]:
            for match in re.finditer(rf"(?<!\w){re.escape(cue)}(?!\w)", text):
                found.append((match.start(), -match.end(), language))
    if not found:
        return None
    _, end, language = min(found)
    return language, -end


def _languages(prefer: str) -> list[str]:
    first = prefer if prefer in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    return [first, *(language for language in i18n.LANGUAGES if language != first)]


def _thing_after(text: str, end: int, language: str) -> str | None:
    """The first word after the cue that is no filler ("how many of the tigers" -> "tigers")."""
    from polybot import vocabulary

    fillers = set().union(*_FILLERS.values())
    for word in vocabulary.words(text[end:]):
        if word.text in fillers:
            continue
        if word.text in _NOT_THINGS[language] or len(word.text) < MIN_THING or not word.text.isalpha():
            return None
        return word.text
    return None


def nearest_class(word: str, prefer: str = i18n.DEFAULT_LANGUAGE) -> str | None:
    """The class the model knows nearest to `word`: RELATED, then string closeness."""
    import difflib

    from polybot import vocabulary

    for language in _languages(prefer):
        stem = vocabulary.stem(word, language)
        for related, class_name in RELATED[language].items():
            if vocabulary.stem(related, language) == stem:
                return class_name
    for language in _languages(prefer):
        stem = vocabulary.stem(word, language)
        names = {run[0]: name for run, name in vocabulary.names(language).items() if len(run) == 1}
        close = difflib.get_close_matches(stem, list(names), n=1, cutoff=CLOSE_ENOUGH)
        if close:
            return names[close[0]]
    return None


def parse(text: str | None, prefer: str = i18n.DEFAULT_LANGUAGE) -> Question | None:
    """The question `text` asks (a caption, a message), in the user's language
    `prefer` first; None when it asks none."""
    from polybot import vocabulary

    if not text:
        return None
    normal = _normal(text)
    find, count = _cue(normal, _FIND_CUES, prefer), _cue(normal, _COUNT_CUES, prefer)
    cue = find or count
    if cue is None:
        return None
    kind: Kind = "find" if find else "count"
    mentions = vocabulary.mentions(text, prefer)
    if mentions:
        first = mentions[0]
        return Question(kind, first.class_name, text[first.start : first.end])
    language, end = cue
    thing = _thing_after(normal, end, language)
    if thing is None:
        return None
    nearest = nearest_class(thing, prefer)
    if nearest is None and kind == "find":
        return None
    return Question("unknown", nearest, thing)


# --- answers ---------------------------------------------------------------------


def none_of(class_name: str, language: str) -> str:
    """The class in "I don't see any …": English and Spanish plural, Russian genitive plural
    (its catalog's `none` form where the counted one does not fit: "людей", not "человек")."""
    forms = i18n.catalog(language)["classes"].get(class_name)
    if forms is None:
        return class_name
    if "none" in forms:
        return str(forms["none"])
    return i18n.counted(class_name, 5, language).replace("5", "", 1).strip()


def numbered(class_name: str, count: int, language: str) -> str:
    """`count` objects with their number, one too ("1 person", not "a person": it answers "how many")."""
    forms = i18n.catalog(language)["classes"].get(class_name)
    if forms is None:
        return i18n.counted(class_name, count, language)
    form = forms.get(i18n.plural_category(language, count)) or forms["other"]
    return str(form).format(n=count)


def counting(
    question: Question, detections: Iterable[Mapping[str, Any]], language: str, image_width: int | None = None
) -> str:
    """The answer to a COUNT or FIND: "I count 4 people (maybe 5)." or "I don't see any dogs."."""
    class_name = question.class_name or ""
    asked = [d for d in detections if d["label"] == class_name]
    sure = sum(1 for d in asked if float(d["confidence"]) >= summary.CONFIDENT)
    unsure = len(asked) - sure
    if sure:
        phrase = numbered(class_name, sure, language)
        if unsure:
            phrase = i18n.text("summary.maybe_more", language, phrase=phrase, total=sure + unsure)
        return i18n.text("question.count", language, things=phrase)
    if unsure:
        return i18n.text("question.count_maybe", language, things=numbered(class_name, unsure, language))
    return i18n.text("question.none", language, things=none_of(class_name, language))


def unknown(question: Question, language: str) -> str:
    """ "I don't know "tigers"; the nearest I know is a cat."."""
    if question.class_name is None:
        return i18n.text("question.unknown", language, asked=question.asked)
    nearest = i18n.counted(question.class_name, 1, language)
    return i18n.text("question.unknown_nearest", language, asked=question.asked, nearest=nearest)


def answer(
    question: Question, detections: list[Mapping[str, Any]], language: str, image_width: int | None = None
) -> str:
    """The text of a photo's answer to `question`, within a caption's limit: the count
    (COUNT, FIND), or the unknown word said and the photo's usual summary (UNKNOWN)."""
    if question.kind == "unknown":
        text = unknown(question, language) + "\n\n" + summary.caption(detections, language, image_width)
    else:
        text = counting(question, detections, language, image_width)
    return summary.shorten(text, summary.CAPTION_LIMIT)
