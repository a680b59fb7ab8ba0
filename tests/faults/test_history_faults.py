"""/history's pages while DynamoDB fails: the ByChat Query behind a page tap answers
500 for good, then comes back. The tap is told to try again, the listing stays as it
was (never replaced by an error, never a second message), and the next tap after
AWS is back turns the page in place."""

from __future__ import annotations

import pytest

from local.aws_faults import AwsFault
from local.polybot_stack import PolybotStack
from polybot import i18n
from tests.auxil.images import ultralytics_asset
from tests.faults.conftest import FaultSession

ANSWER_S = 120


def test_a_page_tap_while_dynamodb_fails_keeps_the_listing_and_works_once_it_is_back(
    stack: PolybotStack, chat_id: int, faults: FaultSession
) -> None:
    telegram = stack.telegram
    assert telegram is not None
    images = [ultralytics_asset("bus.jpg"), ultralytics_asset("zidane.jpg")]
    # Eleven photos: one more than a page.
    photos = [telegram.user_sends_photo(chat_id, images[i % 2]) for i in range(11)]
    for photo in photos:
        telegram.wait_for_reply(chat_id, photo["message_id"], timeout=ANSWER_S)
    command = telegram.user_sends_text(chat_id, "/history")
    [listing] = telegram.replies_to(chat_id, command["message_id"])
    before = listing.text

    failing = stack.aws.faults.inject(AwsFault("dynamodb", "Query", 500, "InternalServerError", times=1000))
    refused = telegram.user_taps(chat_id, listing.message_id, "◀ Older")
    met = 1000 - failing.times_left()
    stack.aws.faults.clear()

    kept = telegram.message(chat_id, listing.message_id)
    assert refused.answered and refused.answer == i18n.text("callback.try_again", "en")
    assert (kept.text, kept.edits) == (before, []), "the listing stays as it was"

    turned = telegram.user_taps(chat_id, listing.message_id, "◀ Older")

    shown = telegram.message(chat_id, listing.message_id)
    assert turned.answered and shown.edits == ["editMessageText"]
    assert len((shown.text or "").splitlines()) == 2, "the older page: the first photo"
    assert [m.message_id for m in telegram.sent if m.chat_id == chat_id and m.method == "sendMessage"][-1] == (
        listing.message_id
    ), "no message besides the listing"
    print("\n".join(telegram.transcript(chat_id)[-6:]))
    faults.record(
        "DynamoDB Query failing (500, for good) while a /history page is turned, then back",
        "the tap is told to try again and the listing stays; the next tap turns the page in place",
        f"{met} Query calls refused (boto3's retries within the webhook); 1 listing message",
    )


pytestmark = [pytest.mark.faults]
