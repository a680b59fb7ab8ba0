"""A panorama sent as a file (issue 19, rough edge 11), through the whole local
stack: the worker sees the 12000x1500 strip of 11 buses in tiles and says
"11 buses", and the photo that comes back is the strip folded into a picture
of a photo's proportions, whose tags Telegram shows at a readable size."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from local.polybot_stack import PolybotStack
from polybot import telegram
from tests.auxil.images import bus_strip

pytestmark = [pytest.mark.aws, pytest.mark.model]


def test_a_panorama_of_eleven_buses_is_answered_eleven_buses_on_a_folded_photo(
    stack: PolybotStack, chat_id: int
) -> None:
    assert stack.telegram is not None
    strip = bus_strip(11, (12_000, 1_500))
    message = stack.telegram.user_sends_document(chat_id, strip, "panorama.jpg", "image/jpeg")

    reply = stack.telegram.wait_for_reply(chat_id, message["message_id"], timeout=180)

    assert reply.caption is not None and reply.caption.startswith("I see 11 buses"), reply.caption
    assert reply.photo is not None
    with Image.open(io.BytesIO(reply.photo)) as photo:
        width, height = photo.size
    assert max(width, height) / min(width, height) <= 2, photo.size
    assert width + height <= telegram.PHOTO_MAX_SIDES and max(width, height) <= telegram.PHOTO_SHOWN_SIDE
    print("\n".join(stack.telegram.transcript(chat_id)))
