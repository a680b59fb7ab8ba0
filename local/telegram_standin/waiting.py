"""Waiting for the bot: until a condition holds, re-checked each time what
Telegram keeps changes (the bot calls the Bot API), and until the bot's reply to
a message says more than that it is working on it.

Used through TelegramStandIn (wait_for, wait_for_reply, settled) by the local
run, the tests and the benchmarks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from typing import Any

from local.telegram_standin.state import ChatState, SentMessage


def settled(message: SentMessage, pending_texts: Collection[str]) -> bool:
    """Whether a message says more than that the bot is working (one of `pending_texts`)."""
    return message.text not in pending_texts or message.kind != "text"


def wait_for(
    changed: threading.Condition, condition: Callable[[], Any], timeout: float = 60.0, what: str = "the condition"
) -> Any:
    """`condition()`'s first true value, re-checked whenever `changed` is notified."""
    deadline = time.monotonic() + timeout
    with changed:
        while not (value := condition()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {what} after {timeout} s")
            changed.wait(remaining)
        return value


def wait_for_reply(
    state: ChatState, pending_texts: Collection[str], chat_id: int, message_id: int, timeout: float = 60.0
) -> SentMessage:
    """The bot's answer to `message_id` once it says more than "working on it"."""

    def answered() -> SentMessage | None:
        return next((m for m in state.replies_to(chat_id, message_id) if settled(m, pending_texts)), None)

    answer: SentMessage = wait_for(state.changed, answered, timeout, f"reply to message {message_id} in chat {chat_id}")
    return answer
