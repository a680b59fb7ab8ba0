"""NotifyFailure: tell the user, in plain words and their language, why their
photo (or album) got no result.

Every Catch of the workflow leads here, so every photo ends in exactly one
answer: the bot's progress message becomes the reason (its id came in the request),
or, when there is none, the user deleted it, or the result already went out
in it, a new message says it. Sent at most once per execution
(polybot/reply_ledger.py); a 429 from Telegram is waited out by the workflow;
a chat that blocked the bot gets a Refusal (functions/refusals.py), and the
execution fails with the original failure's name all the same.
Input: NotifyFailureInput. Output: ReplyOutcome.
"""

from __future__ import annotations

from typing import Any

from functions import services
from functions.refusals import refusing
from polybot import aws, contracts, i18n, logs, naming, summary
from polybot.albums import answered_by
from polybot.contracts.messages import ReplyOutcome
from polybot.errors import USER_CAUSED_ERRORS, TelegramRateLimited


def plain_message(error: str, max_download_bytes: int, language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """What the user reads for a failure named `error` (see polybot.errors)."""
    return summary.failure_reason(error, language, max_download_bytes)


def notice(error: str, execution_name: str, language: str, max_download_bytes: int, *, forgotten: bool) -> str:
    """The whole notice: the reason, and for a failure of ours the execution's name,
    which lets support find it in the console. What the user caused (a file we do
    not read, polybot.errors.USER_CAUSED_ERRORS; a /forget that deleted the image
    while it was analysed) is no case for support: a reference there only looks
    like an error code the user should do something with."""
    if forgotten:
        return i18n.text("failure.forgotten", language)
    text = plain_message(error, max_download_bytes, language)
    if error in USER_CAUSED_ERRORS:
        return text
    return text + "\n" + i18n.text("failure.reference", language, name=execution_name)


@refusing
def handler(event: dict[str, Any], context: Any) -> ReplyOutcome:
    job = contracts.validate("NotifyFailureInput", event)
    name, request = job["execution_name"], job["request"]
    language = request["preferences"]["language"]
    # Telegram's client (telebot, requests) comes with the first call, not with the
    # module: a handler module's own import stays cheap (cold starts, docs/performance.md).
    from polybot.telegram import answer_with_text

    with logs.correlate(name), aws.aws_errors():
        wired = services.current()
        ledger, bot = wired.ledger, wired.bot
        forgotten = wired.records.forgotten_since(request["chat_id"], request["received_at"])
        # forgotten: /forget deleted the image's original while it was analysed: that, not an error of ours, is why.
        text = notice(
            job["failure"]["Error"], name, language, wired.settings.max_download_bytes, forgotten=bool(forgotten)
        )
        once = ledger.once(name)
        if naming.ALBUM_INFIX in name:
            # An album's progress message is held in its item (polybot.albums), not in the execution's input.
            request = answered_by(wired.albums.photos(name)) or request
        # Once the result went out in the progress message, the reason comes on its own.
        progress_id = None if "reply" in once.recorded else request.get("progress_message_id")
        try:
            message_id = once.send("notice", lambda: answer_with_text(bot, request, progress_id, text))
            outcome: ReplyOutcome = {"kind": "failure_notice", "message_id": message_id}
        except TelegramRateLimited as limited:
            return contracts.validate("ReplyOutcome", ledger.wait_for_telegram(name, limited))
        # The answer is out: a chat forgotten (/forget) while this image was analysed keeps nothing of it.
        if forgotten:
            wired.records.purge_image([name])
    return contracts.validate("ReplyOutcome", outcome)
