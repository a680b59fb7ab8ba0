"""One factory for AWS clients, so every part gets the same region and a call
budget that fits its caller's limit.

The endpoint is each service's own on AWS. Locally it is the embedded AWS:
boto3's own `AWS_ENDPOINT_URL` in-process (set by the local stack), or the
`aws_endpoint_url` setting where only declared variables pass (Lambda
containers under `sam local invoke`, the bot and worker containers).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, overload

# botocore.exceptions is light (the standard library only); the session, the
# clients and their service data are imported by the first `client()` call.
from botocore.exceptions import BotoCoreError, ClientError

from polybot.errors import AwsUnavailable
from polybot.settings import Settings

if TYPE_CHECKING:
    # boto3-stubs (the dev extra) for mypy only: Lambda's layer and the images do without.
    from botocore.client import BaseClient
    from botocore.config import Config
    from botocore.session import Session
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient


DEFAULT_CONNECTIONS = 10
"""botocore's own pool size: connections a client keeps open for calls at the same time."""


@dataclass(frozen=True)
class CallBudget:
    """How long one AWS call may take, its retries included (botocore's standard mode)."""

    connect_timeout_s: float
    read_timeout_s: float
    attempts: int

    @property
    def worst_case_s(self) -> float:
        # Standard mode waits at most min(2 ** (n - 1), 20) s after failed attempt n (throttling).
        backoff = sum(min(2.0 ** (n - 1), 20.0) for n in range(1, self.attempts))
        return self.attempts * (self.connect_timeout_s + self.read_timeout_s) + backoff

    def config(self, connections: int = DEFAULT_CONNECTIONS) -> Config:
        from botocore.config import Config

        return Config(
            retries={"mode": "standard", "total_max_attempts": self.attempts},
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
            max_pool_connections=connections,
        )


LONG_RUNNING = CallBudget(connect_timeout_s=5, read_timeout_s=30, attempts=4)
"""Processes that wait for nobody: the YOLO worker, the local stack's tools."""
IN_FUNCTION = CallBudget(connect_timeout_s=1, read_timeout_s=3, attempts=2)
"""A Lambda function's calls, within its Timeout (tests/unit/test_timeouts.py)."""
IN_WEBHOOK = CallBudget(connect_timeout_s=1, read_timeout_s=3, attempts=2)
"""The bot's required calls while Telegram waits for the webhook's answer
(StartExecution, an album's item, the secret): a late answer is a redelivery
(the start may have happened). Two of them and the user's notice fit the
webhook's deadline (bot/deadline.py, tests/unit/test_timeouts.py)."""
COURTESY = CallBudget(connect_timeout_s=1, read_timeout_s=2, attempts=1)
"""The bot's calls it can do without (a chat's preferences: the defaults instead):
short, and skipped when the webhook's deadline needs the time for the required ones."""
COUNTING = COURTESY
"""The bot's per-chat photo count: it fails open, so it never holds the webhook long."""
WITHIN_HEARTBEAT = CallBudget(connect_timeout_s=1, read_timeout_s=3, attempts=2)
"""The worker's Step Functions calls: a heartbeat must land within HeartbeatSeconds."""


_session: Session | None = None
_session_lock = threading.Lock()


@overload
def client(
    service: Literal["dynamodb"], settings: Settings, budget: CallBudget = ..., connections: int = ...
) -> DynamoDBClient: ...
@overload
def client(
    service: Literal["iam"], settings: Settings, budget: CallBudget = ..., connections: int = ...
) -> IAMClient: ...
@overload
def client(
    service: Literal["s3"], settings: Settings, budget: CallBudget = ..., connections: int = ...
) -> S3Client: ...
@overload
def client(
    service: Literal["secretsmanager"], settings: Settings, budget: CallBudget = ..., connections: int = ...
) -> SecretsManagerClient: ...
@overload
def client(
    service: Literal["sqs"], settings: Settings, budget: CallBudget = ..., connections: int = ...
) -> SQSClient: ...
@overload
def client(
    service: Literal["stepfunctions"], settings: Settings, budget: CallBudget = ..., connections: int = ...
) -> SFNClient: ...
@overload
def client(service: str, settings: Settings, budget: CallBudget = ..., connections: int = ...) -> BaseClient: ...
def client(
    service: str, settings: Settings, budget: CallBudget = LONG_RUNNING, connections: int = DEFAULT_CONNECTIONS
) -> BaseClient:
    """A client on the process's one botocore Session.

    A new Session parses botocore's endpoint and service data again: about
    110 ms of CPU and several MB per client, measured; on Lambda that is cold
    start, and under the local stack, where every function's first
    invocations run at once in one process, it was three quarters of the CPU
    in a burst (docs/performance.md). On one Session a client costs about
    5 ms. A Session is not thread-safe, so clients are made under a lock; the
    clients themselves are. The Session finds the credentials once, as
    botocore does for each Session: static ones (Lambda's, a container's)
    hold for the process's life, an instance role's refresh themselves.

    `connections`: the calls the client makes at the same time (a worker's downloads
    and uploads in flight); beyond its pool, each call opens a connection of its own.

    Typed by service name for the services the project uses (boto3-stubs);
    a name known only at run time gets botocore's BaseClient.

    botocore's Session, not boto3's: the clients are the same botocore clients
    (boto3's Session adds only resources and S3's transfer methods, which nothing
    here calls), and boto3 with s3transfer is about 0.1 s more to import, which a
    Lambda function pays on its cold start (docs/performance.md, cold starts).
    The credential chain, AWS_ENDPOINT_URL and the config are botocore's in both."""
    global _session
    with _session_lock:
        if _session is None:
            from botocore.session import get_session

            _session = get_session()
        return _session.create_client(  # the overloads above type it
            service,
            region_name=settings.region,
            endpoint_url=settings.aws_endpoint_url or None,
            config=budget.config(connections),
        )


_THROTTLING = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "TooManyRequestsException",
    "SlowDown",
    "RequestThrottled",
}


def transient(exc: BotoCoreError | ClientError) -> bool:
    """Whether trying the call again later may succeed: throttling, 5xx, no connection."""
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return status >= 500 or exc.response.get("Error", {}).get("Code") in _THROTTLING
    return True


@contextmanager
def aws_errors() -> Iterator[None]:
    """Inside a function: an AWS failure that a later try may not meet becomes
    AwsUnavailable, which the workflow retries; any other passes unchanged."""
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        if not transient(exc):
            raise
        code = exc.response["Error"].get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        raise AwsUnavailable(f"AWS call failed after its retries: {code}") from exc
