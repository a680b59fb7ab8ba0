"""What the bot does with each message and button tap, in the sender's language
(polybot.i18n): images (photos, albums, image files) start the pipeline and get
a progress message the workflow edits into the answer; /start, /help,
/settings and /history are answered here; taps on Details, /history and
/settings buttons too. Registered on a TeleBot by `register`; the same handlers
serve the webhook and long polling.

In groups and supergroups Polybot answers only what is meant for it
(bot/addressing.py decides; who Polybot is comes from getMe, asked once): an
addressed photo, or the photo a /detect or a mention replies to, is analysed
and answered in reply to that photo; the rest gets nothing. /settings (and
/forget) there are for the group's administrators (getChatMember), and the
group's settings are the group's own, kept under its chat id.

Every message gets its answer here or from the workflow, never a crash: an
image message Telegram sent without usable file details is told so, a chat
over its photo quota is asked to slow down, and only when neither the
pipeline nor Telegram can be reached does an error leave the handler (the
webhook answers 500 and Telegram delivers the update again). A redelivered
update finds its execution started, and its own progress message is deleted
at once: the chat keeps one.

An image's path keeps to the webhook's deadline (bot/deadline.py): the chat's
preferences, its photo count and the progress message are courtesies that
give way to StartExecution and to telling the user what happened.
"""

from __future__ import annotations

import copy
import difflib
import io
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import telebot
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from telebot import apihelper, types, util
from telebot.apihelper import ApiTelegramException
from telebot.types import ReplyParameters

from bot import addressing, crops, settings_menu, texts
from bot.addressing import Identity, Route
from bot.deadline import (
    ALBUM_PROGRESS_S,
    BUTTON_CLAIM_S,
    CROP_CUT_S,
    CROP_SEND_S,
    CROP_SEND_TIMEOUT_S,
    CROP_WAIT_S,
    PREFERENCES_S,
    QUOTA_S,
    TELEGRAM_CALL_S,
    TELEGRAM_TIMEOUT_S,
    WEBHOOK_AWS_CALL_S,
    DeadlineExceeded,
    current,
)
from bot.history import (
    ImageResult,
    PageRequest,
    Results,
    chat_of,
    is_image_item,
    page_buttons,
    page_text,
    result_summary,
)
from bot.preferences import Choices
from bot.quota import Skipped, SkippedPhoto, Verdict, slow_down_text
from polybot import callbacks, contracts, i18n, logs, naming, questions, retention, summary, vocabulary
from polybot.albums import Added, Albums
from polybot.contracts.messages import ForgetRequest, ImageRequest
from polybot.errors import ContractViolation
from polybot.reply_ledger import ReplyLedger
from polybot.settings import Settings
from polybot.telegram import NOT_MODIFIED

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)


class Pipeline(Protocol):
    def start(self, request: ImageRequest) -> bool | None: ...

    def start_album(self, name: str, request: ImageRequest) -> bool | None: ...


class Forgetting(Protocol):
    def start_forget(self, request: ForgetRequest) -> bool | None: ...


class Quota(Protocol):
    def check(self, chat_id: int) -> Verdict: ...

    def skip(self, chat_id: int, window: int, photo: SkippedPhoto) -> Skipped: ...

    def keep_notice(self, chat_id: int, window: int, notice: int) -> None: ...

    def skipped(self, chat_id: int, window: int) -> Skipped: ...


class Preferences(Protocol):
    choices: Choices

    def get(self, chat_id: int, language_code: str | None = None) -> contracts.messages.Preferences: ...

    def change(self, chat_id: int, field: str, value: Any) -> None: ...


class Unlimited:
    def check(self, chat_id: int) -> Verdict:
        return Verdict(True)

    def skip(self, chat_id: int, window: int, photo: SkippedPhoto) -> Skipped:
        raise AssertionError("nothing is skipped without a quota")

    def keep_notice(self, chat_id: int, window: int, notice: int) -> None:
        raise AssertionError("nothing is skipped without a quota")

    def skipped(self, chat_id: int, window: int) -> Skipped:
        raise AssertionError("nothing is skipped without a quota")


@dataclass
class Defaults:
    """Preferences where no table keeps them: every chat gets the deployment's defaults."""

    choices: Choices = field(default_factory=lambda: Choices.from_settings(Settings()))

    def get(self, chat_id: int, language_code: str | None = None) -> contracts.messages.Preferences:
        return self.choices.preferences(i18n.language_of(language_code))

    def change(self, chat_id: int, field: str, value: Any) -> None:
        raise ValueError("preferences are not kept in this deployment")


class ProgressMessages:
    """Progress messages this process left for a redelivery: an update whose
    StartExecution went unanswered keeps its progress message (the execution may
    be running and answer in it), and the update's next delivery uses that one
    instead of sending a second. In-process and bounded: a redelivery that
    reaches another bot instance sends its own (docs: the webhook's deadline)."""

    KEEP = 1000
    """The most kept at once (the oldest go first): Telegram gives up redelivering long before."""

    def __init__(self) -> None:
        self._kept: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()  # the webhook's server handles updates in threads

    def keep(self, chat_id: int, message_id: int, progress: int) -> None:
        with self._lock:
            self._kept.pop((chat_id, message_id), None)
            self._kept[(chat_id, message_id)] = progress
            while len(self._kept) > self.KEEP:
                del self._kept[next(iter(self._kept))]

    def recall(self, chat_id: int, message_id: int) -> int | None:
        with self._lock:
            return self._kept.get((chat_id, message_id))

    def forget(self, chat_id: int, message_id: int) -> None:
        with self._lock:
            self._kept.pop((chat_id, message_id), None)


@dataclass
class Chats:
    """What the handlers work with besides the bot. Without the results table
    (albums, results None) images are still analysed, one by one."""

    pipeline: Pipeline
    quota: Quota = field(default_factory=Unlimited)
    preferences: Preferences = field(default_factory=Defaults)
    albums: Albums | None = None
    results: Results | None = None
    s3: S3Client | None = None
    images_bucket: str = ""
    progress: ProgressMessages = field(default_factory=ProgressMessages)
    album_progress: Albums | None = None
    """The albums through a courtesy's budget (ALBUM_PROGRESS_S): an album's progress
    message is held with it (Albums.hold_progress), a photo whose start failed taken
    out of it (Albums.withdraw); `albums` where None (`albums_in_courtesy`)."""
    retention_days: int = field(default_factory=lambda: Settings().retention_days)
    """How long what the chat sends is kept (polybot.retention): each image's request carries its end."""
    region: str = field(default_factory=lambda: Settings().region)
    """Where it is kept (/privacy)."""
    forgetting: Forgetting | None = None
    """Starts /forget's deletion (the workflow's ForgetChat branch); None where nothing is kept."""
    max_download_bytes: int = field(default_factory=lambda: Settings().max_download_bytes)
    """The largest file the bot may download (getFile): a larger one is refused at once."""
    ledger: ReplyLedger | None = None
    """What buttons have answered (a Details button sends its list once); None: a tap always answers."""

    def albums_in_courtesy(self) -> Albums:
        """The albums for a courtesy's call (`album_progress`, else `albums`); only where an album is in play."""
        albums = self.album_progress or self.albums
        assert albums is not None
        return albums


class WhoAmI:
    """Polybot's own Identity, from getMe on first need and kept: it never changes
    while the token does not. Asked within the webhook's deadline; a failure is
    not kept (the update fails, and Telegram delivers it again)."""

    def __init__(self, bot: telebot.TeleBot) -> None:
        self._bot = bot
        self._known: Identity | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Identity:
        with self._lock:
            if self._known is None:
                current().require(untimed_call_s(), TELEGRAM_CALL_S, "getMe")
                me = self._bot.get_me()
                self._known = Identity(me.id, me.username or "")
            return self._known


ADMIN_STATUSES = ("creator", "administrator")


def untimed_call_s() -> float:
    """The longest a Telegram call that telebot gives no timeout of its own may take
    (getMe, getChatMember, answerCallbackQuery): the timeouts in force for every call."""
    return float(apihelper.CONNECT_TIMEOUT + apihelper.READ_TIMEOUT)


def is_admin(bot: telebot.TeleBot, chat_id: int, message: types.Message | None, user: types.User | None) -> bool:
    """Whether the sender administers the group (getChatMember); an anonymous
    administrator writes as the group itself."""
    if message is not None and addressing.sent_as_the_group(message):
        return True
    if user is None:
        return False
    current().require(untimed_call_s(), TELEGRAM_CALL_S, "getChatMember")
    return bot.get_chat_member(chat_id, user.id).status in ADMIN_STATUSES


def language_of(user: types.User | None) -> str:
    return i18n.language_of(user.language_code if user else None)


def say(bot: telebot.TeleBot, message: types.Message, key: str, **kwargs: Any) -> types.Message:
    """Answer `message` with the text `key` in its sender's language."""
    language_code = message.from_user.language_code if message.from_user else None
    return bot.reply_to(message, texts.say(key, language_code), **kwargs)


def is_image_document(message: types.Message) -> bool:
    """A file that may be an image (addressing.may_be_image): its bytes decide, in StageImage."""
    return bool(message.document and addressing.may_be_image(message.document.mime_type))


def image_request(
    message: types.Message,
    received_at: datetime | None = None,
    retention_days: int | None = None,
    *,
    alone: bool = False,
) -> dict[str, Any]:
    """The ImageRequest for a photo, or for an image sent as a file (without its
    preferences), ending `retention_days` after it was received (polybot.retention).
    `alone`: analysed on its own even if it belongs to an album."""
    when = received_at or datetime.now(UTC)
    received = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    days = Settings().retention_days if retention_days is None else retention_days
    common: dict[str, Any] = {
        "chat_id": message.chat.id,
        "message_id": message.message_id,
        "user_id": message.from_user.id if message.from_user else None,
        "language_code": message.from_user.language_code if message.from_user else None,
        "received_at": received,
        "expires_at": retention.expires_at(when.timestamp(), days),
        # What a find question draws alone (asked_in_caption): nothing unless the caption
        # asks. Always written, so the workflow's `$.request.only[*]` meets a field on AWS.
        "only": [],
    }
    if message.media_group_id and not alone:
        common["media_group_id"] = str(message.media_group_id)
    if message.content_type == "photo":
        if not message.photo:
            raise ValueError("a photo message without any size")
        # Telegram lists the sizes it made, smallest first; analyse the largest.
        largest = max(message.photo, key=lambda p: p.width * p.height)
        return {
            **common,
            "file_id": largest.file_id,
            "file_unique_id": largest.file_unique_id,
            "file_size": largest.file_size,
            "file_name": None,
            "mime_type": "image/jpeg",
            "source": "photo",
        }
    document = message.document
    if document is None:
        raise ValueError("message carries no image")
    return {
        **common,
        "file_id": document.file_id,
        "file_unique_id": document.file_unique_id,
        "file_size": document.file_size,
        "file_name": document.file_name,
        "mime_type": document.mime_type,
        "source": "document",
    }


def addressable(message: types.Message | types.InaccessibleMessage) -> bool:
    """Whether the message names its chat, itself and its sender by integer ids, as
    Telegram's always do. One that does not (a string message_id, a chat id 1.5)
    cannot be answered, and its ids would make AWS refuse our calls (a string chat
    id for a number key): a redelivery would fail the same way."""
    ids = [message.message_id, getattr(message.chat, "id", None)]
    sender = getattr(message, "from_user", None)
    if sender is not None:
        ids.append(getattr(sender, "id", None))
    return all(isinstance(i, int) and not isinstance(i, bool) for i in ids)


HANDLED_BY_ROUTE = (Route.IGNORE, Route.REPLIED_IMAGE, Route.USAGE)
"""What the `addressed` handler does itself; the other routes go on to the handlers below it."""


def register(bot: telebot.TeleBot, chats: Chats) -> None:
    me = WhoAmI(bot)

    # First: telebot runs the first handler whose filters match.
    @bot.message_handler(func=lambda message: not addressable(message), content_types=list(util.content_type_media))
    def unaddressable(message: types.Message) -> None:
        log.warning("update with a message whose ids are not integers; nobody can be answered")

    @bot.message_handler(
        func=lambda message: addressing.route(message, me) in HANDLED_BY_ROUTE,
        content_types=list(util.content_type_media),
    )
    def addressed(message: types.Message) -> None:
        answer_addressed(bot, chats, message, addressing.route(message, me))

    # Before every command handler (those of other modules too): in a group, the
    # commands of addressing.ADMINS_ONLY are refused to members who are not admins.
    @bot.message_handler(
        func=lambda message: (
            addressing.needs_admin(message, me) and not is_admin(bot, message.chat.id, message, message.from_user)
        ),
        content_types=["text"],
    )
    def admins_only(message: types.Message) -> None:
        say(bot, message, "group.admins_only")

    @bot.message_handler(commands=["start"])
    def welcome(message: types.Message) -> None:
        say_what_is_kept(bot, chats, message, "start")

    @bot.message_handler(commands=["help"])
    def help_text(message: types.Message) -> None:
        # In a group, /help also says how to ask Polybot about a photo there.
        also = ("group.detect_usage",) if addressing.in_group(message) else ()
        say_what_is_kept(bot, chats, message, "help", also)

    @bot.message_handler(commands=["privacy"])
    def privacy(message: types.Message) -> None:
        say_what_is_kept(bot, chats, message, "privacy")

    @bot.message_handler(commands=["forget"])
    def forget(message: types.Message) -> None:
        ask_to_forget(bot, message)

    @bot.message_handler(commands=["settings"])
    def settings(message: types.Message) -> None:
        show_settings(bot, chats, message)

    @bot.message_handler(commands=["history"])
    def history(message: types.Message) -> None:
        show_history(bot, chats, message)

    @bot.message_handler(content_types=["photo"])
    @bot.message_handler(content_types=["document"], func=is_image_document)
    def analyse(message: types.Message) -> None:
        start_analysis(bot, chats, message)

    @bot.message_handler(content_types=["document"])
    def not_an_image(message: types.Message) -> None:
        say(bot, message, "not_an_image_file")

    @bot.message_handler(content_types=["text"], func=lambda message: asked_in_text(message) is not None)
    def question(message: types.Message) -> None:
        answer_about_last_photo(bot, chats, message, asked_in_text(message))

    @bot.message_handler(func=lambda message: True, content_types=list(util.content_type_media))
    def hint(message: types.Message) -> None:
        say(bot, message, "hint")

    @bot.callback_query_handler(func=lambda call: True)
    def tapped(call: types.CallbackQuery) -> None:
        answer_tap(bot, chats, call)


def answer_addressed(bot: telebot.TeleBot, chats: Chats, message: types.Message, route: Route) -> None:
    """What addressing.route leaves to this handler: nothing for a message not meant
    for Polybot, the photo a /detect or a mention replies to, or how to ask."""
    if route is Route.IGNORE:
        log.info("message %s is not meant for the bot; no answer", message.message_id)
        return
    replied = message.reply_to_message
    if route is Route.REPLIED_IMAGE and replied is not None:
        # The request names the photo (its id, its file), so the progress message
        # and the workflow's answer reply to it; the one who asked is its user
        # (the answer in their language, the photo counted as theirs).
        asked = copy.copy(replied)
        asked.from_user = message.from_user
        if message.text and questions.parse(message.text, language_of(message.from_user)) is not None:
            # "@polybot how many people?" in reply to a photo: the asker's question, not the photo's caption.
            asked.caption = message.text
        start_analysis(bot, chats, asked)
        return
    question = asked_in_text(message)
    if question is not None:
        answer_about_last_photo(bot, chats, message, question)
        return
    say(bot, message, "group.detect_usage" if addressing.in_group(message) else "hint")


# --- a question about the last photo ---------------------------------------------


def asked_in_text(message: types.Message) -> questions.Question | None:
    """The question a text asks about a photo ("how many dogs?"), in its sender's
    language first; None for any other text (a command among them)."""
    text = addressing.text_of(message)
    if not text or text.startswith("/"):
        return None
    return questions.parse(text, language_of(message.from_user))


def answer_about_last_photo(
    bot: telebot.TeleBot, chats: Chats, message: types.Message, question: questions.Question | None
) -> None:
    """The answer to `question` about the chat's last analysed photo, from the
    detections the workflow stored (bot/history.py): nothing is analysed again.
    A find is answered with the count alone (the stored annotated image shows
    every class). No photo yet, none with a result, or a results table that does
    not answer: said so."""
    language = language_of(message.from_user)
    if question is None:
        return
    try:
        last = chats.results.recent(message.chat.id, 1) if chats.results is not None else []
    except (BotoCoreError, ClientError) as exc:
        # The table did not answer within its budget (boto3 retried): the user asks again;
        # a redelivery would only wait on the same table.
        log.warning("could not read the chat's last photo (%s)", type(exc).__name__)
        bot.reply_to(message, i18n.text("question.unavailable", language))
        return
    if not last:
        bot.reply_to(message, i18n.text("question.no_photo", language))
        return
    result = last[0]
    if result.failed or result.detections is None:
        bot.reply_to(message, i18n.text("question.no_result", language))
        return
    bot.reply_to(message, questions.answer(question, list(result.detections), language))


# --- images ------------------------------------------------------------------


STARTING_S = WEBHOOK_AWS_CALL_S + TELEGRAM_CALL_S
"""What an image's start needs at worst: StartExecution, then telling the user
what happened (editing the progress message, or one new message)."""


def chat_preferences(chats: Chats, fields: dict[str, Any], then_s: float) -> contracts.messages.Preferences:
    """The chat's preferences, or the defaults where reading them would leave less than `then_s`."""
    if current().affords(PREFERENCES_S, then_s):
        return chats.preferences.get(fields["chat_id"], fields["language_code"])
    log.warning("no time left to read the chat's preferences; using the defaults")
    return chats.preferences.choices.preferences(i18n.language_of(fields["language_code"]))


def within_quota(chats: Chats, chat_id: int, then_s: float) -> Verdict:
    """The chat's photo count; open (as when it cannot be read) where counting would leave less than `then_s`."""
    if current().affords(QUOTA_S, then_s):
        return chats.quota.check(chat_id)
    log.warning("no time left to count the chat's photos; analysing this one")
    return Verdict(True)


SAYING_AGAIN = 3
"""How many times a skipped photo's bot reads the minute's skipped photos again after
editing the notice, to name those skipped meanwhile (bounded by the webhook's deadline too)."""


def tell_skipped(bot: telebot.TeleBot, chats: Chats, message: types.Message, verdict: Verdict) -> None:
    """A photo over the chat's quota is skipped, and said so once per minute and chat
    (bot/quota.py): the minute's first skipped photo gets the notice, which the
    later ones' bots edit to name them too: what was skipped (photos, photos of
    albums) and when to send it again. Where the skipped photos cannot be kept,
    the photo gets the plain "slow down" of its own."""
    chat, language = message.chat.id, language_of(message.from_user)
    photo = SkippedPhoto(message.message_id, str(message.media_group_id) if message.media_group_id else None)
    try:
        current().require(QUOTA_S, TELEGRAM_CALL_S, "keeping the skipped photo")
        skipped = chats.quota.skip(chat, verdict.window, photo)
    except (BotoCoreError, ClientError, DeadlineExceeded) as exc:
        log.warning("could not keep the skipped photo (%s); telling it alone", type(exc).__name__)
        say(bot, message, "slow_down", timeout=TELEGRAM_TIMEOUT_S)
        return
    notice = skipped.notice
    said = 0
    if skipped.tells:
        text = slow_down_text(skipped.photos, verdict.retry_after_s, language)
        notice = bot.reply_to(message, text, timeout=TELEGRAM_TIMEOUT_S).message_id
        said = len(skipped.photos)
        try:
            current().require(QUOTA_S, what="keeping the notice")
            chats.quota.keep_notice(chat, verdict.window, notice)
        except (BotoCoreError, ClientError, DeadlineExceeded) as exc:
            # Later skipped photos then find no notice to edit: they go unnamed, and unsaid.
            log.warning("could not keep the notice (%s)", type(exc).__name__)
            return
    elif notice is None:
        log.info("the minute's notice is being sent; its bot names this photo too")
        return
    # Edit the notice to name every photo skipped so far; then read them again, and
    # again edit where more came meanwhile: an edit that lands late (naming fewer)
    # is followed by its bot's own read, so the last edit names them all.
    for round_ in range(SAYING_AGAIN + 1):
        if len(skipped.photos) > said:
            if not current().affords(TELEGRAM_CALL_S):
                return
            text = slow_down_text(skipped.photos, verdict.retry_after_s, language)
            try:
                bot.edit_message_text(text, chat, notice, timeout=TELEGRAM_TIMEOUT_S)
            except Exception as exc:  # a courtesy: the photo is skipped, and the notice says most of it
                if NOT_MODIFIED not in str(getattr(exc, "description", "") or "").lower():
                    log.warning("could not edit the notice (%s)", type(exc).__name__)
                    return
            said = len(skipped.photos)
        if round_ == SAYING_AGAIN or not current().affords(QUOTA_S, TELEGRAM_CALL_S):
            return
        try:
            skipped = chats.quota.skipped(chat, verdict.window)
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not re-read the skipped photos (%s)", type(exc).__name__)
            return
        if len(skipped.photos) <= said:
            return


def asked_in_caption(message: types.Message, language: str, *, in_album: bool = False) -> dict[str, Any]:
    """The ImageRequest's `question` (and `only`, for a find) that the photo's caption
    asks (polybot.questions); nothing when it asks none. An album's caption comes on
    one of its photos (the first, as clients send it) and asks about the whole album:
    SendAlbumReply answers it across the photos. No `only` there (choice): the
    album's other photos are drawn whole, before the caption may even have arrived,
    so the photo with the caption is drawn whole too."""
    question = questions.parse(message.caption, language)
    if question is None:
        return {}
    asked: dict[str, Any] = {"question": question.as_message()}
    if question.only and not in_album:
        asked["only"] = question.only
    return asked


def file_size(message: types.Message) -> int:
    """The size Telegram gave the message's file (the largest photo size, or the
    document); 0 where it gave none."""
    if message.photo:
        return max(message.photo, key=lambda p: p.width * p.height).file_size or 0
    return (message.document.file_size if message.document else None) or 0


def refuse_too_large(bot: telebot.TeleBot, chats: Chats, message: types.Message) -> bool:
    """Refuses, at once, a file larger than the bot may download: its size came in the
    update, so neither a progress message nor an execution (whose StageImage would
    refuse it the same) is needed. True when refused. In an album, the file is left
    out of the album's answer, and said so here."""
    size = file_size(message)
    if size <= chats.max_download_bytes:
        return False
    log.info("file of %d bytes is over the download limit; refused at once", size)
    language_code = message.from_user.language_code if message.from_user else None
    megabytes = chats.max_download_bytes // (1024 * 1024)
    bot.reply_to(message, texts.say("failure.FileTooLarge", language_code, megabytes=megabytes))
    return True


def start_analysis(bot: telebot.TeleBot, chats: Chats, message: types.Message) -> None:
    """Analyse the image of `message` (a photo, an image file). In a group an image
    is analysed on its own, album or not: only the photos addressed to the bot are its to answer."""
    deadline = current()
    if refuse_too_large(bot, chats, message):
        return
    alone = addressing.in_group(message)
    in_album = bool(message.media_group_id) and chats.albums is not None and not alone
    # An album's photo also adds itself to the album's item first (a required call).
    required_s = STARTING_S + (WEBHOOK_AWS_CALL_S if in_album else 0.0)
    try:
        fields = image_request(message, retention_days=chats.retention_days, alone=alone)
        fields["preferences"] = chat_preferences(chats, fields, then_s=QUOTA_S + required_s)
        fields.update(asked_in_caption(message, fields["preferences"]["language"], in_album=in_album))
        request = contracts.validate("ImageRequest", fields)
    except (ValueError, ContractViolation) as exc:
        # Redelivering this update cannot make it readable: answer it now.
        log.warning("image message %s without usable file details: %s", message.message_id, exc)
        say(bot, message, "unreadable_image_message")
        return
    verdict = within_quota(chats, request["chat_id"], then_s=required_s)
    if not verdict.allowed:
        tell_skipped(bot, chats, message, verdict)
        return
    with logs.correlate(naming.execution_name(request["chat_id"], request["message_id"])):
        group = request.get("media_group_id")
        if group and chats.albums is not None:
            # A photo of an album joins the album's execution (polybot.albums); only
            # the album's first photo shows progress.
            album = naming.album_execution_name(request["chat_id"], group)
            deadline.require(WEBHOOK_AWS_CALL_S, STARTING_S, "adding the photo to its album")
            added = chats.albums.add(album, request)
            if added is not Added.CLOSED:
                progress_text = "progress_album" if added is Added.FIRST else None
                start_execution(
                    bot,
                    chats,
                    message,
                    request,
                    lambda r: chats.pipeline.start_album(album, r),
                    progress_text,
                    album=album,
                )
                return
            deadline.require(WEBHOOK_AWS_CALL_S, STARTING_S, "reading the gathered album")
            if any(p["message_id"] == request["message_id"] for p in chats.albums.photos(album)):
                log.info("photo already gathered with its album; update was redelivered")
                return
            # It came after its album was gathered: analysed alone.
        start_execution(bot, chats, message, request, chats.pipeline.start, "progress")


def start_execution(
    bot: telebot.TeleBot,
    chats: Chats,
    message: types.Message,
    request: ImageRequest,
    start: Callable[[ImageRequest], bool | None],
    progress_text: str | None,
    *,
    album: str | None = None,
) -> None:
    """Show the progress message (`progress_text`), then `start` the execution with
    its id in the request, for the workflow to edit into the answer. An `album`'s
    progress message is held in the album's item instead (Albums.hold_progress),
    where its execution finds it whichever photo started it; one the album does
    not take (it has one, or was gathered) is withdrawn at once. Sending it
    first keeps the bot's Telegram calls out of the way of the analysis; an
    execution another delivery had started (a redelivered update) answers in
    that delivery's progress message, and this one's is deleted. Where the
    execution may be this call's own (boto3 retried the start), the message
    stays: it may already be the answer.

    The progress message is a courtesy: it is sent only where StartExecution and
    telling the user still fit the webhook's deadline after it, and a delivery
    after one whose StartExecution went unanswered uses that delivery's."""
    deadline = current()
    chat, message_id = request["chat_id"], request["message_id"]
    kept = chats.progress.recall(chat, message_id)
    progress = kept
    # An album's progress message is held in the album's item: one call more.
    holding_s = ALBUM_PROGRESS_S if album is not None else 0.0
    if progress is None and progress_text:
        if deadline.affords(TELEGRAM_CALL_S + holding_s, STARTING_S):
            progress = show_progress(bot, message, progress_text)
            if progress is not None and album is not None:
                progress = album_progress(bot, chats, message, request, album, progress)
        else:
            log.warning("no time left for the progress message; the answer comes as a new message")
    try:
        deadline.require(WEBHOOK_AWS_CALL_S, TELEGRAM_CALL_S, "StartExecution")
        # An album's execution finds its progress message in the album's item.
        started = start({**request, "progress_message_id": progress if album is None else None})
    except (ReadTimeoutError, DeadlineExceeded):
        # AWS took the call but its answer never came (or there is no time left to
        # ask): the execution may be running, and may answer in the progress
        # message, so it is neither deleted nor left saying "Looking…": it says
        # that the answer comes when AWS is back, and is kept for the update's
        # redelivery, which uses it instead of sending a second one.
        log.warning("no answer from StartExecution in time; Telegram will redeliver")
        if progress is not None:
            chats.progress.keep(chat, message_id, progress)
            if progress != kept:
                say_in_progress(bot, message, progress, "unavailable_retrying")
        raise
    except Exception:
        # Nothing started: tell the user now. If this reply fails too, the error
        # reaches the webhook, which answers 500 and Telegram redelivers.
        log.exception("could not start the image pipeline")
        chats.progress.forget(chat, message_id)
        if album is not None and not withdrawn_from(chats, album, message_id):
            log.info("the album was gathered with this photo; its answer answers this photo too")
            return
        tell_unavailable(bot, message, progress)
        return
    chats.progress.forget(chat, message_id)
    if started is False and progress != kept and album is None:
        # A kept progress message is the one the earlier delivery started the execution with.
        withdraw_progress(bot, message, progress)


def withdrawn_from(chats: Chats, album: str, message_id: int) -> bool:
    """Whether a photo whose start failed is out of its album (Albums.withdraw), so
    that telling the user is its one reply: another photo's bot may start the album,
    which would answer it too. False where the album was gathered with it, and
    answers it. Where neither can be known in time (or AWS does not answer), the
    update ends in a 500 and Telegram's redelivery tries the photo again."""
    current().require(ALBUM_PROGRESS_S, TELEGRAM_CALL_S, "taking the photo out of its album")
    return chats.albums_in_courtesy().withdraw(album, message_id)


def album_progress(
    bot: telebot.TeleBot, chats: Chats, message: types.Message, request: ImageRequest, album: str, progress: int
) -> int | None:
    """`progress` where the album holds it as its progress message (Albums.hold_progress);
    None where it does not (withdrawn: the album has another, or was gathered and
    answers in a new message)."""
    try:
        held = chats.albums_in_courtesy().hold_progress(album, {**request, "progress_message_id": progress})
    except Exception as exc:
        log.warning("could not hold the album's progress message: %s", type(exc).__name__)
        held = False
    if not held:
        withdraw_progress(bot, message, progress)
        return None
    return progress


def show_progress(bot: telebot.TeleBot, message: types.Message, text: str) -> int | None:
    """The progress message's id; None when Telegram would not take it (a courtesy:
    the answer then comes as a new message)."""
    try:
        return say(bot, message, text, timeout=TELEGRAM_TIMEOUT_S).message_id
    except Exception as exc:
        log.warning("progress message failed: %s", type(exc).__name__)
        return None


def say_in_progress(bot: telebot.TeleBot, message: types.Message, progress: int, key: str) -> bool:
    """Edit the progress message into the text `key`; False where Telegram would not
    (the message is gone, or already the workflow's answer: a photo has no text)."""
    text = i18n.text(key, language_of(message.from_user))
    try:
        bot.edit_message_text(text, message.chat.id, progress, timeout=TELEGRAM_TIMEOUT_S)
        return True
    except Exception as exc:
        log.warning("could not edit the progress message: %s", type(exc).__name__)
        return False


def withdraw_progress(bot: telebot.TeleBot, message: types.Message, progress: int | None) -> None:
    if progress is None:
        return
    try:
        bot.delete_message(message.chat.id, progress, timeout=TELEGRAM_TIMEOUT_S)
    except Exception as exc:
        log.warning("could not delete the progress message: %s", type(exc).__name__)


def tell_unavailable(bot: telebot.TeleBot, message: types.Message, progress: int | None) -> None:
    """The progress message becomes the notice; a new message where it cannot, if
    the deadline still allows it (otherwise the webhook answers 500 and the
    redelivery tries again)."""
    if progress is not None and say_in_progress(bot, message, progress, "unavailable"):
        return
    current().require(TELEGRAM_CALL_S, what="telling the user the pipeline is unavailable")
    say(bot, message, "unavailable", timeout=TELEGRAM_TIMEOUT_S)


# --- /settings and /history ----------------------------------------------------


def show_settings(bot: telebot.TeleBot, chats: Chats, message: types.Message) -> None:
    language = language_of(message.from_user)
    preferences = chats.preferences.get(message.chat.id, language)
    choices = chats.preferences.choices
    keyboard = settings_menu.settings_keyboard(preferences, choices, language)
    bot.reply_to(message, settings_menu.settings_text(preferences, language, choices.models), reply_markup=keyboard)


def show_history(bot: telebot.TeleBot, chats: Chats, message: types.Message) -> None:
    """/history: the newest page of the chat's analyses; /history <class> ("/history dogs",
    "/history@polybot perro"): only those where that class was found."""
    language = language_of(message.from_user)
    words = (util.extract_arguments(message.text or "") or "").strip()
    class_name = ""
    if words:
        named = vocabulary.class_named(words, language)
        if named is None:
            bot.reply_to(message, unknown_class_text(words, language))
            return
        class_name = named
    if chats.results is None:
        bot.reply_to(message, i18n.text("history.empty", language))
        return
    page = chats.results.page(message.chat.id, class_name=class_name)
    bot.reply_to(message, page_text(page, language), reply_markup=page_buttons(page, language))


def unknown_class_text(words: str, language: str) -> str:
    """What /history <words> says when the words name none of the model's classes:
    the nearest names it knows, or a few examples."""
    labels = {i18n.label(name, language): name for name in i18n.class_names(language)}
    nearest = difflib.get_close_matches(words.lower(), list(labels), n=3, cutoff=0.6)
    examples = nearest or [i18n.label(name, language) for name in UNKNOWN_CLASS_EXAMPLES]
    key = "history.unknown_class_nearest" if nearest else "history.unknown_class"
    return i18n.text(key, language, words=words, names=i18n.join(examples, language), first=examples[0])


UNKNOWN_CLASS_EXAMPLES = ("person", "dog", "cat", "car", "bus", "bicycle")
"""The class names /history <words> offers when the words are not near any."""


def turn_page(bot: telebot.TeleBot, chats: Chats, chat: int, message_id: int, data: str, language: str) -> str | None:
    """An Older/Newer tap: the /history message edited in place into that page."""
    if chats.results is None:
        return i18n.text("callback.expired", language)
    try:
        request = PageRequest.parse(data)
    except ValueError:
        return i18n.text("callback.expired", language)
    page = chats.results.page(chat, request)
    if not page.entries:
        return i18n.text("history.no_more", language)
    try:
        bot.edit_message_text(page_text(page, language), chat, message_id, reply_markup=page_buttons(page, language))
    except ApiTelegramException as exc:
        if NOT_MODIFIED not in str(exc.description or "").lower():
            raise
    return None


# --- what is kept: /start, /help, /privacy, /forget ------------------------------


def say_what_is_kept(
    bot: telebot.TeleBot, chats: Chats, message: types.Message, key: str, also: tuple[str, ...] = ()
) -> None:
    """The text `key`, with how long (the retention in force) and where things are
    kept, then the texts `also`, each a paragraph of its own."""
    language = language_of(message.from_user)
    paragraphs = [i18n.text(key, language, **texts.keeping(language, chats.retention_days, chats.region))]
    paragraphs += [i18n.text(more, language) for more in also]
    bot.reply_to(message, "\n\n".join(paragraphs))


def ask_to_forget(bot: telebot.TeleBot, message: types.Message) -> None:
    """/forget asks first: its buttons delete (the workflow's ForgetChat) or cancel."""
    language = language_of(message.from_user)
    keyboard = types.InlineKeyboardMarkup(row_width=2)
    keyboard.add(
        types.InlineKeyboardButton(i18n.text("forget.yes", language), callback_data=callbacks.FORGET_YES),
        types.InlineKeyboardButton(i18n.text("forget.cancel", language), callback_data=callbacks.FORGET_NO),
    )
    bot.reply_to(message, i18n.text("forget.confirm", language), reply_markup=keyboard)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def confirm_forget(
    bot: telebot.TeleBot,
    chats: Chats,
    message: types.Message | types.InaccessibleMessage,
    data: str,
    language: str,
) -> str | None:
    """A tap on /forget's confirmation. Delete: the message says "deleting" (its
    buttons gone) before the execution starts, so the execution's answer ("done,
    N deleted"), edited into the same message, always comes after it; an execution
    already started by an earlier tap (or a message without its buttons: a tap
    that came late) changes nothing. Cancel: the message says nothing was deleted."""
    chat, message_id = message.chat.id, message.message_id
    if data == callbacks.FORGET_NO:
        edit_unless_unchanged(bot, i18n.text("forget.cancelled", language), chat, message_id)
        return None
    if data != callbacks.FORGET_YES or chats.forgetting is None:
        return i18n.text("callback.expired", language)
    if getattr(message, "reply_markup", None) is not None:
        edit_unless_unchanged(bot, i18n.text("forget.working", language), chat, message_id)
    request: ForgetRequest = {
        "chat_id": chat,
        "message_id": message_id,
        "language": i18n.language_of(language),  # type: ignore[typeddict-item]
        "requested_at": now_iso(),
    }
    try:
        current().require(WEBHOOK_AWS_CALL_S, TELEGRAM_CALL_S, "StartExecution")
        started = chats.forgetting.start_forget(contracts.validate("ForgetRequest", request))
    except Exception:
        # Also when StartExecution's answer never came: if it did start, its "done"
        # replaces this notice; if not, /forget again starts one (deleting is idempotent).
        log.exception("could not start forgetting the chat")
        if current().affords(TELEGRAM_CALL_S):
            edit_unless_unchanged(bot, i18n.text("forget.unavailable", language), chat, message_id)
        return None
    if started is False:
        log.info("the chat's /forget was started by an earlier tap")
    return i18n.text("forget.working", language)


def edit_unless_unchanged(bot: telebot.TeleBot, text: str, chat: int, message_id: int) -> None:
    try:
        bot.edit_message_text(text, chat, message_id)
    except ApiTelegramException as exc:
        if NOT_MODIFIED not in str(exc.description or "").lower():
            raise


# --- button taps ---------------------------------------------------------------


def answer_tap(bot: telebot.TeleBot, chats: Chats, call: types.CallbackQuery) -> None:
    """Do what the button says, then answer the query (always: the client shows a
    spinner until it is answered), with a short notice where there is one."""
    language = language_of(call.from_user)
    notice: str | None
    try:
        notice = tap(bot, chats, call, language)
    except Exception:
        # A tap is the user's to repeat: say so now, and answer the update (200)
        # rather than have Telegram redeliver it, which after a lost answer
        # would send the details or the image twice.
        log.exception("could not do what a button says")
        notice = i18n.text("callback.try_again", language)
    # telebot gives this call no timeout of its own: the one in force for every call.
    if not current().affords(untimed_call_s()):
        # A courtesy: the client stops its spinner on its own.
        log.warning("no time left to answer the callback query")
        return
    try:
        bot.answer_callback_query(call.id, notice)
    except Exception as exc:  # too old, answered before a redelivery, or Telegram is away
        log.info("callback query not answered (%s)", type(exc).__name__)


def tap(bot: telebot.TeleBot, chats: Chats, call: types.CallbackQuery, language: str) -> str | None:
    data, message = call.data or "", call.message
    expired = i18n.text("callback.expired", language)
    if message is None or not addressable(message):
        return expired
    chat = message.chat.id
    if data.startswith(callbacks.SETTINGS):
        # A row's header says what the row is for, to anyone, and changes nothing.
        explained = settings_menu.about(data, language)
        if explained is not None:
            return explained
        if addressing.in_group(message) and not is_admin(bot, chat, None, call.from_user):
            return i18n.text("group.admins_only", language)
        return change_setting(bot, chats, chat, message.message_id, data, language)
    if data.startswith(callbacks.FORGET):
        # Deleting a group's records is for its admins, whoever asked with /forget.
        if addressing.in_group(message) and not is_admin(bot, chat, None, call.from_user):
            return i18n.text("group.admins_only", language)
        return confirm_forget(bot, chats, message, data, language)
    if data.startswith(callbacks.HISTORY_PAGE):
        return turn_page(bot, chats, chat, message.message_id, data, language)
    quote = ReplyParameters(message.message_id, allow_sending_without_reply=True)
    if data.startswith(callbacks.CROP):
        return send_crop(bot, chats, chat, data, language, quote)
    name = data[len(callbacks.DETAILS) :]
    # Buttons are the bot's own; a crafted one naming another chat's image is refused.
    if chats.results is None or chat_of(name) != chat:
        return expired
    if data.startswith(callbacks.DETAILS):
        return send_details(bot, chats, chat, name, message.message_id, language, quote)
    if data.startswith(callbacks.HISTORY):
        result = chats.results.image(name)
        if result is None:
            return expired
        resend(bot, chats, chat, result, language, quote)
        return None
    return expired


def send_details(
    bot: telebot.TeleBot, chats: Chats, chat: int, name: str, message_id: int, language: str, quote: ReplyParameters
) -> str | None:
    """The Details of the image (or album) `name`, once per button (the message
    `message_id` that carries it): a second tap, on this bot instance or another,
    now or after a restart, is answered with a notice that they are above. The
    claim is a conditional write in the results table (ReplyLedger.claim), made
    after the read and only where sending and giving the claim back (when the
    list could not be sent, so that tapping again sends it) still fit the
    webhook's deadline; where it cannot be made, the list is sent all the same
    (at least once rather than never)."""
    assert chats.results is not None
    results = chats.results.reading_once()
    text = results.details(name, language)
    markup = crop_buttons(results, name, language)
    answer = f"details_{message_id}"
    claimed = claim(chats, name, answer)
    if claimed is False:
        log.info("Details of %s already sent for message %d", name, message_id)
        return i18n.text("details.already_sent", language)
    try:
        # Timed, so that giving the claim back still fits after a send that timed out.
        bot.send_message(chat, text, reply_parameters=quote, reply_markup=markup, timeout=TELEGRAM_TIMEOUT_S)
    except Exception:
        if claimed and chats.ledger is not None:
            try:
                chats.ledger.release(name, answer)
            except Exception as exc:  # the button then says "already above" until its item expires
                log.warning("could not give back the Details claim (%s)", type(exc).__name__)
        raise
    return None


def claim(chats: Chats, name: str, answer: str) -> bool | None:
    """Whether this tap claimed `answer` of `name` (False: an earlier tap did); None
    where no claim could be made (no ledger, no time for it, AWS unavailable)."""
    if chats.ledger is None:
        return None
    if not current().affords(BUTTON_CLAIM_S, TELEGRAM_CALL_S + BUTTON_CLAIM_S):
        log.warning("no time left to claim the button's answer; sending it unclaimed")
        return None
    try:
        return chats.ledger.claim(name, answer)
    except (BotoCoreError, ClientError) as exc:
        log.warning("could not claim the button's answer (%s); sending it unclaimed", type(exc).__name__)
        return None


def change_setting(bot: telebot.TeleBot, chats: Chats, chat: int, message_id: int, data: str, language: str) -> str:
    try:
        chats.preferences.change(chat, *settings_menu.parse(data))
    except ValueError:
        return i18n.text("callback.expired", language)
    except (BotoCoreError, ClientError) as exc:
        log.warning("could not change a preference (%s)", type(exc).__name__)
        return i18n.text("settings.unavailable", language)
    preferences = chats.preferences.get(chat, language)
    choices = chats.preferences.choices
    keyboard = settings_menu.settings_keyboard(preferences, choices, language)
    try:
        bot.edit_message_text(
            settings_menu.settings_text(preferences, language, choices.models), chat, message_id, reply_markup=keyboard
        )
    except ApiTelegramException as exc:
        if NOT_MODIFIED not in str(exc.description or "").lower():
            raise
    return i18n.text("settings.saved", language)


def resend(
    bot: telebot.TeleBot, chats: Chats, chat: int, result: ImageResult, language: str, quote: ReplyParameters
) -> None:
    """An earlier annotated image again: by the file_id Telegram gave it, else from
    the images bucket; a plain message when neither has it any more."""
    caption = summary.shorten(result_summary(result, language), summary.CAPTION_LIMIT)
    file_id = result.photo_file_id
    if file_id:
        try:
            bot.send_photo(chat, file_id, caption=caption, reply_parameters=quote)
            return
        except ApiTelegramException as exc:
            if exc.error_code != 400:
                raise
            log.info("Telegram no longer has the annotated photo; trying the bucket")
    data = annotated_image(chats, result)
    if data is None:
        bot.send_message(chat, i18n.text("history.gone", language), reply_parameters=quote)
        return
    bot.send_photo(chat, data, caption=caption, reply_parameters=quote)


def annotated_image(chats: Chats, result: ImageResult) -> bytes | None:
    return stored_image(chats, result.annotated_key, naming.ANNOTATED_PREFIX)


def stored_image(chats: Chats, key: str | None, prefix: str) -> bytes | None:
    """The object `key` of the images bucket, where it is one of the bot's to read
    (under `prefix`); None where there is no key or the object is gone."""
    if not key or chats.s3 is None or not key.startswith(prefix):
        return None
    try:
        data: bytes = chats.s3.get_object(Bucket=chats.images_bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404", "AccessDenied"):
            raise
        return None
    return data


# --- a crop per object (bot/crops.py) ------------------------------------------


def crop_buttons(results: Results, name: str, language: str) -> types.InlineKeyboardMarkup | None:
    """The crop buttons under the Details of `name` (an image, or an album), for the
    objects whose original is kept; a courtesy: none where the items cannot be read
    in time (`results` reads each item once, so after the Details they cost nothing)."""
    try:
        analysed = results.analysed(name)
    except (DeadlineExceeded, BotoCoreError, ClientError) as exc:
        log.warning("no crop buttons: the results could not be read (%s)", type(exc).__name__)
        return None
    images = [
        (photo, own, result.detections)
        for photo, own, result in analysed
        if result is not None and result.detections and result.original_key
    ]
    return crops.buttons(crops.targets(images), language)


def send_crop(
    bot: telebot.TeleBot, chats: Chats, chat: int, data: str, language: str, quote: ReplyParameters
) -> str | None:
    """A tap on a crop button: the object cut from the original, in answer to the
    Details message, as a photo, or as a file where a photo would be shrunk or
    refused; a plain message where the image is no longer kept. Each tap sends it
    again (bot/crops.py)."""
    expired = i18n.text("callback.expired", language)
    try:
        name, index = crops.parse(data)
    except ValueError:
        return expired
    # Buttons are the bot's own; a crafted one naming another chat's image is refused.
    if chats.results is None or chat_of(name) != chat or not is_image_item(name):
        return expired
    result = chats.results.image(name)
    if result is None or result.detections is None or not result.original_key:
        # Forgotten (/forget), past its retention, or never analysed: nothing to cut from.
        bot.send_message(chat, i18n.text("crop.gone", language), reply_parameters=quote)
        return None
    if not 0 <= index < len(result.detections):
        return expired
    # The read, the cut (CPU, not bounded by a timeout, after waiting for another) and
    # sending it must all fit, or none is tried.
    current().require(WEBHOOK_AWS_CALL_S + CROP_WAIT_S + CROP_CUT_S, CROP_SEND_S, "a crop")
    original = original_image(chats, result)
    if original is None:
        bot.send_message(chat, i18n.text("crop.gone", language), reply_parameters=quote)
        return None
    detection = result.detections[index]
    try:
        crop = crops.cut(original, detection["box"], wait_s=CROP_WAIT_S)
    except crops.CutterBusy:
        log.info("another crop is being cut; this tap is asked again")
        return i18n.text("callback.try_again", language)
    caption = crops.caption(detection, language)
    if crop.as_photo:
        try:
            bot.send_photo(chat, crop.jpeg, caption=caption, reply_parameters=quote, timeout=CROP_SEND_TIMEOUT_S)
            return None
        except ApiTelegramException as exc:
            if exc.error_code != 400:
                raise
            # Telegram judged it no photo after all (its limits, measured its way): a file then.
            log.info("the crop was refused as a photo (%s); sending it as a file", exc.description)
            current().require(CROP_SEND_S, what="the crop as a file")
    document = types.InputFile(io.BytesIO(crop.jpeg), file_name=f"{name}-{index + 1}.jpg")
    bot.send_document(chat, document, caption=caption, reply_parameters=quote, timeout=CROP_SEND_TIMEOUT_S)
    return None


def original_image(chats: Chats, result: ImageResult) -> bytes | None:
    """The original a result was found in, from the images bucket; None where it is gone."""
    return stored_image(chats, result.original_key, naming.ORIGINALS_PREFIX)
