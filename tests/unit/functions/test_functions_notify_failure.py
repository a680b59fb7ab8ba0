from __future__ import annotations

from types import SimpleNamespace

import pytest
import telebot

from functions import notify_failure
from local.telegram_standin import TelegramStandIn
from polybot import i18n, naming
from polybot.albums import Albums
from polybot.errors import USER_CAUSED_ERRORS, USER_INPUT_ERRORS, ContractViolation
from polybot.forgetting import ChatRecords
from polybot.reply_ledger import ReplyLedger
from polybot.settings import Settings
from tests.auxil.moto_results import moto_results
from tests.auxil.requests import image_request
from tests.unit.conftest import STANDIN_TOKEN

MB = 1024 * 1024
TRY_AGAIN = i18n.text("failure.try_again", "en")


def test_not_an_image_asks_for_a_photo() -> None:
    text = notify_failure.plain_message("NotAnImage", 20 * MB)

    assert text == "That file is not an image I can read. Please send a photo (JPEG, PNG or WebP work best)."


@pytest.mark.parametrize(("limit", "shown"), [(20 * MB, "20 MB"), (50 * MB, "50 MB"), (2000 * MB, "2000 MB")])
def test_file_too_large_names_the_limit_in_megabytes(limit: int, shown: str) -> None:
    text = notify_failure.plain_message("FileTooLarge", limit)

    assert text.startswith(f"That file is larger than {shown}, the most Telegram lets me download. ")
    assert "as a photo (not as a file)" in text


def test_image_too_large_states_the_limit_and_asks_for_a_smaller_version() -> None:
    text = notify_failure.plain_message("ImageTooLarge", 20 * MB)

    assert text.startswith("That image has too many pixels for me to analyse: I take up to 100 megapixels")
    assert "Please send a smaller version" in text


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_pixel_limit_stated_is_the_one_imaging_applies(language: str) -> None:
    from polybot import imaging

    text = notify_failure.plain_message("ImageTooLarge", 20 * MB, language)

    assert f"{imaging.MAX_PIXELS // 1_000_000} " in text


@pytest.mark.parametrize("error", sorted(USER_CAUSED_ERRORS))
@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_what_the_user_caused_is_told_without_a_reference(error: str, language: str) -> None:
    """A reference is for support to find a failure of ours; on a refusal it only
    reads like an error code."""
    text = notify_failure.notice(error, "tg1201_1088", language, 20 * MB, forgotten=False)

    assert "tg1201_1088" not in text
    assert text == notify_failure.plain_message(error, 20 * MB, language)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_photo_stopped_by_forget_is_told_without_a_reference(language: str) -> None:
    text = notify_failure.notice("ImageMissing", "tg1201_1088", language, 20 * MB, forgotten=True)

    assert text == i18n.text("failure.forgotten", language)


@pytest.mark.parametrize("error", ["DetectionFailed", "States.Timeout", "ImageMissing", "ModelNotOffered", ""])
@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_failure_of_ours_keeps_its_reference_for_support(error: str, language: str) -> None:
    text = notify_failure.notice(error, "tg1201_1088", language, 20 * MB, forgotten=False)

    assert text.endswith("\n" + i18n.text("failure.reference", language, name="tg1201_1088"))


def test_image_not_decodable_says_the_file_seems_damaged() -> None:
    text = notify_failure.plain_message("ImageNotDecodable", 20 * MB)

    assert text == "I could not open that image; the file seems damaged. Please try another one."


def test_every_user_input_error_has_its_own_message() -> None:
    texts = {name: notify_failure.plain_message(name, 20 * MB) for name in USER_INPUT_ERRORS}

    assert TRY_AGAIN not in texts.values()
    assert len(set(texts.values())) == len(USER_INPUT_ERRORS)


@pytest.mark.parametrize(
    "error",
    [
        "States.Timeout",
        "States.HeartbeatTimeout",
        "States.TaskFailed",
        "DetectionFailed",
        "ImageMissing",
        "TelegramUnavailable",
        "TelegramRateLimited",
        "TelegramRefused",
        "Lambda.ServiceException",
        "ContractViolation",
        "",
    ],
)
def test_anything_on_our_side_gets_the_try_again_text(error: str) -> None:
    assert notify_failure.plain_message(error, 20 * MB) == TRY_AGAIN


def test_try_again_text_says_to_send_it_again() -> None:
    assert TRY_AGAIN == (
        "Sorry, something went wrong on my side while analysing your photo. Please send it again in a few minutes."
    )


def test_a_model_no_longer_offered_sends_the_user_to_settings() -> None:
    for language in i18n.LANGUAGES:
        text = notify_failure.plain_message("ModelNotOffered", 20 * MB, language)
        assert "/settings" in text and text != i18n.text("failure.try_again", language)


@pytest.mark.parametrize(("language", "words"), [("es", "demasiados píxeles"), ("ru", "слишком много пикселей")])
def test_the_reason_is_given_in_the_chats_language(language: str, words: str) -> None:
    assert words in notify_failure.plain_message("ImageTooLarge", 20 * MB, language)


def test_a_malformed_event_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ContractViolation, match=r"^NotifyFailureInput invalid at"):
        notify_failure.handler({"execution_name": "tg1_2", "failure": {"Error": "NotAnImage"}}, None)


def test_an_albums_failure_becomes_its_progress_message_held_in_the_albums_item(
    bot: telebot.TeleBot, telegram: TelegramStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19, rough edge 2: an album's progress message is held in its item, not in
    the execution's input (polybot.albums), and its failure notice edits it too."""
    with moto_results(monkeypatch, "results", "images") as (dynamodb, s3):
        albums = Albums(dynamodb, "results")
        name = naming.album_execution_name(7, "g1")
        started_by, holder = image_request(7, 2, media_group_id="g1"), image_request(7, 1, media_group_id="g1")
        progress = telegram.app.test_client().post(
            f"/bot{STANDIN_TOKEN}/sendMessage", data={"chat_id": 7, "text": "Looking at your photos…"}
        )
        progress_id = progress.get_json()["result"]["message_id"]
        albums.add(name, holder)
        albums.add(name, started_by)
        assert albums.hold_progress(name, {**holder, "progress_message_id": progress_id})
        services = SimpleNamespace(
            settings=Settings(images_bucket="images", results_table="results"),
            bot=bot,
            ledger=ReplyLedger(dynamodb, "results"),
            records=ChatRecords(dynamodb, s3, "results", "images", 30),
            albums=albums,
        )
        monkeypatch.setattr(notify_failure.services, "current", lambda: services)

        event = {"execution_name": name, "request": started_by, "failure": {"Error": "TelegramUnavailable"}}
        outcome = notify_failure.handler(event, None)

    assert outcome == {"kind": "failure_notice", "message_id": progress_id}
    [notice] = telegram.sent
    assert notice.edits == ["editMessageText"] and (notice.text or "").startswith(TRY_AGAIN)
