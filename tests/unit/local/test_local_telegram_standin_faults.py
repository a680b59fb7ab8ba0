"""local.telegram_standin.faults: injected failures meet the next calls of their
method only, and each plays out as Telegram and its network fail."""

from __future__ import annotations

import time

import pytest
from flask import Flask, Response

from local.telegram_standin.faults import Dropped, Fault, Faults, play
from local.telegram_standin.rules import Refused


class Call:
    """A Bot API call's effect, counted."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self) -> str:
        self.made += 1
        return "result"


def test_a_fault_meets_the_next_calls_of_its_method_only() -> None:
    faults = Faults()
    first, then = Fault("html", 502, times=2), Fault("slow", seconds=1)
    faults.inject("sendMessage", first)
    faults.inject("sendMessage", then)

    met = [faults.next("sendMessage") for _ in range(4)]

    assert met == [first, first, then, None]
    assert faults.next("getFile") is None


def test_cleared_faults_are_met_no_more() -> None:
    faults = Faults()
    faults.inject("sendMessage", Fault("html", 502, times=3))

    faults.clear()

    assert faults.next("sendMessage") is None


def test_no_fault_leaves_the_call_alone() -> None:
    call = Call()

    assert play(None, call) == "result" and call.made == 1


def test_an_api_error_answers_for_telegram_without_the_call() -> None:
    call = Call()

    with pytest.raises(Refused) as raised:
        play(Fault("api_error", 429, "Too Many Requests: retry after 7", retry_after=7), call)

    assert (raised.value.code, raised.value.description, raised.value.retry_after) == (
        429,
        "Too Many Requests: retry after 7",
        7,
    )
    assert call.made == 0


def test_an_html_error_page_comes_from_the_front_end_without_the_call() -> None:
    call = Call()

    page = play(Fault("html", 502), call)

    assert isinstance(page, Response) and page.status_code == 502 and page.mimetype == "text/html"
    assert "<h1>502 Bad Gateway</h1>" in page.get_data(as_text=True)
    assert call.made == 0


def test_a_slow_answer_comes_late() -> None:
    call = Call()
    started = time.monotonic()

    assert play(Fault("slow", seconds=0.05), call) == "result"
    assert time.monotonic() - started >= 0.05 and call.made == 1


@pytest.mark.parametrize(("after_effect", "made"), [(False, 0), (True, 1)], ids=["before", "after-the-effect"])
def test_a_dropped_connection_loses_the_answer_before_or_after_the_effect(after_effect: bool, made: int) -> None:
    call = Call()

    with Flask(__name__).test_request_context(), pytest.raises(Dropped):
        play(Fault("drop", after_effect=after_effect), call)

    assert call.made == made


def test_a_refused_call_is_answered_even_where_its_answer_was_to_be_lost() -> None:
    def refused() -> str:
        raise Refused("Bad Request: message to edit not found")

    with Flask(__name__).test_request_context(), pytest.raises(Refused):
        play(Fault("drop", after_effect=True), refused)
