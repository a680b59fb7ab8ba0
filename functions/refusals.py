"""What a workflow function answers, instead of failing, when the user's own doing
stops it: a file that is not an image we read, or too large (StageImage), a chat
that blocked the bot (SendReply, NotifyFailure).

Lambda counts every invocation that raises in its `Errors` metric, and
template.yaml's FunctionErrorsAlarm pages on a run of them: five users sending
PDFs must not be an incident. So each handler is `refusing`: an error whose
class is `user_caused` (polybot.errors.USER_CAUSED_ERRORS) becomes a Refusal,
`{"kind": "refused", "failure": {"Error": name, "Cause": text}}`, which the
workflow routes (a Choice after the task) to where the task's Catch sends a
failure: the failure is recorded, the user gets the same plain message, and
the execution fails with the error's name as before. Every other error is
ours and still raises, so the Catch and the alarm see it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from polybot import contracts, logs
from polybot.contracts.messages import Refusal
from polybot.errors import PolybotError

log = logging.getLogger(__name__)

Outcome = TypeVar("Outcome")
Handler = Callable[[dict[str, Any], Any], Outcome]


def refusal(error: PolybotError) -> Refusal:
    """The Refusal for a user-caused error, in the shape a Catch gives $.failure."""
    if not error.user_caused:
        raise ValueError(f"{error.name} is a failure of ours, not the user's doing")
    return contracts.validate("Refusal", {"kind": "refused", "failure": {"Error": error.name, "Cause": str(error)}})


class refusing(Generic[Outcome]):
    """A Lambda handler that answers a user-caused error with a Refusal instead of raising it."""

    def __init__(self, handler: Handler[Outcome]) -> None:
        self.handler = handler
        functools.update_wrapper(self, handler)

    def __call__(self, event: dict[str, Any], context: Any) -> Outcome | Refusal:
        try:
            return self.handler(event, context)
        except PolybotError as error:
            if not error.user_caused:
                raise
            name = event.get("execution_name") if isinstance(event, dict) else None
            with logs.correlate(name if isinstance(name, str) else None):
                log.info("refused, the user's doing: %s: %s", error.name, error)
            return refusal(error)
