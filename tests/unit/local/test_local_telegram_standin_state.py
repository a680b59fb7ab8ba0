"""local.telegram_standin.state and .waiting: what the chats show now, the chat log,
and waiting for the bot's reply, without HTTP."""

from __future__ import annotations

import io
import threading

import pytest
from PIL import Image

from local.telegram_standin import waiting
from local.telegram_standin.rules import Refused
from local.telegram_standin.state import ChatState, SentMessage

CHAT = 4242
WORKING = "Looking at your photo…"


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_the_bots_messages_get_the_chats_next_ids_and_enter_the_chat_log() -> None:
    state = ChatState()
    users = state.next_message_id()

    first = state.record(SentMessage("sendMessage", CHAT, 0, text=WORKING, reply_to_message_id=users))
    second = state.record(SentMessage("sendPhoto", CHAT, 0, caption="I see a cat.", photo=jpeg()))

    assert (first.message_id, second.message_id) == (users + 1, users + 2)
    assert state.transcript(CHAT) == [
        f"bot #{users + 1} ↩#{users}: {WORKING}",
        f"bot #{users + 2}: [photo] I see a cat.",
    ]
    assert state.transcript(CHAT + 1) == []


def test_replies_are_what_the_chat_still_shows() -> None:
    state = ChatState()
    kept = state.record(SentMessage("sendMessage", CHAT, 0, text="kept", reply_to_message_id=7))
    state.record(SentMessage("sendMessage", CHAT, 0, text="gone", reply_to_message_id=7)).deleted = True
    state.record(SentMessage("sendMessage", CHAT + 1, 0, text="elsewhere", reply_to_message_id=7))

    assert state.replies_to(CHAT, 7) == [kept]
    assert state.message(CHAT, kept.message_id) is kept
    with pytest.raises(LookupError):
        state.message(CHAT + 1, kept.message_id)


def test_a_sent_photo_is_a_message_with_the_file_id_telegram_gave_it() -> None:
    state = ChatState()
    photo = jpeg()
    sent = state.record(SentMessage("sendPhoto", CHAT, 0, caption="cat", photo=photo, reply_markup={"k": 1}))

    message = sent.as_message()

    assert message["photo"] == [
        {
            "file_id": f"SENT-{sent.message_id}",
            "file_unique_id": f"S{sent.message_id}",
            "width": 40,
            "height": 30,
            "file_size": len(photo),
        }
    ]
    assert (message["caption"], message["reply_markup"], "text" in message, "edit_date" in message) == (
        "cat",
        {"k": 1},
        False,
        False,
    )
    assert state.file_data(f"SENT-{sent.message_id}") == photo
    with pytest.raises(Refused, match="wrong file identifier"):
        state.file_data("SENT-1")


def test_a_users_file_is_found_by_its_id_and_by_its_download_path() -> None:
    state = ChatState()

    stored = state.add_file(b"%PDF", extension="pdf", file_id="doc-1")

    assert stored.file_path.endswith(".pdf") and state.file_at(stored.file_path) is stored
    assert state.file_data("doc-1") == b"%PDF" and state.file_data("doc-2") is None
    assert state.file_at("files/none.jpg") is None


def test_a_reply_is_settled_once_it_says_more_than_that_the_bot_works() -> None:
    assert not waiting.settled(SentMessage("sendMessage", CHAT, 1, text=WORKING), {WORKING})
    assert waiting.settled(SentMessage("sendMessage", CHAT, 1, text="I see a cat."), {WORKING})
    # A photo captioned as the progress text still says more.
    assert waiting.settled(SentMessage("sendPhoto", CHAT, 1, caption=WORKING, photo=b"x"), {WORKING})


def test_waiting_for_a_reply_wakes_when_the_progress_message_is_edited() -> None:
    state = ChatState()
    progress = state.record(SentMessage("sendMessage", CHAT, 0, text=WORKING, reply_to_message_id=7))

    def edit() -> None:
        with state.change():
            progress.text = "I see a cat."

    threading.Timer(0.05, edit).start()

    assert waiting.wait_for_reply(state, {WORKING}, CHAT, 7, timeout=10) is progress


def test_waiting_gives_up_naming_what_it_waited_for() -> None:
    state = ChatState()

    with pytest.raises(TimeoutError, match=r"no reply to message 7 in chat 4242 after 0\.05 s"):
        waiting.wait_for_reply(state, {WORKING}, CHAT, 7, timeout=0.05)
