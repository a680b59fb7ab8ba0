"""JSON-lines logging for every part, with the execution name as correlation id.

Each process calls `configure(component)` once. Code that works on one image
wraps that work in `correlate(execution_name)`, and every line logged inside
(from our code or a library's) carries `"execution": "<name>"`, so an operator
can follow one image from the webhook to the reply across bot, functions and
worker. Secrets registered with `redact()`, and anything shaped like a bot
token, are masked in every line; image bytes are never logged. An exception
nobody caught (in the main thread or another) is logged the same way instead
of Python printing its raw traceback, whose text may hold a URL with the token.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from pythonjsonlogger.json import JsonFormatter

_execution: contextvars.ContextVar[str | None] = contextvars.ContextVar("execution", default=None)
_secrets: set[str] = set()
_MASK = "***"


class _CorrelationFilter(logging.Filter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def filter(self, record: logging.LogRecord) -> bool:
        record.component = self.component
        if getattr(record, "execution", None) is None:
            record.execution = _execution.get()
        return True


_TOKEN_SHAPE = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{30,}")
"""A Telegram bot token (<bot id>:<35 characters>), even one nobody registered."""


def mask(text: str) -> str:
    """`text` with every registered secret and every token-shaped string masked."""
    for secret in _secrets:
        text = text.replace(secret, _MASK)
    return _TOKEN_SHAPE.sub(_MASK, text)


class _RedactingFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def json_lines_handler(component: str, stream: Any) -> logging.Handler:
    """A handler writing this process's log lines to `stream` as operators read
    them: JSON, with the execution name, secrets masked (tests capture with it)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(_CorrelationFilter(component))
    handler.setFormatter(
        _RedactingFormatter(
            "{asctime}{levelname}{component}{name}{execution}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    return handler


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    logging.getLogger("polybot").critical("uncaught %s", kind.__name__, exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def configure(component: str, level: str = "INFO", stream: Any = None, *, keep_existing: bool = False) -> None:
    """Send all logging of this process to `stream` (stderr) as JSON lines.

    With `keep_existing`, a process that is already configured stays as it is:
    Lambda handlers run in-process under the local stack, which configured it."""
    root = logging.getLogger()
    if keep_existing and any(isinstance(h.formatter, _RedactingFormatter) for h in root.handlers):
        return
    handler = json_lines_handler(component, stream or sys.stderr)
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    # These libraries log request URLs, which contain the bot token, at DEBUG.
    for noisy in _LIBRARIES:
        adopt(noisy)


_LIBRARIES = ("TeleBot", "urllib3", "botocore", "boto3", "werkzeug", "ultralytics")


def adopt(library: str) -> None:
    """Send a library's logging through ours (JSON lines, redaction), at WARNING
    and above. Some libraries (Ultralytics) install their own handler when
    imported; call this again after importing them."""
    logger = logging.getLogger(library)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(max(logging.WARNING, logging.getLogger().level))


def redact(secret: str) -> None:
    """Mask `secret` wherever it would appear in a log line."""
    if secret:
        _secrets.add(secret)


@contextmanager
def correlate(execution_name: str | None) -> Iterator[None]:
    token = _execution.set(execution_name)
    try:
        yield
    finally:
        _execution.reset(token)
