"""The bot token and the webhook secret appear nowhere: in no log line or
traceback of this session, in no output of the processes it started, in no
execution's input or output, no DynamoDB item, no S3 key. Also the local run
with a real token: it talks to the Bot API server POLYBOT_TELEGRAM_API_URL
names, and where that cannot be reached it fails without printing the token.

Runs last in the session (tests/faults/conftest.py orders it), after everything it scans."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from bot.texts import progress_texts
from local.polybot_stack import REPO_ROOT, STANDIN_TOKEN, PolybotStack
from local.telegram_standin import TelegramStandIn
from tests.auxil.images import ultralytics_asset
from tests.faults.conftest import FaultSession

pytestmark = [pytest.mark.faults, pytest.mark.aws, pytest.mark.model]

# Shaped like a real token: <bot id>:<35 characters>.
REAL_LOOKING_TOKEN = "7123456789:AAH4kLmNoPqRsTuVwXyZ0123456789abcde"


def local_run(api_url: str) -> subprocess.Popen[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))},
        "TELEGRAM_TOKEN": REAL_LOOKING_TOKEN,
        "POLYBOT_TELEGRAM_API_URL": api_url,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_local_run_with_a_token_talks_to_the_bot_api_server_it_is_given(faults: FaultSession) -> None:
    server = TelegramStandIn(REAL_LOOKING_TOKEN, pending_texts=progress_texts())
    server.start()
    process = local_run(server.api_url)
    try:
        deadline = time.monotonic() + 180
        while "getUpdates" not in server.calls and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
        # A user of that bot sends a photo: the bot polls it, the functions fetch and answer it.
        message = server.user_sends_photo(424242, ultralytics_asset("zidane.jpg"))
        reply = server.wait_for_reply(424242, message["message_id"], timeout=120)
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)  # the threads it still waits for (local/__main__.py)
            time.sleep(2)
            process.kill()
            pytest.fail("the local run did not stop within 90 s of Ctrl-C:\n" + process.communicate()[0][-8000:])
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        server.stop()
    faults.outputs.append(output)

    assert reply.caption == "I see 2 people, and maybe a tie.", output[-3000:]
    assert {"deleteWebhook", "getUpdates", "getFile", "editMessageMedia"} <= set(server.calls)
    faults.record(
        "`TELEGRAM_TOKEN=... POLYBOT_TELEGRAM_API_URL=<self-hosted server> make run`, a user sends a photo",
        "the bot (polling) and the functions (file, reply) all use the server named, not api.telegram.org",
        f"the server saw {', '.join(dict.fromkeys(server.calls))}",
    )


def test_a_start_with_telegram_unreachable_fails_without_printing_the_token(faults: FaultSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{probe.getsockname()[1]}"
    process = local_run(unreachable)
    try:
        output, _ = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    faults.outputs.append(output)

    assert process.returncode != 0
    assert "ConnectionError" in output, output[-3000:]
    assert REAL_LOOKING_TOKEN not in output and REAL_LOOKING_TOKEN.split(":")[1] not in output
    faults.record(
        "`make run` with a token while Telegram is unreachable",
        "exits non-zero; the uncaught error is logged as a JSON line with the token masked",
        f"exit {process.returncode}, token absent from {len(output.splitlines())} lines of output",
    )


def test_no_token_or_webhook_secret_anywhere(stack: PolybotStack, faults: FaultSession) -> None:
    assert stack.telegram is not None and stack.bot is not None
    secrets = {
        "bot token": STANDIN_TOKEN,
        "bot token (secret half)": STANDIN_TOKEN.split(":")[1],
        "webhook secret": stack.bot.credentials.webhook_secret,
        "a real-looking token": REAL_LOOKING_TOKEN.split(":")[1],
    }
    sfn, dynamodb, s3 = stack.client("stepfunctions"), stack.client("dynamodb"), stack.client("s3")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.settings.state_machine_arn)
    executions = [execution for page in pages for execution in page["executions"]]
    histories = [
        json.dumps(sfn.get_execution_history(executionArn=e["executionArn"], maxResults=1000)["events"], default=str)
        for e in executions
    ]
    items = json.dumps(dynamodb.scan(TableName=stack.settings.results_table)["Items"])
    keys = json.dumps([o["Key"] for o in s3.list_objects_v2(Bucket=stack.settings.images_bucket).get("Contents", [])])
    invocations = json.dumps([i.payload for i in stack.aws.functions.invocations], default=str)
    functions_log = stack.aws.output()
    places = {
        "log lines and tracebacks of this session": faults.log.getvalue(),
        "log lines of the embedded AWS and the Lambda functions": functions_log,
        "output of the processes started": "\n".join(faults.outputs),
        "execution inputs, outputs and events": "\n".join(histories),
        "DynamoDB items": items,
        "S3 keys": keys,
        "Lambda payloads": invocations,
    }

    found = [(secret, place) for secret, value in secrets.items() for place, text in places.items() if value in text]

    assert found == []
    assert len(faults.log.getvalue()) > 10_000 and len(histories) > 100, "the scan covered the suite's work"
    assert len(functions_log.splitlines()) > 10, "the functions' log was scanned"
    faults.record(
        "bot token and webhook secret, searched everywhere the suite left data",
        "absent from every log line, traceback, process output, execution input/output, DynamoDB item, S3 key",
        f"{len(faults.log.getvalue().splitlines())} log lines here and {len(functions_log.splitlines())} in the "
        f"embedded AWS and its functions, {len(histories)} executions, "
        f"{len(faults.outputs)} process outputs scanned",
    )
