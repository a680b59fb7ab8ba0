"""The two images, built with `make bot-image` / `make worker-image` and run
against the local stack (embedded AWS with the template deployed, the Lambda
functions in-process, the Telegram stand-in over HTTP):

- the bot container comes up, passes its health check, is registered as the
  webhook by its own deploy step (`python -m bot register-webhook`), and
  answers a photo update that Telegram delivers to it;
- the worker container, with the weights baked into it, serves the queue and
  completes a real execution with the real model while the in-process worker
  is stopped, its labels in Russian with the font the image ships; it passes its health check and exits 0 on SIGTERM.

Both containers run the Python of the Lambda runtime template.yaml names, one
AWS supports for a year more (the interpreter in the running container is
asked, not the Dockerfile).
"""

from __future__ import annotations

from typing import Any

import pytest

from local.polybot_stack import PolybotStack
from local.trace import format_trace
from polybot import naming
from tests.auxil.containers import (
    Container,
    aws_environment,
    free_port,
    run_once,
    running,
    wait_for_http,
    wait_for_log,
)
from tests.auxil.images import BUS_CAPTIONS, ultralytics_asset
from tests.auxil.pipeline import execution_trace, start_photos, wait_for_execution
from tests.auxil.requests import preferences
from tests.auxil.runtimes import python_minor, shipped_runtime, support_problem

pytestmark = [pytest.mark.docker, pytest.mark.aws, pytest.mark.model]

PYTHON_IN_FORCE = ["python", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"]
"""The command the image runs (python), asked for its version inside the running container."""


def assert_runs_the_lambda_python(container: Container, report: dict[str, Any], key: str) -> None:
    done = container.exec(PYTHON_IN_FORCE)
    assert done.returncode == 0, done.stderr
    version = done.stdout.strip()
    report[key] = version
    in_force = version.rsplit(".", 1)[0]
    assert in_force == python_minor(shipped_runtime()), f"the container runs Python {version}"
    assert support_problem(f"python{in_force}") is None, support_problem(f"python{in_force}")


FONT_IN_USE = (
    "from polybot.i18n import label_font_path; from polybot.settings import Settings; "
    "print(label_font_path(Settings.from_env().label_font))"
)


def bot_environment(stack: PolybotStack, port: int) -> dict[str, str]:
    assert stack.telegram is not None
    return {
        **aws_environment(stack),
        "POLYBOT_STATE_MACHINE_ARN": stack.settings.state_machine_arn,
        "POLYBOT_TELEGRAM_SECRET_ID": stack.settings.telegram_secret_id,
        "POLYBOT_TELEGRAM_API_URL": stack.telegram.api_url,
        "POLYBOT_BOT_PORT": str(port),
        "POLYBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }


def worker_environment(stack: PolybotStack) -> dict[str, str]:
    return {
        **aws_environment(stack),
        "POLYBOT_DETECTION_QUEUE_URL": stack.settings.detection_queue_url,
        "POLYBOT_QUEUE_WAIT_S": "1",
        "POLYBOT_HEARTBEAT_INTERVAL_S": "5",
    }


def test_the_bot_container_registers_its_webhook_and_answers_a_photo(
    stack: PolybotStack, bot_image: str, chat_id: int, report: dict[str, Any]
) -> None:
    assert stack.telegram is not None
    port = free_port()
    environment = bot_environment(stack, port)
    saved = (stack.telegram.webhook_url, stack.telegram.webhook_secret)
    try:
        with running(bot_image, environment) as bot:
            report["bot_container_healthy_s"] = round(wait_for_http(f"http://127.0.0.1:{port}/healthz", bot), 1)
            health = bot.exec(bot.health_command())
            assert health.returncode == 0, health.stderr
            assert_runs_the_lambda_python(bot, report, "bot_container_python")

            first = run_once(bot_image, environment, ["python", "-m", "bot", "register-webhook"])
            again = run_once(bot_image, environment, ["python", "-m", "bot", "register-webhook"])
            assert (first.returncode, first.stdout.strip()) == (0, "registered"), first.stderr
            assert (again.returncode, again.stdout.strip()) == (0, "already registered"), again.stderr
            assert stack.telegram.webhook_url == f"http://127.0.0.1:{port}/telegram/webhook"

            photo = stack.telegram.user_sends_photo(chat_id, ultralytics_asset("bus.jpg"))
            reply = stack.telegram.wait_for_reply(chat_id, photo["message_id"], timeout=120)
            assert reply.caption in BUS_CAPTIONS, bot.logs()[-6000:]
            name = naming.execution_name(chat_id, photo["message_id"])
            assert wait_for_execution(stack, name)["status"] == "SUCCEEDED"
            assert stack.telegram.deliveries[-1] == 200
    finally:
        stack.telegram.webhook_url, stack.telegram.webhook_secret = saved


def test_the_worker_container_completes_a_real_execution(
    stack: PolybotStack, worker_image: str, chat_id: int, report: dict[str, Any]
) -> None:
    assert stack.telegram is not None
    stack.stop_worker()
    try:
        with running(worker_image, worker_environment(stack)) as worker:
            report["worker_container_serving_s"] = round(wait_for_log(worker, "worker serving"), 1)
            assert_runs_the_lambda_python(worker, report, "worker_container_python")
            # Russian labels: drawn with the font the image ships, not downloaded.
            name, [request] = start_photos(
                stack, chat_id, [ultralytics_asset("zidane.jpg")], preferences(language="ru")
            )
            reply = stack.telegram.wait_for_reply(chat_id, request["message_id"], timeout=180)
            execution = wait_for_execution(stack, name)

            assert reply.caption is not None and "галстук" in reply.caption, worker.logs()[-6000:]
            assert execution["status"] == "SUCCEEDED"
            font = worker.exec(["python", "-c", FONT_IN_USE])
            assert font.stdout.strip() == "/opt/polybot/fonts/DejaVuSans.ttf", font.stderr
            assert worker.exec(["python", "-c", "import matplotlib"]).returncode != 0, "the worker has no matplotlib"
            assert f'"execution": "{name}"' in worker.logs(), "the container's log lines carry the execution name"
            report["worker_container_trace"] = format_trace(execution_trace(stack, name)).splitlines()
            health = worker.exec(worker.health_command())
            assert health.returncode == 0, health.stderr
            assert worker.stop() == 0, worker.logs()[-6000:]
    finally:
        stack.start_worker()
