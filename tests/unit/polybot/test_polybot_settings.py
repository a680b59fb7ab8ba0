from __future__ import annotations

import dataclasses

import pytest

from polybot.settings import ENV_VARS, TELEGRAM_DOWNLOAD_LIMIT_BYTES, MissingSetting, Settings


def test_empty_environment_gives_the_defaults() -> None:
    settings = Settings.from_env({})

    assert settings == Settings()
    assert settings.region == "us-east-1"
    assert settings.max_download_bytes == TELEGRAM_DOWNLOAD_LIMIT_BYTES == 20 * 1024 * 1024
    assert settings.telegram_api_url == "https://api.telegram.org"


def test_every_field_has_exactly_one_environment_variable() -> None:
    names = [f.name for f in dataclasses.fields(Settings)]

    assert sorted(ENV_VARS) == sorted(names)
    assert len(set(ENV_VARS.values())) == len(ENV_VARS)


def test_values_come_from_the_given_environment() -> None:
    settings = Settings.from_env(
        {
            "AWS_REGION": "eu-west-1",
            "POLYBOT_IMAGES_BUCKET": "images",
            "POLYBOT_STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:1:stateMachine:p",
            "POLYBOT_MODEL": "/models/yolo.pt",
        }
    )

    assert settings.region == "eu-west-1"
    assert settings.images_bucket == "images"
    assert settings.state_machine_arn == "arn:aws:states:eu-west-1:1:stateMachine:p"
    assert settings.model == "/models/yolo.pt"


def test_numbers_are_coerced() -> None:
    settings = Settings.from_env(
        {
            "POLYBOT_BOT_PORT": "8443",
            "POLYBOT_MAX_DOWNLOAD_BYTES": "2000000000",
            "POLYBOT_CONFIDENCE": "0.4",
            "POLYBOT_IMAGE_SIZE": "1280",
            "POLYBOT_HEARTBEAT_INTERVAL_S": "2.5",
            "POLYBOT_QUEUE_WAIT_S": "5",
        }
    )

    assert settings.bot_port == 8443
    assert type(settings.bot_port) is int
    assert settings.max_download_bytes == 2_000_000_000
    assert settings.confidence == 0.4
    assert type(settings.confidence) is float
    assert settings.image_size == 1280
    assert settings.heartbeat_interval_s == 2.5
    assert settings.queue_wait_s == 5
    assert type(settings.queue_wait_s) is int


@pytest.mark.parametrize(
    ("variable", "raw"),
    [("POLYBOT_BOT_PORT", "eighty"), ("POLYBOT_CONFIDENCE", "high"), ("POLYBOT_QUEUE_WAIT_S", "2.5")],
)
def test_a_bad_number_names_the_variable(variable: str, raw: str) -> None:
    with pytest.raises(MissingSetting, match=rf"^{variable}='{raw}' is not a number$"):
        Settings.from_env({variable: raw})


def test_an_explicit_argument_beats_the_environment() -> None:
    environ = {"POLYBOT_MODEL": "from-env.pt", "POLYBOT_CONFIDENCE": "0.9", "AWS_REGION": "eu-west-1"}

    settings = Settings.from_env(environ, model="explicit.pt", confidence=0.1)

    assert settings.model == "explicit.pt"
    assert settings.confidence == 0.1
    assert settings.region == "eu-west-1"


def test_aws_default_region_is_the_fallback_for_aws_region() -> None:
    assert Settings.from_env({"AWS_DEFAULT_REGION": "ap-south-1"}).region == "ap-south-1"
    assert Settings.from_env({"AWS_DEFAULT_REGION": "ap-south-1", "AWS_REGION": ""}).region == "ap-south-1"
    both = {"AWS_DEFAULT_REGION": "ap-south-1", "AWS_REGION": "eu-west-1"}
    assert Settings.from_env(both).region == "eu-west-1"


def test_an_empty_variable_keeps_the_default() -> None:
    assert Settings.from_env({"POLYBOT_BOT_PORT": "", "POLYBOT_MODEL": ""}) == Settings()


def test_without_an_environ_the_process_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYBOT_RESULTS_TABLE", "results-from-process")

    assert Settings.from_env().results_table == "results-from-process"


def test_require_lists_every_missing_variable() -> None:
    settings = Settings.from_env({"POLYBOT_IMAGES_BUCKET": "images"})

    with pytest.raises(MissingSetting) as missing:
        settings.require("images_bucket", "state_machine_arn", "telegram_secret_id")

    assert str(missing.value) == "missing setting(s): POLYBOT_STATE_MACHINE_ARN, POLYBOT_TELEGRAM_SECRET_ID"


def test_require_passes_when_everything_is_set() -> None:
    Settings(images_bucket="images", telegram_secret_id="polybot/telegram").require(
        "images_bucket", "telegram_secret_id"
    )


def test_as_env_round_trips() -> None:
    settings = Settings(
        region="eu-central-1",
        images_bucket="images",
        detection_queue_url="https://sqs.eu-central-1.amazonaws.com/1/q",
        results_table="results",
        state_machine_arn="arn:aws:states:eu-central-1:1:stateMachine:p",
        telegram_secret_id="polybot/telegram",
        telegram_api_url="http://127.0.0.1:8081",
        public_url="https://bot.example:8443",
        bot_port=8443,
        max_download_bytes=50 * 1024 * 1024,
        model="yolov8n.pt",
        confidence=0.35,
        image_size=320,
        heartbeat_interval_s=1.5,
        queue_wait_s=3,
        log_level="DEBUG",
    )

    environment = settings.as_env()

    assert set(environment) == set(ENV_VARS.values())
    assert all(isinstance(value, str) for value in environment.values())
    assert Settings.from_env(environment) == settings


def test_as_env_of_the_defaults_round_trips() -> None:
    assert Settings.from_env(Settings().as_env()) == Settings()
