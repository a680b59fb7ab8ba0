"""A Details button sends its list once (issue 19, rough edge 7): a second tap,
answered by another bot process (another instance behind the load balancer, or
the bot after a restart), gets a notice that the details are above, not the list
again. The claim lives in the results table (polybot.reply_ledger.ReplyLedger.claim),
not in a process's memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.webhook import register_with_telegram
from local.polybot_stack import PolybotStack
from local.telegram_standin import TelegramStandIn
from polybot import i18n
from tests.auxil.images import ultralytics_asset
from tests.e2e.test_conversations import ANSWER_S, bot_process, deploy_step

pytestmark = [pytest.mark.aws, pytest.mark.model]


@pytest.fixture
def telegram(stack: PolybotStack, chat_id: int) -> Iterator[TelegramStandIn]:
    assert stack.telegram is not None and stack.bot is not None
    yield stack.telegram
    print(f"\n--- chat {chat_id} ---", *stack.telegram.transcript(chat_id), sep="\n")
    # The stack's bot serves the webhook again afterwards.
    bot, credentials = stack.bot.telegram.connect()
    register_with_telegram(bot, stack.bot_url, credentials.webhook_secret)


def test_a_second_tap_on_details_on_another_bot_process_does_not_send_the_list_again(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int
) -> None:
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))
    answer = telegram.wait_for_reply(chat_id, photo["message_id"], timeout=ANSWER_S)
    first = telegram.user_taps(chat_id, answer.message_id, "Details")
    [details] = telegram.replies_to(chat_id, answer.message_id)

    with bot_process(stack) as other:
        # Nothing in this process's memory of the first tap.
        assert deploy_step(stack, other) in ("registered", "already registered")
        second = telegram.user_taps(chat_id, answer.message_id, "Details")

    assert (details.text or "").startswith(i18n.text("details.title", "en"))
    assert first.answered and first.answer is None
    assert telegram.replies_to(chat_id, answer.message_id) == [details], "the list is sent once"
    assert second.answered and second.answer == i18n.text("details.already_sent", "en")
