"""A Details tap whose update Telegram delivers twice (the webhook's first answer
was lost, or slow) sends the list once (issue 19, rough edge 7): the second
delivery finds the button's answer claimed in the results table
(polybot.reply_ledger.ReplyLedger.claim), whichever bot instance it reaches."""

from __future__ import annotations

from typing import Any

import pytest

from local.polybot_stack import PolybotStack
from polybot import i18n
from tests.auxil.images import ultralytics_asset
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]


def test_a_details_tap_delivered_twice_sends_the_list_once(
    stack: PolybotStack, chat_id: int, faults: FaultSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram = stack.telegram
    assert telegram is not None
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))
    answer = telegram.wait_for_reply(chat_id, photo["message_id"], timeout=120)
    delivery = telegram.delivery
    post_update = delivery.post_update
    statuses: list[int] = []

    def twice(update: dict[str, Any]) -> int:
        statuses.extend(post_update(update) for _ in range(1 + ("callback_query" in update)))
        return statuses[-1]

    monkeypatch.setattr(delivery, "post_update", twice)
    query = telegram.user_taps(chat_id, answer.message_id, "Details")

    lists = telegram.replies_to(chat_id, answer.message_id)
    assert statuses == [200, 200]
    assert len(lists) == 1, ("the list is sent once", telegram.transcript(chat_id))
    assert (lists[0].text or "").startswith(i18n.text("details.title", "en"))
    assert query.answered
    faults.record(
        "a Details tap's update delivered twice (the webhook's answer lost)",
        "the list is sent once; the second delivery finds the button's answer claimed in the results table",
        f"{len(lists)} list for {len(statuses)} deliveries",
    )
