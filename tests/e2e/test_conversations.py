"""Whole conversations with the bot, as a user has them: real-shaped updates
POSTed by the Telegram stand-in to the real webhook (the stack's bot, and bot
processes of their own started with `python -m bot`), real executions of the
workflow, the real model, the answers as the stand-in's chat shows them.

Every test runs in a chat of its own; the stand-in's transcript of each is
printed when the test ends (`-s` or `-rP` shows them).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from bot import texts
from bot.app import WEBHOOK_PATH
from bot.webhook import MENU_LISTS, register_with_telegram
from local.polybot_stack import PolybotStack
from local.telegram_standin import SentMessage, TelegramStandIn
from polybot import i18n, naming
from polybot.settings import Settings
from polybot.summary import CONFIDENT
from tests.auxil.images import ultralytics_asset
from tests.auxil.pipeline import wait_for_execution

KEPT = {language: texts.keeping(language, Settings().retention_days, Settings().region) for language in i18n.LANGUAGES}
"""What /start and /help say of how long and where things are kept, in each language."""


pytestmark = [pytest.mark.aws, pytest.mark.model]

ANSWER_S = 120


@pytest.fixture
def telegram(stack: PolybotStack, chat_id: int) -> Iterator[TelegramStandIn]:
    assert stack.telegram is not None and stack.bot is not None
    yield stack.telegram
    print(f"\n--- chat {chat_id} ---", *stack.telegram.transcript(chat_id), sep="\n")
    # Whatever a test did to the webhook, the stack's bot serves it again afterwards.
    stack.telegram.balance_across()
    bot, credentials = stack.bot.telegram.connect()
    register_with_telegram(bot, stack.bot_url, credentials.webhook_secret)


# --- bot processes of their own ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bot_environment(stack: PolybotStack, port: int) -> dict[str, str]:
    # The embedded AWS's endpoint and credentials are in this process's environment.
    return {
        **os.environ,
        **stack.settings.as_env(),
        "POLYBOT_BOT_PORT": str(port),
        "POLYBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }


@contextmanager
def bot_process(stack: PolybotStack) -> Iterator[str]:
    """`python -m bot serve` in a process of its own, sharing the embedded AWS;
    yields its address once /healthz answers."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        env=_bot_environment(stack, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/healthz", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the bot process did not come up"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def deploy_step(stack: PolybotStack, public_url: str) -> str:
    """`python -m bot register-webhook` as an instance runs it at boot; its output."""
    port = int(public_url.rsplit(":", 1)[1])
    done = subprocess.run(
        [sys.executable, "-m", "bot", "register-webhook"],
        env=_bot_environment(stack, port),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


# --- helpers ---------------------------------------------------------------------


def answer_to(telegram: TelegramStandIn, chat_id: int, message_id: int) -> SentMessage:
    """The bot's answer to a photo, once the progress message became it."""
    return telegram.wait_for_reply(chat_id, message_id, timeout=ANSWER_S)


def item_of(stack: PolybotStack, name: str) -> dict[str, Any]:
    answer = stack.client("dynamodb").get_item(TableName=stack.settings.results_table, Key={"image_id": {"S": name}})
    item: dict[str, Any] = answer["Item"]
    return item


def execution_input(stack: PolybotStack, name: str) -> dict[str, Any]:
    arn = stack.execution_arn(name)
    described: dict[str, Any] = stack.client("stepfunctions").describe_execution(executionArn=arn)
    document: dict[str, Any] = json.loads(described["input"])
    return document


# --- the conversations -------------------------------------------------------------


def test_a_photo_is_answered_in_its_progress_message_with_a_hedged_summary_and_details(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int
) -> None:
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))

    answer = answer_to(telegram, chat_id, photo["message_id"])

    # One message in the chat for the photo: "Looking at your photo…", edited into the answer.
    assert telegram.replies_to(chat_id, photo["message_id"]) == [answer]
    assert (answer.method, answer.edits, answer.kind) == ("sendMessage", ["editMessageMedia"], "photo")
    assert telegram.transcript(chat_id)[1].endswith(": Looking at your photo…")
    caption = answer.caption or ""
    assert caption.startswith("I see ") and "bus" in caption and "people" in caption
    detections = json.loads(item_of(stack, naming.execution_name(chat_id, photo["message_id"]))["detections"]["S"])
    unsure = [d for d in detections if d["confidence"] < CONFIDENT]
    assert ("maybe" in caption) == bool(unsure), "uncertain detections, and only they, are hedged"

    query = telegram.user_taps(chat_id, answer.message_id, "Details")

    [details] = telegram.replies_to(chat_id, answer.message_id)
    assert (details.text or "").startswith(i18n.text("details.title", "en"))
    assert len((details.text or "").splitlines()) == 1 + len(detections)
    assert query.answered


def test_a_settings_change_reaches_the_next_photos_execution(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int
) -> None:
    command = telegram.user_sends_text(chat_id, "/settings")
    [menu] = telegram.replies_to(chat_id, command["message_id"])

    query = telegram.user_taps(chat_id, menu.message_id, "60%")
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))

    assert query.answered and query.answer == i18n.text("settings.saved", "en")
    assert ("✓ 60%", "s:confidence:0.6") in telegram.message(chat_id, menu.message_id).buttons
    name = naming.execution_name(chat_id, photo["message_id"])
    assert execution_input(stack, name)["request"]["preferences"]["confidence"] == 0.6
    # The workflow honours it (flow branch): nothing below the threshold is reported.
    answer_to(telegram, chat_id, photo["message_id"])
    assert all(d["confidence"] >= 0.6 for d in json.loads(item_of(stack, name)["detections"]["S"]))


def test_an_albums_photos_follow_the_chats_settings(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int
) -> None:
    """Through the webhook, as a deployment receives an album: the chat's threshold
    and "one reply per photo" apply to it (with the webhook's deadline at 25 s
    an album's photos never read them, and the album came back as one reply)."""
    command = telegram.user_sends_text(chat_id, "/settings")
    [menu] = telegram.replies_to(chat_id, command["message_id"])
    assert telegram.user_taps(chat_id, menu.message_id, "60%").answered
    assert telegram.user_taps(chat_id, menu.message_id, i18n.text("settings.album.each", "en")).answered

    photos = telegram.user_sends_album(chat_id, [ultralytics_asset("zidane.jpg"), ultralytics_asset("bus.jpg")])
    album = naming.album_execution_name(chat_id, photos[0]["media_group_id"])
    assert stack.wait_for_execution(album, timeout_s=ANSWER_S)["status"] == "SUCCEEDED"

    transcript = telegram.transcript(chat_id)
    for photo in photos:
        replies = telegram.replies_to(chat_id, photo["message_id"])
        assert [m.kind for m in replies] == ["photo"], ("one answer per photo", transcript)
        assert telegram.settled(replies[0]), transcript
        detections = json.loads(item_of(stack, naming.execution_name(chat_id, photo["message_id"]))["detections"]["S"])
        assert detections and all(d["confidence"] >= 0.6 for d in detections), detections
    assert not [m for m in telegram.sent if m.chat_id == chat_id and m.method == "sendMediaGroup"], transcript


@pytest.mark.parametrize(("language", "bus"), [("es", "autobús"), ("ru", "автобус")])
def test_a_user_is_answered_in_the_language_of_their_telegram(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int, language: str, bus: str
) -> None:
    telegram.user_speaks(chat_id, language)
    start = telegram.user_sends_text(chat_id, "/start")
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))

    assert telegram.replies_to(chat_id, start["message_id"])[0].text == i18n.text("start", language, **KEPT[language])
    assert any(line.endswith(i18n.text("progress", language)) for line in telegram.transcript(chat_id))
    answer = answer_to(telegram, chat_id, photo["message_id"])
    assert bus in (answer.caption or "")
    assert answer.buttons[0][0] == i18n.text("details.button", language)


def test_an_album_whose_photos_reach_two_bot_processes_gets_one_answer(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int
) -> None:
    images = [ultralytics_asset("bus.jpg"), ultralytics_asset("zidane.jpg"), ultralytics_asset("bus.jpg")]
    with bot_process(stack) as second:
        telegram.balance_across(second + WEBHOOK_PATH)
        photos = telegram.user_sends_album(chat_id, images)
        ids = [p["message_id"] for p in photos]
        assert len({target for i in ids for target in telegram.delivered_to[i]}) == 2, "both processes got photos"
        name = naming.album_execution_name(chat_id, photos[0]["media_group_id"])
        execution = wait_for_execution(stack, name, ANSWER_S)

    assert execution["status"] == "SUCCEEDED"
    answers = [m for m in telegram.sent if m.chat_id == chat_id and not m.deleted]
    progress = [m for m in answers if m.method == "sendMessage"]
    assert len(progress) == 1, "one progress message for the album, edited into its overview"
    assert progress[0].text is not None and progress[0].text.startswith(i18n.text("album.title", "en"))
    assert len([m for m in answers if m.method == "sendMediaGroup"]) == 3
    for message_id in ids:
        assert (
            stack.wait_for_execution(naming.execution_name(chat_id, message_id), wait_for_start=False)["status"]
            == "NOT_STARTED"
        ), "no photo of the album was analysed on its own"


def test_history_survives_a_bot_restart_and_shows_an_image_again(
    stack: PolybotStack, telegram: TelegramStandIn, chat_id: int
) -> None:
    photo = telegram.user_sends_photo(chat_id, ultralytics_asset("zidane.jpg"))
    answer = answer_to(telegram, chat_id, photo["message_id"])

    with bot_process(stack) as restarted:
        # A new bot process, nothing in its memory: the deploy step points Telegram at it.
        assert deploy_step(stack, restarted) in ("registered", "already registered")
        command = telegram.user_sends_text(chat_id, "/history")
        [listing] = telegram.replies_to(chat_id, command["message_id"])
        lines = (listing.text or "").splitlines()
        assert lines[0] == i18n.text("history.title", "en")
        assert lines[1].startswith("1. ") and lines[1].endswith(answer.caption or "?")
        query = telegram.user_taps(chat_id, listing.message_id, "🖼 1")

    [again] = telegram.replies_to(chat_id, listing.message_id)
    assert again.kind == "photo" and again.photo == answer.photo
    assert query.answered


def test_the_deploy_step_sets_the_command_menu_once(stack: PolybotStack, telegram: TelegramStandIn) -> None:
    telegram.commands.clear()
    calls = telegram.set_commands_calls

    deploy_step(stack, stack.bot_url)
    after_first = telegram.set_commands_calls
    assert deploy_step(stack, stack.bot_url) == "already registered"

    assert after_first - calls == MENU_LISTS and telegram.set_commands_calls == after_first
    assert [c["command"] for c in telegram.commands[("default", "")]] == [
        "start",
        "help",
        "history",
        "settings",
        "privacy",
        "forget",
    ]
    for language in i18n.LANGUAGES:
        descriptions = [c["description"] for c in telegram.commands[("default", language)]]
        assert descriptions[3] == i18n.text("commands.settings", language)
