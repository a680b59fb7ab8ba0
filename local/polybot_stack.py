"""The whole of Polybot on one machine: embedded AWS with the template deployed
(a process of its own, the Lambda handlers running in it), a YOLO worker thread, and the bot, talking to
the Telegram stand-in (webhook) or to real Telegram (long polling).

Used by `python -m local` and by the integration and end-to-end tests, so
the tests exercise exactly what a developer runs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from bot import service as bot_service
from bot.polling import start_polling
from bot.service import BotService
from bot.texts import progress_texts
from bot.webhook import register_with_telegram
from inference.detector import Detector
from inference.service import build_worker
from local.embedded_aws import EmbeddedAws
from local.models import DEVELOPER_MODELS
from local.stack import Deployment, deploy
from local.telegram_standin import TelegramStandIn
from polybot import aws
from polybot.settings import Settings

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = REPO_ROOT / "template.yaml"

STACK_NAME = "polybot-local"
EXTRA_MODELS_GLOB = "*.onnx"
"""Models a local run offers besides the production one: the ONNX graphs in the model
folder (../shared/models has the seed's YOLOv5n), run by ONNX Runtime as they are,
so /settings has a choice to show."""
STANDIN_TOKEN = "7000000001:LOCAL-STAND-IN-TOKEN"  # noqa: S105 - only the stand-in accepts it


def sample_images() -> list[Path]:
    """The two photos that ship with Ultralytics (bus.jpg, zidane.jpg)."""
    from ultralytics import ASSETS

    return [Path(ASSETS) / "bus.jpg", Path(ASSETS) / "zidane.jpg"]


@dataclass
class StackOptions:
    model: str | None = None
    """Weights to run instead of the production model (polybot.settings)."""
    model_dir: str = str(DEVELOPER_MODELS)
    extra_models: str | None = None
    """POLYBOT_EXTRA_MODELS for the bot and the worker; None: the environment's, else
    the EXTRA_MODELS_GLOB files in `model_dir`."""
    telegram_token: str | None = None
    """Real Telegram token: serve Telegram by long polling. None: use the stand-in."""
    queue_wait_s: int = 1
    heartbeat_interval_s: float = 5.0
    prefetch: int = 2
    """Messages a worker holds ahead of its model at most (POLYBOT_PREFETCH overrides it).
    Here the embedded AWS answers from the same two cores as the bot and the workers:
    every call a worker has in flight takes a share of the emulator from the bot's
    StartExecution, so a deeper pipeline buys nothing here and costs the webhook its
    deadline (measured: the fault suite's burst of 200 photos, answered with "can't
    start" replies at 16). On AWS the calls wait on the network, and the production
    default (polybot.settings, 16) lets the depth follow the latencies."""
    listen_host: str = "127.0.0.1"
    """Where the embedded AWS and the stand-in listen: "0.0.0.0" lets containers
    (the Lambda container of `make invoke`) reach them too."""


class PolybotStack:
    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.aws = EmbeddedAws(self.options.listen_host)
        self.telegram: TelegramStandIn | None = None
        self.deployment: Deployment | None = None
        self.settings = Settings()
        self.bot: BotService | None = None
        self.detector: Detector | None = None
        self._worker_stop = threading.Event()
        self._worker_thread: threading.Thread | None = None
        self._bot_server: BaseWSGIServer | None = None

    # --- lifecycle ---------------------------------------------------------
    def start(self, *, worker: bool = True, bot: bool = True) -> PolybotStack:
        """Start the embedded AWS, deploy the template, then the YOLO worker and the
        bot unless told not to (tests run those two from their images instead)."""
        self.aws.start()
        token = self.options.telegram_token or STANDIN_TOKEN
        parameters: dict[str, str] = {}
        if self.options.telegram_token is None:
            self.telegram = TelegramStandIn(STANDIN_TOKEN, pending_texts=progress_texts())
            parameters["TelegramApiUrl"] = self.telegram.start(self.options.listen_host)
        else:
            # Telegram's API, or the self-hosted Bot API server POLYBOT_TELEGRAM_API_URL names.
            parameters["TelegramApiUrl"] = Settings.from_env().telegram_api_url
        credentials = {"telegram_token": token, "webhook_secret": secrets.token_urlsafe(32)}
        self.deployment = deploy(
            TEMPLATE,
            STACK_NAME,
            self._clients(),
            self.aws.functions,
            secret_strings={"TelegramSecret": json.dumps(credentials)},
            parameters=parameters,
        )
        # The functions' settings are what the template gives them, as on Lambda.
        self.aws.functions.configure(self.deployment.function_environment)
        outputs = self.deployment.outputs
        self.settings = Settings.from_env(
            {**os.environ, **self.deployment.function_environment},
            state_machine_arn=outputs["ImagePipelineArn"],
            detection_queue_url=outputs["DetectionQueueUrl"],
            results_table=outputs["ResultsTableName"],
            images_bucket=outputs["ImagesBucketName"],
            telegram_secret_id=outputs["TelegramSecretArn"],
            model_dir=self.options.model_dir,
            queue_wait_s=self.options.queue_wait_s,
            heartbeat_interval_s=self.options.heartbeat_interval_s,
            prefetch=int(os.environ.get("POLYBOT_PREFETCH", self.options.prefetch)),
        )
        self.settings = dataclasses.replace(self.settings, extra_models=self._extra_models())
        if self.options.model:
            self.settings = dataclasses.replace(self.settings, model=self.options.model)
        if worker:
            self.start_worker()
        if bot:
            self._start_bot()
        return self

    def stop(self) -> None:
        self.stop_worker()
        if self.bot is not None and self.telegram is None:
            self.bot.bot.stop_polling()
        if self._bot_server is not None:
            self._bot_server.shutdown()
            self._bot_server.server_close()
        if self.telegram is not None:
            self.telegram.stop()
        self.aws.stop()

    def __enter__(self) -> PolybotStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _extra_models(self) -> str:
        if self.options.extra_models is not None:
            return self.options.extra_models
        if self.settings.extra_models:
            return self.settings.extra_models
        return ",".join(sorted(path.name for path in Path(self.options.model_dir).glob(EXTRA_MODELS_GLOB)))

    # --- parts ---------------------------------------------------------------
    def _clients(self) -> dict[str, Any]:
        services = ("s3", "sqs", "dynamodb", "secretsmanager", "stepfunctions", "iam", "kms", "sns")
        return {name: self.client(name) for name in services}

    def client(self, service: str) -> Any:
        return aws.client(service, self.settings)

    def start_worker(self) -> None:
        if self._worker_thread is not None:
            return
        if self.detector is None:
            self.detector = Detector.from_settings(self.settings)
        worker = build_worker(self.settings, self.detector)
        self._worker_stop.clear()
        self._worker_thread = threading.Thread(
            target=worker.run, args=(self._worker_stop,), name="yolo-worker", daemon=True
        )
        self._worker_thread.start()

    def stop_worker(self) -> None:
        if self._worker_thread is None:
            return
        self._worker_stop.set()
        self._worker_thread.join()
        self._worker_thread = None

    def _start_bot(self) -> None:
        self.bot = bot_service.build(self.settings)
        if self.telegram is None:
            start_polling(self.bot.bot)
            return
        self._bot_server = make_server("127.0.0.1", 0, self.bot.app, threaded=True)
        threading.Thread(target=self._bot_server.serve_forever, name="bot-webhook", daemon=True).start()
        # The deploy step of bot/webhook.py (webhook and command menu), as a bot instance runs it at boot.
        bot, credentials = self.bot.telegram.connect()
        register_with_telegram(bot, self.bot_url, credentials.webhook_secret)

    # --- executions ----------------------------------------------------------
    def execution_arn(self, name: str) -> str:
        return self.settings.state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name

    def wait_for_execution(self, name: str, timeout_s: float = 120, *, wait_for_start: bool = True) -> dict[str, Any]:
        """The execution's description once it has stopped running (or at the
        timeout); status NOT_STARTED if there is none (the bot answered the
        message itself), at once unless `wait_for_start`."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                execution: dict[str, Any] = sfn.describe_execution(executionArn=self.execution_arn(name))
            except sfn.exceptions.ExecutionDoesNotExist:
                execution = {"status": "NOT_STARTED"}
                if not wait_for_start:
                    return execution
            if execution["status"] not in ("RUNNING", "NOT_STARTED") or time.monotonic() > deadline:
                return execution
            time.sleep(0.1)

    @property
    def bot_url(self) -> str:
        assert self._bot_server is not None, "the webhook server runs only with the stand-in"
        return f"http://127.0.0.1:{self._bot_server.server_port}"
