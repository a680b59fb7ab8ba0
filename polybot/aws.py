"""One factory for AWS clients, so every part gets the same region and retries.

The endpoint comes from boto3's own `AWS_ENDPOINT_URL` (set by the local stack
to the embedded AWS), never from code.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from polybot.settings import Settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=30)


def client(service: str, settings: Settings) -> Any:
    return boto3.session.Session().client(service, region_name=settings.region, config=_CONFIG)
