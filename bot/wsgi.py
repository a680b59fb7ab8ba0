"""The bot's WSGI entry point, as served in its container:
`gunicorn bot.wsgi:app` (see bot/Dockerfile). Builds the bot from the
environment once per gunicorn worker and registers the webhook with Telegram
when POLYBOT_PUBLIC_URL is set, like `python -m bot`."""

from __future__ import annotations

from flask import Flask

from bot import service
from polybot import logs
from polybot.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.configure("bot", settings.log_level)
    bot_service = service.build(settings)
    if settings.public_url:
        bot_service.register_webhook(settings.public_url)
    return bot_service.app


app = create_app()
