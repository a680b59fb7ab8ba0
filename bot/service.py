"""Wires the bot from settings: credentials from Secrets Manager, the TeleBot,
the pipeline, the handlers and the Flask app. Used by `python -m bot`, the
WSGI entry point and the local stack."""

from __future__ import annotations

from dataclasses import dataclass

import telebot
from flask import Flask

from bot import handlers
from bot.app import WEBHOOK_PATH, create_app
from bot.pipeline import ImagePipeline
from polybot import aws
from polybot.settings import Settings
from polybot.telegram import BotCredentials, bot_from_secret


@dataclass
class BotService:
    bot: telebot.TeleBot
    credentials: BotCredentials
    app: Flask

    def register_webhook(self, public_url: str) -> None:
        self.bot.set_webhook(
            url=public_url.rstrip("/") + WEBHOOK_PATH,
            secret_token=self.credentials.webhook_secret,
            allowed_updates=["message"],
        )


def build(settings: Settings) -> BotService:
    settings.require("state_machine_arn", "telegram_secret_id")
    bot, credentials = bot_from_secret(settings, aws.client("secretsmanager", settings))
    handlers.register(bot, ImagePipeline(aws.client("stepfunctions", settings), settings.state_machine_arn))
    return BotService(bot=bot, credentials=credentials, app=create_app(bot, credentials.webhook_secret))
