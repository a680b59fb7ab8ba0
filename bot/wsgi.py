"""The bot's WSGI entry point, as served in its container:
`gunicorn bot.wsgi:app` (see bot/Dockerfile). Builds the app from the
environment and nothing more: no call to Telegram or AWS happens while
gunicorn boots a worker (the webhook is registered by the deploy step,
`python -m bot register-webhook`), so a rate limit, an unset token or an
unreachable Secrets Manager can never stop the server from starting."""

from __future__ import annotations

from flask import Flask

from bot import service
from polybot import logs
from polybot.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.configure("bot", settings.log_level)
    return service.build(settings).app


app = create_app()
