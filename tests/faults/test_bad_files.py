"""Files a user may send, as a photo or as a file: each ends in exactly one
answer, the result or a plain reason, through the real pipeline and model; and
none of them is an incident: no function invocation fails for it (Lambda's
Errors, FunctionErrorsAlarm) and the failed-executions metric filter does not
count it (ExecutionsFailedAlarm)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import pytest
from PIL import Image

from local.polybot_stack import PolybotStack
from polybot import naming
from tests.auxil.images import (
    animated_gif,
    decompression_bomb,
    exif_rotated,
    in_mode,
    plain_image,
    resized,
    sixteen_bit_gray,
    text_screenshot,
    ultralytics_asset,
)
from tests.auxil.pipeline import function_errors, metric_filter_counts, only_reply, wait_for_execution
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]

NOT_AN_IMAGE = "not an image I can read"
DAMAGED = "file seems damaged"
TOO_MANY_PIXELS = "too many pixels for me to analyse: I take up to 100 megapixels"
TOO_LARGE = "larger than 20 MB"


def bus() -> bytes:
    return ultralytics_asset("bus.jpg")


def pdf() -> bytes:
    return b"%PDF-1.7\n" + bytes(2000)


# (what, file name, MIME type (None: the update has none), bytes, what the answer must say)
FILES: list[tuple[str, str, str | None, Callable[[], bytes], str]] = [
    ("a PDF named .jpg", "scan.jpg", "image/jpeg", pdf, NOT_AN_IMAGE),
    ("a 0-byte file", "empty.jpg", "image/jpeg", lambda: b"", NOT_AN_IMAGE),
    ("a truncated JPEG", "torn.jpg", "image/jpeg", lambda: ultralytics_asset("bus.jpg")[:40_000], DAMAGED),
    ("a decompression bomb (12000×12000 PNG, a few kB)", "bomb.png", "image/png", decompression_bomb, TOO_MANY_PIXELS),
    ("an animated GIF", "bus.gif", "image/gif", lambda: animated_gif("bus.jpg"), "bus"),
    ("a PNG with alpha", "bus.png", "image/png", lambda: in_mode("bus.jpg", "RGBA", "PNG"), "bus"),
    ("an 8-bit grayscale PNG", "bus-gray.png", "image/png", lambda: in_mode("bus.jpg", "L", "PNG"), "bus"),
    ("a 16-bit grayscale PNG", "bus-gray16.png", "image/png", lambda: sixteen_bit_gray("bus.jpg"), "bus"),
    ("a CMYK JPEG", "bus-cmyk.jpg", "image/jpeg", lambda: in_mode("bus.jpg", "CMYK", "JPEG"), "bus"),
    ("a WebP", "bus.webp", "image/webp", lambda: in_mode("bus.jpg", "RGB", "WEBP"), "bus"),
    # A type that says nothing: the bytes decide, an image analysed, anything else refused plainly.
    ("a JPEG as application/octet-stream", "IMG_0001.jpg", "application/octet-stream", bus, "bus"),
    ("a JPEG as binary/octet-stream", "IMG_0002", "binary/octet-stream", bus, "bus"),
    ("a JPEG without a MIME type", "IMG_0003", None, bus, "bus"),
    ("a PDF as application/octet-stream", "scan.bin", "application/octet-stream", pdf, NOT_AN_IMAGE),
    ("a 1×1 image", "dot.png", "image/png", lambda: plain_image(1, 1), "did not recognise"),
    # Nothing found, and why: an image too small to make things out, or text (which is not read).
    ("a 16×21 image", "icon.png", "image/png", lambda: plain_image(16, 21), "only 16×21 pixels"),
    ("a screenshot of text", "screenshot.png", "image/png", text_screenshot, "not text"),
    ("a 20:1 panorama (4000×200)", "pano.jpg", "image/jpeg", lambda: resized("bus.jpg", (4000, 200)), "I "),
]


@pytest.mark.parametrize(("what", "file_name", "mime_type", "make", "answer"), FILES, ids=[f[1] for f in FILES])
def test_every_file_ends_in_one_answer_the_result_or_a_plain_reason(
    stack: PolybotStack,
    chat_id: int,
    faults: FaultSession,
    what: str,
    file_name: str,
    mime_type: str | None,
    make: Callable[[], bytes],
    answer: str,
) -> None:
    assert stack.telegram is not None
    data = make()
    started = time.monotonic()
    message = stack.telegram.user_sends_document(chat_id, data, file_name, mime_type)

    reply = only_reply(stack, chat_id, message["message_id"])
    seconds = time.monotonic() - started
    execution = wait_for_execution(stack, naming.execution_name(chat_id, message["message_id"]))

    said = str(reply.caption or reply.text)
    assert answer in said, said
    name = naming.execution_name(chat_id, message["message_id"])
    # A reference is for support to find a failure of ours: none on what the user sent.
    assert name not in said, said
    assert function_errors(stack, name) == [], "a user's file is answered, not raised"
    assert metric_filter_counts(stack, name) == {"ExecutionsFailedOnOurSide": 0, "TasksTimedOut": 0}
    outcome = f"{execution['status'].lower()}: {said.splitlines()[0]}"
    faults.record(f"user sends {what}", outcome, f"one answer after {seconds:.1f} s, no alarm counts it")


def test_a_file_over_the_download_limit_is_refused_at_once(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    """Its size is in the update (23.7 MB, over the Bot API's 20 MB getFile limit):
    one plain answer, neither "Looking at your photo…" first nor an execution."""
    assert stack.telegram is not None
    data = b"\xff\xd8" + bytes(int(23.7 * 1000 * 1000) - 2)
    message = stack.telegram.user_sends_document(chat_id, data, "huge.jpg", "image/jpeg")

    [reply] = stack.telegram.replies_to(chat_id, message["message_id"])
    name = naming.execution_name(chat_id, message["message_id"])

    assert (reply.method, reply.edits) == ("sendMessage", []), "the answer itself, no progress message edited into it"
    assert TOO_LARGE in str(reply.text) and name not in str(reply.text), reply.text
    assert stack.wait_for_execution(name, wait_for_start=False)["status"] == "NOT_STARTED"
    assert len(stack.telegram.transcript(chat_id)) == 2, stack.telegram.transcript(chat_id)
    faults.record(
        "user sends a 23.7 MB file (over the Bot API's 20 MB download limit)",
        "refused at once by the bot",
        f"one message, no progress message, no execution: {str(reply.text).splitlines()[0]}",
    )


def test_boxes_go_on_the_upright_image_of_an_exif_rotated_photo(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    message = stack.telegram.user_sends_document(chat_id, exif_rotated("bus.jpg"), "bus-phone.jpg", "image/jpeg")

    reply = only_reply(stack, chat_id, message["message_id"])

    assert reply.photo is not None and reply.caption is not None and "bus" in reply.caption
    with Image.open(io.BytesIO(reply.photo)) as annotated:
        upright = Image.open(io.BytesIO(ultralytics_asset("bus.jpg"))).size
        assert annotated.size == upright, "annotated as it is shown, not as its pixels lie"
    faults.record(
        "user sends a phone JPEG whose pixels lie on their side (EXIF orientation 6)",
        "detected and annotated upright",
        f"reply {annotated.size[0]}×{annotated.size[1]}: {reply.caption}",
    )
