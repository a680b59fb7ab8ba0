"""local.telegram_standin.rules: Telegram's limits on a call's parameters, as pure
functions, each refused with Telegram's description (and code)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from local.telegram_standin import rules
from local.telegram_standin.rules import Refused
from polybot.summary import CAPTION_LIMIT, TEXT_LIMIT
from polybot.telegram import PHOTO_MAX_BYTES


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", size).save(buffer, "PNG")
    return buffer.getvalue()


def refusal(call: Any, code: int = 400) -> str:
    with pytest.raises(Refused) as raised:
        call()
    assert raised.value.code == code
    return raised.value.description


def keyboard(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"reply_markup": json.dumps({"inline_keyboard": [list(buttons)]})}


def test_a_text_is_not_blank_and_at_most_4096_characters_said_in_each_methods_words() -> None:
    assert rules.message_text("x" * TEXT_LIMIT, too_long="message is too long") == "x" * TEXT_LIMIT
    assert refusal(lambda: rules.message_text(" \n", too_long="-")) == "Bad Request: message text is empty"
    assert refusal(lambda: rules.message_text(None, too_long="-")) == "Bad Request: message text is empty"
    too_long = "x" * (TEXT_LIMIT + 1)
    assert refusal(lambda: rules.message_text(too_long, too_long="MESSAGE_TOO_LONG")) == "Bad Request: MESSAGE_TOO_LONG"


def test_a_caption_is_at_most_1024_characters() -> None:
    assert rules.caption(None) is None
    assert rules.caption("x" * CAPTION_LIMIT) == "x" * CAPTION_LIMIT
    assert "caption is too long" in refusal(lambda: rules.caption("x" * (CAPTION_LIMIT + 1)))


def test_callback_data_is_1_to_64_bytes_not_characters() -> None:
    assert rules.markup({}) is None
    assert rules.markup(keyboard({"text": "Go", "callback_data": "я" * 32})) is not None
    assert rules.markup(keyboard({"text": "Site", "url": "https://example.com"})) is not None
    assert "BUTTON_DATA_INVALID" in refusal(lambda: rules.markup(keyboard({"text": "Go", "callback_data": "я" * 33})))
    assert "BUTTON_DATA_INVALID" in refusal(lambda: rules.markup(keyboard({"text": "Go", "callback_data": ""})))
    assert "BUTTON_TEXT_INVALID" in refusal(lambda: rules.markup(keyboard({"text": " ", "callback_data": "d"})))


def test_a_json_parameter_comes_as_a_string_or_parsed_and_is_required() -> None:
    assert rules.json_param('{"type": "photo"}', "media") == {"type": "photo"}
    assert rules.json_param([1], "media") == [1]
    assert refusal(lambda: rules.json_param("{not json", "media")) == "Bad Request: can't parse media JSON object"
    assert refusal(lambda: rules.json_param(None, "commands")) == "Bad Request: parameter commands is required"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"reply_parameters": json.dumps({"message_id": 77})}, 77),
        ({"reply_parameters": {"message_id": 78}}, 78),
        ({"reply_to_message_id": "79"}, 79),
        ({}, None),
    ],
    ids=["reply-parameters", "reply-parameters-in-json-body", "reply-to-message-id", "none"],
)
def test_the_message_a_call_answers(params: dict[str, Any], expected: int | None) -> None:
    assert rules.reply_to_message_id(params) == expected


def test_a_photo_has_at_most_10_mb_width_plus_height_10000_and_ratio_20() -> None:
    rules.check_photo(png((20, 1)))
    rules.check_photo(png((5000, 5000)))
    assert "PHOTO_INVALID_DIMENSIONS" in refusal(lambda: rules.check_photo(png((21, 1))))
    assert "PHOTO_INVALID_DIMENSIONS" in refusal(lambda: rules.check_photo(png((5001, 5000))))
    assert "PHOTO_INVALID_DIMENSIONS" in refusal(lambda: rules.check_photo(b"\0" * (PHOTO_MAX_BYTES + 1)))
    assert "IMAGE_PROCESS_FAILED" in refusal(lambda: rules.check_photo(b"%PDF-1.7 not a picture"))


def test_a_photo_is_kept_as_telegram_shows_it_no_longer_than_2560_pixels() -> None:
    small, tall = png((2560, 100)), png((3000, 6000))

    assert rules.as_kept(small) == small
    assert rules.image_size(rules.as_kept(tall)) == (1280, 2560)


def test_uploads_over_50_mb_and_downloads_over_the_limit_are_refused() -> None:
    rules.check_upload(b"x")
    assert refusal(lambda: rules.check_upload(b"\0" * (50 * 1024 * 1024 + 1)), code=413) == "Request Entity Too Large"
    rules.check_download(20, limit=20)
    assert refusal(lambda: rules.check_download(21, limit=20)) == "Bad Request: file is too big"


def test_a_media_group_holds_2_to_10_photos_and_no_keyboard() -> None:
    def group(count: int, kind: str = "photo", **extra: Any) -> dict[str, Any]:
        return {"media": json.dumps([{"type": kind, "media": f"attach://p{i}"} for i in range(count)]), **extra}

    assert len(rules.media_group(group(2))) == 2
    assert len(rules.media_group(group(10))) == 10
    assert "2-10" in refusal(lambda: rules.media_group(group(1)))
    assert "2-10" in refusal(lambda: rules.media_group(group(11)))
    assert "no reply_markup" in refusal(lambda: rules.media_group(group(2, reply_markup="{}")))
    assert "photo media groups only" in refusal(lambda: rules.media_group(group(2, kind="video")))


def test_a_callback_answer_text_is_at_most_200_characters() -> None:
    assert rules.callback_answer_text(None) is None
    assert rules.callback_answer_text("x" * 200) == "x" * 200
    assert "MESSAGE_TOO_LONG" in refusal(lambda: rules.callback_answer_text("x" * 201))


def test_bot_commands_are_named_and_described_as_telegram_allows() -> None:
    commands = json.dumps([{"command": "history", "description": "Your last analyses", "extra": 1}])

    assert rules.bot_commands(commands) == [{"command": "history", "description": "Your last analyses"}]
    assert "BOT_COMMAND_INVALID" in refusal(lambda: rules.bot_commands([{"command": "Bad-Name", "description": "x"}]))
    assert "BOT_COMMAND_INVALID" in refusal(lambda: rules.bot_commands([{"command": "x" * 33, "description": "x"}]))
    assert "DESCRIPTION_INVALID" in refusal(lambda: rules.bot_commands([{"command": "ok", "description": ""}]))
    assert "DESCRIPTION_INVALID" in refusal(lambda: rules.bot_commands([{"command": "ok", "description": "x" * 257}]))
    assert "too many" in refusal(
        lambda: rules.bot_commands([{"command": f"c{i}", "description": "x"} for i in range(101)])
    )


def test_a_command_menu_is_named_by_scope_and_two_letter_language() -> None:
    assert rules.commands_scope({}) == ("default", "")
    assert rules.commands_scope({"scope": '{"type": "all_private_chats"}', "language_code": "ru"}) == (
        "all_private_chats",
        "ru",
    )
    assert "language code" in refusal(lambda: rules.commands_scope({"language_code": "rus"}))


@pytest.mark.parametrize(
    ("how", "method", "code", "description"),
    [
        ("blocked", "sendMessage", 403, "Forbidden: bot was blocked by the user"),
        ("blocked", "editMessageText", 403, "Forbidden: bot was blocked by the user"),
        ("kicked", "sendPhoto", 403, "Forbidden: bot was kicked from the group chat"),
        ("muted", "sendMessage", 400, "Bad Request: not enough rights to send text messages to the chat"),
        ("muted", "sendPhoto", 400, "Bad Request: not enough rights to send photos to the chat"),
        ("muted", "sendMediaGroup", 400, "Bad Request: not enough rights to send photos to the chat"),
        ("muted", "sendDocument", 400, "Bad Request: not enough rights to send documents to the chat"),
        ("muted", "sendChatAction", 400, "Bad Request: CHAT_WRITE_FORBIDDEN"),
        ("gone", "sendMessage", 400, "Bad Request: chat not found"),
    ],
)
def test_a_chat_closed_to_the_bot_refuses_it_as_telegram_does(
    how: str, method: str, code: int, description: str
) -> None:
    assert refusal(lambda: rules.check_chat_open(method, how), code) == description


def test_an_open_chat_and_a_muted_chats_deletions_are_served() -> None:
    rules.check_chat_open("sendMessage", None)
    rules.check_chat_open("deleteMessage", "muted")


@pytest.mark.parametrize("chat_id", ["1.5", 1.5, "abc", "[1]"])
def test_a_chat_id_that_is_not_an_integer_names_no_chat(chat_id: Any) -> None:
    assert refusal(lambda: rules.chat_id({"chat_id": chat_id})) == "Bad Request: chat not found"


@pytest.mark.parametrize("message_id", ["abc", 1.5, None, [3], True])
def test_a_reply_to_a_message_id_that_is_not_an_integer_is_refused(message_id: Any) -> None:
    params = {"reply_parameters": json.dumps({"message_id": message_id})}
    assert (
        refusal(lambda: rules.reply_to_message_id(params)) == 'Bad Request: field "message_id" must be of type Integer'
    )


@pytest.mark.parametrize("method", ["sendMessage", "sendPhoto", "deleteMessage"])
def test_a_call_that_must_name_a_chat_and_names_none_is_refused(method: str) -> None:
    assert refusal(lambda: rules.chat_id({"text": "hi"}, method)) == "Bad Request: chat_id is empty"
    assert rules.chat_id({}, "getMe") is None
