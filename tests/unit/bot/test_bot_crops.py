"""bot/crops.py and its taps (bot/handlers.py): which objects get a button under
Details and how they are labelled, the padded box, the cut from the original at
full resolution, photo or file; then the taps themselves against the Telegram
stand-in over HTTP and a results table and bucket in moto."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import telebot
from PIL import Image
from telebot import types

from bot import crops, handlers
from bot.history import Results
from local.telegram_standin import TelegramStandIn
from polybot import callbacks, i18n, naming, summary, telegram
from polybot.albums import Added, Albums
from polybot.contracts.messages import Detection
from tests.auxil.moto_results import moto_results
from tests.unit.conftest import STANDIN_TOKEN

TABLE, BUCKET, CHAT = "results", "images", 4242


def detection(label: str, confidence: float, box: list[float]) -> Detection:
    return {"label": label, "class_id": 0, "confidence": confidence, "box": box}


def encoded(image: Image.Image, format: str = "JPEG", **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def scene(width: int, height: int, box: tuple[int, int, int, int]) -> Image.Image:
    """Grey, with a red rectangle at `box` (left, top, right, bottom)."""
    image = Image.new("RGB", (width, height), (128, 128, 128))
    image.paste((220, 20, 20), box)
    return image


# --- the padded box ------------------------------------------------------------


def test_the_box_grows_by_the_padding_on_each_side_out_to_whole_pixels() -> None:
    assert crops.padded_box([100, 200, 300, 600], 1000, 1000, padding=0.05) == (90, 180, 310, 620)
    assert crops.padded_box([100.4, 200.6, 300.2, 599.5], 1000, 1000, padding=0) == (100, 200, 301, 600)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ([-30, -5, 1200, 40], (0, 0, 800, 43)),  # past the edges: clamped
        ([790, 10, 900, 20], (784, 9, 800, 21)),  # mostly outside on the right
        ([300, 100, 100, 20], (90, 16, 310, 104)),  # corners given in the other order
        ([50, 50, 50, 50], (50, 50, 51, 51)),  # no area: one pixel
        ([900, 700, 950, 750], (799, 599, 800, 600)),  # wholly outside: the nearest pixel
    ],
)
def test_the_box_is_clamped_to_the_image_and_never_empty(box: list[float], expected: tuple[int, ...]) -> None:
    left, top, right, bottom = crops.padded_box(box, 800, 600)

    assert (left, top, right, bottom) == expected
    assert 0 <= left < right <= 800 and 0 <= top < bottom <= 600


@pytest.mark.parametrize("box", [[0, 0, float("nan"), 10], [0, 0, float("inf"), 10], [1, 2, 3]])
def test_a_box_that_is_not_four_finite_numbers_is_refused(box: list[float]) -> None:
    with pytest.raises(ValueError):
        crops.padded_box(box, 100, 100)


# --- which objects, and their buttons ------------------------------------------------

CROWD = [
    detection("person", 0.62, [0, 0, 100, 100]),  # area 10000
    detection("dog", 0.91, [0, 0, 10, 10]),  # 100
    detection("bus", 0.55, [0, 0, 500, 300]),  # 150000
    detection("person", 0.88, [0, 0, 50, 400]),  # 20000
]


def details_lines(detections: list[Detection], language: str) -> dict[int, str]:
    """The lines of polybot.summary.details by their number."""
    lines = summary.details(detections, language).splitlines()[1:]
    return {int(line.split(".", 1)[0]): line for line in lines}


def test_buttons_go_largest_first_and_say_what_their_details_line_says() -> None:
    chosen = crops.targets([(None, "tg4242_7", CROWD)])

    assert [t.index for t in chosen] == [2, 3, 0, 1]
    for language in i18n.LANGUAGES:
        lines = details_lines(CROWD, language)
        for target in chosen:
            # Details' line "3. bus: 55 %" has the button "✂ 3. bus 55 %": same number, words and percent.
            number, rest = lines[target.number].split(". ", 1)
            label, confidence = rest.rsplit(": ", 1)
            assert crops.button_text(target, language) == f"✂ {number}. {label} {confidence}"
            assert label == i18n.label(target.detection["label"], language)
            assert confidence == i18n.percent(target.detection["confidence"], language)


def test_at_most_ten_buttons_whatever_was_found() -> None:
    many = [detection("person", 0.5, [0, 0, i, i]) for i in range(1, 40)]

    chosen = crops.targets([(None, "tg4242_7", many)])

    assert len(chosen) == crops.MAX_BUTTONS
    assert [t.index for t in chosen] == list(range(38, 28, -1))


def test_an_albums_buttons_are_its_largest_objects_across_its_photos_with_the_photo_number() -> None:
    first = [detection("cat", 0.9, [0, 0, 10, 10])]
    second = [detection("dog", 0.7, [0, 0, 20, 20]), detection("cup", 0.95, [0, 0, 5, 5])]

    chosen = crops.targets([(1, "tg4242_20", first), (2, "tg4242_21", second)])

    assert [(t.photo, t.name, t.index, t.number) for t in chosen] == [
        (2, "tg4242_21", 0, 2),
        (1, "tg4242_20", 0, 1),
        (2, "tg4242_21", 1, 1),
    ]
    assert crops.button_text(chosen[0], "en") == "✂ 2.2 dog 70%"


def test_callback_data_fits_telegrams_limit_for_the_longest_names_and_reads_back() -> None:
    longest = naming.execution_name(-1_009_999_999_999, 2**31 - 1)
    target = crops.Target(longest, 299, detection("person", 0.5, [0, 0, 1, 1]), 1)

    markup = crops.buttons([target], "en")

    assert markup is not None
    [[button]] = markup.keyboard
    assert len(button.callback_data.encode()) <= callbacks.MAX_BYTES
    assert crops.parse(button.callback_data) == (longest, 299)


@pytest.mark.parametrize("data", ["c:", "c:tg1_2", "c:tg1_2:", "c:tg1_2:-1", "c:tg1_2:x", "d:tg1_2:1", "c::3"])
def test_what_is_no_crop_button_does_not_parse(data: str) -> None:
    with pytest.raises(ValueError):
        crops.parse(data)


def test_no_objects_no_buttons() -> None:
    assert crops.buttons(crops.targets([(None, "tg4242_7", [])]), "en") is None


# --- the cut -----------------------------------------------------------------------


def test_the_cut_is_the_padded_box_of_the_original_at_full_resolution() -> None:
    original = encoded(scene(3000, 2000, (1000, 500, 1400, 1300)), quality=95)

    crop = crops.cut(original, [1000, 500, 1400, 1300])

    assert (crop.width, crop.height) == (440, 880)  # 400 x 800 and 5 % each side
    pixels = np.asarray(Image.open(io.BytesIO(crop.jpeg)).convert("RGB"), dtype=int)
    assert pixels.shape == (880, 440, 3)
    assert np.abs(pixels[60:-60, 40:-40] - [220, 20, 20]).max() < 24, "the object is inside"
    assert np.abs(pixels[:15, :] - [128, 128, 128]).max() < 24, "the padding is the image around it"
    assert crop.as_photo


def test_an_exif_rotated_original_is_cut_where_the_model_saw_the_box() -> None:
    # Upright: an 800 x 600 scene with the object at (100, 50)-(300, 250). Stored on its
    # side with EXIF orientation 6, as phones do; the model's boxes are in the upright pixels.
    upright = scene(800, 600, (100, 50, 300, 250))
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways = encoded(upright.transpose(Image.Transpose.ROTATE_90), quality=95, exif=exif.tobytes())

    crop = crops.cut(sideways, [100, 50, 300, 250])

    pixels = np.asarray(Image.open(io.BytesIO(crop.jpeg)).convert("RGB"), dtype=int)
    assert (crop.width, crop.height) == (220, 220)
    assert np.abs(pixels[20:-20, 20:-20] - [220, 20, 20]).max() < 24


def test_a_sixteen_bit_grey_original_is_brought_into_eight_bits_as_the_model_saw_it() -> None:
    grey = np.full((100, 100), 30000, dtype=np.uint16)
    grey[20:80, 20:80] = 60000
    original = encoded(Image.fromarray(grey), "PNG")

    crop = crops.cut(original, [20, 20, 80, 80])

    pixels = np.asarray(Image.open(io.BytesIO(crop.jpeg)).convert("L"), dtype=int)
    assert abs(int(pixels[33, 33]) - 60000 * 255 // 65535) < 6, "not clipped to white"


@pytest.mark.parametrize(
    ("width", "height", "size", "as_photo"),
    [
        (2560, 1440, 1_000_000, True),
        (2561, 1440, 1_000_000, False),  # Telegram would scale it down: a file keeps it whole
        (980, 49, 10_000, True),
        (1000, 40, 10_000, False),  # ratio over 20: sendPhoto refuses it
        (2000, 2000, telegram.PHOTO_MAX_BYTES + 1, False),
    ],
)
def test_a_crop_goes_as_a_photo_only_when_telegram_shows_it_whole(
    width: int, height: int, size: int, as_photo: bool
) -> None:
    assert crops.shown_whole_as_photo(width, height, size) is as_photo


# --- taps, through the stand-in ----------------------------------------------------------


class CountingDynamoDB:
    """The moto client, counting GetItem calls."""

    def __init__(self, client: Any) -> None:
        self._client, self.get_items = client, 0

    def get_item(self, **params: Any) -> Any:
        self.get_items += 1
        return self._client.get_item(**params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    with moto_results(monkeypatch, TABLE, BUCKET) as (dynamodb, s3):
        yield CountingDynamoDB(dynamodb), s3


@pytest.fixture
def chats(aws: tuple[Any, Any]) -> handlers.Chats:
    dynamodb, s3 = aws
    albums = Albums(dynamodb, TABLE)
    return handlers.Chats(
        pipeline=None,  # type: ignore[arg-type]  # no photo is analysed here
        albums=albums,
        results=Results(dynamodb, TABLE, albums),
        s3=s3,
        images_bucket=BUCKET,
    )


@pytest.fixture
def bot(bot: telebot.TeleBot, chats: handlers.Chats) -> telebot.TeleBot:
    handlers.register(bot, chats)
    return bot


def run(bot: telebot.TeleBot, telegram: TelegramStandIn) -> None:
    bot.process_new_updates([types.Update.de_json(json.dumps(u)) for u in telegram.take_updates()])


def tap(bot: telebot.TeleBot, telegram: TelegramStandIn, message_id: int, button: str) -> Any:
    query = telegram.user_taps(CHAT, message_id, button)
    run(bot, telegram)
    return query


def analysed(aws: tuple[Any, Any], message_id: int, detections: list[Detection], original: bytes | None) -> str:
    """A results item as PersistResults writes it, and its original in the bucket (None: gone)."""
    dynamodb, s3 = aws
    name = naming.execution_name(CHAT, message_id)
    key = naming.original_key(name, "image/jpeg")
    item = {
        "image_id": {"S": name},
        "chat_id": {"N": str(CHAT)},
        "message_id": {"N": str(message_id)},
        "received_at": {"S": "2024-05-01T10:00:00.000Z"},
        "original_key": {"S": key},
        "annotated_key": {"S": naming.annotated_key(name)},
        "detections": {"S": json.dumps(detections)},
    }
    dynamodb.put_item(TableName=TABLE, Item=item)
    if original is not None:
        s3.put_object(Bucket=BUCKET, Key=key, Body=original)
    return name


def answer_with_details_button(telegram: TelegramStandIn, name: str) -> int:
    """A message as SendReply leaves it: with the Details button of execution `name`."""
    markup = json.dumps({"inline_keyboard": [[{"text": "Details", "callback_data": callbacks.DETAILS + name}]]})
    answer = telegram.app.test_client().post(
        f"/bot{STANDIN_TOKEN}/sendMessage", data={"chat_id": CHAT, "text": "I see…", "reply_markup": markup}
    )
    return int(answer.get_json()["result"]["message_id"])


def details_of(bot: telebot.TeleBot, telegram: TelegramStandIn, name: str) -> Any:
    answer = answer_with_details_button(telegram, name)
    tap(bot, telegram, answer, "Details")
    [details] = telegram.replies_to(CHAT, answer)
    return details


TWO_OBJECTS = [
    detection("person", 0.92, [1000, 500, 1400, 1300]),  # 400 x 800
    detection("bus", 0.81, [100, 100, 2900, 1900]),  # 2800 x 1800: over 2560 padded
]


def test_details_offers_a_crop_per_object_and_a_tap_sends_it_whole(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    original = encoded(scene(3000, 2000, (1000, 500, 1400, 1300)), quality=95)
    name = analysed(aws, 10, TWO_OBJECTS, original)

    details = details_of(bot, telegram, name)
    assert details.buttons == [("✂ 2. bus 81%", f"c:{name}:1"), ("✂ 1. person 92%", f"c:{name}:0")]

    person = tap(bot, telegram, details.message_id, "✂ 1. person 92%")
    bus = tap(bot, telegram, details.message_id, "✂ 2. bus 81%")

    photo, document = telegram.replies_to(CHAT, details.message_id)
    assert (photo.kind, photo.caption) == ("photo", "✂ person: 92%")
    assert Image.open(io.BytesIO(photo.photo or b"")).size == (440, 880)
    # 2800 x 1800 and its padding: larger than Telegram shows a photo, so a file, whole.
    assert (document.kind, document.caption) == ("document", "✂ bus: 81%")
    assert Image.open(io.BytesIO(document.document or b"")).size == (3000, 1980)
    assert person.answered and bus.answered and person.answer is None


def test_tapping_a_crop_again_sends_it_again(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    name = analysed(aws, 10, TWO_OBJECTS[:1], encoded(scene(3000, 2000, (1000, 500, 1400, 1300))))
    details = details_of(bot, telegram, name)

    tap(bot, telegram, details.message_id, "✂ 1. person 92%")
    tap(bot, telegram, details.message_id, "✂ 1. person 92%")

    assert [m.kind for m in telegram.replies_to(CHAT, details.message_id)] == ["photo", "photo"]


def test_a_crop_of_an_image_no_longer_kept_says_so_in_the_tappers_language(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    name = analysed(aws, 10, TWO_OBJECTS, encoded(scene(3000, 2000, (0, 0, 1, 1))))
    forgotten = analysed(aws, 11, TWO_OBJECTS, encoded(scene(3000, 2000, (0, 0, 1, 1))))
    details = details_of(bot, telegram, name)
    other = details_of(bot, telegram, forgotten)
    aws[1].delete_object(Bucket=BUCKET, Key=naming.original_key(name, "image/jpeg"))  # past its retention
    aws[0].delete_item(TableName=TABLE, Key={"image_id": {"S": forgotten}})  # /forget
    telegram.user_speaks(CHAT, "es")

    gone = tap(bot, telegram, details.message_id, "✂ 1. person 92%")
    gone_too = tap(bot, telegram, other.message_id, "✂ 1. person 92%")

    for message in (details, other):
        [said] = telegram.replies_to(CHAT, message.message_id)
        assert said.text == i18n.text("crop.gone", "es")
    assert gone.answered and gone_too.answered


def test_a_crafted_crop_button_is_refused_and_still_answered(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    theirs = naming.execution_name(999, 10)
    mine = analysed(aws, 10, TWO_OBJECTS, encoded(scene(3000, 2000, (0, 0, 1, 1))))
    markup = {
        "inline_keyboard": [
            [{"text": "theirs", "callback_data": f"c:{theirs}:0"}],
            [{"text": "past the end", "callback_data": f"c:{mine}:2"}],
            [{"text": "an album", "callback_data": f"c:{naming.album_execution_name(CHAT, '7')}:0"}],
        ]
    }
    message = telegram.app.test_client().post(
        f"/bot{STANDIN_TOKEN}/sendMessage", data={"chat_id": CHAT, "text": "…", "reply_markup": json.dumps(markup)}
    )
    shown = int(message.get_json()["result"]["message_id"])

    queries = [tap(bot, telegram, shown, button) for button in ("theirs", "past the end", "an album")]

    assert [q.answer for q in queries] == [i18n.text("callback.expired", "en")] * 3
    assert telegram.replies_to(CHAT, shown) == []


def test_album_details_offer_the_largest_objects_of_all_its_photos_reading_each_item_once(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any], chats: handlers.Chats
) -> None:
    album = naming.album_execution_name(CHAT, "777")
    for message_id in (20, 21, 22):
        request: Any = {
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
        assert chats.albums is not None and chats.albums.add(album, request) is not Added.CLOSED
    picture = encoded(scene(600, 400, (10, 10, 300, 300)))
    analysed(aws, 20, [detection("cat", 0.9, [10, 10, 300, 300])], picture)
    analysed(aws, 21, [detection("cup", 0.5, [0, 0, 5, 5]), detection("dog", 0.8, [0, 0, 400, 390])], picture)
    # 22: no result (a failure item, or none at all): no buttons for it.
    aws[0].get_items = 0

    details = details_of(bot, telegram, album)

    assert [text for text, _ in details.buttons] == ["✂ 2.1 dog 80%", "✂ 1.1 cat 90%", "✂ 2.2 cup 50%"]
    assert aws[0].get_items == 1 + 3, "the album's item and each photo's, once for the Details and its buttons"
    tap(bot, telegram, details.message_id, "✂ 1.1 cat 90%")
    [crop] = telegram.replies_to(CHAT, details.message_id)
    assert Image.open(io.BytesIO(crop.photo or b"")).size == (315, 315)


def test_details_of_an_image_whose_original_is_not_recorded_has_no_crop_buttons(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    name = naming.execution_name(CHAT, 30)
    item = {
        "image_id": {"S": name},
        "chat_id": {"N": str(CHAT)},
        "received_at": {"S": "2024-05-01T10:00:00.000Z"},
        "detections": {"S": json.dumps(TWO_OBJECTS)},
    }
    aws[0].put_item(TableName=TABLE, Item=item)

    details = details_of(bot, telegram, name)

    assert details.text.startswith(i18n.text("details.title", "en")) and details.buttons == []


def test_one_crop_is_cut_at_a_time_and_a_tap_meanwhile_is_asked_again(
    bot: telebot.TeleBot, telegram: TelegramStandIn, aws: tuple[Any, Any]
) -> None:
    name = analysed(aws, 10, TWO_OBJECTS[:1], encoded(scene(3000, 2000, (1000, 500, 1400, 1300))))
    details = details_of(bot, telegram, name)

    with crops._CUTTING:  # another thread's cut under way
        with pytest.raises(crops.CutterBusy):
            crops.cut(b"", [0, 0, 1, 1], wait_s=0.01)
        meanwhile = tap(bot, telegram, details.message_id, "✂ 1. person 92%")
    after = tap(bot, telegram, details.message_id, "✂ 1. person 92%")

    assert meanwhile.answer == i18n.text("callback.try_again", "en")
    assert after.answered and after.answer is None
    assert [m.kind for m in telegram.replies_to(CHAT, details.message_id)] == ["photo"]
