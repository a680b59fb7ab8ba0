"""The bot's side of a question (polybot.questions), handler by handler against
the Telegram stand-in and a results table in moto: a photo's caption question
rides in its request (a find with the class to draw alone), a caption that asks
nothing leaves the request as it was, and a text question is answered about the
chat's last photo from the stored detections, in a private chat and in a group
when addressed, without starting an analysis."""

from __future__ import annotations

from typing import Any

import telebot
from botocore.exceptions import ClientError

from local.telegram_standin import BOT_USER, TelegramStandIn
from polybot import i18n, naming
from tests.unit.bot import test_bot_conversation as conversation
from tests.unit.bot.test_bot_conversation import BUS_AND_PEOPLE, CHAT, RecordingPipeline, jpeg, put_result, run

# The conversation's fixtures: a bot with every handler, a results table in moto, a recording pipeline.
aws, pipeline, chats, bot = conversation.aws, conversation.pipeline, conversation.chats, conversation.bot

GROUP = -1009200
ADA = 701
US = "@" + BOT_USER["username"]


def request_of(pipeline: RecordingPipeline, chat: int, message_id: int) -> dict[str, Any]:
    request: dict[str, Any] = pipeline.started[naming.execution_name(chat, message_id)]["request"]
    return request


def test_a_caption_question_rides_in_the_photos_request(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline
) -> None:
    telegram.user_speaks(CHAT, "ru")
    count = telegram.user_sends_photo(CHAT, jpeg(), "сколько людей?")
    find = telegram.user_sends_photo(CHAT, jpeg(), "найди собаку")
    unknown = telegram.user_sends_photo(CHAT, jpeg(), "сколько тигров?")
    chatter = telegram.user_sends_photo(CHAT, jpeg(), "Фото с субботы")
    run(bot, telegram)

    asked = request_of(pipeline, CHAT, count["message_id"])
    assert asked["question"] == {"kind": "count", "class_name": "person", "asked": "людей"}
    assert asked["only"] == [], "a count draws every detection"
    found = request_of(pipeline, CHAT, find["message_id"])
    assert found["question"] == {"kind": "find", "class_name": "dog", "asked": "собаку"}
    assert found["only"] == ["dog"]
    assert request_of(pipeline, CHAT, unknown["message_id"])["question"] == {
        "kind": "unknown",
        "class_name": "cat",
        "asked": "тигров",
    }
    plain = request_of(pipeline, CHAT, chatter["message_id"])
    assert "question" not in plain and plain["only"] == [], "a caption that asks nothing: today's request"


def test_an_albums_caption_question_rides_in_its_photos_request_without_drawing_alone(
    bot: telebot.TeleBot, telegram: TelegramStandIn, chats: Any
) -> None:
    """The album's caption is on its first photo; SendAlbumReply answers it for the
    whole album, whose other photos are drawn whole: so is the one with the caption."""
    telegram.user_speaks(CHAT, "es")
    photos = telegram.user_sends_album(
        CHAT, [jpeg(), jpeg((0, 200, 0)), jpeg((0, 0, 200))], at_once=False, caption="busca los perros"
    )
    run(bot, telegram)

    album = naming.album_execution_name(CHAT, photos[0]["media_group_id"])
    captioned, *others = chats.albums.photos(album)
    assert captioned["message_id"] == photos[0]["message_id"]
    assert captioned["question"] == {"kind": "find", "class_name": "dog", "asked": "perros"}
    assert captioned["only"] == [], "drawn whole, as the album's other photos"
    assert len(others) == 2 and all("question" not in r and r["only"] == [] for r in others)


def test_a_text_question_is_answered_about_the_last_photo_from_its_stored_detections(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline, aws: tuple[Any, Any]
) -> None:
    dynamodb, _ = aws
    put_result(dynamodb, CHAT, 10, "2024-05-01T10:00:00.000Z", detections={"S": "[]"})
    put_result(dynamodb, CHAT, 20, "2024-05-01T11:00:00.000Z", detections={"S": BUS_AND_PEOPLE})

    asks = [telegram.user_sends_text(CHAT, text) for text in ("how many people?", "find the bus", "any cats?")]
    run(bot, telegram)

    [people] = telegram.replies_to(CHAT, asks[0]["message_id"])
    assert people.text == "I count 2 people."
    [bus] = telegram.replies_to(CHAT, asks[1]["message_id"])
    assert bus.text == "I count 1 bus."
    [hint] = telegram.replies_to(CHAT, asks[2]["message_id"])
    assert hint.text == i18n.text("hint", "en"), "no cue: not a question"
    assert pipeline.started == {}, "nothing analysed again"


def test_a_text_question_without_a_photo_or_its_result_says_so(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    dynamodb, _ = aws
    telegram.user_speaks(CHAT, "es")
    before = telegram.user_sends_text(CHAT, "¿cuántos perros?")
    run(bot, telegram)
    put_result(dynamodb, CHAT, 30, "2024-05-01T12:00:00.000Z", failure={"S": "NotAnImage"})
    after = telegram.user_sends_text(CHAT, "¿cuántos perros?")
    run(bot, telegram)

    assert [m.text for m in telegram.replies_to(CHAT, before["message_id"])] == [i18n.text("question.no_photo", "es")]
    assert [m.text for m in telegram.replies_to(CHAT, after["message_id"])] == [i18n.text("question.no_result", "es")]


def test_in_a_group_a_text_question_is_answered_only_when_addressed(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    dynamodb, _ = aws
    telegram.group_opens(GROUP, {ADA: "creator"})
    put_result(dynamodb, GROUP, 40, "2024-05-01T12:00:00.000Z", detections={"S": BUS_AND_PEOPLE})
    unaddressed = telegram.user_sends_text(GROUP, "how many people?", by=ADA)
    addressed = telegram.user_sends_text(GROUP, f"{US} how many people?", by=ADA)
    run(bot, telegram)

    assert telegram.replies_to(GROUP, unaddressed["message_id"]) == []
    assert [m.text for m in telegram.replies_to(GROUP, addressed["message_id"])] == ["I count 2 people."]


def test_a_text_question_when_the_results_table_does_not_answer_is_told_to_ask_again(
    bot: telebot.TeleBot, telegram: TelegramStandIn, chats: Any, monkeypatch: Any
) -> None:
    def unavailable(*_: Any, **__: Any) -> Any:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "Query")

    monkeypatch.setattr(chats.results, "recent", unavailable)
    asked = telegram.user_sends_text(CHAT, "how many people?")
    run(bot, telegram)

    assert [m.text for m in telegram.replies_to(CHAT, asked["message_id"])] == [i18n.text("question.unavailable", "en")]


def test_a_question_replying_to_a_photo_in_a_group_rides_in_that_photos_request(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline
) -> None:
    telegram.group_opens(GROUP, {ADA: "creator"})
    photo = telegram.user_sends_photo(GROUP, jpeg(), "from Saturday", by=ADA)
    telegram.user_sends_text(GROUP, f"{US} find the dogs", by=ADA, reply_to=photo["message_id"])
    run(bot, telegram)

    request = request_of(pipeline, GROUP, photo["message_id"])
    assert request["question"] == {"kind": "find", "class_name": "dog", "asked": "dogs"}
    assert request["only"] == ["dog"]
