"""bot.preferences: each chat's choices on its results-table item, the deployment's defaults otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from bot.preferences import ChatPreferences, Choices
from polybot import contracts
from polybot.settings import Settings

CHOICES = Choices.from_settings(Settings(extra_models="yolov5n.onnx"))


class Table:
    """The two DynamoDB calls ChatPreferences makes, on one dict of items."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.down = False

    def get_item(self, TableName: str, Key: dict[str, Any]) -> dict[str, Any]:
        if self.down:
            raise EndpointConnectionError(endpoint_url="http://dynamodb")
        item = self.items.get(Key["image_id"]["S"])
        return {"Item": item} if item else {}

    def update_item(
        self,
        TableName: str,
        Key: dict[str, Any],
        ExpressionAttributeNames: dict[str, str],
        ExpressionAttributeValues: dict[str, Any],
        **_: Any,
    ) -> None:
        item = self.items.setdefault(Key["image_id"]["S"], dict(Key))
        item[ExpressionAttributeNames["#field"]] = ExpressionAttributeValues[":value"]


@pytest.fixture
def table() -> Table:
    return Table()


def test_a_chat_that_chose_nothing_gets_the_defaults_in_its_language(table: Table) -> None:
    preferences = ChatPreferences(table, "results", CHOICES).get(1, "ru-RU")

    assert preferences == {"language": "ru", "confidence": 0.25, "model": "yolov8n.pt", "album_reply": "album"}
    contracts.validate("Preferences", preferences)


def test_choices_are_kept_per_chat(table: Table) -> None:
    store = ChatPreferences(table, "results", CHOICES)
    store.change(1, "confidence", 0.6)
    store.change(1, "model", "yolov5n.onnx")
    store.change(1, "album_reply", "each")

    assert store.get(1, None) == {"language": "en", "confidence": 0.6, "model": "yolov5n.onnx", "album_reply": "each"}
    assert store.get(2, None)["confidence"] == 0.25


def test_choices_are_stored_as_dynamodb_numbers_and_strings(table: Table) -> None:
    store = ChatPreferences(table, "results", CHOICES)
    store.change(1, "confidence", 0.4)
    store.change(1, "model", "yolov5n.onnx")

    assert table.items["prefs:1"] == {
        "image_id": {"S": "prefs:1"},
        "confidence": {"N": "0.4"},
        "model": {"S": "yolov5n.onnx"},
    }


@pytest.mark.parametrize(("field", "value"), [("confidence", 0.33), ("model", "evil.pt"), ("album_reply", "x")])
def test_what_is_not_offered_cannot_be_chosen(table: Table, field: str, value: Any) -> None:
    with pytest.raises(ValueError, match="not offered"):
        ChatPreferences(table, "results", CHOICES).change(1, field, value)
    assert table.items == {}


def test_a_model_no_longer_offered_falls_back_to_the_default(table: Table) -> None:
    ChatPreferences(table, "results", CHOICES).change(1, "model", "yolov5n.onnx")
    fewer = Choices.from_settings(Settings())

    assert ChatPreferences(table, "results", fewer).get(1)["model"] == "yolov8n.pt"


def test_when_the_table_cannot_be_read_the_photo_gets_the_defaults(table: Table) -> None:
    table.down = True
    assert ChatPreferences(table, "results", CHOICES).get(1, "es")["confidence"] == 0.25


def test_the_deployments_own_threshold_is_always_offered() -> None:
    assert Choices.from_settings(Settings(confidence=0.3)).confidences == (0.25, 0.3, 0.4, 0.6)
