"""Pointing Telegram at the bot, and its command menu: one idempotent deploy
step, never part of serving.

`python -m bot register-webhook` (`deploy_step`) runs once per bot instance
boot (its user data) with the instance's settings; the local stack calls
`ensure_webhook` too. It reads getWebhookInfo first and calls setWebhook only
when Telegram's registration differs from ours (address, update types) or
Telegram reports that our webhook refuses its calls with 403 (the secret it
holds is stale, e.g. after a rotation), or always with `force` (the operator's
step after rotating the webhook secret, docs/operations.md: Telegram cannot
show which secret it holds, and a webhook nobody sends to yet has no 403 to
report). A 429 is waited out for the
`retry_after` Telegram names; 5xx, network errors and Telegram's "bad
webhook" 400s that waiting can cure (it could not resolve the address's name
or reach it yet, as on a first deploy whose DNS record is new) are retried
with backoff; all within one window (REGISTRATION_WINDOW_S), so many
instances booting at once, or booting as the name starts to resolve, settle
instead of failing. Any other 4xx (401: the token is wrong; a webhook address
that breaks one of Telegram's rules) is final. The step's outcome is one JSON
log line with an `event` (REGISTERED or REGISTRATION_FAILED) that a
CloudWatch metric filter counts (terraform/modules/bot).

`ensure_commands` does the same for the command menu (setMyCommands): for each
scope of MENUS (the default one, which private chats show, and group chats'),
the list for every language and one per language the bot speaks, each set only
when getMyCommands shows something else. The menu is optional: a Bot API server that
lacks getMyCommands (404, or an answer without "ok") has each list set without
reading it first; one that lacks setMyCommands has no menu, and the step logs
that it skipped it (SKIPPED) and succeeds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import Enum
from typing import TypeVar

import requests
import telebot
from telebot.apihelper import ApiException, ApiHTTPException, ApiTelegramException
from telebot.types import BotCommand, BotCommandScope, BotCommandScopeAllGroupChats, BotCommandScopeDefault

from bot.app import WEBHOOK_PATH, BotNotReady
from polybot import i18n
from polybot.errors import TelegramAnswerMalformed
from polybot.telegram import BotCredentials, server_lacks_method

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
"""The update types the handlers serve; Telegram sends nothing else."""

REGISTRATION_WINDOW_S = 900.0
"""How long the deploy step keeps trying, credentials, webhook and menu together.
A name Telegram's resolver once found missing stays missing to it for the
zone's negative-answer TTL (on Route 53 the SOA record's TTL, 900 s), much
longer than a new record takes to reach Route 53's servers (about a minute).
The instance's user data runs the step under a longer `timeout`, so the step
itself always says how it ended; the bot serves meanwhile, the boot waits."""
CREDENTIALS_RETRY_S = 15.0
"""How often the deploy step asks again for credentials that cannot be loaded yet."""

REGISTERED = "webhook_registered"
REGISTRATION_FAILED = "webhook_registration_failed"
"""The `event` of the deploy step's last log line: Telegram has the webhook and the
menu, or the step gave up (terraform/modules/bot counts these with a metric filter)."""

ADDRESS_RULES = (
    "https url must be provided",
    "ports 80, 88, 443 or 8443",
    "is reserved",
    "ipv6-only addresses are not allowed",
)
"""Telegram's "bad webhook" refusals that name a rule the address itself breaks
(an http:// URL, a port other than 80, 88, 443 or 8443, an address in a reserved
range or IPv6 only): waiting cannot cure these. Any other "bad webhook" says
Telegram could not resolve or reach the address yet ("Failed to resolve host:
Name or service not known", "... Temporary failure in name resolution", a
refused connection, a failed TLS handshake), which a new DNS record or a
listener still being created explains."""


class Outcome(Enum):
    UNCHANGED = "already registered"
    REGISTERED = "registered"
    SKIPPED = "skipped: the Bot API server lacks it"


COMMANDS = ("start", "help", "history", "settings", "privacy", "forget")
"""The command menu, in this order; each described by the catalogs' `commands.<name>`."""
GROUP_COMMANDS = ("detect", "help")
"""The menu in groups and supergroups: asking for a photo, and how (bot/addressing.py)."""
MENUS: tuple[tuple[BotCommandScope, tuple[str, ...]], ...] = (
    (BotCommandScopeDefault(), COMMANDS),
    (BotCommandScopeAllGroupChats(), GROUP_COMMANDS),
)
"""Each menu and the scope Telegram shows it in (the more specific scope wins: group
chats show theirs, private chats the default)."""
MENU_LISTS = len(MENUS) * (1 + len(i18n.LANGUAGES))
"""How many lists the menu is: one per scope for every language and per language."""
T = TypeVar("T")


class WebhookNotRegistered(RuntimeError):
    """Telegram refused the registration, or kept failing for longer than allowed."""


class MenuNotServed(RuntimeError):
    """The Bot API server has no setMyCommands: there is no menu to set."""


FAILURES = (ApiException, requests.RequestException, TelegramAnswerMalformed)
"""How a Bot API call fails: telebot's errors, the network's, and an answer that is
no Bot API answer (polybot.telegram.checked_request)."""


def _failure(exc: Exception) -> str:
    """What went wrong, for the log: never a requests error's text, which holds
    the URL, and the URL the token. Telegram's own description names the problem."""
    if isinstance(exc, ApiTelegramException):
        return f"Telegram answered {exc.error_code}: {exc.description}"
    if isinstance(exc, TelegramAnswerMalformed):
        return str(exc)
    if isinstance(exc, ApiHTTPException):
        return f"HTTP {getattr(exc.result, 'status_code', 0)} without a Bot API answer"
    return type(exc).__name__


def webhook_url(public_url: str) -> str:
    return public_url.rstrip("/") + WEBHOOK_PATH


def _webhook_info(bot: telebot.TeleBot) -> telebot.types.WebhookInfo | None:
    """getWebhookInfo; None from a Bot API server that lacks it (the webhook is then set)."""
    try:
        return bot.get_webhook_info()
    except FAILURES as exc:
        if not server_lacks_method(exc):
            raise
        log.warning("the Bot API server has no getWebhookInfo (%s); setting the webhook", _failure(exc))
        return None


def _needs_registration(info: telebot.types.WebhookInfo | None, url: str) -> bool:
    if info is None:
        return True
    registered = info.allowed_updates if isinstance(info.allowed_updates, list) else ["message"]
    if info.url != url or sorted(registered) != sorted(ALLOWED_UPDATES):
        return True
    # Telegram cannot show the secret it holds; a webhook answering it 403 means it is not ours.
    return "403" in str(info.last_error_message or "")


def unreachable_webhook(exc: ApiTelegramException) -> bool:
    """Whether Telegram refused the webhook only because it cannot resolve or reach
    the address yet: a 400 "bad webhook" that names no rule of the address itself."""
    description = str(exc.description or "").lower()
    return (
        exc.error_code == 400
        and "bad webhook:" in description
        and not any(rule in description for rule in ADDRESS_RULES)
    )


def _wait_s(exc: Exception, attempt: int) -> float | None:
    """Seconds to wait before trying again after `exc`, or None if trying again cannot help."""
    if isinstance(exc, ApiTelegramException):
        if exc.error_code == 429:
            return float((exc.result_json or {}).get("parameters", {}).get("retry_after", 1))
        if exc.error_code < 500 and not unreachable_webhook(exc):
            return None
    elif isinstance(exc, ApiHTTPException):
        # Not the Bot API's JSON: a front end's error page, 5xx or 429 (checked_request).
        status = int(getattr(exc.result, "status_code", 0) or 0)
        if status == 429:
            header = str(getattr(exc.result, "headers", {}).get("Retry-After", ""))
            return float(header) if header.isdigit() else 1.0
        if status < 500:
            return None
    elif not isinstance(exc, requests.RequestException):
        return None
    return min(2.0**attempt, 30.0)


def commands(language: str, names: tuple[str, ...] = COMMANDS) -> list[BotCommand]:
    return [BotCommand(name, i18n.text(f"commands.{name}", language)) for name in names]


def _settle(
    what: str,
    call: Callable[[], T],
    max_wait_s: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> T:
    """`call()`, tried again after a 429's retry_after, a 5xx or a network error while
    `max_wait_s` allows; WebhookNotRegistered when Telegram refuses or time runs out."""
    deadline = clock() + max_wait_s
    attempt = 0
    while True:
        try:
            return call()
        except FAILURES as exc:
            attempt += 1
            wait_s = _wait_s(exc, attempt)
            kind = _failure(exc)
            if wait_s is None or clock() + wait_s > deadline:
                raise WebhookNotRegistered(f"could not {what}: {kind}") from None
            log.warning("%s failed (%s); trying again in %.0f s", what, kind, wait_s)
            sleep(wait_s)


def ensure_webhook(
    bot: telebot.TeleBot,
    public_url: str,
    secret: str,
    *,
    max_wait_s: float = REGISTRATION_WINDOW_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    force: bool = False,
) -> Outcome:
    """Make Telegram deliver updates to `public_url`'s webhook with `secret`;
    `force`: set it even when Telegram's registration looks like ours."""
    url = webhook_url(public_url)

    def register() -> Outcome:
        if not force and not _needs_registration(_webhook_info(bot), url):
            log.info("webhook already registered at %s", url)
            return Outcome.UNCHANGED
        bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        log.info("webhook registered at %s", url)
        return Outcome.REGISTERED

    return _settle(f"register the webhook at {url}", register, max_wait_s, sleep, clock)


def ensure_commands(
    bot: telebot.TeleBot,
    *,
    max_wait_s: float = REGISTRATION_WINDOW_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Make Telegram show the command menus (MENUS): in each scope, the default
    (English) list and one per language; REGISTERED when any list had to be set."""
    changed = False
    deadline = clock() + max_wait_s
    for scope, names in MENUS:
        for language_code in ("", *i18n.LANGUAGES):
            wanted = commands(language_code or i18n.DEFAULT_LANGUAGE, names)

            def put(
                code: str = language_code, wanted: list[BotCommand] = wanted, scope: BotCommandScope = scope
            ) -> bool:
                shown = _shown_commands(bot, code, scope)
                if shown is not None and shown == [(c.command, c.description) for c in wanted]:
                    return False
                try:
                    bot.set_my_commands(wanted, scope=scope, language_code=code or None)
                except FAILURES as exc:
                    if server_lacks_method(exc):
                        raise MenuNotServed(_failure(exc)) from None
                    raise
                return True

            what = f"set the {scope.type} commands for {language_code or 'every language'}"
            try:
                changed |= _settle(what, put, max(0.0, deadline - clock()), sleep, clock)
            except MenuNotServed as exc:
                log.warning("command menu skipped: the Bot API server has no setMyCommands (%s)", exc)
                return Outcome.SKIPPED
    log.info("command menu %s", "set" if changed else "already set")
    return Outcome.REGISTERED if changed else Outcome.UNCHANGED


def _shown_commands(bot: telebot.TeleBot, language_code: str, scope: BotCommandScope) -> list[tuple[str, str]] | None:
    """The menu Telegram shows in `scope` for `language_code`; None when the Bot API
    server has no getMyCommands (the list is then set without reading it)."""
    try:
        shown = bot.get_my_commands(scope=scope, language_code=language_code or None)
    except FAILURES as exc:
        if not server_lacks_method(exc):
            raise
        log.warning("the Bot API server has no getMyCommands (%s); setting the menu without reading it", _failure(exc))
        return None
    return [(c.command, c.description) for c in shown]


def register_with_telegram(
    bot: telebot.TeleBot,
    public_url: str,
    secret: str,
    *,
    max_wait_s: float = REGISTRATION_WINDOW_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    force: bool = False,
) -> Outcome:
    """The webhook (`force`: set whatever Telegram shows), then the command menu,
    both within `max_wait_s`."""
    deadline = clock() + max_wait_s
    webhook = ensure_webhook(bot, public_url, secret, max_wait_s=max_wait_s, sleep=sleep, clock=clock, force=force)
    menu = ensure_commands(bot, max_wait_s=max(0.0, deadline - clock()), sleep=sleep, clock=clock)
    return Outcome.REGISTERED if Outcome.REGISTERED in (webhook, menu) else Outcome.UNCHANGED


Connect = Callable[[], tuple[telebot.TeleBot, BotCredentials]]
"""The bot and its credentials, or BotNotReady while they cannot be loaded."""


def _credentials_within(
    connect: Connect, deadline: float, sleep: Callable[[float], None], clock: Callable[[], float]
) -> tuple[telebot.TeleBot, BotCredentials]:
    """`connect()`, asked again every CREDENTIALS_RETRY_S until `deadline`; BotNotReady after."""
    while True:
        try:
            return connect()
        except BotNotReady as exc:
            if clock() + CREDENTIALS_RETRY_S > deadline:
                raise
            log.error("not ready (%s); trying again in %.0f s", exc, CREDENTIALS_RETRY_S)
            sleep(CREDENTIALS_RETRY_S)


def deploy_step(
    connect: Connect,
    public_url: str,
    *,
    window_s: float = REGISTRATION_WINDOW_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    force: bool = False,
) -> int:
    """`python -m bot register-webhook [--force]`: the credentials, the webhook
    (`force`: set even if Telegram's looks like ours) and the menu, all within
    `window_s`. Its exit status: 0 once Telegram has both, 1 when it gave up,
    each with a last log line whose `event` says so (REGISTERED,
    REGISTRATION_FAILED) for the metric filter that alarms on a failure."""
    deadline = clock() + window_s
    url = webhook_url(public_url)
    try:
        bot, credentials = _credentials_within(connect, deadline, sleep, clock)
        remaining = max(0.0, deadline - clock())
        outcome = register_with_telegram(
            bot, public_url, credentials.webhook_secret, max_wait_s=remaining, sleep=sleep, clock=clock, force=force
        )
    except (WebhookNotRegistered, BotNotReady) as exc:
        log.error(
            "webhook not registered within %.0f s: %s",
            window_s,
            exc,
            extra={"event": REGISTRATION_FAILED, "webhook_url": url},
        )
        return 1
    log.info("webhook %s at %s", outcome.value, url, extra={"event": REGISTERED, "webhook_url": url})
    print(outcome.value)
    return 0
