"""local.telegram_standin: the Bot API methods the bot's conversation uses,
refused where Telegram refuses them (the descriptions are Telegram's), driven
through telebot over HTTP as the bot and the functions drive them."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import telebot
from PIL import Image
from telebot.apihelper import ApiTelegramException
from telebot.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto

from local.telegram_standin import TelegramStandIn
from polybot.telegram import EDIT_TARGET_GONE, NOT_MODIFIED
from tests.unit.conftest import STANDIN_TOKEN

TOKEN = STANDIN_TOKEN
CHAT = 77


def jpeg(size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def refusal(call: Any) -> str:
    with pytest.raises(ApiTelegramException) as raised:
        call()
    assert raised.value.error_code == 400
    return str(raised.value.description).lower()


def button(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup().add(InlineKeyboardButton("Go", callback_data=data))


def test_an_edit_that_changes_nothing_or_finds_nothing_is_refused(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    sent = bot.send_message(CHAT, "Looking at your photo…")
    bot.edit_message_text("Done", CHAT, sent.message_id)

    assert NOT_MODIFIED in refusal(lambda: bot.edit_message_text("Done", CHAT, sent.message_id))
    telegram.user_deletes(CHAT, sent.message_id)
    assert EDIT_TARGET_GONE[0] in refusal(lambda: bot.edit_message_text("Again", CHAT, sent.message_id))
    assert EDIT_TARGET_GONE[0] in refusal(lambda: bot.edit_message_text("Again", CHAT, 999_999))


def test_a_text_message_is_edited_into_a_photo_with_a_button(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    sent = bot.send_message(CHAT, "Looking at your photo…")

    edited = bot.edit_message_media(
        InputMediaPhoto(jpeg(), caption="I see a cat."), CHAT, sent.message_id, reply_markup=button("d:tg77_1")
    )

    shown = telegram.message(CHAT, sent.message_id)
    assert (shown.kind, shown.caption, shown.buttons, shown.edits) == (
        "photo",
        "I see a cat.",
        [("Go", "d:tg77_1")],
        ["editMessageMedia"],
    )
    assert edited.photo and edited.photo[-1].file_id == f"SENT-{sent.message_id}"
    assert "no text" in refusal(lambda: bot.edit_message_text("x", CHAT, sent.message_id))
    # Sent again by the file_id Telegram gave it (/history does).
    again = bot.send_photo(CHAT, edited.photo[-1].file_id)
    assert telegram.message(CHAT, again.message_id).photo == shown.photo


def test_callback_data_over_64_bytes_is_refused(bot: telebot.TeleBot) -> None:
    assert "button_data_invalid" in refusal(lambda: bot.send_message(CHAT, "x", reply_markup=button("h:" + "9" * 63)))


def test_a_tap_arrives_as_a_callback_query_answered_once(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    sent = bot.send_message(CHAT, "Settings", reply_markup=button("s:confidence:0.4"))

    query = telegram.user_taps(CHAT, sent.message_id, "Go")

    [update] = bot.get_updates()
    assert update.callback_query.data == "s:confidence:0.4"
    assert update.callback_query.message.message_id == sent.message_id
    assert bot.answer_callback_query(query.id, "Saved.")
    assert query.answered and query.answer == "Saved."
    assert "query is too old" in refusal(lambda: bot.answer_callback_query(query.id))


def test_an_album_arrives_as_one_update_per_photo_sharing_a_media_group(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    messages = telegram.user_sends_album(CHAT, [jpeg(), jpeg((30, 40))])

    updates = bot.get_updates()
    assert [u.message.message_id for u in updates] == [m["message_id"] for m in messages]
    assert {u.message.media_group_id for u in updates} == {messages[0]["media_group_id"]}
    with pytest.raises(ValueError, match="2 to 10"):
        telegram.user_sends_album(CHAT, [jpeg()])


def test_a_media_group_needs_two_to_ten_photos(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    sent = bot.send_media_group(CHAT, [InputMediaPhoto(jpeg(), caption="1"), InputMediaPhoto(jpeg(), caption="2")])

    assert len({m.media_group_id for m in sent}) == 1 and [m.caption for m in sent] == ["1", "2"]
    assert "2-10" in refusal(lambda: bot.send_media_group(CHAT, [InputMediaPhoto(jpeg())]))


def test_commands_are_kept_per_language_within_telegrams_limits(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    bot.set_my_commands([BotCommand("history", "Your last analyses")])
    bot.set_my_commands([BotCommand("history", "Ваши анализы")], language_code="ru")

    assert [c.description for c in bot.get_my_commands()] == ["Your last analyses"]
    assert [c.description for c in bot.get_my_commands(language_code="ru")] == ["Ваши анализы"]
    assert bot.get_my_commands(language_code="es") == []
    assert "bot_command_invalid" in refusal(lambda: bot.set_my_commands([BotCommand("Bad-Name", "x")]))
    assert "description_invalid" in refusal(lambda: bot.set_my_commands([BotCommand("ok", "x" * 257)]))
    assert "language code" in refusal(lambda: bot.set_my_commands([BotCommand("ok", "x")], language_code="rus"))
    assert "too many" in refusal(lambda: bot.set_my_commands([BotCommand(f"c{i}", "x") for i in range(101)]))
    assert json.loads(json.dumps(telegram.commands[("default", "ru")]))[0]["command"] == "history"
