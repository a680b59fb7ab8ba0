"""Starts the image pipeline: one Step Functions execution per Telegram image.

The execution name comes from the message (polybot.naming), so a redelivered
update finds its execution already started and starts nothing.
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
        execution_input = contracts.validate("ExecutionInput", {"request": request})
        name = naming.execution_name(request["chat_id"], request["message_id"])
        try:
            self._sfn.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(execution_input))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
                log.info("execution already started; update was redelivered")
                return False
            raise
        log.info("execution started")
        return True
