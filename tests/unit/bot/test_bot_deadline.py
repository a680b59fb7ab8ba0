from __future__ import annotations

import pytest

from bot import handlers
from bot.deadline import Deadline, DeadlineExceeded, Guarded, NoDeadline, current, webhook_deadline


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_call_fits_while_it_leaves_what_must_follow() -> None:
    clock = Clock()
    deadline = Deadline(25, clock)
    clock.now += 10

    assert deadline.remaining_s() == 15
    assert deadline.affords(9, then_s=6)
    assert not deadline.affords(9, then_s=6.5)
    with pytest.raises(DeadlineExceeded, match="StartExecution"):
        deadline.require(9, then_s=6.5, what="StartExecution")


def test_outside_the_webhook_every_call_fits() -> None:
    assert isinstance(current(), NoDeadline)
    assert current().affords(10**9)


def test_the_deadline_holds_for_the_update_in_hand_only() -> None:
    deadline = Deadline(25)
    with webhook_deadline(deadline):
        assert current() is deadline
    assert isinstance(current(), NoDeadline)


class Table:
    meta = "the client's meta"

    def __init__(self) -> None:
        self.calls = 0

    def get_item(self, **_: object) -> dict[str, object]:
        self.calls += 1
        return {}


def test_a_guarded_client_makes_no_call_that_would_not_leave_time_for_the_reply() -> None:
    clock, table = Clock(), Table()
    guarded = Guarded(table, call_s=9, then_s=13)

    with webhook_deadline(Deadline(25, clock)):
        assert guarded.get_item(TableName="t") == {}
        clock.now += 4
        with pytest.raises(DeadlineExceeded, match="get_item"):
            guarded.get_item(TableName="t")

    assert table.calls == 1
    assert guarded.meta == "the client's meta"


def test_kept_progress_messages_are_bounded_oldest_first() -> None:
    kept = handlers.ProgressMessages()
    for message_id in range(handlers.ProgressMessages.KEEP + 1):
        kept.keep(1, message_id, 5000 + message_id)

    assert kept.recall(1, 0) is None
    assert kept.recall(1, handlers.ProgressMessages.KEEP) == 5000 + handlers.ProgressMessages.KEEP
    kept.forget(1, handlers.ProgressMessages.KEEP)
    assert kept.recall(1, handlers.ProgressMessages.KEEP) is None
