"""What the user did is answered, not raised (functions/refusals.py): every
workflow function's handler turns a user-caused error into a Refusal, so
Lambda's Errors metric, and FunctionErrorsAlarm on it, count only ours. Here
with the real handlers, the Bot API stand-in and a stand-in bucket."""

from __future__ import annotations

import importlib
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import telebot

from functions import notify_failure, refusals, send_reply, stage_image
from local.stack import load_template
from local.telegram_standin import TelegramStandIn
from polybot import contracts, errors
from polybot.forgetting import ChatRecords
from polybot.reply_ledger import ReplyLedger
from polybot.settings import Settings
from tests.auxil.requests import image_request

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = load_template(ROOT / "template.yaml")
HANDLERS = sorted(
    r["Properties"]["Handler"] for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
)


def user_caused() -> list[type[errors.PolybotError]]:
    return [getattr(errors, name) for name in sorted(errors.USER_CAUSED_ERRORS)]


@pytest.mark.parametrize("handler", HANDLERS)
def test_every_workflow_function_answers_the_users_doing_instead_of_failing(handler: str) -> None:
    module, _, attribute = handler.rpartition(".")

    assert isinstance(getattr(importlib.import_module(f"functions.{module}"), attribute), refusals.refusing)


@pytest.mark.parametrize("error", user_caused(), ids=lambda e: e.__name__)
def test_a_user_caused_error_becomes_a_refusal_with_its_name_and_cause(error: type[errors.PolybotError]) -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise error("what the user did")

    outcome = refusals.refusing(handler)({"execution_name": "tg7_1"}, None)

    assert outcome == {"kind": "refused", "failure": {"Error": error.__name__, "Cause": "what the user did"}}
    assert contracts.validate("Refusal", outcome) is outcome


@pytest.mark.parametrize(
    "error", [errors.TelegramUnavailable, errors.TelegramRefused, errors.ContractViolation, errors.AwsUnavailable]
)
def test_a_failure_of_ours_still_raises(error: type[errors.PolybotError]) -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise error("ours")

    with pytest.raises(error):
        refusals.refusing(handler)({}, None)


def test_only_a_user_caused_error_has_a_refusal() -> None:
    with pytest.raises(ValueError, match="ours"):
        refusals.refusal(errors.TelegramUnavailable("down"))


# --- the real handlers ------------------------------------------------------------------


@dataclass
class StandInBucket:
    stored: dict[str, bytes] = field(default_factory=dict)

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.stored[Key] = Body
        return {}


@dataclass
class StandInTable:
    """The results table as the reply ledger uses it: nothing sent yet, records kept."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get_item(self, **_: Any) -> dict[str, Any]:
        return {}

    def update_item(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"telegram_waits": {"N": "1"}}}


@pytest.fixture
def wired(
    bot: telebot.TeleBot, telegram: TelegramStandIn, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], SimpleNamespace]:
    settings = Settings(telegram_api_url=telegram.api_url, images_bucket="images", results_table="results")
    services = SimpleNamespace(
        settings=settings,
        bot=bot,
        s3=StandInBucket(),
        ledger=ReplyLedger(StandInTable(), "results"),  # type: ignore[arg-type]
        # No chat here was forgotten (/forget): its marker is never found.
        records=ChatRecords(StandInTable(), StandInBucket(), "results", "images", 30),  # type: ignore[arg-type]
    )
    for module in (stage_image, send_reply, notify_failure):
        monkeypatch.setattr(module.services, "current", lambda: services)
    return lambda: services


def claims_pixels(png: bytes, width: int, height: int) -> bytes:
    """The PNG with a header that claims width x height pixels (what a decompression bomb claims)."""
    header = b"IHDR" + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + header + struct.pack(">I", zlib.crc32(header)) + png[33:]


BAD_FILES: list[tuple[str, Callable[[Callable[..., bytes]], bytes], str]] = [
    ("a PDF", lambda image_bytes: b"%PDF-1.7\n" + bytes(2000), "NotAnImage"),
    ("an empty file", lambda image_bytes: b"", "NotAnImage"),
    ("a torn JPEG", lambda image_bytes: image_bytes("JPEG", size=(640, 480))[:400], "ImageNotDecodable"),
    ("a bomb", lambda image_bytes: claims_pixels(image_bytes("PNG", size=(1, 1)), 12_000, 12_000), "ImageTooLarge"),
]


@pytest.mark.parametrize(("what", "make", "error"), BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_stage_image_refuses_a_bad_file_without_failing_and_stores_nothing(
    wired: Callable[[], SimpleNamespace],
    telegram: TelegramStandIn,
    image_bytes: Callable[..., bytes],
    what: str,
    make: Callable[[Callable[..., bytes]], bytes],
    error: str,
) -> None:
    stored = telegram.add_file(make(image_bytes))
    event = {"execution_name": "tg7_1", "request": image_request(7, 1, stored.file_id)}

    outcome = stage_image.handler(event, None)

    assert contracts.validate("StageOutcome", outcome) == {
        "kind": "refused",
        "failure": {"Error": error, "Cause": outcome["failure"]["Cause"]},  # type: ignore[typeddict-item]
    }
    assert wired().s3.stored == {}


def test_stage_image_refuses_a_file_over_the_download_limit_before_fetching_it(
    wired: Callable[[], SimpleNamespace], telegram: TelegramStandIn
) -> None:
    request = image_request(7, 1, "big", file_size=Settings().max_download_bytes + 1)

    outcome = stage_image.handler({"execution_name": "tg7_1", "request": request}, None)

    assert outcome["failure"]["Error"] == "FileTooLarge"  # type: ignore[typeddict-item]
    assert telegram.calls == []


def test_a_reply_to_a_chat_that_blocked_the_bot_is_a_refusal(
    wired: Callable[[], SimpleNamespace], telegram: TelegramStandIn
) -> None:
    telegram.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    request = image_request(7, 1)
    event = {"execution_name": "tg7_1", "request": request, "failure": {"Error": "NotAnImage"}}

    outcome = notify_failure.handler(event, None)

    assert outcome == {
        "kind": "refused",
        "failure": {
            "Error": "ChatUnavailable",
            "Cause": "Telegram answered 403: Forbidden: bot was blocked by the user",
        },
    }
