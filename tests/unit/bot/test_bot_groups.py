"""The bot in a supergroup, handler by handler against the Telegram stand-in (its
group rules deciding what reaches the bot) under privacy mode on and off: only
addressed photos start the pipeline, each answered in reply to the photo, with
the photo's own message id and file in the request; /settings is the group
admins' and the group's settings are kept under the group's chat id, apart from
each member's private ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import telebot

from bot.preferences import prefs_key
from local.telegram_standin import BOT_USER, TelegramStandIn
from polybot import callbacks, i18n, naming
from tests.unit.bot import test_bot_conversation as conversation
from tests.unit.bot.test_bot_conversation import TABLE, RecordingPipeline, jpeg, run
from tests.unit.bot.test_bot_forget import RecordingForgetting

# The conversation's fixtures: a bot with every handler, a results table in moto, a recording pipeline.
aws, pipeline, chats, bot = conversation.aws, conversation.pipeline, conversation.chats, conversation.bot

GROUP = -1009100
ADA, BEN = 601, 602
"""Ada created the group; Ben is a member."""
US = "@" + BOT_USER["username"]


@pytest.fixture(params=[True, False], ids=["privacy on", "privacy off"])
def group(request: pytest.FixtureRequest, telegram: TelegramStandIn) -> Iterator[int]:
    telegram.bot_privacy(request.param)
    telegram.group_opens(GROUP, {ADA: "creator", BEN: "member"}, other_bots=("other_bot",))
    yield GROUP
    print(*telegram.transcript(GROUP), sep="\n")


def bot_messages(telegram: TelegramStandIn) -> list[Any]:
    return [m for m in telegram.sent if m.chat_id == GROUP]


def test_only_addressed_photos_are_analysed_each_answered_in_reply_to_it(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline, group: int
) -> None:
    telegram.user_speaks(BEN, "es")
    bare = telegram.user_sends_photo(group, jpeg(), by=ADA)
    telegram.user_sends_text(group, "Hi all, here are the photos from Saturday", by=BEN)
    telegram.user_sends_sticker(group, by=BEN)
    telegram.user_sends_text(group, "/help@other_bot", by=BEN)
    telegram.user_sends_photo(group, jpeg(), "us at the lake", by=BEN)
    run(bot, telegram)
    assert bot_messages(telegram) == [] and pipeline.started == {}

    mentioned = telegram.user_sends_photo(group, jpeg(), f"what is this {US}?", by=ADA)
    detect = telegram.user_sends_text(group, "/detect", by=BEN, reply_to=bare["message_id"])
    run(bot, telegram)
    [answer] = telegram.replies_to(group, mentioned["message_id"])
    replying = telegram.user_sends_photo(group, jpeg((0, 0, 200)), by=BEN, reply_to=answer.message_id)
    run(bot, telegram)

    analysed = [mentioned, bare, replying]
    assert list(pipeline.started) == [naming.execution_name(group, p["message_id"]) for p in analysed]
    for photo in analysed:
        [progress] = telegram.replies_to(group, photo["message_id"])
        request = pipeline.started[naming.execution_name(group, photo["message_id"])]["request"]
        assert request["message_id"] == photo["message_id"] and request["chat_id"] == group
        assert request["file_id"] == photo["photo"][-1]["file_id"]
        assert request["progress_message_id"] == progress.message_id
    asked = pipeline.started[naming.execution_name(group, bare["message_id"])]["request"]
    assert (asked["user_id"], asked["language_code"]) == (BEN, "es"), "the one who asked with /detect"
    [progress] = telegram.replies_to(group, bare["message_id"])
    assert progress.text == i18n.text("progress", "es"), "in the asker's language"
    assert telegram.replies_to(group, detect["message_id"]) == []
    assert len(bot_messages(telegram)) == len(analysed)


def test_an_albums_photo_asked_for_in_a_group_is_analysed_alone(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline, group: int
) -> None:
    album = telegram.user_sends_album(group, [jpeg(), jpeg((0, 200, 0))], at_once=False, by=ADA)
    telegram.user_sends_text(group, f"{US} and this one?", by=BEN, reply_to=album[1]["message_id"])
    run(bot, telegram)

    [name] = pipeline.started
    assert name == naming.execution_name(group, album[1]["message_id"])
    assert "media_group_id" not in pipeline.started[name]["request"]


def test_detect_or_a_mention_without_a_photo_says_how_to_ask(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline, group: int
) -> None:
    for text in ("/detect", f"{US} hello"):
        asked = telegram.user_sends_text(group, text, by=BEN)
        run(bot, telegram)
        [usage] = telegram.replies_to(group, asked["message_id"])
        assert usage.text == i18n.text("group.detect_usage", "en")
    assert pipeline.started == {}


def test_settings_in_a_group_are_its_admins_and_kept_under_the_groups_chat_id(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any], group: int
) -> None:
    dynamodb, _ = aws
    refused = telegram.user_sends_text(group, "/settings", by=BEN)
    shown = telegram.user_sends_text(group, f"/settings{US}", by=ADA)
    run(bot, telegram)

    [refusal] = telegram.replies_to(group, refused["message_id"])
    assert refusal.text == i18n.text("group.admins_only", "en") and not refusal.buttons
    [menu] = telegram.replies_to(group, shown["message_id"])
    assert ("60%", "s:confidence:0.6") in menu.buttons

    # A member who is not an admin cannot change them through the admin's menu either.
    tap = telegram.user_taps(group, menu.message_id, "60%", by=BEN)
    run(bot, telegram)
    assert tap.answer == i18n.text("group.admins_only", "en")
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key=prefs_key(group))

    telegram.user_taps(group, menu.message_id, "60%", by=ADA)
    run(bot, telegram)
    kept = dynamodb.get_item(TableName=TABLE, Key=prefs_key(group))["Item"]
    assert kept["confidence"] == {"N": "0.6"}
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key=prefs_key(ADA)), "Ada's own settings are apart"


def test_detect_in_a_private_chat_analyses_the_photo_it_replies_to_and_alone_says_how(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline
) -> None:
    chat = conversation.CHAT
    photo = telegram.user_sends_photo(chat, jpeg())
    run(bot, telegram)
    alone = telegram.user_sends_text(chat, "/detect")
    again = telegram.user_sends_text(chat, "/detect", reply_to=photo["message_id"])
    run(bot, telegram)

    [hint] = telegram.replies_to(chat, alone["message_id"])
    assert hint.text == i18n.text("hint", "en")
    assert telegram.replies_to(chat, again["message_id"]) == []
    # The photo was analysed when it came; asking again finds its execution started and adds nothing.
    assert list(pipeline.started) == [naming.execution_name(chat, photo["message_id"])]
    assert len(telegram.replies_to(chat, photo["message_id"])) == 1


def test_forget_in_a_group_is_its_admins_the_command_and_the_delete_tap(
    bot: telebot.TeleBot, telegram: TelegramStandIn, chats: Any, group: int
) -> None:
    forgetting = RecordingForgetting(telegram)
    chats.forgetting = forgetting
    refused = telegram.user_sends_text(group, "/forget", by=BEN)
    asked = telegram.user_sends_text(group, f"/forget{US}", by=ADA)
    run(bot, telegram)

    [refusal] = telegram.replies_to(group, refused["message_id"])
    assert refusal.text == i18n.text("group.admins_only", "en") and not refusal.buttons
    [confirmation] = telegram.replies_to(group, asked["message_id"])
    assert (i18n.text("forget.yes", "en"), callbacks.FORGET_YES) in confirmation.buttons

    # A member who is not an admin cannot delete the group's records through the admin's question.
    tap = telegram.user_taps(group, confirmation.message_id, callbacks.FORGET_YES, by=BEN)
    run(bot, telegram)
    assert tap.answer == i18n.text("group.admins_only", "en")
    assert forgetting.started == {}

    telegram.user_taps(group, confirmation.message_id, callbacks.FORGET_YES, by=ADA)
    run(bot, telegram)
    [request] = forgetting.started.values()
    assert request["chat_id"] == group, "the group's records, not Ada's"
