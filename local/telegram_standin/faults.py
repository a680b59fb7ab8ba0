"""Failures injected into the stand-in, as Telegram and its network fail: per Bot
API method (or "file" for downloads) and for the next calls only. `Faults` keeps
them; `play` plays one out around the call it meets.

Tests inject them through TelegramStandIn.inject / fail_next; the server
(server.py) plays them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from flask import Response, request

from local.telegram_standin.rules import Refused

HTML_ERROR = """<html>
<head><title>{status} Bad Gateway</title></head>
<body>
<center><h1>{status} Bad Gateway</h1></center>
<hr><center>nginx/1.18.0</center>
</body>
</html>
"""
"""What Telegram's front end (nginx) answers when the Bot API behind it fails."""


@dataclass
class Fault:
    """What the next `times` calls of one Bot API method (or "file" downloads) meet.

    kind "api_error": the Bot API's JSON error (`status`, `description`, `retry_after`);
    "html": an HTML error page with `status`, as Telegram's front end sends;
    "drop": the connection closes without an answer, before the call takes
    effect, or after it (`after_effect`: the message is sent, the answer lost);
    "slow": the answer comes `seconds` late;
    "raw": `body` as it stands, with `status` and `content_type`, before the call
    takes effect: what no Bot API server should answer but proxies and Bot API
    servers other than Telegram's do (a 404 JSON without "ok", a page that is not
    JSON, a 200 without "result")."""

    kind: str
    status: int = 0
    description: str = ""
    retry_after: int | None = None
    after_effect: bool = False
    seconds: float = 0.0
    times: int = 1
    body: str = ""
    content_type: str = "application/json"


class Dropped(Exception):
    """Raised to close the caller's connection without an answer."""


class Faults:
    """The faults waiting for each method's next calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, list[Fault]] = {}

    def inject(self, method: str, fault: Fault) -> None:
        """The next `fault.times` calls of `method` ("file": downloads) meet `fault`."""
        with self._lock:
            self._waiting.setdefault(method, []).append(fault)

    def next(self, method: str) -> Fault | None:
        """The fault this call of `method` meets, if any (it counts as one of its `times`)."""
        with self._lock:
            for fault in self._waiting.get(method, []):
                if fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def clear(self) -> None:
        """No call meets any fault any more."""
        with self._lock:
            self._waiting.clear()


def play(fault: Fault | None, call: Callable[[], Any]) -> Any:
    """`call()`'s result, or what `fault` makes of it: a Bot API error (raised as
    Refused), an HTML error page, a dropped connection (Dropped), a late answer.
    A call that is refused is answered, even where an answer is to be lost after
    the call's effect: it had none."""
    if fault is not None and fault.kind == "slow":
        time.sleep(fault.seconds)
    elif fault is not None and fault.kind == "api_error":
        raise Refused(fault.description, fault.status, fault.retry_after)
    elif fault is not None and fault.kind == "html":
        return Response(HTML_ERROR.format(status=fault.status), status=fault.status, mimetype="text/html")
    elif fault is not None and fault.kind == "raw":
        return Response(fault.body, status=fault.status, content_type=fault.content_type)
    elif fault is not None and fault.kind == "drop" and not fault.after_effect:
        drop_connection()
    result = call()
    if fault is not None and fault.kind == "drop":
        drop_connection()
    return result


def drop_connection() -> NoReturn:
    """Close the caller's connection now, with no answer (a network failure, as the caller sees it)."""
    connection = request.environ.get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
    raise Dropped()
