"""What the workflow functions work with, wired in one place from one Settings:
the Telegram bot (its token from the secret), the AWS clients, and the stores
kept on them (the reply ledger, the albums).

Each handler takes them from `current()`. On Lambda nothing is installed: the
first invocation builds them from the environment (`Settings.from_env`) and the
execution environment keeps them for the next. The local stack, which runs the
handlers in its own process, calls `install(settings)` instead, so no setting
passes through `os.environ`.

Every attribute is built on first use and kept: a cold start makes only what its
function uses (GatherAlbum never reads the secret, StageImage never the table).
The bot alone is remade from the secret every TOKEN_REREAD_S, so a rotated token
reaches warm execution environments without a redeploy (docs/operations.md).

Importing this module imports no client library: telebot and requests come with
the first bot, botocore with the first client, the stores with their first use, so
a handler module's import (a Lambda cold start's Init) stays cheap and a function
never imports what its path does not use (GatherAlbum: no Telegram at all).
tests/unit/functions/test_cold_start_imports.py holds every handler to that.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from polybot import aws, logs
from polybot.settings import Settings

if TYPE_CHECKING:
    import telebot
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from polybot.albums import Albums
    from polybot.forgetting import ChatRecords
    from polybot.reply_ledger import ReplyLedger
    from polybot.telegram import BotCredentials

log = logging.getLogger(__name__)

TOKEN_REREAD_S = 300.0
"""How long an execution environment keeps the token it read before reading the
secret again: after a rotation, the longest any function goes on with the old one.
One GetSecretValue per environment per period."""

T = TypeVar("T")


def bot_from_secret(settings: Settings, secrets: SecretsManagerClient) -> tuple[telebot.TeleBot, BotCredentials]:
    """polybot.telegram.bot_from_secret, imported on the first bot: telebot and
    requests are for the functions that talk to Telegram, when they do."""
    from polybot import telegram

    return telegram.bot_from_secret(settings, secrets)


class _built_once(Generic[T]):
    """functools.cached_property, built under a lock of its own: under the local
    stack many invocations start at once in one process, and each client or bot is
    still made once (cached_property itself stopped locking in Python 3.12), while
    a slow secret does not hold up the clients of other functions."""

    def __init__(self, build: Callable[[FunctionServices], T]) -> None:
        self._build = build
        self._name = build.__name__

    def __get__(self, services: FunctionServices, owner: type | None = None) -> T:
        with services._locks_lock:
            lock = services._locks.setdefault(self._name, threading.Lock())
        with lock:
            if self._name not in services.__dict__:
                services.__dict__[self._name] = self._build(services)
            # Once built, the instance attribute answers before this descriptor does.
            built: T = services.__dict__[self._name]
            return built


@dataclass
class FunctionServices:
    """Settings, and what the handlers call, each built on first use."""

    settings: Settings
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict, init=False, repr=False, compare=False)
    _locks_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _bot: tuple[float, telebot.TeleBot] | None = field(default=None, init=False, repr=False, compare=False)
    _bot_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    @property
    def bot(self) -> telebot.TeleBot:
        """The bot with the secret's token, read again once it is TOKEN_REREAD_S old; if
        that read fails, the token in hand serves another period (it is most likely
        still the right one, and Secrets Manager's failure is not the user's)."""
        with self._bot_lock:
            now = self.clock()
            if self._bot is not None and now - self._bot[0] < TOKEN_REREAD_S:
                return self._bot[1]
            try:
                bot, _ = bot_from_secret(self.settings, self.secrets)
            except Exception as exc:
                if self._bot is None:
                    raise
                log.warning(
                    "could not read the Telegram secret again (%s); keeping the token in hand", type(exc).__name__
                )
                bot = self._bot[1]
            self._bot = (now, bot)
            return bot

    @_built_once
    def secrets(self) -> SecretsManagerClient:
        return aws.client("secretsmanager", self.settings, aws.IN_FUNCTION)

    @_built_once
    def s3(self) -> S3Client:
        return aws.client("s3", self.settings, aws.IN_FUNCTION)

    @_built_once
    def dynamodb(self) -> DynamoDBClient:
        return aws.client("dynamodb", self.settings, aws.IN_FUNCTION)

    @_built_once
    def ledger(self) -> ReplyLedger:
        from polybot.reply_ledger import ReplyLedger  # imports polybot.telegram, with telebot

        self.settings.require("results_table")
        return ReplyLedger(self.dynamodb, self.settings.results_table, self.settings.retention_days)

    @_built_once
    def records(self) -> ChatRecords:
        """What is kept of each chat: for a photo whose chat was forgotten while it was analysed."""
        from polybot.forgetting import ChatRecords

        self.settings.require("results_table", "images_bucket")
        s = self.settings
        return ChatRecords(self.dynamodb, self.s3, s.results_table, s.images_bucket, s.retention_days)

    @_built_once
    def albums(self) -> Albums:
        from polybot.albums import Albums

        self.settings.require("results_table")
        return Albums(self.dynamodb, self.settings.results_table, self.settings.retention_days)


_installing = threading.Lock()
_current: FunctionServices | None = None


def install(settings: Settings) -> None:
    """Run the functions of this process with `settings` (the local stack), in place
    of the environment's; replaces what was installed or built before. Logging is
    left as the process has it."""
    global _current
    with _installing:
        _current = FunctionServices(settings)


def current() -> FunctionServices:
    """The installed services; where none are (Lambda), built from the environment
    on first use, logging set up as the settings say."""
    global _current
    with _installing:
        if _current is None:
            settings = Settings.from_env()
            logs.configure("functions", settings.log_level, keep_existing=True)
            _current = FunctionServices(settings)
        return _current
