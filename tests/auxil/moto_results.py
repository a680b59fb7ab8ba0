"""The results table (as template.yaml defines it: key, billing, both indexes) and
an images bucket in moto, in this process: the unit tests' AWS."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.polybot_stack import REPO_ROOT
from local.stack import load_template

TABLE_ARGUMENTS = ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")


def results_table_arguments() -> dict[str, Any]:
    properties = load_template(REPO_ROOT / "template.yaml")["Resources"]["ResultsTable"]["Properties"]
    return {name: properties[name] for name in TABLE_ARGUMENTS}


@contextmanager
def moto_results(monkeypatch: pytest.MonkeyPatch, table: str, bucket: str | None = None) -> Iterator[tuple[Any, Any]]:
    """(dynamodb, s3) clients on moto, with the results table `table` and, if named, the bucket `bucket`."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(TableName=table, **results_table_arguments())
        s3 = boto3.client("s3", region_name="us-east-1")
        if bucket:
            s3.create_bucket(Bucket=bucket)
        yield dynamodb, s3
