"""The /settings message as a user reads it (bot/settings_menu.py): the text
explains the threshold that is chosen, each row of buttons comes under a header
naming it, and models are named by what they mean to a user."""

from __future__ import annotations

import pytest

from bot import settings_menu
from bot.preferences import Choices
from polybot import callbacks, i18n, summary
from polybot.contracts.messages import Preferences
from polybot.settings import CONFIDENCE_CHOICES, Settings

THRESHOLDS = sorted({*CONFIDENCE_CHOICES, Settings().confidence, 0.1, summary.CONFIDENT, 0.9})
OFFERED = ("yolov8n.pt", "yolov5n.onnx", "yolo11s.pt", "yolov8m.pt", "yolov8l.pt", "yolov8x.pt", "birds.onnx")


def preferences(confidence: float = 0.25, model: str = "yolov8n.pt", language: str = "en") -> Preferences:
    return {"language": language, "confidence": confidence, "model": model, "album_reply": "album"}  # type: ignore[typeddict-item]


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize("confidence", THRESHOLDS)
def test_the_text_explains_the_chosen_threshold_and_a_maybe_band_only_where_there_is_one(
    confidence: float, language: str
) -> None:
    text = settings_menu.settings_text(preferences(confidence, language=language), language)
    chosen, sure = i18n.percent(confidence, language), i18n.percent(summary.CONFIDENT, language)
    explanation = text.split("\n\n")[-1]
    hedged = i18n.text("settings.explain.hedged", language, confidence=chosen, sure=sure)
    stated = i18n.text("settings.explain.sure", language, confidence=chosen)

    assert chosen in explanation
    # "Between 60% and 50% I say maybe" names a band that does not exist: every
    # detection at or above CONFIDENT is stated (polybot.summary).
    assert explanation == (hedged if confidence < summary.CONFIDENT else stated)
    if confidence > summary.CONFIDENT:
        assert sure not in explanation


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_each_row_of_buttons_comes_under_a_header_naming_it_in_the_texts_order(language: str) -> None:
    choices = Choices.from_settings(Settings(extra_models="yolov5n.onnx"))
    keyboard = settings_menu.settings_keyboard(preferences(language=language), choices, language)
    rows = keyboard.keyboard

    headers, choice_rows = rows[0::2], rows[1::2]
    assert len(headers) == len(choice_rows) == 3
    assert all(len(header) == 1 for header in headers)
    assert [h[0].callback_data for h in headers] == [f"s:about:{f}" for f in settings_menu.FIELDS]
    names = [i18n.text(key, language) for key in settings_menu.FIELDS.values()]
    assert [h[0].text for h in headers] == [i18n.text("settings.row", language, name=n) for n in names]
    fields = [{str(b.callback_data).split(":")[1] for b in row} for row in choice_rows]
    assert fields == [{f} for f in settings_menu.FIELDS]
    # The text names the rows in the same order.
    text = settings_menu.settings_text(preferences(language=language), language)
    shown = [line.split(":")[0].lstrip("• ") for line in text.splitlines() if line.startswith("•")]
    assert shown == [names[0], i18n.text("settings.model", language), names[2]]


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_header_tap_answers_what_its_row_is_for_and_is_no_setting(language: str) -> None:
    for field in settings_menu.FIELDS:
        data = f"{callbacks.SETTINGS}{settings_menu.ABOUT}:{field}"
        assert settings_menu.about(data, language) == i18n.text(f"settings.about.{field}", language)
        assert len(settings_menu.about(data, language) or "") <= 200, "Telegram's limit on a callback answer"
        with pytest.raises(ValueError):
            settings_menu.parse(data)
    assert settings_menu.about("s:confidence:0.4", language) is None
    assert settings_menu.about("s:about:../etc", language) is None


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_models_are_named_by_what_they_mean_to_a_user(language: str) -> None:
    names = {m: settings_menu.model_name(m, language, OFFERED) for m in OFFERED}

    for model, name in names.items():
        if model != "birds.onnx":
            assert "yolo" not in name.lower().replace("(yolov", ""), name
    assert names["yolov8n.pt"].startswith(i18n.text("settings.model.n", language))
    assert names["yolo11s.pt"] == i18n.text("settings.model.s", language)
    assert names["yolov8m.pt"] == i18n.text("settings.model.m", language)
    assert names["yolov8x.pt"] == i18n.text("settings.model.x", language)
    assert names["birds.onnx"] == "birds", "weights of another name keep it"
    assert len(set(names.values())) == len(OFFERED), "two offered models are never shown alike"


def test_a_model_of_a_size_offered_once_is_named_by_its_size_alone() -> None:
    assert settings_menu.model_name("/opt/polybot/models/yolov8n.pt", "en", ("yolov8n.pt",)) == "fast"
    assert settings_menu.model_name("yolov5nu.pt", "es") == "rápido"
    assert settings_menu.model_name("yolo11s.onnx", "ru") == "сбалансированная"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_model_buttons_and_text_use_the_same_names(language: str) -> None:
    choices = Choices.from_settings(Settings(extra_models="yolov5n.onnx,yolov8m.pt"))
    keyboard = settings_menu.settings_keyboard(preferences(language=language), choices, language)
    text = settings_menu.settings_text(preferences(language=language), language, choices.models)

    model_row = keyboard.keyboard[3]
    shown = [str(b.text).removeprefix(settings_menu.CHOSEN) for b in model_row]
    assert shown == [settings_menu.model_name(m, language, choices.models) for m in choices.models]
    assert f": {shown[0]}\n" in text
