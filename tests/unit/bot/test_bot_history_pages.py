"""/history that scales: pages of the chat's analyses (an album one entry, its
photos in album order), older/newer buttons that edit the listing in place and
fit Telegram's 64 bytes, `/history <class>` in English, Spanish and Russian, and
a bound on the index pages one request reads ("showing the first N found").
The results table is moto's, as template.yaml defines it; the bot talks to the
Telegram stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import telebot
from telebot import types

from bot import handlers, history
from bot.history import Cursor, PageRequest, Results
from local.polybot_stack import REPO_ROOT
from local.telegram_standin import TelegramStandIn
from polybot import callbacks, i18n, naming, summary
from polybot.albums import Albums
from tests.auxil.moto_results import moto_results

_ASL = json.loads((REPO_ROOT / "statemachines" / "image_pipeline.asl.json").read_text())
ASL_STATES = {**_ASL["States"], **_ASL["States"]["AnalyseAlbum"]["ItemProcessor"]["States"]}

TABLE = "results"
CHAT = 4242


def dog(confidence: float = 0.9) -> dict[str, Any]:
    return {"label": "dog", "class_id": 16, "confidence": confidence, "box": [0, 0, 100, 100]}


def cat() -> dict[str, Any]:
    return {"label": "cat", "class_id": 15, "confidence": 0.9, "box": [0, 0, 100, 100]}


def hot_dog() -> dict[str, Any]:
    return {"label": "hot dog", "class_id": 52, "confidence": 0.9, "box": [0, 0, 100, 100]}


def put(
    dynamodb: Any,
    message_id: int,
    minute: int,
    found: list[dict[str, Any]] | None = None,
    *,
    album: str | None = None,
    second: int = 0,
    chat: int = CHAT,
) -> str:
    """A results item as PersistResults writes it (an album's photo names its album)."""
    name = naming.execution_name(chat, message_id)
    item: dict[str, Any] = {
        "image_id": {"S": name},
        "chat_id": {"N": str(chat)},
        "message_id": {"N": str(message_id)},
        "received_at": {"S": f"2024-05-01T{minute // 60:02d}:{minute % 60:02d}:{second:02d}.000Z"},
        "detections": {"S": json.dumps(found or [])},
        "annotated_key": {"S": f"annotated/{name}.jpg"},
    }
    if album:
        item["media_group_id"] = {"S": album}
    dynamodb.put_item(TableName=TABLE, Item=item)
    return name


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with moto_results(monkeypatch, TABLE) as (client, _):
        yield client


@pytest.fixture
def results(dynamodb: Any) -> Results:
    return Results(dynamodb, TABLE, Albums(dynamodb, TABLE))


def names(page: history.Page) -> list[list[int]]:
    return [[naming.parse_execution_name(p.name)[1] for p in entry.photos] for entry in page.entries]


# --- the buttons' callback_data ------------------------------------------------------


@pytest.mark.parametrize("direction", [history.OLDER, history.NEWER])
def test_every_page_button_fits_telegrams_64_bytes_and_reads_back(direction: str) -> None:
    # The largest message id Telegram gives (31 bits), the bot's received_at, every class the model has.
    cursor = Cursor("2026-12-05T12:30:28.123Z", 2**31 - 1)
    for class_name in ["", *i18n.class_names()]:
        request = PageRequest(direction, cursor, class_name)
        data = request.callback_data()

        assert data is not None and len(data.encode()) <= callbacks.MAX_BYTES, class_name
        assert PageRequest.parse(data) == request


def test_a_boundary_that_would_not_fit_gets_no_button_rather_than_a_refused_keyboard() -> None:
    page = history.Page([], Cursor("x" * 80, 1), None)

    assert PageRequest(history.OLDER, Cursor("x" * 80, 1)).callback_data() is None
    assert history.page_buttons(page, "en") is None


@pytest.mark.parametrize("data", ["p:", "p:x1::2024", "p:o::2024", "p:o1:dog:", "h:tg1_2", "p:o1"])
def test_a_crafted_page_button_is_refused(data: str) -> None:
    with pytest.raises(ValueError):
        PageRequest.parse(data)


# --- the pages ------------------------------------------------------------------------


def test_pages_go_older_and_back_newer_to_the_same_entries(dynamodb: Any, results: Results) -> None:
    for i in range(25):
        put(dynamodb, 100 + i, i)
    put(dynamodb, 1, 59, chat=999)  # another chat's

    first = results.page(CHAT)
    second = results.page(CHAT, PageRequest(history.OLDER, first.older))  # type: ignore[arg-type]
    third = results.page(CHAT, PageRequest(history.OLDER, second.older))  # type: ignore[arg-type]
    back = results.page(CHAT, PageRequest(history.NEWER, third.newer))  # type: ignore[arg-type]
    front = results.page(CHAT, PageRequest(history.NEWER, back.newer))  # type: ignore[arg-type]

    assert names(first) == [[124 - i] for i in range(10)] and first.newer is None
    assert names(second) == [[114 - i] for i in range(10)]
    assert names(third) == [[104 - i] for i in range(5)] and third.older is None
    assert names(back) == names(second)
    assert names(front) == names(first) and front.newer is None and front.older is not None
    assert not any(p.cut_short for p in (first, second, third, back, front))


def test_an_album_is_one_entry_with_its_photos_in_album_order(dynamodb: Any, results: Results) -> None:
    # Ten photos of one album, received (and so indexed) out of order, then twelve photos on their own.
    for position in range(10):
        put(dynamodb, 10 + position, 0, album="A1", second=(7 * position) % 10)
    for i in range(12):
        put(dynamodb, 100 + i, 1 + i)

    first = results.page(CHAT)
    second = results.page(CHAT, PageRequest(history.OLDER, first.older))  # type: ignore[arg-type]

    assert names(first) == [[111 - i] for i in range(10)]
    assert names(second) == [[101], [100], list(range(10, 20))]
    text = history.page_text(second, "en").splitlines()
    assert text[3] == "3. 1 May 2024 00:00 UTC: album, 10 photos:"
    assert text[4] == "    3.1. nothing recognised" and len(text) == 14
    buttons = [b.text for row in history.page_buttons(second, "en").keyboard for b in row]  # type: ignore[union-attr]
    assert buttons == ["🖼 1", "🖼 2", *(f"🖼 3.{k}" for k in range(1, 11)), "Newer ▶"]


def test_a_page_starts_no_new_entry_past_twenty_photos_and_never_splits_an_album(
    dynamodb: Any, results: Results
) -> None:
    # Newest first: a photo, an album of 10, another album of 10, then five photos.
    for i in range(5):
        put(dynamodb, 100 + i, i)
    for position in range(10):
        put(dynamodb, 200 + position, 10, album="B")
    for position in range(10):
        put(dynamodb, 300 + position, 20, album="C")
    put(dynamodb, 400, 30)

    first = results.page(CHAT)
    second = results.page(CHAT, PageRequest(history.OLDER, first.older))  # type: ignore[arg-type]

    assert names(first) == [[400], list(range(300, 310)), list(range(200, 210))]
    assert len(first.photos) == 21 and first.older is not None
    assert names(second) == [[104 - i] for i in range(5)]


def test_a_class_lists_only_the_analyses_that_found_it(dynamodb: Any, results: Results) -> None:
    put(dynamodb, 1, 1, [dog()])
    put(dynamodb, 2, 2, [hot_dog()])  # "dog" is in its JSON, but no dog was found
    put(dynamodb, 3, 3, [cat(), dog(0.3)])  # a "maybe" dog counts
    put(dynamodb, 4, 4, [cat()])

    page = results.page(CHAT, class_name="dog")
    older = results.page(CHAT, PageRequest(history.OLDER, Cursor.of(page.entries[0].photos[0]), "dog"))

    assert names(page) == [[3], [1]]
    assert history.page_text(page, "es").splitlines()[0] == "Tus análisis en este chat donde encontré un perro:"
    assert names(older) == [[1]], "the page's class goes with its buttons"
    assert history.page_text(results.page(CHAT, class_name="bus"), "en") == (
        "I found a bus in none of this chat's analyses."
    )


def test_a_long_search_reads_a_bounded_number_of_index_pages_and_says_so(
    dynamodb: Any, results: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "_QUERY_LIMIT", 4)
    monkeypatch.setattr(history, "_MAX_PAGES", 2)
    for i in range(20):
        put(dynamodb, 100 + i, i, [dog()] if i in (10, 15) else [cat()])
    calls: list[dict[str, Any]] = []
    query = dynamodb.query
    monkeypatch.setattr(dynamodb, "query", lambda **kw: calls.append(kw) or query(**kw))

    page = results.page(CHAT, class_name="dog")

    assert len(calls) == 2 and page.cut_short and page.read == 8
    assert names(page) == [[115]]
    assert (
        history.page_text(page, "en")
        .splitlines()[-1]
        .startswith("I looked through 8 analyses and stopped: showing the first 1 found.")
    )
    further = results.page(CHAT, PageRequest(history.OLDER, page.older, "dog"))  # type: ignore[arg-type]
    assert names(further) == [[110]], "the next page goes on where the read stopped"


# --- in the chat ----------------------------------------------------------------------------


@pytest.fixture
def chat_bot(bot: telebot.TeleBot, results: Results) -> telebot.TeleBot:
    handlers.register(bot, handlers.Chats(pipeline=None, results=results))  # type: ignore[arg-type]
    return bot


def run(bot: telebot.TeleBot, telegram: TelegramStandIn) -> None:
    bot.process_new_updates([types.Update.de_json(json.dumps(u)) for u in telegram.take_updates()])


def say(bot: telebot.TeleBot, telegram: TelegramStandIn, text: str) -> int:
    message = telegram.user_sends_text(CHAT, text)
    run(bot, telegram)
    [reply] = telegram.replies_to(CHAT, message["message_id"])
    return reply.message_id


def test_older_and_newer_edit_the_listing_in_place(
    chat_bot: telebot.TeleBot, telegram: TelegramStandIn, dynamodb: Any
) -> None:
    for i in range(12):
        put(dynamodb, 100 + i, i)
    listing = say(chat_bot, telegram, "/history")
    first = telegram.message(CHAT, listing).text

    older = telegram.user_taps(CHAT, listing, "◀ Older")
    run(chat_bot, telegram)
    shown = telegram.message(CHAT, listing)
    assert (shown.text or "").splitlines()[1:] == [
        "1. 1 May 2024 00:01 UTC: nothing recognised",
        "2. 1 May 2024 00:00 UTC: nothing recognised",
    ]
    assert [label for label, _ in shown.buttons] == ["🖼 1", "🖼 2", "Newer ▶"]

    newer = telegram.user_taps(CHAT, listing, "Newer ▶")
    run(chat_bot, telegram)

    assert telegram.message(CHAT, listing).text == first
    assert telegram.message(CHAT, listing).edits == ["editMessageText", "editMessageText"]
    assert older.answered and newer.answered
    assert [m.message_id for m in telegram.sent if m.chat_id == CHAT] == [listing], "no new message"


def test_a_tap_that_finds_nothing_that_way_leaves_the_listing_and_says_so(
    chat_bot: telebot.TeleBot, telegram: TelegramStandIn, dynamodb: Any
) -> None:
    for i in range(11):
        put(dynamodb, 100 + i, i)
    listing = say(chat_bot, telegram, "/history")
    before = telegram.message(CHAT, listing).text
    # What the older page held is gone (retention, /forget) before the tap.
    dynamodb.delete_item(TableName=TABLE, Key={"image_id": {"S": naming.execution_name(CHAT, 100)}})

    query = telegram.user_taps(CHAT, listing, "◀ Older")
    run(chat_bot, telegram)

    assert query.answer == "There is nothing more that way."
    assert telegram.message(CHAT, listing).text == before and telegram.message(CHAT, listing).edits == []


@pytest.mark.parametrize(
    ("language", "words", "title"),
    [
        ("en", "dogs", "Your analyses in this chat where I found a dog:"),
        ("es", "perros", "Tus análisis en este chat donde encontré un perro:"),
        ("ru", "собаки", "Ваши анализы в этом чате, где я нашёл: собака"),
        ("en", "собак", "Your analyses in this chat where I found a dog:"),
    ],
)
def test_history_of_a_class_in_each_language(
    chat_bot: telebot.TeleBot, telegram: TelegramStandIn, dynamodb: Any, language: str, words: str, title: str
) -> None:
    put(dynamodb, 1, 1, [dog()])
    put(dynamodb, 2, 2, [cat()])
    telegram.user_speaks(CHAT, language)

    listing = telegram.message(CHAT, say(chat_bot, telegram, f"/history {words}"))

    assert (listing.text or "").splitlines()[0] == title and len((listing.text or "").splitlines()) == 2
    assert listing.buttons == [("🖼 1", "h:tg4242_1")]


def test_history_of_an_unknown_word_says_which_words_it_understands(
    chat_bot: telebot.TeleBot, telegram: TelegramStandIn
) -> None:
    near = telegram.message(CHAT, say(chat_bot, telegram, "/history zebrra")).text
    far = telegram.message(CHAT, say(chat_bot, telegram, "/history qwxyz")).text

    assert near == "I don't know “zebrra”. Did you mean zebra? Try /history zebra."
    assert far is not None and far.startswith("I don't know “qwxyz”.") and "person, dog, cat" in far


# --- times, and the sentence that was sent --------------------------------------------------

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", ["5 minutes ago", "today 10:00 UTC", "yesterday 16:00 UTC", "2 Dec 12:00 UTC", "31 Oct 2025 12:00 UTC"]),
        ("es", ["hace 5 minutos", "hoy 10:00 UTC", "ayer 16:00 UTC", "2 dic 12:00 UTC", "31 oct 2025 12:00 UTC"]),
        (
            "ru",
            [
                "5 минут назад",
                "сегодня 10:00 UTC",
                "вчера 16:00 UTC",
                "2 дек. 12:00 UTC",
                "31 окт. 2025\u202fг. 12:00 UTC",
            ],
        ),
    ],
)
def test_a_time_is_relative_while_recent_else_says_its_zone(language: str, said: list[str]) -> None:
    ago = [timedelta(minutes=5), timedelta(hours=2), timedelta(hours=20), timedelta(days=3), timedelta(days=400)]

    assert [i18n.when(NOW - d, language, NOW) for d in ago] == said


def test_every_history_line_says_when_in_a_way_that_needs_no_time_zone(results: Results, dynamodb: Any) -> None:
    for i, minutes in enumerate((3, 150, 60 * 30)):
        moment = NOW - timedelta(minutes=minutes)
        name = naming.execution_name(CHAT, i + 1)
        dynamodb.put_item(
            TableName=TABLE,
            Item={
                "image_id": {"S": name},
                "chat_id": {"N": str(CHAT)},
                "received_at": {"S": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")},
                "detections": {"S": "[]"},
            },
        )

    lines = history.page_text(results.page(CHAT), "en", NOW).splitlines()[1:]

    assert [line.split(": ")[0] for line in lines] == [
        "1. 3 minutes ago",
        "2. today 09:30 UTC",
        "3. yesterday 06:00 UTC",
    ]


def test_history_says_the_sentence_the_reply_sent_position_included(dynamodb: Any, results: Results) -> None:
    # A cat well to the left of a 1200-pixel-wide photo, as SendReply summed it up.
    found = [{"label": "cat", "class_id": 15, "confidence": 0.9, "box": [10, 10, 200, 300]}]
    sent = summary.caption(found, "en", 1200)
    name = put(dynamodb, 1, 1, found)
    # The width PersistResults stores with the detections is the one SendReply summed up by.
    for state in ("PersistResults", "PersistPhotoResults"):
        assert ASL_STATES[state]["Parameters"]["Item"]["image_width"] == {"N.$": "States.JsonToString($.staged.width)"}
    dynamodb.update_item(
        TableName=TABLE,
        Key={"image_id": {"S": name}},
        UpdateExpression="SET image_width = :w",
        ExpressionAttributeValues={":w": {"N": "1200"}},
    )

    [line] = history.page_text(results.page(CHAT), "en", NOW).splitlines()[1:]

    assert "on the left" in sent and line.endswith(": " + sent)
