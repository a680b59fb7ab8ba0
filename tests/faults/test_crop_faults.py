"""A crop per object (bot/crops.py) when things go wrong: the images bucket
failing under the bot's read of the original, and an original that is gone.
Every tap is answered (answerCallbackQuery), nothing crashes the webhook, and a
later tap works."""

from __future__ import annotations

import time

import pytest

from local.aws_faults import AwsFault
from local.polybot_stack import PolybotStack
from local.telegram_standin import SentMessage, TelegramStandIn
from polybot import aws, i18n, naming
from tests.auxil.images import ultralytics_asset
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]


def details_of_a_photo(telegram: TelegramStandIn, chat_id: int) -> tuple[int, SentMessage]:
    """(the photo's message id, the Details message with its crop buttons)."""
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
    answer = telegram.wait_for_reply(chat_id, photo["message_id"], timeout=120)
    telegram.user_taps(chat_id, answer.message_id, i18n.text("details.button", "en"))
    [details] = telegram.replies_to(chat_id, answer.message_id)
    assert details.buttons, "a crop button per object"
    return int(photo["message_id"]), details


def test_a_crop_whose_original_cannot_be_read_asks_to_tap_again_and_the_next_tap_sends_it(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    telegram = stack.telegram
    _, details = details_of_a_photo(telegram, chat_id)
    button = details.buttons[0][0]
    attempts = aws.IN_WEBHOOK.attempts
    injected = stack.aws.faults.inject(AwsFault("s3", "GetObject", 500, "InternalError", times=attempts))

    started = time.monotonic()
    failed = telegram.user_taps(chat_id, details.message_id, button)
    failed_s = time.monotonic() - started
    retried = telegram.user_taps(chat_id, details.message_id, button)

    assert injected.times_left() == 0, "each of boto3's attempts met the fault"
    assert failed.answered and failed.answer == i18n.text("callback.try_again", "en")
    [crop] = telegram.replies_to(chat_id, details.message_id)
    assert crop.kind == "photo" and retried.answered and retried.answer is None
    faults.record(
        f"{attempts}× InternalError (500) on s3 GetObject of the original, called by the bot for a crop",
        'the tap is answered "tap again", nothing sent, no redelivery; the next tap sends the crop',
        f"failed tap answered in {failed_s:.1f} s",
    )


def test_a_crop_whose_original_is_gone_says_so_in_a_message(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    assert stack.telegram is not None
    telegram = stack.telegram
    message_id, details = details_of_a_photo(telegram, chat_id)
    key = naming.original_key(naming.execution_name(chat_id, message_id), "image/jpeg")
    stack.client("s3").delete_object(Bucket=stack.settings.images_bucket, Key=key)

    query = telegram.user_taps(chat_id, details.message_id, details.buttons[0][0])

    [said] = telegram.replies_to(chat_id, details.message_id)
    assert said.kind == "text" and said.text == i18n.text("crop.gone", "en")
    assert query.answered
    faults.record(
        "a crop tap after the original left the bucket (retention, /forget)",
        "a plain message says the original is no longer kept; the tap is answered",
        "1 message",
    )
