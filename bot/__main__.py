"""`python -m bot [serve | poll | register-webhook]`: the bot's three ways to run.

- `serve` (default): the webhook server (production runs the same app under
  gunicorn: bot/wsgi.py).
- `poll`: long-poll Telegram where there is no public HTTPS address (bot/polling.py).
- `register-webhook`: the deploy step that points Telegram at
  POLYBOT_PUBLIC_URL and sets the command menu (bot/webhook.py); run once per
  instance boot, it exits 0 once Telegram has both and 1 when it gave up
  within its window (bot.webhook.REGISTRATION_WINDOW_S), logging either as a
  JSON event. `--force` sets the webhook even when Telegram's looks like ours:
  the step after rotating the webhook secret (docs/operations.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from werkzeug.serving import run_simple

from bot import polling, service
from bot.app import BotNotReady
from bot.webhook import deploy_step
from polybot import logs
from polybot.settings import Settings

log = logging.getLogger("bot")
CONNECT_RETRY_S = 15.0


def connected(bot_service: service.BotService) -> service.BotService:
    """Wait until the credentials load (polling cannot start without them)."""
    while True:
        try:
            bot_service.telegram.connect()
            return bot_service
        except BotNotReady as exc:
            log.error("not ready (%s); trying again in %.0f s", exc, CONNECT_RETRY_S)
            time.sleep(CONNECT_RETRY_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "poll", "register-webhook"])
    parser.add_argument(
        "--force",
        action="store_true",
        help="register-webhook: set the webhook even when Telegram's looks like ours (after rotating its secret)",
    )
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logs.configure("bot", settings.log_level)
    bot_service = service.build(settings)
    if args.command == "register-webhook":
        settings.require("public_url")
        return deploy_step(bot_service.telegram.connect, settings.public_url, force=args.force)
    if args.command == "poll":
        bot = connected(bot_service).bot
        log.info("long polling %s", settings.telegram_api_url)
        polling.poll(bot)
        return 0
    log.info("serving the webhook on port %d", settings.bot_port)
    run_simple("0.0.0.0", settings.bot_port, bot_service.app, threaded=True)  # noqa: S104 - behind the ALB
    return 0


if __name__ == "__main__":
    sys.exit(main())
