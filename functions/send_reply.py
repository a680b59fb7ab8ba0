"""SendReply: answer the user's photo with the annotated image and its summary
in their language, or with "nothing recognised" and a tip; and an album with
one answer for all its photos (or one per photo, as the chat prefers).

A caption that asked a question (ImageRequest.question, polybot.questions) is
answered: a count ("I count 4 people"), a find (the image the worker drew with
that class alone, and its count; text alone when none was found), a thing the
model does not know (said, with the nearest it knows, then the usual summary).
An album's caption asks about the whole album: the count across its photos
above its overview, each photo's own count in its caption.

The answer is the bot's progress message, edited (its id came in the
request, ImageRequest.progress_message_id): into
the annotated photo with its summary and a Details button, or into text. With
no progress message, or one that cannot be edited for good (the user deleted
it, any 400 but "not modified", a Bot API server that lacks editMessageMedia,
an answer that is no Bot API answer: polybot.telegram.edit_or_send), the
answer is a new message and the progress message is deleted where it can be.
The photo always fits what Telegram accepts for a photo: an annotated image
larger than a photo is shown (longest side over 2560 px, or beyond the size,
side-sum or ratio limits) goes as a scaled photo, followed by the
full-resolution annotated image as a document. Each message is sent at most
once per execution (polybot/reply_ledger.py). A 429 from Telegram is answered
with a TelegramWait, which the workflow waits out before calling again.

Serves two states: SendReply (input SendReplyInput) and SendAlbumReply
(input SendAlbumReplyInput). Output: ReplyOutcome (a Refusal when the chat
blocked the bot: functions/refusals.py).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from functions import services
from functions.refusals import refusing
from functions.services import FunctionServices
from polybot import aws, callbacks, contracts, i18n, logs, questions, summary
from polybot.contracts.messages import (
    AlbumPhoto,
    Detection,
    DetectionResult,
    ImageRequest,
    ReplyOutcome,
    ReplyReceipt,
    SendAlbumReplyInput,
    SendReplyInput,
    StagedImage,
)
from polybot.errors import TelegramRateLimited
from polybot.settings import Settings

# Telegram's client (telebot, requests: polybot.telegram) and the image code
# (polybot.imaging, with Pillow and pi-heif) are imported where they are used, not
# with this module: they are most of what SendReply imports, and a handler
# module's own import stays cheap (cold starts, docs/performance.md); an answer in
# text never imports polybot.imaging (telebot brings Pillow itself).
if TYPE_CHECKING:
    import telebot
    from mypy_boto3_s3 import S3Client
    from telebot.types import InlineKeyboardMarkup

    from polybot.reply_ledger import Once


@refusing
def handler(event: dict[str, Any], context: Any) -> ReplyOutcome:
    album = "photos" in event
    job = contracts.validate("SendAlbumReplyInput" if album else "SendReplyInput", event)
    name = job["execution_name"]
    with logs.correlate(name), aws.aws_errors():
        wired = services.current()
        ledger, bot = wired.ledger, wired.bot
        once = ledger.once(name)
        progress_id = job["request"].get("progress_message_id")
        try:
            # `job` is the message `album` named when it was validated above.
            if album:
                whole = cast(SendAlbumReplyInput, job)
                outcome: ReplyOutcome = send_album_reply(whole["request"], whole["photos"], wired, once, progress_id)
            else:
                single = cast(SendReplyInput, job)
                outcome = send_reply(
                    single["request"],
                    single["staged"],
                    single["detection"],
                    bot,
                    wired.s3,
                    once,
                    progress_id,
                    lowest=lowest_threshold(wired),
                )
        except TelegramRateLimited as limited:
            return contracts.validate("ReplyOutcome", ledger.wait_for_telegram(name, limited))
        # The answer is out: a chat forgotten (/forget) while this image was analysed keeps nothing of it.
        photos = [p["execution_name"] for p in cast(SendAlbumReplyInput, job)["photos"]] if album else []
        wired.records.purge_if_forgotten(job["request"], [name, *photos])
    return contracts.validate("ReplyOutcome", outcome)


def details_button(execution_name: str, language: str) -> InlineKeyboardMarkup:
    from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

    markup = InlineKeyboardMarkup()
    markup.add(
        InlineKeyboardButton(i18n.text("details.button", language), callback_data=callbacks.DETAILS + execution_name)
    )
    return markup


@dataclass(frozen=True)
class Shown:
    """An annotated image as it goes to Telegram: the photo, and the full
    resolution as a document when the photo had to be scaled."""

    photo: bytes
    document: bytes | None


def photo_for_telegram(annotated: bytes) -> bytes | None:
    """The annotated image as Telegram shows a photo (within sendPhoto's limits), or
    None where it is one already."""
    from polybot import imaging, telegram

    return imaging.photo_rendition(
        annotated,
        longest_side=telegram.PHOTO_SHOWN_SIDE,
        max_sides=telegram.PHOTO_MAX_SIDES,
        max_ratio=telegram.PHOTO_MAX_RATIO,
        max_bytes=telegram.PHOTO_MAX_BYTES,
    )


def shown(s3: S3Client, staged: StagedImage, detection: DetectionResult) -> Shown:
    from polybot import telegram

    annotated = s3.get_object(Bucket=staged["bucket"], Key=detection["annotated_key"])["Body"].read()
    photo = photo_for_telegram(annotated)
    if photo is None:
        return Shown(annotated, None)
    return Shown(photo, annotated if len(annotated) <= telegram.UPLOAD_MAX_BYTES else None)


def send_document(bot: telebot.TeleBot, request: ImageRequest, once: Once, step: str, data: bytes, name: str) -> None:
    from telebot.types import InputFile

    from polybot.telegram import reply_to

    document = InputFile(io.BytesIO(data), file_name=f"{name}-annotated.jpg")
    once.send(step, lambda: bot.send_document(request["chat_id"], document, reply_parameters=reply_to(request)))


def send_reply(
    request: ImageRequest,
    staged: StagedImage,
    detection: DetectionResult,
    bot: telebot.TeleBot,
    s3: S3Client,
    once: Once,
    progress_id: int | None = None,
    *,
    lowest: float | None = None,
) -> ReplyReceipt:
    """`lowest`: the lowest threshold /settings offers (summary.tip)."""
    from polybot.telegram import answer_with_photo, answer_with_text

    language = request["preferences"]["language"]
    detections = detection["detections"]
    asked = request.get("question")
    question = questions.Question.from_message(asked) if asked else None
    if question is None:
        text = summary.caption(
            detections,
            language,
            staged["width"],
            request["preferences"]["confidence"],
            lowest,
            image_height=staged["height"],
        )
    else:
        text = questions.answer(question, list(detections), language, staged["width"])
    if not detections or (question is not None and question.only and not _drawn(detections, question.only)):
        # Nothing found, or none of what a find asked for: the annotated image would show nothing.
        message_id = once.send("reply", lambda: answer_with_text(bot, request, progress_id, text))
        return {"kind": "nothing_found", "message_id": message_id}
    image = shown(s3, staged, detection)
    markup = details_button(once.execution_name, language)
    message_id = once.send("reply", lambda: answer_with_photo(bot, request, progress_id, image.photo, text, markup))
    if image.document is not None:
        # The photo had to be scaled: the full resolution goes along as a file.
        send_document(bot, request, once, "document", image.document, once.execution_name)
    return {"kind": "annotated_photo", "message_id": message_id}


def _drawn(detections: list[Detection], only: list[str]) -> list[Detection]:
    """The detections the worker drew when told to draw `only` these classes."""
    return [d for d in detections if d["label"] in only]


def lowest_threshold(wired: FunctionServices) -> float:
    """The lowest threshold /settings offers: below a chat's, the tip suggests it (summary.tip)."""
    return min(wired.settings.offered_confidences)


def album_question(ordered: list[AlbumPhoto]) -> questions.Question | None:
    """The question the album's caption asks, about the whole album: it came on the
    request of the photo that bore the caption (its first, as clients send an album);
    where several photos carry captions, the first in the album's order speaks for it."""
    for photo in ordered:
        asked = photo["request"].get("question")
        if asked:
            return questions.Question.from_message(asked)
    return None


def album_answer(question: questions.Question, ordered: list[AlbumPhoto], language: str) -> str:
    """The album's answer to its caption's question, above its overview: the count
    across its photos ("I count 5 people."), or the thing the model does not know."""
    if question.kind == "unknown":
        return questions.unknown(question, language)
    found = [d for p in ordered if "detection" in p for d in p["detection"]["detections"]]
    return questions.counting(question, found, language)


def _asked_text(photo: AlbumPhoto, language: str) -> str | None:
    """The answer of an album photo whose own caption asked a question (each photo
    of an album may carry one); None for the others."""
    asked = photo["request"].get("question")
    if "failure" in photo or not asked:
        return None
    question = questions.Question.from_message(asked)
    return questions.answer(question, list(photo["detection"]["detections"]), language, photo["staged"]["width"])


def _photo_text(
    photo: AlbumPhoto, language: str, settings: Settings, question: questions.Question | None = None
) -> str:
    """One album photo's summary; its count where the album's caption asked for one."""
    if "failure" in photo:
        return summary.failure_reason(photo["failure"]["Error"], language, settings.max_download_bytes)
    if question is not None and question.kind != "unknown":
        return questions.counting(question, photo["detection"]["detections"], language)
    threshold = photo["request"]["preferences"]["confidence"]
    lowest = min(settings.offered_confidences)
    staged = photo["staged"]
    detections = photo["detection"]["detections"]
    return summary.caption(detections, language, staged["width"], threshold, lowest, image_height=staged["height"])


def _album_entry(photo: AlbumPhoto, language: str, max_download_bytes: int) -> summary.AlbumEntry:
    if "failure" in photo:
        return summary.AlbumEntry(
            failure=summary.failure_reason(photo["failure"]["Error"], language, max_download_bytes)
        )
    return summary.AlbumEntry(photo["detection"]["detections"], photo["staged"]["width"])


def send_album_reply(
    request: ImageRequest,
    photos: list[AlbumPhoto],
    wired: FunctionServices,
    once: Once,
    progress_id: int | None,
) -> ReplyReceipt:
    """An album's answer. "album": the progress message becomes the summary, photo
    by photo (summary.album_overview: the photos with nothing found in one sentence,
    and which photos the media group leaves out), with a Details button, and the
    annotated photos follow as one media group (a photo alone when only one has boxes). "each": every photo gets its
    own answer, the progress message becoming the one of the photo it answers.
    A question in the album's caption (album_question) is answered for the whole
    album above the overview, and each photo's caption gives its own count; the
    photos are drawn whole (a find draws its class alone on a single photo only)."""
    from polybot.telegram import answer_with_text

    language = request["preferences"]["language"]
    ordered = sorted(photos, key=lambda p: p["request"]["message_id"])
    request, progress_id = album_answered(request, ordered, progress_id)
    question = album_question(ordered)
    texts = [_photo_text(p, language, wired.settings, question) for p in ordered]
    if request["preferences"]["album_reply"] == "each":
        if question is not None:
            # The photo that bore the caption is answered as a photo alone with it would be.
            texts = [_asked_text(p, language) or t for p, t in zip(ordered, texts, strict=True)]
        return _each_photo(request, ordered, texts, wired, once, progress_id)
    entries = [_album_entry(p, language, wired.settings.max_download_bytes) for p in ordered]
    overview = summary.album_overview(entries, language, request["preferences"]["confidence"], lowest_threshold(wired))
    if question is not None:
        overview = summary.shorten(album_answer(question, ordered, language) + "\n\n" + overview, summary.TEXT_LIMIT)
    markup = details_button(once.execution_name, language)
    message_id = once.send("reply", lambda: answer_with_text(wired.bot, request, progress_id, overview, markup))
    annotated = [(i, p) for i, p in enumerate(ordered, start=1) if "detection" in p and p["detection"]["detections"]]
    images = {p["execution_name"]: shown(wired.s3, p["staged"], p["detection"]) for _, p in annotated}
    # The photos answer the same photo as the overview: one album, one message replied to.
    first = request
    captions = [
        summary.shorten(i18n.text("album.caption", language, index=i, summary=t), summary.CAPTION_LIMIT)
        for i, t in enumerate(texts, start=1)
    ]
    if annotated:
        once.send("photos", lambda: _send_photos(wired, first, annotated, images, captions))
    for _, photo in annotated:
        document = images[photo["execution_name"]].document
        if document is not None:
            send_document(
                wired.bot,
                photo["request"],
                once,
                f"document_{photo['request']['message_id']}",
                document,
                photo["execution_name"],
            )
    return {"kind": "album", "message_id": message_id}


def album_answered(
    request: ImageRequest, ordered: list[AlbumPhoto], progress_id: int | None
) -> tuple[ImageRequest, int | None]:
    """The photo the album's answer replies to, and the progress message it edits:
    the one its bot held in the album's item (polybot.albums.answered_by), whichever
    photo started the execution; else the execution's own (an execution a bot
    of before started), else the album's first photo, with no progress message."""
    from polybot.albums import answered_by

    holder = answered_by([p["request"] for p in ordered])
    if holder is not None:
        return holder, holder.get("progress_message_id")
    if progress_id is not None:
        return request, progress_id
    return ordered[0]["request"], None


def _send_photos(
    wired: FunctionServices,
    first: ImageRequest,
    annotated: list[tuple[int, AlbumPhoto]],
    images: dict[str, Shown],
    captions: list[str],
) -> Any:
    """The album's annotated photos as one media group (a photo alone when only one
    has boxes), in answer to its first photo; each photo's file_id kept for /history."""
    from polybot.telegram import media_photo, photo_file_id, reply_to

    chat, quote = first["chat_id"], reply_to(first)
    if len(annotated) == 1:
        [(index, photo)] = annotated
        messages = [
            wired.bot.send_photo(
                chat, images[photo["execution_name"]].photo, caption=captions[index - 1], reply_parameters=quote
            )
        ]
    else:
        media: list[Any] = [media_photo(images[p["execution_name"]].photo, captions[i - 1]) for i, p in annotated]
        messages = wired.bot.send_media_group(chat, media, reply_parameters=quote)
    for (_, photo), message in zip(annotated, messages, strict=True):
        file_id = photo_file_id(message)
        if file_id:
            wired.ledger.remember_photo(photo["execution_name"], file_id)
    return messages[0]


def _each_photo(
    request: ImageRequest,
    ordered: list[AlbumPhoto],
    texts: list[str],
    wired: FunctionServices,
    once: Once,
    progress_id: int | None,
) -> ReplyReceipt:
    # The progress message answers the photo that started the album; the others get new messages.
    starter = [photo["request"]["message_id"] == request["message_id"] for photo in ordered]
    answers = [
        _answer_photo(wired, once, photo, text, progress_id if first else None)
        for photo, text, first in zip(ordered, texts, starter, strict=True)
    ]
    started = [a for first, a in zip(starter, answers, strict=True) if first]
    return {"kind": "album", "message_id": (started or answers)[0]}


def _answer_photo(wired: FunctionServices, once: Once, photo: AlbumPhoto, text: str, edit: int | None) -> int:
    """One album photo's own answer (the chat prefers one per photo)."""
    from polybot.telegram import answer_with_photo, answer_with_text, photo_file_id

    own, name = photo["request"], photo["execution_name"]
    step = f"reply_{own['message_id']}"
    if "detection" not in photo or not photo["detection"]["detections"]:
        return once.send(step, lambda: answer_with_text(wired.bot, own, edit, text))
    image = shown(wired.s3, photo["staged"], photo["detection"])
    markup = details_button(name, own["preferences"]["language"])

    def answer() -> Any:
        message = answer_with_photo(wired.bot, own, edit, image.photo, text, markup)
        file_id = photo_file_id(message)
        if file_id:
            wired.ledger.remember_photo(name, file_id)
        return message

    message_id = once.send(step, answer)
    if image.document is not None:
        send_document(wired.bot, own, once, f"document_{own['message_id']}", image.document, name)
    return message_id
