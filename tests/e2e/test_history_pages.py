"""/history that scales, as a user has it: real photos and an album analysed by the
real workflow and model, then /history in pages (older and newer edit the listing in
place), an album as one entry with its photos in album order, each summary the
sentence the answer said, times said without a time zone to guess, and
`/history <class>` in English, Spanish and Russian, in a private chat and in a
group (`/history@polybot bus`).

The photos: Ultralytics' bus.jpg (a bus, people) and zidane.jpg (people, a tie),
scikit-image's chelsea (a cat, placed on the left of a wide canvas). No photo with a dog: `/history dog` says so.
The stand-in's transcript of each chat is printed when its test ends (`-s` shows it).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from PIL import Image

from local.polybot_stack import PolybotStack
from local.telegram_standin import BOT_USER, SentMessage, TelegramStandIn
from polybot import i18n, naming
from tests.auxil.images import ultralytics_asset
from tests.auxil.pipeline import wait_for_execution

pytestmark = [pytest.mark.aws, pytest.mark.model]

ANSWER_S = 120
RELATIVE = re.compile(r"^\d+\. .+ ago: ")
"""A line of this test's history: its photos were all sent within the hour."""


def cat_on_the_left() -> bytes:
    """scikit-image's chelsea at the left of a canvas 2.2 times its width: the
    answer places it ("a cat on the left"), and so must /history. Under the 2.5
    beyond which a picture is seen in tiles (inference.tiles.ELONGATED), which
    would make this a test of the tiles, not of the history."""
    from skimage import data

    cat = Image.fromarray(data.chelsea())
    canvas = Image.new("RGB", (round(cat.width * 2.2), cat.height), (235, 235, 235))
    canvas.paste(cat, (0, 0))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture
def telegram(stack: PolybotStack, chat_id: int) -> Iterator[TelegramStandIn]:
    assert stack.telegram is not None and stack.bot is not None
    yield stack.telegram
    print(f"\n--- chat {chat_id} ---", *stack.telegram.transcript(chat_id), sep="\n")


def ask(telegram: TelegramStandIn, chat_id: int, text: str, **by: int) -> SentMessage:
    """The bot's one reply to a text (the webhook answers it within its delivery)."""
    command = telegram.user_sends_text(chat_id, text, **by)
    [reply] = telegram.replies_to(chat_id, command["message_id"])
    return reply


def lines_of(message: SentMessage) -> list[str]:
    return (message.text or "").splitlines()


def untimed(lines: list[str]) -> list[str]:
    """The lines without their times ("3. 5 seconds ago: I see a cat." -> "3. I see a cat.")."""
    return [re.sub(r"^(\d+\. ).+? ago: ", r"\1", line) for line in lines]


def test_history_pages_search_and_an_album_in_order(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int
) -> None:
    images = [ultralytics_asset("zidane.jpg"), ultralytics_asset("bus.jpg"), cat_on_the_left()]
    # An album of three first (one entry of the history), then ten photos on their own:
    # eleven entries, more than a page of ten.
    album = telegram.user_sends_album(chat_id, images)
    name = naming.album_execution_name(chat_id, album[0]["media_group_id"])
    assert wait_for_execution(stack, name, ANSWER_S)["status"] == "SUCCEEDED"
    singles = [telegram.user_sends_photo(chat_id, images[i % 3]) for i in range(10)]
    answers = [telegram.wait_for_reply(chat_id, p["message_id"], timeout=ANSWER_S) for p in singles]
    # The album's answer: its photos as one media group, captioned "1. I see …", in album order.
    group = [m for m in telegram.sent if m.chat_id == chat_id and m.method == "sendMediaGroup"]
    album_said = [(m.caption or "").split(". ", 1)[1] for m in sorted(group, key=lambda m: m.message_id)]
    assert len(album_said) == 3 and album_said[2] == answers[2].caption == "I see a cat on the left."

    listing = ask(telegram, chat_id, "/history")

    first = lines_of(listing)
    assert first[0] == i18n.text("history.title", "en") and len(first) == 11
    # Newest first; each line the sentence its answer said; the time relative (all within the hour).
    for line, answer in zip(first[1:], reversed(answers), strict=True):
        assert RELATIVE.match(line) and line.endswith(": " + (answer.caption or "?")), line
    assert [label for label, _ in listing.buttons][-1] == "◀ Older" and "Newer ▶" not in dict(listing.buttons)

    older = telegram.user_taps(chat_id, listing.message_id, "◀ Older")

    shown = telegram.message(chat_id, listing.message_id)
    assert older.answered and shown.edits == ["editMessageText"]
    page = lines_of(shown)
    assert RELATIVE.match(page[1]) and page[1].endswith(": album, 3 photos:")
    # The album's photos in album order, each with the sentence its answer said.
    assert page[2:] == [f"    1.{k}. {said}" for k, said in enumerate(album_said, start=1)]
    assert [label for label, _ in shown.buttons] == ["🖼 1.1", "🖼 1.2", "🖼 1.3", "Newer ▶"]

    newer = telegram.user_taps(chat_id, listing.message_id, "Newer ▶")

    assert newer.answered
    # The same page again (its relative times a second or two on).
    assert untimed(lines_of(telegram.message(chat_id, listing.message_id))) == untimed(first)
    assert telegram.message(chat_id, listing.message_id).edits == ["editMessageText", "editMessageText"]

    # /history <class>: only the analyses that found one, in the asker's language.
    buses = ask(telegram, chat_id, "/history buses")
    assert lines_of(buses)[0] == "Your analyses in this chat where I found a bus:"
    bus_photos = [naming.execution_name(chat_id, p["message_id"]) for p in [*singles[1::3][::-1], album[1]]]
    assert [data.removeprefix("h:") for _, data in buses.buttons] == bus_photos
    assert all("bus" in line for line in lines_of(buses)[1:] if not line.endswith("1 photo:"))

    telegram.user_speaks(chat_id, "es")
    autobuses = ask(telegram, chat_id, "/history autobús")
    assert lines_of(autobuses)[0] == "Tus análisis en este chat donde encontré un autobús:"
    assert autobuses.buttons == buses.buttons

    telegram.user_speaks(chat_id, "ru")
    cats = ask(telegram, chat_id, "/history кошки")
    cat_photos = [naming.execution_name(chat_id, p["message_id"]) for p in [*singles[2::3][::-1], album[2]]]
    assert lines_of(cats)[0] == "Ваши анализы в этом чате, где я нашёл: кошка"
    assert [data.removeprefix("h:") for _, data in cats.buttons] == cat_photos

    telegram.user_speaks(chat_id, "en")
    assert ask(telegram, chat_id, "/history dog").text == "I found a dog in none of this chat's analyses."
    assert ask(telegram, chat_id, "/history dgo").text == "I don't know “dgo”. Did you mean dog? Try /history dog."


def test_a_group_asks_its_history_of_a_class_by_the_bots_name(stack: PolybotStack, chat_id: int) -> None:
    telegram = stack.telegram
    assert telegram is not None
    group_id = -1_000_000_000_000 - chat_id
    ada, ben = 9901, 9902
    telegram.group_opens(group_id, {ada: "creator", ben: "member"}, title="Saturday")
    us = "@" + BOT_USER["username"]
    try:
        photo = telegram.user_sends_photo(group_id, ultralytics_asset("bus.jpg"), f"{us} what is this?", by=ada)
        answer = telegram.wait_for_reply(group_id, photo["message_id"], timeout=ANSWER_S)

        found = ask(telegram, group_id, f"/history{us} bus", by=ben)
        none = ask(telegram, group_id, f"/history{us} cat", by=ben)
    finally:
        print(f"\n--- supergroup {group_id} ---", *telegram.transcript(group_id), sep="\n")

    assert lines_of(found)[0] == "Your analyses in this chat where I found a bus:"
    assert lines_of(found)[1].endswith(": " + (answer.caption or "?"))
    assert none.text == "I found a cat in none of this chat's analyses."
