"""bot/addressing.py: what Polybot does with each message, by a table of cases in
a supergroup and a private chat, and by properties over generated group messages
(its decision is the same under privacy mode on and off: whatever Telegram would
keep from it with privacy mode on, it ignores when privacy mode is off; it never
fails on a message whose fields have any type)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telebot import types

from bot.addressing import Identity, Route, needs_admin, route
from local.telegram_standin import BOT_USER
from local.telegram_standin.rules import entities_of, reaches_bot
from tests.auxil.updates import odd_updates

ME = Identity(BOT_USER["id"], BOT_USER["username"])
US = "@" + ME.username
GROUP = {"id": -100777, "type": "supergroup", "title": "Photos"}
PRIVATE = {"id": 501, "type": "private", "first_name": "Ada"}
ADA = {"id": 501, "is_bot": False, "first_name": "Ada", "language_code": "en"}
PHOTO = [{"file_id": "f", "file_unique_id": "u", "width": 40, "height": 30}]
IMAGE_FILE = {"file_id": "d", "file_unique_id": "du", "file_name": "cat.png", "mime_type": "image/png"}
PDF = {"file_id": "p", "file_unique_id": "pu", "file_name": "a.pdf", "mime_type": "application/pdf"}
UNTYPED_FILE = {"file_id": "o", "file_unique_id": "ou", "file_name": "IMG_1", "mime_type": "application/octet-stream"}
STICKER = {
    "file_id": "s",
    "file_unique_id": "su",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}


def message(chat: dict[str, Any] = GROUP, *, sender: dict[str, Any] = ADA, **content: Any) -> dict[str, Any]:
    built = {"message_id": 10, "date": 1, "chat": dict(chat), "from": dict(sender), **content}
    if "text" in built:
        built.setdefault("entities", entities_of(built["text"]))
    if "caption" in built:
        built.setdefault("caption_entities", entities_of(built["caption"]))
    return built


FROM_US = message(sender=BOT_USER, text="I see a bus")
MEMBER_PHOTO = message(photo=PHOTO)
ALBUM_PHOTO = message(photo=PHOTO, media_group_id="42")


def decided(raw: dict[str, Any]) -> Route:
    return route(types.Message.de_json(json.dumps(raw)), lambda: ME)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(message(text="Hi all, here are the photos from Saturday"), Route.IGNORE, id="chatter"),
        pytest.param(message(photo=PHOTO), Route.IGNORE, id="an unaddressed photo"),
        pytest.param(message(photo=PHOTO, caption="look at this"), Route.IGNORE, id="a photo captioned for people"),
        pytest.param(message(sticker=STICKER), Route.IGNORE, id="a sticker"),
        pytest.param(message(text="/help@other_bot"), Route.IGNORE, id="a command for another bot"),
        pytest.param(message(text="/start@other_bot", reply_to_message=FROM_US), Route.IGNORE, id="...replying to us"),
        pytest.param(message(text="/weather"), Route.IGNORE, id="a bare command Polybot does not have"),
        pytest.param(message(text="thanks!", reply_to_message=FROM_US), Route.IGNORE, id="a text replying to us"),
        pytest.param(message(text="nice", reply_to_message=MEMBER_PHOTO), Route.IGNORE, id="a reply to a photo"),
        pytest.param(message(document=PDF, caption=US), Route.IGNORE, id="a file that is no image, mentioning us"),
        pytest.param(message(photo=PHOTO, caption=f"what is it {US}?"), Route.IMAGE, id="a caption mentioning us"),
        pytest.param(message(photo=PHOTO, caption=US.upper()), Route.IMAGE, id="a mention in capitals"),
        pytest.param(message(photo=PHOTO, caption="/detect"), Route.IMAGE, id="a caption with /detect"),
        pytest.param(
            message(
                photo=PHOTO,
                caption="Polybot?",
                caption_entities=[{"type": "text_mention", "offset": 0, "length": 7, "user": BOT_USER}],
            ),
            Route.IMAGE,
            id="a caption with a text_mention of us",
        ),
        pytest.param(message(document=IMAGE_FILE, caption=US), Route.IMAGE, id="an image file mentioning us"),
        pytest.param(message(document=UNTYPED_FILE, caption=US), Route.IMAGE, id="an octet-stream file mentioning us"),
        pytest.param(
            message(text="/detect", reply_to_message=message(document=UNTYPED_FILE)),
            Route.REPLIED_IMAGE,
            id="/detect replying to an octet-stream file",
        ),
        pytest.param(message(photo=PHOTO, reply_to_message=FROM_US), Route.IMAGE, id="a photo replying to us"),
        pytest.param(message(text="/detect", reply_to_message=MEMBER_PHOTO), Route.REPLIED_IMAGE, id="/detect reply"),
        pytest.param(
            message(text=f"/detect{US}", reply_to_message=ALBUM_PHOTO), Route.REPLIED_IMAGE, id="/detect@us on an album"
        ),
        pytest.param(
            message(text=f"{US} what's this?", reply_to_message=message(document=IMAGE_FILE)),
            Route.REPLIED_IMAGE,
            id="a mention replying to an image file",
        ),
        pytest.param(message(text="/detect"), Route.USAGE, id="/detect alone"),
        pytest.param(message(text=f"hey {US}"), Route.USAGE, id="a mention alone"),
        pytest.param(message(text="/detect", reply_to_message=FROM_US), Route.USAGE, id="/detect on a text"),
        pytest.param(message(text="/help"), Route.COMMAND, id="/help"),
        pytest.param(message(text=f"/settings{US}"), Route.COMMAND, id="/settings@us"),
        # A private chat keeps its conversation.
        pytest.param(message(PRIVATE, photo=PHOTO), Route.IMAGE, id="private: a photo"),
        pytest.param(message(PRIVATE, photo=PHOTO, media_group_id="7"), Route.IMAGE, id="private: an album photo"),
        pytest.param(message(PRIVATE, document=PDF), Route.CONVERSATION, id="private: a file"),
        pytest.param(message(PRIVATE, text="hello"), Route.CONVERSATION, id="private: a text"),
        pytest.param(message(PRIVATE, sticker=STICKER), Route.CONVERSATION, id="private: a sticker"),
        pytest.param(message(PRIVATE, text="/weather"), Route.COMMAND, id="private: an unknown command (hinted)"),
        pytest.param(message(PRIVATE, text="/help@other_bot"), Route.IGNORE, id="private: another bot's command"),
        pytest.param(message(PRIVATE, text="/detect"), Route.USAGE, id="private: /detect alone"),
        pytest.param(
            message(PRIVATE, text="/detect", reply_to_message=message(PRIVATE, photo=PHOTO)),
            Route.REPLIED_IMAGE,
            id="private: /detect replying to a photo",
        ),
    ],
)
def test_what_polybot_does_with_a_message(raw: dict[str, Any], expected: Route) -> None:
    assert decided(raw) is expected


def test_getme_is_asked_only_where_the_answer_depends_on_it() -> None:
    asked = []

    def me() -> Identity:
        asked.append(1)
        return ME

    for raw in (message(PRIVATE, photo=PHOTO, caption=US), message(PRIVATE, text="/help"), message(PRIVATE, text="hi")):
        route(types.Message.de_json(json.dumps(raw)), me)
    assert asked == []
    route(types.Message.de_json(json.dumps(message(text="hi"))), me)
    assert asked == [1]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (message(text="/settings"), True),
        (message(text=f"/settings{US}"), True),
        (message(text="/forget"), True),
        (message(text="/settings@other_bot"), False),
        (message(text="/help"), False),
        (message(text="please /settings"), False),
        (message(PRIVATE, text="/settings"), False),
        (message(PRIVATE, text="/forget"), False),
    ],
)
def test_settings_and_forget_in_a_group_are_for_its_administrators(raw: dict[str, Any], expected: bool) -> None:
    assert needs_admin(types.Message.de_json(json.dumps(raw)), lambda: ME) is expected


# --- properties over generated group messages ------------------------------------------

WORDS = [
    "hi",
    "look",
    US,
    US.upper(),
    "@other_bot",
    "/detect",
    f"/detect{US}",
    "/detect@other_bot",
    "/help",
    "/help@other_bot",
    "/settings",
    f"/settings{US}",
    "/weather",
    "📷",
]
REPLIED = [None, FROM_US, message(sender=BOT_USER, photo=PHOTO), MEMBER_PHOTO, ALBUM_PHOTO]
REPLIED += [message(text="hello"), message(document=IMAGE_FILE), message(text=f"/detect{US}")]


@st.composite
def group_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A member's message in a supergroup: a text, photo, image file, file or sticker,
    its words drawn from commands and mentions for Polybot and for others, maybe
    replying to Polybot's or a member's message."""
    words = " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=3)))
    kind = draw(st.sampled_from(["text", "photo", "image file", "file", "sticker"]))
    content: dict[str, Any] = {
        "text": {"text": words or "hi"},
        "photo": {"photo": PHOTO, "caption": words} if words else {"photo": PHOTO},
        "image file": {"document": IMAGE_FILE, "caption": words} if words else {"document": IMAGE_FILE},
        "file": {"document": PDF, "caption": words} if words else {"document": PDF},
        "sticker": {"sticker": STICKER},
    }[kind]
    replied = draw(st.sampled_from(REPLIED))
    if replied is not None:
        content["reply_to_message"] = copy.deepcopy(replied)
    return message(**content)


@settings(max_examples=300, deadline=None)
@given(raw=group_messages())
def test_what_privacy_mode_keeps_from_polybot_it_ignores_when_privacy_mode_is_off(raw: dict[str, Any]) -> None:
    """With privacy mode off (or as an admin) Telegram delivers every group message;
    Polybot must then answer only what it would have received with privacy mode on,
    so a group sees the same bot whatever BotFather says (the group's only bot)."""
    delivered_with_privacy = reaches_bot(raw, BOT_USER, privacy_mode=True, bot_status="member", last_bot_id=None)
    if not delivered_with_privacy:
        assert decided(raw) is Route.IGNORE


@settings(max_examples=300, deadline=None)
@given(raw=group_messages())
def test_in_a_group_an_image_is_analysed_only_when_asked_for(raw: dict[str, Any]) -> None:
    caption = raw.get("caption", "") or raw.get("text", "")
    asked = US.lower() in caption.lower().split() or "/detect" in caption.split() or f"/detect{US}" in caption.split()
    replied = raw.get("reply_to_message") or {}
    answered = decided(raw)
    if answered is Route.IMAGE:
        assert asked or replied.get("from", {}).get("id") == ME.id
    if answered is Route.REPLIED_IMAGE:
        assert asked and ("photo" in replied or replied.get("document", {}).get("mime_type", "").startswith("image/"))


@settings(max_examples=300, deadline=None)
@given(update=odd_updates(GROUP["id"]))
def test_a_group_message_whose_fields_have_any_type_is_decided_without_failing(update: dict[str, Any]) -> None:
    raw = update.get("message")
    if not isinstance(raw, dict):
        return
    if isinstance(raw.get("chat"), dict):
        raw["chat"]["type"] = "supergroup"
    try:
        parsed = types.Message.de_json(json.dumps(raw))
    except Exception:  # telebot cannot read it: the webhook answers 400 before any handler
        return
    assert isinstance(route(parsed, lambda: ME), Route)
