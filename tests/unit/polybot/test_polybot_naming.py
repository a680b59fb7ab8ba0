from __future__ import annotations

import re

import pytest

from polybot import naming

STEP_FUNCTIONS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


@pytest.mark.parametrize(
    ("chat_id", "message_id"),
    [
        (4242, 77),
        (-1001234567890, 5),  # a supergroup
        (-42, 1),  # a basic group
        (-1009999999999999, 2**31 - 1),  # the longest ids Telegram hands out
        (2**52, 2**31 - 1),
    ],
)
def test_execution_name_round_trips_and_is_a_valid_step_functions_name(chat_id: int, message_id: int) -> None:
    name = naming.execution_name(chat_id, message_id)

    assert STEP_FUNCTIONS_NAME.match(name), name
    assert naming.parse_execution_name(name) == (chat_id, message_id)


def test_execution_name_is_a_pure_function_of_chat_and_message() -> None:
    assert naming.execution_name(-1001234567890, 5) == "tg-1001234567890_5"
    assert naming.execution_name(-1001234567890, 5) == naming.execution_name(-1001234567890, 5)
    assert naming.execution_name(1, 23) != naming.execution_name(12, 3)


@pytest.mark.parametrize(
    "name", ["", "tg", "tg12", "tg12_", "tg_5", "tgabc_1", "xx12_5", "tg12_-5", "tg12_5_6", " tg1_2"]
)
def test_parse_execution_name_refuses_other_names(name: str) -> None:
    with pytest.raises(ValueError, match="not a Polybot execution name"):
        naming.parse_execution_name(name)


def test_parse_execution_name_refuses_a_trailing_newline() -> None:
    with pytest.raises(ValueError):
        naming.parse_execution_name("tg1_2\n")


@pytest.mark.parametrize(
    ("content_type", "extension"),
    [
        ("image/jpeg", "jpg"),
        ("image/png", "png"),
        ("image/webp", "webp"),
        ("image/bmp", "bmp"),
        ("image/gif", "gif"),
        ("image/tiff", "tiff"),
        ("image/heic", "heic"),
        ("application/octet-stream", "bin"),
    ],
)
def test_original_key_is_under_originals_with_the_extension_of_its_type(content_type: str, extension: str) -> None:
    assert naming.original_key("tg-42_7", content_type) == f"originals/tg-42_7.{extension}"


def test_annotated_key_is_always_a_jpeg_under_annotated() -> None:
    assert naming.annotated_key("tg-42_7") == "annotated/tg-42_7.jpg"
