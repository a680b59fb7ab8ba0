"""`python -m inference`: one YOLO worker process, as run on each instance of
the auto-scaling group. SIGTERM (instance scale-in, container stop) lets the
image in hand finish, then exits."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from inference.service import build_worker
from polybot import logs
from polybot.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    logs.configure("inference", settings.log_level)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    build_worker(settings).run(stop)


if __name__ == "__main__":
    main()
