"""Wires the bot from settings: the pipeline, the Flask app, and the Telegram
side (credentials from Secrets Manager, the TeleBot with its handlers), which
is built on first use rather than at start-up. Used by `python -m bot`, the
WSGI entry point and the local stack.

Nothing here calls Telegram or AWS while the process starts, so the server
comes up and answers /healthz when Secrets Manager is unreachable, the token
is still the template's placeholder, or Telegram rate-limits: the webhook
answers 503 until the credentials load, and Telegram redelivers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import telebot
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask
from telebot import util

from bot import handlers
from bot.app import BotNotReady, create_app
from bot.deadline import Guarded
from bot.history import Results
from bot.pipeline import ImagePipeline
from bot.preferences import ChatPreferences, Choices
from bot.quota import ChatQuota
from polybot import aws
from polybot.albums import Albums
from polybot.reply_ledger import ReplyLedger
from polybot.settings import Settings
from polybot.telegram import BotCredentials, load_credentials, make_bot

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient

RETRY_INTERVAL_S = 10.0
"""After a failed load, the next webhook call within this time fails fast
instead of asking Secrets Manager again."""


class TelegramConnection:
    """The bot's Telegram side, loaded from the secret on first use and kept.

    A failure is remembered for RETRY_INTERVAL_S so that a broken Secrets
    Manager is not asked on every update; `status()` says what is wrong."""

    def __init__(
        self,
        settings: Settings,
        secrets_client: SecretsManagerClient,
        register_handlers: Callable[[telebot.TeleBot], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._secrets = secrets_client
        self._register_handlers = register_handlers
        self._clock = clock
        self._lock = threading.Lock()
        self._ready: tuple[telebot.TeleBot, BotCredentials] | None = None
        self._problem = "not connected yet"
        self._failed_at: float | None = None

    def __call__(self) -> tuple[telebot.TeleBot, str]:
        bot, credentials = self.connect()
        return bot, credentials.webhook_secret

    def connect(self) -> tuple[telebot.TeleBot, BotCredentials]:
        with self._lock:
            if self._ready is None:
                if self._failed_at is not None and self._clock() - self._failed_at < RETRY_INTERVAL_S:
                    raise BotNotReady(self._problem)
                try:
                    self._ready = self._load()
                except BotNotReady as exc:
                    self._problem, self._failed_at = str(exc), self._clock()
                    raise
            return self._ready

    def _load(self) -> tuple[telebot.TeleBot, BotCredentials]:
        try:
            credentials = load_credentials(self._secrets, self._settings.telegram_secret_id)
        except (BotoCoreError, ClientError) as exc:
            raise BotNotReady(f"cannot read the secret from Secrets Manager: {type(exc).__name__}") from exc
        except (ValueError, KeyError) as exc:
            raise BotNotReady("the secret is not the JSON object {telegram_token, webhook_secret}") from exc
        try:
            util.validate_token(credentials.telegram_token)
        except ValueError as exc:
            raise BotNotReady("the secret's telegram_token is not a bot token (still the placeholder?)") from exc
        if not credentials.webhook_secret:
            # Anyone could post updates otherwise.
            raise BotNotReady("the secret holds no webhook_secret")
        bot = make_bot(credentials.telegram_token, self._settings)
        self._register_handlers(bot)
        return bot, credentials

    def status(self) -> str:
        if self._ready is not None:
            return "ready"
        return f"not ready: {self._problem}"


@dataclass
class BotService:
    telegram: TelegramConnection
    app: Flask

    @property
    def bot(self) -> telebot.TeleBot:
        """The TeleBot, loading the credentials now if needed (raises BotNotReady)."""
        return self.telegram.connect()[0]

    @property
    def credentials(self) -> BotCredentials:
        return self.telegram.connect()[1]


def chats(settings: Settings) -> handlers.Chats:
    """What the handlers work with: the pipeline and, with the results table, the
    chat's photo count, preferences, albums and past results."""
    # Every AWS call here happens while Telegram waits for the webhook's answer:
    # an image's path asks the deadline itself (bot/handlers.py); the reads for
    # /settings, /history and buttons ask it through Guarded, leaving room for the reply.
    pipeline = ImagePipeline(aws.client("stepfunctions", settings, aws.IN_WEBHOOK), settings.state_machine_arn)
    table = settings.results_table
    if not table:
        return handlers.Chats(
            pipeline,
            retention_days=settings.retention_days,
            region=settings.region,
            max_download_bytes=settings.max_download_bytes,
        )
    reply_s = settings.telegram_connect_timeout_s + settings.telegram_read_timeout_s
    dynamodb = aws.client("dynamodb", settings, aws.IN_WEBHOOK)
    reading = cast("DynamoDBClient", Guarded(dynamodb, aws.IN_WEBHOOK.worst_case_s, reply_s))
    courtesy = aws.client("dynamodb", settings, aws.COURTESY)
    s3 = aws.client("s3", settings, aws.IN_WEBHOOK) if settings.images_bucket else None
    return handlers.Chats(
        pipeline,
        quota=ChatQuota(aws.client("dynamodb", settings, aws.COUNTING), table, settings.chat_photos_per_minute),
        # Read on every photo as a courtesy (the defaults otherwise): a short budget.
        preferences=ChatPreferences(
            cast("DynamoDBClient", Guarded(courtesy, aws.COURTESY.worst_case_s, reply_s)),
            table,
            Choices.from_settings(settings),
            retention_days=settings.retention_days,
        ),
        albums=Albums(dynamodb, table, settings.retention_days),
        album_progress=Albums(courtesy, table, settings.retention_days),
        results=Results(reading, table, Albums(reading, table, settings.retention_days)),
        s3=cast("S3Client", Guarded(s3, aws.IN_WEBHOOK.worst_case_s, reply_s)) if s3 is not None else None,
        images_bucket=settings.images_bucket,
        retention_days=settings.retention_days,
        region=settings.region,
        forgetting=pipeline,
        max_download_bytes=settings.max_download_bytes,
        # The ledger's claims ask the deadline themselves (handlers.claim): a courtesy's budget.
        ledger=ReplyLedger(courtesy, table, settings.retention_days),
    )


def build(settings: Settings) -> BotService:
    settings.require("state_machine_arn", "telegram_secret_id")
    wiring = chats(settings)
    telegram = TelegramConnection(
        settings,
        aws.client("secretsmanager", settings, aws.IN_WEBHOOK),
        lambda bot: handlers.register(bot, wiring),
    )
    return BotService(telegram=telegram, app=create_app(telegram, telegram.status))
