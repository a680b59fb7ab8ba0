"""One factory for AWS clients, so every part gets the same region and retries.

The endpoint is each service's own on AWS. Locally it is the embedded AWS:
boto3's own `AWS_ENDPOINT_URL` in-process (set by the local stack), or the
`aws_endpoint_url` setting where only declared variables pass (Lambda
containers under `sam local invoke`, the bot and worker containers).
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from polybot.settings import Settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=30)


def client(service: str, settings: Settings) -> Any:
    return boto3.session.Session().client(
        service, region_name=settings.region, endpoint_url=settings.aws_endpoint_url or None, config=_CONFIG
    )
