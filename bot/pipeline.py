"""Starts the image pipeline: one Step Functions execution per Telegram image.

The execution name comes from the message (polybot.naming), so a redelivered
update finds its execution already started and starts nothing; an album's one
execution is named after its media group, so every photo but the first finds
it started.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, cast

from botocore.exceptions import ClientError

from polybot import contracts, naming
from polybot.contracts.messages import ExecutionInput, ForgetInput, ForgetRequest, ImageRequest

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

log = logging.getLogger(__name__)


class ImagePipeline:
    def __init__(self, sfn: SFNClient, state_machine_arn: str) -> None:
        self._sfn = sfn
        self._arn = state_machine_arn

    def start(self, request: ImageRequest) -> bool | None:
        """Start the execution for `request`: True; False if another delivery had
        started it; None if it exists and may be this call's own (see `_start`)."""
        return self._start(naming.execution_name(request["chat_id"], request["message_id"]), {"request": request})

    def start_album(self, name: str, request: ImageRequest) -> bool | None:
        """Start the album's execution `name` with the photo of `request` (the first to
        arrive); False if another photo of the album (or a redelivery) started it;
        None as for `start`."""
        # An album's photo has its group (`_start` validates: None is refused).
        group = cast(str, request["media_group_id"])
        return self._start(name, {"request": request, "album": {"media_group_id": group}})

    def start_forget(self, request: ForgetRequest) -> bool | None:
        """Start the /forget execution of the confirmation message `request` names
        (a branch of the same workflow: functions/forget_chat.py); False when a
        tap before this one started it; None as for `start`."""
        execution_input: ForgetInput = {
            "forget": request,
            "forgetting": {"kind": "deleting", "passes": 0, "items": 0, "images": 0, "wait_s": 1},
        }
        name = naming.forget_execution_name(request["chat_id"], request["message_id"])
        return self._start(name, execution_input, "ForgetInput")

    def _start(
        self, name: str, execution_input: ExecutionInput | ForgetInput, contract: str = "ExecutionInput"
    ) -> bool | None:
        contracts.validate(contract, execution_input)
        try:
            self._sfn.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(execution_input))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
            if exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0):
                # boto3 sent the call again (an attempt timed out or failed): the
                # execution may be the one an earlier attempt of this very call
                # started, with this request (AWS answers a retry of a running
                # execution's start with success, but not once it has ended).
                log.warning("execution exists after a retried start; it may be this call's own")
                return None
            log.info("execution already started; update was redelivered")
            return False
        log.info("execution started")
        return True
