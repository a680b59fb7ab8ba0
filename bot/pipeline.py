"""Starts the image pipeline: one Step Functions execution per Telegram image.

The execution name comes from the message (polybot.naming), so a redelivered
update finds its execution already started and starts nothing; an album's one
execution is named after its media group, so every photo but the first finds
it started.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import ClientError

from polybot import contracts, naming

log = logging.getLogger(__name__)


class ImagePipeline:
    def __init__(self, sfn: Any, state_machine_arn: str) -> None:
        self._sfn = sfn
        self._arn = state_machine_arn

    def start(self, request: dict[str, Any]) -> bool:
        """Start the execution for `request`; False if it was already started."""
        return self._start(naming.execution_name(request["chat_id"], request["message_id"]), {"request": request})

    def start_album(self, name: str, request: dict[str, Any]) -> bool:
        """Start the album's execution `name` with the photo of `request` (the first to
        arrive); False if another photo of the album (or a redelivery) started it."""
        album = {"media_group_id": request["media_group_id"]}
        return self._start(name, {"request": request, "album": album})

    def _start(self, name: str, execution_input: dict[str, Any]) -> bool:
        contracts.validate("ExecutionInput", execution_input)
        try:
            self._sfn.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(execution_input))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
                log.info("execution already started; update was redelivered")
                return False
            raise
        log.info("execution started")
        return True
