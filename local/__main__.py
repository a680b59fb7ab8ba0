"""`python -m local [IMAGE ...]`: Polybot's main job on this machine.

Without TELEGRAM_TOKEN: sends each image (default: the two sample photos that
ship with Ultralytics) to the bot as a Telegram user would, through the
Bot API stand-in, and prints the bot's reply, where the annotated image was
saved, and the execution's state-by-state trace.

With TELEGRAM_TOKEN: serves that real bot by long polling until Ctrl-C.
"""

from __future__ import annotations

import argparse
import faulthandler
import io
import mimetypes
import os
import signal
import sys
import time
from pathlib import Path

from PIL import Image

from local.polybot_stack import PolybotStack, StackOptions, sample_images
from local.telegram_standin import SentMessage, TelegramStandIn
from local.trace import format_trace, trace
from polybot import logs, naming

LOCAL_CHAT_ID = 424242
PHOTO_LIMIT_BYTES = 10 * 1024 * 1024
"""Telegram sends larger images as files (documents), so does the demo."""


def send_as_user(telegram: TelegramStandIn, path: Path) -> dict[str, object]:
    data = path.read_bytes()
    try:
        with Image.open(io.BytesIO(data)):
            is_picture = len(data) <= PHOTO_LIMIT_BYTES
    except Exception:
        is_picture = False
    if is_picture:
        return telegram.user_sends_photo(LOCAL_CHAT_ID, data)
    mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return telegram.user_sends_document(LOCAL_CHAT_ID, data, path.name, mime_type)


def describe_reply(reply: SentMessage, out_dir: Path, name: str) -> list[str]:
    lines = [f"  reply: {reply.caption or reply.text}"]
    if reply.photo is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{name}.jpg"
        target.write_bytes(reply.photo)
        lines.append(f"  annotated image: {target.resolve()}")
    return lines


def run_samples(stack: PolybotStack, images: list[Path], out_dir: Path) -> int:
    assert stack.telegram is not None
    sfn = stack.client("stepfunctions")
    failures = 0
    for path in images:
        started = time.perf_counter()
        message = send_as_user(stack.telegram, path)
        message_id = int(message["message_id"])  # type: ignore[call-overload]
        name = naming.execution_name(LOCAL_CHAT_ID, message_id)
        print(f"\n{path.name} (chat {LOCAL_CHAT_ID}, message {message_id})")
        try:
            reply = stack.telegram.wait_for_reply(LOCAL_CHAT_ID, message_id, timeout=180)
        except TimeoutError as exc:
            print(f"  no reply: {exc}")
            failures += 1
            continue
        print("\n".join(describe_reply(reply, out_dir, name)))
        print(f"  time to reply: {time.perf_counter() - started:.2f} s")
        execution = stack.wait_for_execution(name, timeout_s=30, wait_for_start=False)
        if execution["status"] == "NOT_STARTED":
            print("  (no execution: the bot answered this message itself)")
            continue
        print(f"  execution {name}: {execution['status']} {execution.get('error', '')}".rstrip())
        arn = stack.execution_arn(name)
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        print(format_trace(trace(events)))
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("images", nargs="*", type=Path, help="image files to send (default: bus.jpg, zidane.jpg)")
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for annotated images (default: out/)")
    parser.add_argument("--log-level", default="WARNING", help="level of the JSON log lines on stderr")
    args = parser.parse_args(argv)
    logs.configure("local", args.log_level)
    # `kill -USR1 <pid>` prints every thread's stack: what a run that will not stop waits for.
    faulthandler.register(signal.SIGUSR1)
    # Ctrl-C stops the run even where it was started with SIGINT ignored (a shell's
    # background job inherits that, and Python then installs no handler of its own).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # The local run's own two switches; everything else comes through Settings.
    token = os.environ.get("TELEGRAM_TOKEN")
    if token:
        logs.redact(token)  # before anything could fail with it in a URL
    options = StackOptions(telegram_token=token)
    print("starting Polybot locally: embedded AWS, template.yaml deployed, YOLO worker, bot ...", flush=True)
    with PolybotStack(options) as stack:
        if token:
            print("serving your Telegram bot by long polling; send it a photo. Ctrl-C stops.", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return 0
        return 1 if run_samples(stack, args.images or sample_images(), args.out) else 0


if __name__ == "__main__":
    sys.exit(main())
