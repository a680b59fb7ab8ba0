"""`python -m bot`: serve the webhook (registering it with Telegram when
POLYBOT_PUBLIC_URL is set), or `python -m bot --polling` where there is no
public HTTPS address."""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import run_simple

from bot import service
from polybot import logs
from polybot.settings import Settings

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--polling", action="store_true", help="long-poll Telegram instead of serving a webhook")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logs.configure("bot", settings.log_level)
    bot_service = service.build(settings)
    if args.polling:
        bot_service.bot.delete_webhook()
        log.info("long polling %s", settings.telegram_api_url)
        bot_service.bot.infinity_polling(timeout=30, long_polling_timeout=20, allowed_updates=["message"])
        return
    if settings.public_url:
        bot_service.register_webhook(settings.public_url)
    log.info("serving the webhook on port %d", settings.bot_port)
    run_simple("0.0.0.0", settings.bot_port, bot_service.app, threaded=True)  # noqa: S104 - behind the ALB


if __name__ == "__main__":
    main()
