"""Named errors that cross the workflow's state boundaries.

The class name *is* the error name Step Functions sees: a Lambda handler that
raises `NotAnImage` fails its Task with error `NotAnImage`, and the worker
reports `ImageNotDecodable` through `SendTaskFailure`. The state machine's
Retry and Catch clauses, and the plain-language messages sent to the user, key
on these names, so they are part of the contract: rename one, and
`statemachines/` and `functions/notify_failure.py` must follow.
"""

from __future__ import annotations


class PolybotError(Exception):
    """Base of every named error; `retryable` mirrors the state machine's Retry.
    `user_caused`: what the user did, not a failure of ours; a workflow function
    meeting it returns a Refusal instead of failing (functions/refusals.py), so
    Lambda's Errors metric, and the alarm on it, count only our failures."""

    retryable = False
    user_caused = False

    @property
    def name(self) -> str:
        return type(self).__name__


# The user's input: never retried.
class NotAnImage(PolybotError):
    """The file is not an image format the detector reads."""

    user_caused = True


class FileTooLarge(PolybotError):
    """The file is bigger than the Bot API lets a bot download."""

    user_caused = True


class ImageTooLarge(PolybotError):
    """The image has more pixels than is safe to decode (decompression bomb)."""

    user_caused = True


class ImageNotDecodable(PolybotError):
    """The bytes claim to be an image but do not decode."""

    user_caused = True


# Our side or Telegram's: retried with backoff, then reported to the user.
class TelegramUnavailable(PolybotError):
    """Telegram answered 5xx, timed out or could not be reached."""

    retryable = True


class TelegramRateLimited(PolybotError):
    """Telegram answered 429 Too Many Requests, naming how long to wait (retry_after)."""

    retryable = True

    def __init__(self, message: str = "", retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AwsUnavailable(PolybotError):
    """An AWS call inside a function failed after its own retries: throttled, 5xx, unreachable."""

    retryable = True


class TelegramRefused(PolybotError):
    """Telegram refused the request for good (a bad request, a revoked token)."""


class TelegramAnswerMalformed(TelegramRefused):
    """The Bot API server answered with something that is no Bot API answer: not
    JSON, not a JSON object, without "ok", or an error without its code. A Bot API
    server that lacks a method (a self-hosted or alternative one) answers so, with
    404. Not retried: the same call meets the same server."""

    def __init__(self, message: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ChatUnavailable(TelegramRefused):
    """Telegram forbids the bot this chat (403): the user blocked the bot, deleted
    their account, or removed the bot from the group. Nobody can be answered there."""

    user_caused = True


class ImageMissing(PolybotError):
    """The staged image is not in S3 (expired or deleted)."""


class DetectionFailed(PolybotError):
    """The model raised while analysing a decodable image."""


class ModelNotOffered(PolybotError):
    """The chat's preferences name a model this deployment does not offer
    (polybot.settings `offered_models`): the user is told to choose another."""


class ContractViolation(PolybotError):
    """A message between states does not match its schema."""


class ForgetUnfinished(PolybotError):
    """/forget went through every round its execution allows
    (functions/forget_chat.py MAX_PASSES) and the chat still has records: the
    user is told to send /forget again, which goes on where this one stopped."""


USER_INPUT_ERRORS = frozenset({"NotAnImage", "FileTooLarge", "ImageTooLarge", "ImageNotDecodable"})
"""Errors caused by what the user sent, as opposed to failures on our side."""

USER_CAUSED_ERRORS = frozenset(
    name
    for name, value in dict(globals()).items()
    if isinstance(value, type) and issubclass(value, PolybotError) and value.user_caused
)
"""Every error the user's own doing causes: what they sent (USER_INPUT_ERRORS) and
a chat that no longer takes the bot's messages. An execution that ends in one is
not a failure of ours (the ExecutionFailedMetricFilter of template.yaml leaves
them out; a unit test keeps it in step)."""
