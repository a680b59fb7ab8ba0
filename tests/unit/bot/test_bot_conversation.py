"""The bot's side of a conversation, handler by handler: progress messages, albums,
/settings, /history, Details, languages. Against the project's Telegram stand-in
over HTTP and a results table in moto (the same table the workflow writes)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import telebot
from botocore.exceptions import ClientError
from PIL import Image
from telebot import types

from bot import handlers, texts
from bot.history import Results
from bot.preferences import ChatPreferences, Choices
from bot.quota import ChatQuota
from local.telegram_standin import TelegramStandIn
from polybot import i18n, naming
from polybot.albums import Added, Albums, answered_by
from polybot.reply_ledger import ReplyLedger
from polybot.settings import Settings
from tests.auxil.moto_results import moto_results
from tests.auxil.requests import image_request
from tests.unit.conftest import STANDIN_TOKEN

KEPT = {language: texts.keeping(language, Settings().retention_days, Settings().region) for language in i18n.LANGUAGES}
"""What /start and /help say of how long and where things are kept, in each language."""


TOKEN = STANDIN_TOKEN
TABLE = "results"
BUCKET = "images"
CHAT = 4242


class RecordingPipeline:
    """Step Functions' StartExecution: each name starts once."""

    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}

    def start(self, request: dict[str, Any]) -> bool:
        return self._start(naming.execution_name(request["chat_id"], request["message_id"]), {"request": request})

    def start_album(self, name: str, request: dict[str, Any]) -> bool:
        return self._start(name, {"request": request, "album": {"media_group_id": request["media_group_id"]}})

    def _start(self, name: str, execution_input: dict[str, Any]) -> bool:
        if name in self.started:
            return False
        self.started[name] = execution_input
        return True


def jpeg(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    with moto_results(monkeypatch, TABLE, BUCKET) as clients:
        yield clients


@pytest.fixture
def pipeline() -> RecordingPipeline:
    return RecordingPipeline()


@pytest.fixture
def chats(aws: tuple[Any, Any], pipeline: RecordingPipeline) -> handlers.Chats:
    dynamodb, s3 = aws
    albums = Albums(dynamodb, TABLE)
    settings = Settings(extra_models="yolov5n.onnx")
    return handlers.Chats(
        pipeline,
        preferences=ChatPreferences(dynamodb, TABLE, Choices.from_settings(settings)),
        albums=albums,
        results=Results(dynamodb, TABLE, albums),
        s3=s3,
        images_bucket=BUCKET,
        ledger=ReplyLedger(dynamodb, TABLE),
    )


@pytest.fixture
def bot(bot: telebot.TeleBot, chats: handlers.Chats) -> telebot.TeleBot:
    handlers.register(bot, chats)
    # The stand-in delivers to getUpdates (no webhook here); the test hands each update to the bot.
    return bot


def run(bot: telebot.TeleBot, telegram: TelegramStandIn) -> None:
    """Handle every update the stand-in has queued, as the webhook would."""
    updates = telegram.take_updates()
    bot.process_new_updates([types.Update.de_json(json.dumps(u)) for u in updates])


def send_photo(bot: telebot.TeleBot, telegram: TelegramStandIn, chat: int = CHAT) -> int:
    message = telegram.user_sends_photo(chat, jpeg())
    run(bot, telegram)
    return int(message["message_id"])


def send_text(bot: telebot.TeleBot, telegram: TelegramStandIn, text: str, chat: int = CHAT) -> int:
    message = telegram.user_sends_text(chat, text)
    run(bot, telegram)
    return int(message["message_id"])


def tap(bot: telebot.TeleBot, telegram: TelegramStandIn, message_id: int, button: str, chat: int = CHAT) -> Any:
    query = telegram.user_taps(chat, message_id, button)
    run(bot, telegram)
    return query


def put_result(dynamodb: Any, chat: int, message_id: int, received_at: str, **extra: Any) -> str:
    name = naming.execution_name(chat, message_id)
    item = {
        "image_id": {"S": name},
        "chat_id": {"N": str(chat)},
        "message_id": {"N": str(message_id)},
        "received_at": {"S": received_at},
        **extra,
    }
    dynamodb.put_item(TableName=TABLE, Item=item)
    return name


BUS_AND_PEOPLE = json.dumps(
    [
        {"label": "bus", "confidence": 0.91, "box": [0, 0, 600, 400]},
        {"label": "person", "confidence": 0.88, "box": [0, 0, 50, 100]},
        {"label": "person", "confidence": 0.81, "box": [60, 0, 110, 100]},
        {"label": "traffic light", "confidence": 0.31, "box": [0, 0, 10, 10]},
    ]
)


# --- photos: progress in place ------------------------------------------------


def test_a_photo_gets_its_progress_message_before_its_execution_starts(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline
) -> None:
    message_id = send_photo(bot, telegram)

    [progress] = telegram.replies_to(CHAT, message_id)
    assert progress.text == "Looking at your photo…"
    request = pipeline.started[naming.execution_name(CHAT, message_id)]["request"]
    assert request["progress_message_id"] == progress.message_id
    assert request["preferences"] == {
        "language": "en",
        "confidence": 0.25,
        "model": "yolov8n.pt",
        "album_reply": "album",
    }
    # Nothing after the start: the bot's calls stay out of the analysis' way.
    assert telegram.calls[-1] == "sendMessage" and telegram.chat_actions == []


def test_a_redelivered_photo_leaves_one_progress_message(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline
) -> None:
    message = telegram.user_sends_photo(CHAT, jpeg())
    update = telegram.pending_updates[0]
    run(bot, telegram)
    bot.process_new_updates([types.Update.de_json(json.dumps(update))])

    [progress] = telegram.replies_to(CHAT, message["message_id"])
    [execution] = pipeline.started.values()
    assert execution["request"]["progress_message_id"] == progress.message_id
    assert telegram.calls[-2:] == ["sendMessage", "deleteMessage"]


def test_a_spanish_user_is_answered_in_spanish_and_the_request_says_so(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline
) -> None:
    telegram.user_speaks(CHAT, "es-MX")
    start = send_text(bot, telegram, "/start")
    photo = send_photo(bot, telegram)

    assert telegram.replies_to(CHAT, start)[0].text == i18n.text("start", "es", **KEPT["es"])
    assert telegram.replies_to(CHAT, photo)[0].text == i18n.text("progress", "es")
    [execution] = pipeline.started.values()
    assert execution["request"]["preferences"]["language"] == "es"


def test_a_russian_user_gets_russian_help(bot: telebot.TeleBot, telegram: TelegramStandIn) -> None:
    telegram.user_speaks(CHAT, "ru")
    reply = telegram.replies_to(CHAT, send_text(bot, telegram, "/help"))[0]
    assert reply.text == i18n.text("help", "ru", **KEPT["ru"])
    assert "/history" in (reply.text or "")


# --- albums ---------------------------------------------------------------------


def test_an_album_starts_one_execution_and_one_progress_message(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline, chats: handlers.Chats
) -> None:
    messages = telegram.user_sends_album(CHAT, [jpeg(), jpeg((0, 0, 200)), jpeg((0, 200, 0))], at_once=False)
    run(bot, telegram)

    group = messages[0]["media_group_id"]
    name = naming.album_execution_name(CHAT, group)
    assert list(pipeline.started) == [name]
    assert pipeline.started[name]["album"] == {"media_group_id": group}
    assert pipeline.started[name]["request"]["message_id"] == messages[0]["message_id"]
    progress = [m for m in telegram.sent if m.chat_id == CHAT]
    assert [(m.text, m.reply_to_message_id) for m in progress] == [
        ("Looking at your photos…", messages[0]["message_id"])
    ]
    assert chats.albums is not None
    photos = chats.albums.photos(name)
    assert [p["message_id"] for p in photos] == [m["message_id"] for m in messages]
    # The album's progress message is held in its item, where the execution finds it
    # whichever photo started it (polybot.albums.answered_by), not in the execution's input.
    assert pipeline.started[name]["request"].get("progress_message_id") is None
    holder = answered_by(photos)
    assert holder is not None and holder["message_id"] == messages[0]["message_id"]
    assert holder["progress_message_id"] == progress[0].message_id


def failing_start_of(
    pipeline: RecordingPipeline, message_id: int, monkeypatch: pytest.MonkeyPatch, meanwhile: Any = None
) -> None:
    """StartExecution fails outright (after boto3's retries) for the photo `message_id`
    of an album alone; `meanwhile(album)` happens before it fails."""
    start_album = pipeline.start_album

    def start(name: str, request: dict[str, Any]) -> bool:
        if request["message_id"] != message_id:
            return start_album(name, request)
        if meanwhile is not None:
            meanwhile(name)
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "StartExecution")

    monkeypatch.setattr(pipeline, "start_album", start)


def test_an_album_photo_whose_start_fails_is_told_once_and_left_out_of_its_album(
    bot: telebot.TeleBot,
    telegram: TelegramStandIn,
    pipeline: RecordingPipeline,
    chats: handlers.Chats,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every photo ends in exactly one reply: the photo told "I can't reach my analysis
    service" is not answered again by its album, which another photo started."""
    messages = telegram.user_sends_album(CHAT, [jpeg(), jpeg((0, 0, 200)), jpeg((0, 200, 0))], at_once=False)
    failed = messages[1]["message_id"]
    failing_start_of(pipeline, failed, monkeypatch)
    run(bot, telegram)

    name = naming.album_execution_name(CHAT, messages[0]["media_group_id"])
    assert list(pipeline.started) == [name]
    [told] = telegram.replies_to(CHAT, failed)
    assert told.text == i18n.text("unavailable", "en")
    assert chats.albums is not None
    assert [p["message_id"] for p in chats.albums.gather(name)] == [
        messages[0]["message_id"],
        messages[2]["message_id"],
    ]


def test_an_album_photo_whose_start_fails_once_its_album_was_gathered_is_answered_by_the_album(
    bot: telebot.TeleBot,
    telegram: TelegramStandIn,
    pipeline: RecordingPipeline,
    chats: handlers.Chats,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    messages = telegram.user_sends_album(CHAT, [jpeg(), jpeg((0, 0, 200))], at_once=False)
    failed = messages[1]["message_id"]
    assert chats.albums is not None
    albums = chats.albums
    failing_start_of(pipeline, failed, monkeypatch, meanwhile=albums.gather)
    run(bot, telegram)

    name = naming.album_execution_name(CHAT, messages[0]["media_group_id"])
    assert not telegram.replies_to(CHAT, failed), "the album's answer is its one reply"
    assert [p["message_id"] for p in albums.photos(name)] == [m["message_id"] for m in messages]


def test_albums_over_the_quota_get_one_notice_naming_their_skipped_photos(
    bot: telebot.TeleBot,
    telegram: TelegramStandIn,
    pipeline: RecordingPipeline,
    chats: handlers.Chats,
    aws: tuple[Any, Any],
) -> None:
    """Issue 19, rough edge 4: a photo within the quota, then two albums over it: one
    notice (not one "slow down" per photo), in answer to the first skipped photo,
    edited to name every skipped photo, and when to send them again."""
    ten_seconds_into_a_minute = 28_333_333 * 60 + 10.0
    chats.quota = ChatQuota(aws[0], TABLE, photos_per_minute=1, clock=lambda: ten_seconds_into_a_minute)
    analysed = send_photo(bot, telegram)
    first = telegram.user_sends_album(CHAT, [jpeg()] * 3, at_once=False)
    second = telegram.user_sends_album(CHAT, [jpeg()] * 2, at_once=False)
    run(bot, telegram)

    assert list(pipeline.started) == [naming.execution_name(CHAT, analysed)]
    replies = [m for m in telegram.sent if m.chat_id == CHAT and m.reply_to_message_id != analysed]
    [notice] = replies
    assert notice.reply_to_message_id == first[0]["message_id"]
    assert "so I skipped 5 photos in 2 albums. Please send them again in 50 seconds." in (notice.text or "")
    assert notice.edits, "edited as the later photos were skipped"
    assert second[-1]["message_id"] > first[-1]["message_id"]


def test_an_albums_first_photo_is_the_one_that_was_added_first(chats: handlers.Chats) -> None:
    albums, name = chats.albums, naming.album_execution_name(CHAT, "888")
    assert albums is not None
    first, second = (image_request(CHAT, m, media_group_id="888") for m in (30, 31))

    added = [albums.add(name, first), albums.add(name, first), albums.add(name, second), albums.add(name, first)]
    albums.gather(name)

    # A redelivered first photo is first again until another photo joined.
    assert added == [Added.FIRST, Added.FIRST, Added.LATER, Added.LATER]
    assert albums.add(name, image_request(CHAT, 32, media_group_id="888")) is Added.CLOSED


def test_a_photo_after_its_album_was_gathered_is_analysed_alone(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline, chats: handlers.Chats
) -> None:
    first, late = telegram.photo_message(CHAT, jpeg()), telegram.photo_message(CHAT, jpeg())
    first["media_group_id"] = late["media_group_id"] = "555"
    telegram.deliver(first)
    run(bot, telegram)
    name = naming.album_execution_name(CHAT, "555")
    assert chats.albums is not None
    chats.albums.gather(name)
    telegram.deliver(late)
    telegram.deliver(first)  # a redelivery of a gathered photo
    run(bot, telegram)

    assert list(pipeline.started) == [name, naming.execution_name(CHAT, late["message_id"])]
    assert telegram.replies_to(CHAT, late["message_id"])[0].text == "Looking at your photo…"
    assert len(telegram.replies_to(CHAT, first["message_id"])) == 1


# --- /settings ------------------------------------------------------------------


def test_settings_taps_change_what_the_next_photo_asks_for(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline
) -> None:
    [menu] = telegram.replies_to(CHAT, send_text(bot, telegram, "/settings"))
    assert "25%" in (menu.text or "") and "Model: fast (YOLOv8)" in (menu.text or "")
    assert ("✓ 25%", "s:confidence:0.25") in menu.buttons
    assert ("fast (YOLOv5)", "s:model:yolov5n.onnx") in menu.buttons

    taps = [tap(bot, telegram, menu.message_id, b) for b in ("60%", "fast (YOLOv5)", "one reply per photo")]
    tap(bot, telegram, menu.message_id, "✓ 60%")  # the same choice again: nothing to edit

    assert all(q.answered and q.answer == "Saved." for q in taps)
    shown = telegram.message(CHAT, menu.message_id)
    assert ("✓ 60%", "s:confidence:0.6") in shown.buttons and "60%" in (shown.text or "")
    send_photo(bot, telegram)
    [execution] = pipeline.started.values()
    assert execution["request"]["preferences"] == {
        "language": "en",
        "confidence": 0.6,
        "model": "yolov5n.onnx",
        "album_reply": "each",
    }


def test_settings_say_what_each_row_is_and_explain_the_threshold_chosen(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline
) -> None:
    [menu] = telegram.replies_to(CHAT, send_text(bot, telegram, "/settings"))
    rows = (menu.reply_markup or {})["inline_keyboard"]
    assert [row[0]["text"] for row in rows[0::2]] == ["Confidence threshold ↓", "Model ↓", "Albums ↓"]
    assert 'between 25% and 50% I say "maybe"' in (menu.text or "")

    about = tap(bot, telegram, menu.message_id, "Model ↓")
    assert about.answered and about.answer == i18n.text("settings.about.model", "en")
    tap(bot, telegram, menu.message_id, "60%")

    shown = telegram.message(CHAT, menu.message_id).text or ""
    assert "between" not in shown and "50%" not in shown, "at 60 % no detection is hedged"
    assert shown.endswith('Detections below 60% are left out; whatever I report, I state without "maybe".')
    send_photo(bot, telegram)
    [execution] = pipeline.started.values()
    assert execution["request"]["preferences"]["model"] == "yolov8n.pt", "a header tap changes nothing"


def test_a_crafted_settings_button_is_refused_and_still_answered(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    [menu] = telegram.replies_to(CHAT, send_text(bot, telegram, "/settings"))
    menu.reply_markup = {"inline_keyboard": [[{"text": "evil", "callback_data": "s:model:../../etc/passwd"}]]}

    query = tap(bot, telegram, menu.message_id, "evil")

    assert query.answered and query.answer == i18n.text("callback.expired", "en")
    assert "Item" not in aws[0].get_item(TableName=TABLE, Key={"image_id": {"S": f"prefs:{CHAT}"}})


# --- Details ----------------------------------------------------------------------


def _answer_with_button(telegram: TelegramStandIn, name: str, chat: int = CHAT) -> int:
    """A message as SendReply leaves it: with the Details button of execution `name`."""
    markup = json.dumps({"inline_keyboard": [[{"text": "Details", "callback_data": f"d:{name}"}]]})
    return int(
        telegram.app.test_client()
        .post(f"/bot{TOKEN}/sendMessage", data={"chat_id": chat, "text": "I see a bus.", "reply_markup": markup})
        .get_json()["result"]["message_id"]
    )


def test_details_lists_each_detection_in_the_tappers_language(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    name = put_result(aws[0], CHAT, 10, "2024-05-01T10:00:00.000Z", detections={"S": BUS_AND_PEOPLE})
    answer = _answer_with_button(telegram, name)
    telegram.user_speaks(CHAT, "ru")

    query = tap(bot, telegram, answer, "Details")

    [details] = telegram.replies_to(CHAT, answer)
    assert details.text is not None and details.text.startswith(i18n.text("details.title", "ru"))
    assert "автобус" in details.text and "91" in details.text
    assert query.answered and query.answer is None


def test_album_details_list_each_photo(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any], chats: handlers.Chats
) -> None:
    name = naming.album_execution_name(CHAT, "777")
    for message_id in (20, 21):
        request = {
            "chat_id": CHAT,
            "message_id": message_id,
            "file_id": f"f{message_id}",
            "file_unique_id": f"u{message_id}",
            "source": "photo",
            "received_at": "2024-05-01T10:00:00.000Z",
            "expires_at": 1717149600,
            "media_group_id": "777",
            "preferences": handlers.Defaults().get(CHAT),
        }
        assert chats.albums is not None and chats.albums.add(name, request) is not Added.CLOSED
    put_result(aws[0], CHAT, 20, "2024-05-01T10:00:00.000Z", detections={"S": BUS_AND_PEOPLE})
    put_result(aws[0], CHAT, 21, "2024-05-01T10:00:00.001Z", failure={"S": "ImageNotDecodable"})

    tap(bot, telegram, _answer_with_button(telegram, name), "Details")

    lines = (telegram.sent[-1].text or "").splitlines()
    # One heading; the photos numbered as in the album's answer, their detections bulleted.
    assert lines[0] == i18n.text("details.title", "en")
    assert lines.count(i18n.text("details.title", "en")) == 1
    assert lines[1] == "Photo 1:" and lines[2].startswith("• ")
    assert lines[-1] == "Photo 2: no result"
    assert not [line for line in lines if line[:1].isdigit()], "no numbered list inside the numbered photos"


def test_a_tap_that_meets_an_outage_asks_to_tap_again_and_the_next_tap_works(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    name = put_result(aws[0], CHAT, 10, "2024-05-01T10:00:00.000Z", detections={"S": BUS_AND_PEOPLE})
    answer = _answer_with_button(telegram, name)
    telegram.fail_next("sendMessage", 502, "Bad Gateway")

    failed = tap(bot, telegram, answer, "Details")  # handled: no error reaches the webhook (no redelivery)
    retried = tap(bot, telegram, answer, "Details")

    assert failed.answered and failed.answer == i18n.text("callback.try_again", "en")
    assert retried.answered and retried.answer is None
    [details] = telegram.replies_to(CHAT, answer)
    assert details.text is not None and details.text.startswith(i18n.text("details.title", "en"))


def test_a_second_tap_on_details_says_they_are_above_and_sends_nothing(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    name = put_result(aws[0], CHAT, 10, "2024-05-01T10:00:00.000Z", detections={"S": BUS_AND_PEOPLE})
    answer = _answer_with_button(telegram, name)
    other = _answer_with_button(telegram, name)  # the same image's button on another message: its own list

    first, second = tap(bot, telegram, answer, "Details"), tap(bot, telegram, answer, "Details")
    tap(bot, telegram, other, "Details")

    assert first.answered and first.answer is None
    assert second.answered and second.answer == i18n.text("details.already_sent", "en")
    assert len(telegram.replies_to(CHAT, answer)) == 1
    assert len(telegram.replies_to(CHAT, other)) == 1


def test_details_of_another_chats_image_are_refused(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    name = put_result(aws[0], 999, 10, "2024-05-01T10:00:00.000Z", detections={"S": BUS_AND_PEOPLE})

    query = tap(bot, telegram, _answer_with_button(telegram, name), "Details")

    assert query.answer == i18n.text("callback.expired", "en")
    assert len(telegram.sent) == 1


# --- /history ---------------------------------------------------------------------


def test_history_lists_the_last_ten_newest_first_and_resends_an_image(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    dynamodb, s3 = aws
    for i in range(12):
        put_result(dynamodb, CHAT, 100 + i, f"2024-05-01T10:{i:02d}:00.000Z", detections={"S": "[]"})
    put_result(dynamodb, CHAT, 200, "2024-05-02T08:00:00.000Z", failure={"S": "DetectionFailed"})
    shown = put_result(
        dynamodb,
        CHAT,
        201,
        "2024-05-02T09:30:00.000Z",
        detections={"S": BUS_AND_PEOPLE},
        annotated_key={"S": "annotated/x.jpg"},
    )
    s3.put_object(Bucket=BUCKET, Key="annotated/x.jpg", Body=jpeg((1, 2, 3)))
    put_result(dynamodb, 999, 1, "2024-05-03T09:30:00.000Z", detections={"S": "[]"})  # another chat

    [listing] = telegram.replies_to(CHAT, send_text(bot, telegram, "/history"))

    lines = (listing.text or "").splitlines()
    assert lines[0] == i18n.text("history.title", "en")
    assert len(lines) == 11
    assert lines[1] == "1. 2 May 2024 09:30 UTC: I see a bus and 2 people, and maybe a traffic light."
    assert lines[2].endswith("no result") and lines[3].endswith("nothing recognised")
    assert listing.buttons == [("🖼 1", f"h:{shown}"), ("◀ Older", "p:o104::2024-05-01T10:04:00.000Z")]

    query = tap(bot, telegram, listing.message_id, "🖼 1")

    [photo] = telegram.replies_to(CHAT, listing.message_id)
    assert photo.photo == jpeg((1, 2, 3)) and photo.caption == "I see a bus and 2 people, and maybe a traffic light."
    assert query.answered


def test_history_resends_by_file_id_and_says_so_when_the_image_is_gone(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    earlier = telegram.add_file(jpeg((9, 9, 9)))
    put_result(
        aws[0], CHAT, 1, "2024-05-01T10:00:00.000Z", detections={"S": "[]"}, photo_file_id={"S": earlier.file_id}
    )
    put_result(
        aws[0], CHAT, 2, "2024-05-01T11:00:00.000Z", detections={"S": "[]"}, annotated_key={"S": "annotated/gone.jpg"}
    )
    [listing] = telegram.replies_to(CHAT, send_text(bot, telegram, "/history"))

    tap(bot, telegram, listing.message_id, "🖼 2")
    tap(bot, telegram, listing.message_id, "🖼 1")

    replies = telegram.replies_to(CHAT, listing.message_id)
    assert [r.kind for r in replies] == ["photo", "text"]
    assert replies[0].photo == jpeg((9, 9, 9))
    assert replies[1].text == i18n.text("history.gone", "en")


def test_an_empty_history_says_so_in_spanish(bot: telebot.TeleBot, telegram: TelegramStandIn) -> None:
    telegram.user_speaks(CHAT, "es")
    [reply] = telegram.replies_to(CHAT, send_text(bot, telegram, "/history"))
    assert reply.text == i18n.text("history.empty", "es") and reply.buttons == []


# --- a Bot API server that lacks the optional methods --------------------------


def test_every_bot_path_works_with_a_minimal_bot_api_server(
    bot: telebot.TeleBot, telegram: TelegramStandIn, pipeline: RecordingPipeline, aws: tuple[Any, Any]
) -> None:
    """A server without editMessageMedia, the command menu or chat actions (404, no "ok")."""
    dynamodb, _ = aws
    put_result(dynamodb, CHAT, 100, "2024-05-01T10:00:00.000Z", detections={"S": BUS_AND_PEOPLE})
    telegram.serve_as_minimal()

    answered = {text: telegram.replies_to(CHAT, send_text(bot, telegram, text)) for text in ("/start", "/help")}
    [menu] = telegram.replies_to(CHAT, send_text(bot, telegram, "/settings"))
    query = tap(bot, telegram, menu.message_id, "60%")
    [progress] = telegram.replies_to(CHAT, send_photo(bot, telegram))
    [listing] = telegram.replies_to(CHAT, send_text(bot, telegram, "/history"))

    assert all(len(replies) == 1 for replies in answered.values())
    assert query.answered and query.answer == "Saved."
    assert progress.text == "Looking at your photo…" and len(pipeline.started) == 1
    assert len((listing.text or "").splitlines()) == 2
