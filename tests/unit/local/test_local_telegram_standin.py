"""local.telegram_standin: the Bot API methods the bot's conversation uses,
refused where Telegram refuses them (the descriptions are Telegram's), driven
through telebot over HTTP as the bot and the functions drive them; the calls it
records and the faults it plays over HTTP. The parts alone:
test_local_telegram_standin_{rules,state,delivery,faults}.py."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import requests
import telebot
from PIL import Image
from telebot.apihelper import ApiTelegramException
from telebot.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto

from local.telegram_standin import MINIMAL_SERVER_LACKS, Fault, TelegramStandIn
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


def test_every_call_is_recorded_with_its_parameters(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    sent = bot.send_message(CHAT, "Hello", reply_parameters=telebot.types.ReplyParameters(77))
    bot.delete_message(CHAT, sent.message_id)

    [(method, params), deleted] = telegram.api_calls
    assert (method, params["chat_id"], params["text"], json.loads(params["reply_parameters"])) == (
        "sendMessage",
        str(CHAT),
        "Hello",
        {"message_id": 77},
    )
    assert deleted == ("deleteMessage", {"chat_id": str(CHAT), "message_id": str(sent.message_id)})
    assert telegram.calls == ["sendMessage", "deleteMessage"]
    assert telegram.replies_to(CHAT, 77) == []


def test_a_wrong_token_is_unauthorized_and_an_unknown_method_not_found(telegram: TelegramStandIn) -> None:
    client = telegram.app.test_client()

    wrong = client.post("/bot1:WRONG/sendMessage", data={"chat_id": CHAT, "text": "x"})
    unknown = client.post(f"/bot{TOKEN}/sendVideoNote", data={"chat_id": CHAT})
    missing = client.get(f"/file/bot{TOKEN}/files/none.jpg")

    assert (wrong.status_code, wrong.get_json()["description"]) == (401, "Unauthorized")
    assert (unknown.status_code, unknown.get_json()["description"]) == (404, "Not Found: method not found")
    assert (missing.status_code, missing.get_json()["ok"]) == (404, False)
    assert telegram.calls == ["sendVideoNote"]


def test_a_minimal_server_answers_what_it_lacks_and_unknown_methods_404_without_ok(
    telegram: TelegramStandIn,
) -> None:
    client = telegram.app.test_client()
    telegram.serve_as_minimal()

    lacked = {m: client.post(f"/bot{TOKEN}/{m}", data={"chat_id": CHAT}) for m in MINIMAL_SERVER_LACKS}
    unknown = client.post(f"/bot{TOKEN}/sendVideoNote", data={"chat_id": CHAT})
    served = client.post(f"/bot{TOKEN}/sendMessage", data={"chat_id": CHAT, "text": "x"})
    telegram.serve_as_telegram()
    again = client.post(f"/bot{TOKEN}/getMyCommands")

    assert {"editMessageMedia", "getMyCommands", "setMyCommands", "sendChatAction"} <= MINIMAL_SERVER_LACKS
    for answer in [*lacked.values(), unknown]:
        assert (answer.status_code, answer.get_json()) == (404, {"detail": "Not Found"})
    assert (served.status_code, served.get_json()["ok"]) == (200, True)
    assert (again.status_code, again.get_json()) == (200, {"ok": True, "result": []})
    assert telegram.chat_actions == []


def test_any_body_can_be_the_next_answer(telegram: TelegramStandIn) -> None:
    client = telegram.app.test_client()
    telegram.answer_next("sendMessage", 200, "OK", "text/plain", times=2)

    first = client.post(f"/bot{TOKEN}/sendMessage", data={"chat_id": CHAT, "text": "x"})
    second = client.post(f"/bot{TOKEN}/sendMessage", data={"chat_id": CHAT, "text": "x"})
    third = client.post(f"/bot{TOKEN}/sendMessage", data={"chat_id": CHAT, "text": "x"})

    assert [(a.status_code, a.content_type, a.get_data(as_text=True)) for a in (first, second)] == [
        (200, "text/plain", "OK")
    ] * 2
    assert third.get_json()["ok"] is True
    # Answered before the call took effect: only the third message was sent.
    assert len(telegram.sent) == 1


def test_a_file_over_the_download_limit_is_refused_and_a_smaller_one_served() -> None:
    small = TelegramStandIn(TOKEN, max_download_bytes=10)
    client = small.app.test_client()
    fits, too_big = small.add_file(b"0123456789"), small.add_file(b"0123456789A")

    found = client.get(f"/bot{TOKEN}/getFile", query_string={"file_id": fits.file_id}).get_json()["result"]
    refused = client.get(f"/bot{TOKEN}/getFile", query_string={"file_id": too_big.file_id})

    assert client.get(f"/file/bot{TOKEN}/{found['file_path']}").data == b"0123456789"
    assert (refused.status_code, refused.get_json()["description"]) == (400, "Bad Request: file is too big")


def test_an_answer_lost_after_the_effect_leaves_the_message_sent(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    telegram.inject("sendMessage", Fault("drop", after_effect=True))

    with pytest.raises(requests.ConnectionError):
        bot.send_message(CHAT, "Hello")

    assert [m.text for m in telegram.sent] == ["Hello"]
    assert bot.send_message(CHAT, "Again").text == "Again"


def test_faults_not_yet_met_are_forgotten_when_cleared(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", times=2, retry_after=7)
    with pytest.raises(ApiTelegramException) as raised:
        bot.send_message(CHAT, "x")
    assert (raised.value.error_code, raised.value.result_json["parameters"]) == (429, {"retry_after": 7})

    telegram.clear_faults()

    assert bot.send_message(CHAT, "y").text == "y"


def test_a_webhook_name_that_does_not_resolve_yet_is_refused_until_it_does(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    """Telegram resolves the address before setWebhook answers: a name whose DNS
    record is new fails as many tries as it is told to, then resolves; other names never."""
    telegram.webhook_host_resolves_after("new.example.com", tries=2)

    refusals = [refusal(lambda: bot.set_webhook("https://new.example.com:8443/hook")) for _ in range(2)]
    other = bot.set_webhook("https://other.example.com:8443/hook")
    resolved = bot.set_webhook("https://new.example.com:8443/hook")

    assert refusals == ["bad request: bad webhook: failed to resolve host: name or service not known"] * 2
    assert other is True and resolved is True
    assert telegram.webhook_url == "https://new.example.com:8443/hook"
    assert telegram.set_webhook_calls == 2
