"""ForgetChat: delete everything Polybot keeps for one chat (/forget), then say so.

Why a function of the workflow and not the bot's webhook: a chat's records may
take longer to delete than Telegram waits for the webhook (bot/deadline.py),
and a deletion cut off half-way must go on until nothing is left. The bot starts
an execution named after the confirmation message (a second tap finds it
started); the workflow calls this function, retries it after any transient
failure, and calls it again (after a short Wait) while it answers "deleting".

Each call first marks the chat forgotten (polybot.forgetting: a photo still
being analysed then keeps nothing), then deletes rounds of the chat's images
and items until a round finds nothing (then edits the confirmation message into
how much was deleted: "done" only when nothing is left) or its time is spent
(then "deleting", and the workflow calls again). Every round is idempotent: a
retry deletes what is still there. The answer counts what the chat had when
the first call began (polybot.forgetting `found_at_first`, kept on the
forgotten marker), so a call cut off half-way changes nothing in it; the
progress the workflow carries counts what the returned rounds deleted.

Called as ForgetFailed (input with a `failure`), it tells the user the deletion
could not be finished and to send /forget again. A chat that blocked the bot
gets a Refusal (functions/refusals.py): what was to be deleted is deleted all
the same.
Input: ForgetChatInput. Output: ForgetOutcome.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from functions import services
from functions.refusals import refusing
from polybot import aws, contracts, i18n, logs, naming
from polybot.contracts.messages import ForgetFailedInput, ForgetOutcome, ForgetProgress, ForgetRequest, ReplyOutcome
from polybot.errors import ForgetUnfinished
from polybot.forgetting import ChatRecords, Deleted

if TYPE_CHECKING:
    import telebot

log = logging.getLogger(__name__)

ROUNDS_FOR_S = 30.0
"""How long one call goes on deleting before it hands back to the workflow (the
function's timeout, template.yaml, leaves room for a last round and the answer)."""
MAX_PASSES = 20
"""Calls one execution makes at most (the workflow's loop budget,
tests/unit/test_timeouts.py): a chat left with records after them is told to
send /forget again, which goes on where this one stopped."""
WAIT_S = 1
"""The Wait between two calls."""


@refusing
def handler(event: dict[str, Any], context: Any) -> ForgetOutcome | ReplyOutcome:
    if "failure" in event:
        return tell_unfinished(contracts.validate("ForgetFailedInput", event))
    job = contracts.validate("ForgetChatInput", event)
    forget = job["forget"]
    with logs.correlate(naming.forget_execution_name(forget["chat_id"], forget["message_id"])), aws.aws_errors():
        wired = services.current()
        settings = wired.settings
        settings.require("results_table", "images_bucket")
        records = ChatRecords(
            wired.dynamodb, wired.s3, settings.results_table, settings.images_bucket, settings.retention_days
        )
        outcome = forget_chat(forget, job["progress"], records, lambda text: tell(wired.bot, forget, text))
    return contracts.validate("ForgetOutcome", outcome)


def tell_unfinished(job: ForgetFailedInput) -> ReplyOutcome:
    """ForgetFailed: the deletion failed for good (its retries spent, or MAX_PASSES)."""
    forget = job["forget"]
    with logs.correlate(naming.forget_execution_name(forget["chat_id"], forget["message_id"])):
        log.warning("the chat could not be forgotten: %s", job["failure"]["Error"])
        sent = tell(services.current().bot, forget, i18n.text("forget.unfinished", forget["language"]))
    outcome: ReplyOutcome = {"kind": "failure_notice", "message_id": sent.message_id}
    return contracts.validate("ReplyOutcome", outcome)


def forget_chat(
    forget: ForgetRequest,
    progress: ForgetProgress,
    records: ChatRecords,
    answer: Callable[[str], Any],
    clock: Callable[[], float] = time.monotonic,
    rounds_for_s: float = ROUNDS_FOR_S,
) -> ForgetProgress:
    """One call's rounds (see the module): "forgotten" once a round found nothing
    and the user was told, "deleting" when the time is spent first."""
    chat = forget["chat_id"]
    passes = progress["passes"] + 1
    if passes > MAX_PASSES:
        raise ForgetUnfinished(f"records left after {MAX_PASSES} calls")
    records.mark_forgotten(chat, forget["requested_at"])
    at_first = records.found_at_first(chat, forget["message_id"])
    deleted = Deleted(progress["items"], progress["images"])
    started = clock()
    while True:
        found = records.delete_some(chat)
        deleted += found
        if found.nothing:
            log.info("chat forgotten: %d items and %d images deleted", at_first.items, at_first.images)
            answer(i18n.text("forget.done", forget["language"], items=at_first.items, images=at_first.images))
            return _progress("forgotten", passes, deleted)
        if clock() - started >= rounds_for_s:
            log.info("still deleting after %d calls (%d items, %d images so far)", passes, *_counts(deleted))
            return _progress("deleting", passes, deleted)


def _counts(deleted: Deleted) -> tuple[int, int]:
    return deleted.items, deleted.images


def _progress(kind: str, passes: int, deleted: Deleted) -> ForgetProgress:
    return contracts.validate(
        "ForgetProgress",
        {"kind": kind, "passes": passes, "items": deleted.items, "images": deleted.images, "wait_s": WAIT_S},
    )


def tell(bot: telebot.TeleBot, forget: ForgetRequest, text: str) -> Any:
    """The confirmation message becomes `text` (its buttons gone); a new message
    where it cannot be edited (the user deleted it). The same edit again (a retry)
    is done already."""
    from polybot.telegram import edit_or_send, telegram_errors  # with telebot: imported by the call that talks

    chat, message_id = forget["chat_id"], forget["message_id"]
    with telegram_errors():
        return edit_or_send(
            lambda: bot.edit_message_text(text, chat, message_id),
            lambda: bot.send_message(chat, text),
            message_id,
        )
