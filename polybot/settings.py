"""Polybot's settings: every environment variable the system reads, in one place.

Each deployable part builds one `Settings` at start-up (`Settings.from_env()`)
and passes it down; nothing else reads `os.environ`. An explicit keyword
argument always beats the environment (`Settings.from_env(model="...")`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

CONFIDENCE_CHOICES = (0.25, 0.4, 0.6)
"""The thresholds /settings offers (the deployment's default is added if it is not one of them)."""
TELEGRAM_DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024
"""What the public Bot API lets a bot download (`getFile`); a self-hosted Bot
API server lifts it, so the limit is a setting."""

MAX_IMAGE_PIXELS = 100_000_000
"""The most pixels an image may have to be analysed (polybot.imaging): a
48-megapixel phone photo passes; a decompression bomb does not. Here, not in
polybot.imaging, so that the texts stating it (polybot.summary) need no Pillow."""

# Environment variable for each field. AWS's credentials (and AWS_ENDPOINT_URL)
# are read by boto3 itself and not repeated here.
ENV_VARS: dict[str, str] = {
    "region": "AWS_REGION",
    "aws_endpoint_url": "POLYBOT_AWS_ENDPOINT_URL",
    "images_bucket": "POLYBOT_IMAGES_BUCKET",
    "detection_queue_url": "POLYBOT_DETECTION_QUEUE_URL",
    "results_table": "POLYBOT_RESULTS_TABLE",
    "state_machine_arn": "POLYBOT_STATE_MACHINE_ARN",
    "telegram_secret_id": "POLYBOT_TELEGRAM_SECRET_ID",
    "telegram_api_url": "POLYBOT_TELEGRAM_API_URL",
    "telegram_connect_timeout_s": "POLYBOT_TELEGRAM_CONNECT_TIMEOUT_S",
    "telegram_read_timeout_s": "POLYBOT_TELEGRAM_READ_TIMEOUT_S",
    "telegram_download_timeout_s": "POLYBOT_TELEGRAM_DOWNLOAD_TIMEOUT_S",
    "chat_photos_per_minute": "POLYBOT_CHAT_PHOTOS_PER_MINUTE",
    "retention_days": "POLYBOT_RETENTION_DAYS",
    "public_url": "POLYBOT_PUBLIC_URL",
    "bot_port": "POLYBOT_BOT_PORT",
    "max_download_bytes": "POLYBOT_MAX_DOWNLOAD_BYTES",
    "model": "POLYBOT_MODEL",
    "model_dir": "POLYBOT_MODEL_DIR",
    "extra_models": "POLYBOT_EXTRA_MODELS",
    "backend": "POLYBOT_BACKEND",
    "export_dir": "POLYBOT_EXPORT_DIR",
    "threads": "POLYBOT_THREADS",
    "prefetch": "POLYBOT_PREFETCH",
    "confidence": "POLYBOT_CONFIDENCE",
    "image_size": "POLYBOT_IMAGE_SIZE",
    "heartbeat_interval_s": "POLYBOT_HEARTBEAT_INTERVAL_S",
    "task_lease_s": "POLYBOT_TASK_LEASE_S",
    "task_heartbeat_timeout_s": "POLYBOT_TASK_HEARTBEAT_TIMEOUT_S",
    "queue_wait_s": "POLYBOT_QUEUE_WAIT_S",
    "log_level": "POLYBOT_LOG_LEVEL",
    "liveness_file": "POLYBOT_LIVENESS_FILE",
    "label_font": "POLYBOT_LABEL_FONT",
}


class MissingSetting(RuntimeError):
    """A part was started without a setting it cannot work without."""


@dataclass(frozen=True)
class Settings:
    region: str = "us-east-1"
    aws_endpoint_url: str = ""
    """Where every AWS client of Polybot's goes; empty (as on AWS) means each
    service's own endpoint. The embedded AWS for `make invoke` and containers."""
    images_bucket: str = ""
    detection_queue_url: str = ""
    results_table: str = ""
    state_machine_arn: str = ""
    telegram_secret_id: str = ""
    """Secrets Manager id of the secret holding the bot token and webhook secret."""
    telegram_api_url: str = "https://api.telegram.org"
    """Bot API base URL; point it at a self-hosted Bot API server or a stand-in."""
    telegram_connect_timeout_s: float = 3.05
    telegram_read_timeout_s: float = 10.0
    """Every Bot API call gives up after these (telebot's own defaults are 15 and 30 s);
    tests/unit/test_timeouts.py holds them inside each caller's limit."""
    telegram_download_timeout_s: float = 20.0
    """A file download (up to 20 MB) must be complete within this, however it trickles."""
    public_url: str = ""
    """HTTPS address Telegram calls (the load balancer's name, port 8443); empty
    means the bot does not register a webhook."""
    bot_port: int = 8080
    max_download_bytes: int = TELEGRAM_DOWNLOAD_LIMIT_BYTES
    model: str = "yolov8n.pt"
    """The production model, named here and nowhere else: an Ultralytics weights
    file name (or a path). YOLOv8n beats the seed's YOLOv5n on the same photos
    (tests/integration/test_model_choice.py). The worker looks for it in
    `model_dir` first; the image build bakes it there (`make models`)."""
    extra_models: str = ""
    """Further weights files (comma-separated names in `model_dir`) a chat may pick
    in /settings besides `model`; each runs through Ultralytics on the worker.
    `offered_models` is the whole list, `model` first."""
    model_dir: str = ""
    """Folder holding weights files by name: /opt/polybot/models in the worker
    image, ../shared/models on developer machines. Empty: `model` as given,
    downloaded by Ultralytics when it is not a file."""
    backend: str = "openvino-int8"
    """What runs the model: `openvino-int8` (an export quantized by NNCF: the
    fastest that keeps agreeing with the PyTorch weights, docs/performance.md),
    `openvino` (FP32), `onnxruntime`, or `pytorch` (the weights through
    Ultralytics; needs torch, which the worker image leaves out)."""
    export_dir: str = ""
    """Folder of the model's exports for the backends other than `pytorch`
    (inference/export.py): baked into the worker image; elsewhere made there on
    first start and reused. Empty: a folder in the system's temporary directory."""
    threads: int = 0
    """Threads the model runs with; 0 means every core this process may use."""
    prefetch: int = 16
    """The most messages the worker receives and downloads ahead while the model
    works (and uploads and reports in the background): it holds as many as its
    measured download and model times need, 2 against the local emulator, about
    ten across a network to AWS (inference.overlap.Depth, docs/performance.md);
    0 handles one message at a time, in sequence."""
    confidence: float = 0.25
    image_size: int = 640
    heartbeat_interval_s: float = 3.0
    """How often a busy worker heartbeats and renews its lease on the task's message."""
    task_lease_s: int = 15
    """How long a taken task stays hidden from other workers unless renewed: a dead
    worker's image is taken by another within this (tests/faults measure it)."""
    task_heartbeat_timeout_s: int = 300
    """DetectObjects' HeartbeatSeconds (statemachines/image_pipeline.asl.json;
    tests/unit/test_timeouts.py holds them equal): a worker's first heartbeat goes
    out at once only for a task that waited in the queue nearly this long, or was
    delivered before (inference.worker.DetectionWorker.beats_first)."""
    queue_wait_s: int = 20
    chat_photos_per_minute: int = 20
    """Photos one chat may have analysed per minute; more get a friendly "slow down"
    (counted in the results table, so across all bot instances). 0: no limit."""
    retention_days: int = 30
    """How long Polybot keeps anything of a chat's: the images bucket's lifecycle
    (template.yaml `RetentionDays`, which sets this variable for the functions and,
    through the stack's output, for the bot instances) and `expires_at`, the
    results table's TTL attribute, on every item (polybot.retention)."""
    log_level: str = "INFO"
    liveness_file: str = ""
    """File the YOLO worker touches after each successful queue poll, for a
    container health check to test for freshness; empty means none."""
    label_font: str = ""
    """TrueType font file the worker draws labels with (Latin, accents, Cyrillic):
    /opt/polybot/fonts/DejaVuSans.ttf in the worker image. Empty, or not a file:
    matplotlib's copy of DejaVu Sans (polybot.i18n.label_font_path)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = environ.get(ENV_VARS[field.name])
            if field.name == "region" and not raw:
                raw = environ.get("AWS_DEFAULT_REGION")
            if raw:
                values[field.name] = _coerce(field.type, raw, field.name)
        values.update(overrides)
        return cls(**values)

    @property
    def offered_models(self) -> tuple[str, ...]:
        """The models a chat may choose (/settings), the production model first."""
        extra = [m.strip() for m in self.extra_models.split(",") if m.strip()]
        return tuple(dict.fromkeys([self.model, *extra]))

    @property
    def offered_confidences(self) -> tuple[float, ...]:
        """The thresholds a chat may choose (/settings), lowest first: the bot offers
        them, and an answer that found nothing suggests a lower one only where there is one."""
        return tuple(sorted({*CONFIDENCE_CHOICES, self.confidence}))

    def require(self, *names: str) -> None:
        """Fail at start-up, naming the variables, rather than deep in a request."""
        missing = [ENV_VARS[n] for n in names if not getattr(self, n)]
        if missing:
            raise MissingSetting("missing setting(s): " + ", ".join(missing))

    def as_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in another process."""
        return {ENV_VARS[k]: str(v) for k, v in dataclasses.asdict(self).items()}


def _coerce(type_name: Any, raw: str, name: str) -> Any:
    try:
        if type_name in ("int", int):
            return int(raw)
        if type_name in ("float", float):
            return float(raw)
    except ValueError as exc:
        raise MissingSetting(f"{ENV_VARS[name]}={raw!r} is not a number") from exc
    return raw
