from __future__ import annotations

import io
import json
import logging
import sys
import threading
from typing import Any

import pytest

from polybot import logs

pytestmark = pytest.mark.usefixtures("restore_logging")


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture
def stream() -> io.StringIO:
    stream = io.StringIO()
    logs.configure("bot", "INFO", stream)
    return stream


def test_each_line_is_json_with_the_correlation_fields(stream: io.StringIO) -> None:
    logging.getLogger("bot.handlers").info("started %s", "analysis")

    [line] = lines(stream)
    assert set(line) == {"time", "level", "component", "logger", "execution", "message"}
    assert line["level"] == "INFO"
    assert line["component"] == "bot"
    assert line["logger"] == "bot.handlers"
    assert line["execution"] is None
    assert line["message"] == "started analysis"
    assert line["time"]


def test_correlate_sets_the_execution_and_resets_it_after(stream: io.StringIO) -> None:
    log = logging.getLogger("functions.stage_image")

    with logs.correlate("tg4242_77"):
        log.info("inside")
        with logs.correlate("tg4242_78"):
            log.info("nested")
        log.info("inside again")
    log.info("outside")

    assert [(line["message"], line["execution"]) for line in lines(stream)] == [
        ("inside", "tg4242_77"),
        ("nested", "tg4242_78"),
        ("inside again", "tg4242_77"),
        ("outside", None),
    ]


def test_correlate_resets_after_an_exception(stream: io.StringIO) -> None:
    with pytest.raises(RuntimeError), logs.correlate("tg4242_77"):
        raise RuntimeError("boom")
    logging.getLogger("x").warning("after")

    assert lines(stream)[-1]["execution"] is None


def test_correlation_does_not_leak_into_another_thread(stream: io.StringIO) -> None:
    def other() -> None:
        logging.getLogger("worker").warning("from another thread")

    with logs.correlate("tg4242_77"):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()

    assert lines(stream)[0]["execution"] is None


def test_an_explicit_execution_wins(stream: io.StringIO) -> None:
    with logs.correlate("tg4242_77"):
        logging.getLogger("x").info("given", extra={"execution": "tg1_2"})

    assert lines(stream)[0]["execution"] == "tg1_2"


def test_a_level_below_the_configured_one_is_dropped(stream: io.StringIO) -> None:
    logging.getLogger("x").debug("quiet")
    logging.getLogger("x").error("loud")

    assert [line["message"] for line in lines(stream)] == ["loud"]
    assert lines(stream)[0]["level"] == "ERROR"


def test_redact_masks_a_registered_secret(stream: io.StringIO) -> None:
    logs.redact("123456:SECRET-token")

    logging.getLogger("TeleBot").warning("GET https://api.telegram.org/bot123456:SECRET-token/getMe failed")

    [line] = lines(stream)
    assert line["message"] == "GET https://api.telegram.org/bot***/getMe failed"
    assert "SECRET-token" not in stream.getvalue()


def test_redact_masks_a_secret_inside_a_traceback(stream: io.StringIO) -> None:
    logs.redact("hook-secret-value")

    try:
        raise ValueError("bad header hook-secret-value")
    except ValueError:
        logging.getLogger("bot.app").exception("webhook failed")

    assert "hook-secret-value" not in stream.getvalue()
    assert "bad header ***" in lines(stream)[0]["exc_info"]


def test_redact_ignores_an_empty_secret(stream: io.StringIO) -> None:
    logs.redact("")

    logging.getLogger("x").info("nothing to hide")

    assert lines(stream)[0]["message"] == "nothing to hide"


def test_configure_replaces_earlier_handlers() -> None:
    first, second = io.StringIO(), io.StringIO()
    logs.configure("bot", stream=first)
    logs.configure("worker", stream=second)

    logging.getLogger("x").warning("once")

    assert first.getvalue() == ""
    assert lines(second)[0]["component"] == "worker"


def test_keep_existing_keeps_an_existing_configuration(stream: io.StringIO) -> None:
    later = io.StringIO()

    logs.configure("functions", "DEBUG", later, keep_existing=True)
    logging.getLogger("x").info("after")

    assert later.getvalue() == ""
    assert lines(stream)[0]["component"] == "bot"
    assert logging.getLogger().level == logging.INFO


def test_keep_existing_configures_a_process_that_is_not_configured() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    stream = io.StringIO()

    logs.configure("functions", stream=stream, keep_existing=True)
    logging.getLogger("x").warning("first")

    assert lines(stream)[0]["component"] == "functions"


@pytest.mark.parametrize("library", ["TeleBot", "urllib3", "botocore", "boto3", "werkzeug", "ultralytics"])
def test_libraries_that_log_urls_stay_at_warning_even_when_debugging(library: str) -> None:
    stream = io.StringIO()
    logs.configure("bot", "DEBUG", stream)

    logging.getLogger(library).info("GET /bot<token>/getMe")
    logging.getLogger(library).warning("retrying")
    logging.getLogger("bot.handlers").debug("our own debug")

    assert [line["message"] for line in lines(stream)] == ["retrying", "our own debug"]


def test_a_token_shaped_string_is_masked_even_unregistered(stream: io.StringIO) -> None:
    logging.getLogger("urllib3").error("GET /bot7123456789:AAH4kLmNoPqRsTuVwXyZ0123456789abcde/getUpdates failed")

    [line] = lines(stream)
    assert line["message"] == "GET /bot***/getUpdates failed"


def test_an_uncaught_exception_is_logged_as_a_masked_json_line(stream: io.StringIO) -> None:
    token = "7000000002:SECRET-PART-OF-A-TOKEN"
    logs.redact(token)
    try:
        raise ConnectionError(f"Max retries exceeded with url: /bot{token}/deleteWebhook")
    except ConnectionError as exc:
        # What Python calls for an exception nobody caught.
        sys.excepthook(type(exc), exc, exc.__traceback__)

    [line] = lines(stream)
    assert line["level"] == "CRITICAL" and line["message"] == "uncaught ConnectionError"
    assert "SECRET-PART" not in stream.getvalue()
    assert "/bot***/deleteWebhook" in line["exc_info"]


def test_an_uncaught_exception_in_a_thread_is_logged_the_same_way(stream: io.StringIO) -> None:
    def fail() -> None:
        raise RuntimeError("in a thread")

    thread = threading.Thread(target=fail)
    thread.start()
    thread.join()

    [line] = lines(stream)
    assert line["message"] == "uncaught RuntimeError" and "in a thread" in line["exc_info"]
