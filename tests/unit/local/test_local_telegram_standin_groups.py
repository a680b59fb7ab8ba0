"""local.telegram_standin in groups: which group messages Telegram delivers to the
bot (rules.reaches_bot, a table of cases from the Bot FAQ), the entities it
finds in texts and captions, and, over HTTP through telebot, getMe's privacy
flag and getChatMember's statuses."""

from __future__ import annotations

import io
from typing import Any

import pytest
import telebot
from PIL import Image
from telebot.apihelper import ApiTelegramException

from local.telegram_standin import BOT_USER, TelegramStandIn
from local.telegram_standin.rules import MEMBER_STATUSES, entities_of, entity_text, reaches_bot

GROUP = -1001234
ADA, BEN = 501, 502
OTHER = {"id": 8000, "is_bot": True, "first_name": "Other", "username": "other_bot"}
US = "@" + BOT_USER["username"]


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 20, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def said(text: str, *, by: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "message_id": 5,
        "chat": {"id": GROUP, "type": "supergroup"},
        "from": by or {"id": ADA, "is_bot": False, "first_name": "Ada"},
        "text": text,
        "entities": entities_of(text),
        **extra,
    }


def photo(caption: str = "", **extra: Any) -> dict[str, Any]:
    message = said("", **extra)
    del message["text"], message["entities"]
    message["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 4, "height": 3}]
    if caption:
        message["caption"], message["caption_entities"] = caption, entities_of(caption)
    return message


FROM_US = said("Here is what I see", by=BOT_USER)
FROM_OTHER = said("I am another bot", by=OTHER)

# (message, last bot to speak, delivered with privacy mode on as a plain member)
PRIVACY_ON = [
    pytest.param(said("Hi all, photos from Saturday"), None, False, id="chatter"),
    pytest.param(photo(), None, False, id="a bare photo"),
    pytest.param(photo("look at this"), None, False, id="a photo with a caption for people"),
    pytest.param(photo(f"what is this {US}?"), None, True, id="a photo whose caption mentions the bot"),
    pytest.param(said(f"{US} what is in it?"), None, True, id="a text that mentions the bot"),
    pytest.param(said("@someone_else look"), None, False, id="a mention of someone else"),
    pytest.param(
        said("hey Polybot", entities=[{"type": "text_mention", "offset": 4, "length": 7, "user": BOT_USER}]),
        None,
        True,
        id="a text_mention of the bot",
    ),
    pytest.param(said(f"/detect{US}"), OTHER["id"], True, id="a command naming the bot"),
    pytest.param(said("/help@other_bot"), None, False, id="a command naming another bot"),
    pytest.param(said("/help"), None, True, id="a bare command, no bot has spoken yet"),
    pytest.param(said("/help"), BOT_USER["id"], True, id="a bare command after the bot spoke last"),
    pytest.param(said("/help"), OTHER["id"], False, id="a bare command after another bot spoke last"),
    pytest.param(photo(reply_to_message=FROM_US), None, True, id="a photo replying to the bot"),
    pytest.param(said("thanks", reply_to_message=FROM_US), None, True, id="a text replying to the bot"),
    pytest.param(said("nice", reply_to_message=photo()), None, False, id="a reply to a member's photo"),
    pytest.param(
        said("/detect", reply_to_message=photo()), BOT_USER["id"], True, id="/detect replying to a member's photo"
    ),
    pytest.param(said(f"{US}", reply_to_message=photo()), None, True, id="a mention replying to a member's photo"),
    pytest.param(
        said(f"/detect{US}", reply_to_message=FROM_OTHER),
        BOT_USER["id"],
        False,
        id="a reply to another bot is that bot's alone, even naming this one",
    ),
    pytest.param(
        said("/help@other_bot", reply_to_message=FROM_US),
        OTHER["id"],
        True,
        id="a reply to the bot is the bot's, even naming another",
    ),
    pytest.param(said("/help", by=OTHER), None, False, id="another bot's command"),
    pytest.param(said(f"{US} hi", by=OTHER), None, False, id="another bot's mention"),
    pytest.param({**said(""), "new_chat_members": [BOT_USER]}, OTHER["id"], True, id="a service message"),
]


@pytest.mark.parametrize(("message", "last_bot", "delivered"), PRIVACY_ON)
def test_with_privacy_mode_on_a_member_bot_gets_only_what_is_meant_for_it(
    message: dict[str, Any], last_bot: int | None, delivered: bool
) -> None:
    assert (
        reaches_bot(message, BOT_USER, privacy_mode=True, bot_status="member", last_bot_id=last_bot, other_bots=[OTHER])
        is delivered
    )


@pytest.mark.parametrize(("message", "last_bot", "_"), PRIVACY_ON)
@pytest.mark.parametrize(("privacy", "status"), [(False, "member"), (True, "administrator"), (True, "creator")])
def test_with_privacy_mode_off_or_as_admin_a_bot_gets_all_but_other_bots_messages(
    message: dict[str, Any], last_bot: int | None, _: bool, privacy: bool, status: str
) -> None:
    from_other_bot = message["from"]["id"] == OTHER["id"]
    assert reaches_bot(
        message, BOT_USER, privacy_mode=privacy, bot_status=status, last_bot_id=last_bot, other_bots=[OTHER]
    ) is (not from_other_bot)


@pytest.mark.parametrize("status", ["left", "kicked"])
def test_a_bot_out_of_the_group_gets_nothing(status: str) -> None:
    for privacy in (True, False):
        message = said(f"/detect{US}")
        assert not reaches_bot(message, BOT_USER, privacy_mode=privacy, bot_status=status, last_bot_id=None)


def test_commands_and_mentions_are_entities_counted_in_utf16_units() -> None:
    text = f"📷 look /detect{US} and /help@other_bot, @ada_lovelace; mail a@b.cd /x/y"
    found = entities_of(text)

    assert [(e["type"], entity_text(text, e)) for e in found] == [
        ("bot_command", f"/detect{US}"),
        ("bot_command", "/help@other_bot"),
        ("mention", "@ada_lovelace"),
    ]
    assert found[0]["offset"] == len("📷 look ") + 1, "the emoji counts two UTF-16 units"


# --- over HTTP ---------------------------------------------------------------------


def test_getme_says_whether_the_bot_reads_all_group_messages(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    me = bot.get_me()
    assert (me.username, me.can_read_all_group_messages, me.can_join_groups) == (BOT_USER["username"], False, True)

    telegram.bot_privacy(False)

    assert bot.get_me().can_read_all_group_messages is True


def test_getchatmember_answers_each_members_status(telegram: TelegramStandIn, bot: telebot.TeleBot) -> None:
    members = {600 + i: status for i, status in enumerate(MEMBER_STATUSES)}
    telegram.group_opens(GROUP, members)

    for user_id, status in members.items():
        member = bot.get_chat_member(GROUP, user_id)
        assert (member.status, member.user.id) == (status, user_id)
    assert bot.get_chat_member(GROUP, BOT_USER["id"]).status == "member"
    with pytest.raises(ApiTelegramException, match="user not found"):
        bot.get_chat_member(GROUP, 999)
    with pytest.raises(ApiTelegramException, match="chat not found"):
        bot.get_chat_member(-42, 600)


@pytest.mark.parametrize(("privacy", "bot_status"), [(True, "member"), (False, "member"), (True, "administrator")])
def test_members_messages_reach_the_bot_as_the_groups_rules_say(
    telegram: TelegramStandIn, privacy: bool, bot_status: str
) -> None:
    telegram.bot_privacy(privacy)
    telegram.group_opens(GROUP, {ADA: "creator", BEN: "member"}, bot_status=bot_status, other_bots=("other_bot",))
    bare = telegram.user_sends_photo(GROUP, jpeg(), by=ADA)
    chatter = telegram.user_sends_text(GROUP, "Hi all", by=BEN)
    sticker = telegram.user_sends_sticker(GROUP, by=BEN)
    mention = telegram.user_sends_photo(GROUP, jpeg(), f"what is it {US}", by=ADA)
    detect = telegram.user_sends_text(GROUP, "/detect", by=BEN, reply_to=bare["message_id"])
    other = telegram.user_sends_text(GROUP, "/help@other_bot", by=BEN)
    telegram.other_bot_says(GROUP, "other_bot", "/help")

    delivered = [u["message"] for u in telegram.take_updates()]

    everything = not privacy or bot_status == "administrator"
    expected = [bare, chatter, sticker, mention, detect, other] if everything else [mention, detect]
    assert [m["message_id"] for m in delivered] == [m["message_id"] for m in expected]
    quoted = next(m for m in delivered if m["message_id"] == detect["message_id"])["reply_to_message"]
    assert quoted["message_id"] == bare["message_id"] and quoted["photo"] == bare["photo"]
    assert all(m["chat"] == {"id": GROUP, "type": "supergroup", "title": "Photos"} for m in delivered)
    assert {m["from"]["id"] for m in delivered} <= {ADA, BEN}


def test_the_bots_messages_in_a_group_name_the_group_and_can_be_replied_to(
    telegram: TelegramStandIn, bot: telebot.TeleBot
) -> None:
    telegram.group_opens(GROUP, {ADA: "member"})
    sent = bot.send_message(GROUP, "I see a bus")

    assert sent.chat.type == "supergroup"
    reply = telegram.user_sends_photo(GROUP, jpeg(), by=ADA, reply_to=sent.message_id)

    [update] = telegram.take_updates()
    assert update["message"]["message_id"] == reply["message_id"]
    assert update["message"]["reply_to_message"]["from"]["id"] == BOT_USER["id"]
