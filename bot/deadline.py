"""The webhook's deadline: one budget for everything a Telegram update makes the
bot do while Telegram waits for the webhook's answer (bot/app.py starts it,
bot/handlers.py asks it).

Telegram does not say how long it waits before it delivers an update again; 60 s
is assumed (tests/unit/test_timeouts.py), and the webhook answers within
WEBHOOK_BUDGET_S, well inside it. Each call's worst case is fixed by its client's
budget (polybot/aws.py, the Telegram timeouts below), so the deadline cannot cut a
call short: it decides before each call whether the call may start. Courtesy
calls (the chat's preferences, its photo count, the progress message, a
button's callback answer) give way, skipped with their fail-open defaults, when
they would leave too little for the required calls after them (StartExecution
and telling the user what happened, or the reply to a command); a required
call that would not fit ends the update with DeadlineExceeded, which the
webhook answers 500 so that Telegram delivers the update again (a button says
"try again" instead). The reads of /settings, /history and buttons ask through
Guarded clients (bot/service.py); tests/unit/test_timeouts.py walks every path.

Outside a webhook request (long polling, tests) nobody waits: every call fits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from polybot import aws

WEBHOOK_BUDGET_S = 29.0
"""How long the webhook may take over one update: at most half of Telegram's
assumed 60 s, so a slow answer is still an answer, not a redelivery. An album's
photo needs the most (tests/unit/test_timeouts.py): the chat's preferences and
photo count (3 s each at worst), its album's item and StartExecution (9 s each)
and telling the user (4 s), 28 s; at 25 s its preferences and count were always
skipped, so albums ignored /settings and the quota."""

TELEGRAM_TIMEOUT_S = 2
"""telebot's `timeout` for the webhook's own Telegram calls on an image's path
(the progress message, and telling the user what happened): it is both the
connect and the read timeout, and telebot does not retry."""
TELEGRAM_CALL_S = 2 * TELEGRAM_TIMEOUT_S

PREFERENCES_S = aws.COURTESY.worst_case_s
QUOTA_S = aws.COUNTING.worst_case_s
ALBUM_PROGRESS_S = aws.COURTESY.worst_case_s
"""Holding an album's progress message in its item (polybot.albums): a courtesy, as the message is."""
BUTTON_CLAIM_S = aws.COURTESY.worst_case_s
"""Claiming a button's one answer (ReplyLedger.claim), or giving the claim back: a courtesy's budget."""
WEBHOOK_AWS_CALL_S = aws.IN_WEBHOOK.worst_case_s
"""StartExecution, an album's item (bot/service.py wires the clients)."""

CROP_CUT_S = 4.0
"""The most cutting one crop out of its original may take (bot/crops.py): decoding
a 100-megapixel JPEG and encoding all of it again measured 2.3 s on two busy cores."""
CROP_WAIT_S = 0.5
"""How long a crop waits for another being cut in the same process (bot/crops.py
cuts one at a time) before its tap is answered "try again"."""
CROP_SEND_TIMEOUT_S = 5
"""telebot's `timeout` (connect and read) for sending a crop: with the original's read
(9 s at worst), the wait and the cut, it fits the deadline after a quick read of the
results item (23.5 s; the settings' 13 s would not fit)."""
CROP_SEND_S = 2 * CROP_SEND_TIMEOUT_S


class DeadlineExceeded(RuntimeError):
    """A required call would not end before the webhook must answer: the update
    is answered 500, and Telegram delivers it again."""


class Deadline:
    def __init__(self, budget_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ends_at = clock() + budget_s

    def remaining_s(self) -> float:
        return self._ends_at - self._clock()

    def affords(self, call_s: float, then_s: float = 0.0) -> bool:
        """Whether a call of worst case `call_s` still leaves `then_s` for what must follow it."""
        return self.remaining_s() >= call_s + then_s

    def require(self, call_s: float, then_s: float = 0.0, what: str = "a required call") -> None:
        """Raise DeadlineExceeded unless `call_s` and `then_s` still fit."""
        if not self.affords(call_s, then_s):
            raise DeadlineExceeded(
                f"{what} ({call_s:g} s at worst, then {then_s:g} s) does not fit the "
                f"{self.remaining_s():.1f} s left before the webhook must answer"
            )


class NoDeadline(Deadline):
    """Where nobody waits for an answer (long polling): every call fits."""

    def __init__(self) -> None:
        super().__init__(0.0)

    def remaining_s(self) -> float:
        return float("inf")


_current: ContextVar[Deadline | None] = ContextVar("webhook_deadline", default=None)


def current() -> Deadline:
    """The deadline of the update being handled; NoDeadline outside the webhook."""
    return _current.get() or NoDeadline()


@contextmanager
def webhook_deadline(deadline: Deadline) -> Iterator[Deadline]:
    """Handle one update within `deadline` (the handlers run in the request: telebot's threaded=False)."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


class Guarded:
    """A client (boto3's) whose every call first asks the webhook's deadline for
    the call's worst case and `then_s` after it (the reply that follows): a read
    for /history, Details or a button fits with its answer, or the update ends
    with DeadlineExceeded before the call is made. Attributes that are not calls
    (`meta`) pass through."""

    def __init__(self, client: Any, call_s: float, then_s: float) -> None:
        self._client, self._call_s, self._then_s = client, call_s, then_s

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            current().require(self._call_s, self._then_s, what=name)
            return attribute(*args, **kwargs)

        return call
