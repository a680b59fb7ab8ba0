from __future__ import annotations

import pytest

from polybot import errors


def named_errors() -> list[type[errors.PolybotError]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.PolybotError) and value is not errors.PolybotError
    ]


@pytest.mark.parametrize("error_class", named_errors(), ids=lambda c: c.__name__)
def test_name_is_the_class_name(error_class: type[errors.PolybotError]) -> None:
    assert error_class("detail").name == error_class.__name__


def test_only_outages_of_telegram_or_aws_are_retryable() -> None:
    retryable = {c.__name__ for c in named_errors() if c.retryable}

    assert retryable == {"TelegramUnavailable", "TelegramRateLimited", "AwsUnavailable"}
    assert errors.TelegramUnavailable().retryable is True
    assert errors.TelegramRateLimited().retryable is True
    assert errors.NotAnImage().retryable is False


def test_user_input_errors_are_named_errors_that_are_never_retried() -> None:
    by_name = {c.__name__: c for c in named_errors()}

    assert {"NotAnImage", "FileTooLarge", "ImageTooLarge", "ImageNotDecodable"} == errors.USER_INPUT_ERRORS
    for name in errors.USER_INPUT_ERRORS:
        assert by_name[name].retryable is False


def test_user_caused_errors_are_the_users_input_and_a_chat_gone_and_never_retried() -> None:
    by_name = {c.__name__: c for c in named_errors()}

    assert errors.USER_INPUT_ERRORS | {"ChatUnavailable"} == errors.USER_CAUSED_ERRORS
    assert {name for name, c in by_name.items() if c.user_caused} == errors.USER_CAUSED_ERRORS
    for name in errors.USER_CAUSED_ERRORS:
        assert by_name[name].retryable is False
    # Code that handles Telegram's refusals still sees a blocked chat as one.
    assert issubclass(errors.ChatUnavailable, errors.TelegramRefused)


def test_message_is_kept() -> None:
    assert str(errors.NotAnImage("the file is empty")) == "the file is empty"
