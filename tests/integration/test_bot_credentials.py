"""The bot's credentials as the template deploys them: a secret whose token is
the placeholder until an operator sets it. Until then the bot serves its
health check and answers webhooks 503 (Telegram redelivers); once the token is
in the secret, the next attempt connects, without a restart."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bot import handlers
from bot.app import BotNotReady
from bot.pipeline import ImagePipeline
from bot.service import RETRY_INTERVAL_S, TelegramConnection
from local.polybot_stack import STANDIN_TOKEN, PolybotStack

pytestmark = pytest.mark.aws

WEBHOOK_SECRET = "generated-by-cloudformation-0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_bot_waits_for_its_token_then_connects_without_a_restart(stack: PolybotStack) -> None:
    secrets = stack.client("secretsmanager")
    # As CloudFormation creates it (template.yaml: GenerateSecretString).
    arn = secrets.create_secret(
        Name="polybot-test-placeholder-token",
        SecretString=json.dumps({"telegram_token": "SET-ME", "webhook_secret": WEBHOOK_SECRET}),
    )["ARN"]
    settings = dataclasses.replace(stack.settings, telegram_secret_id=arn)
    pipeline = ImagePipeline(stack.client("stepfunctions"), settings.state_machine_arn)
    clock = Clock()
    connection = TelegramConnection(settings, secrets, lambda bot: handlers.register(bot, pipeline), clock=clock)

    with pytest.raises(BotNotReady, match="placeholder"):
        connection()
    secrets.put_secret_value(
        SecretId=arn, SecretString=json.dumps({"telegram_token": STANDIN_TOKEN, "webhook_secret": WEBHOOK_SECRET})
    )
    with pytest.raises(BotNotReady, match="placeholder"):
        connection()  # within the retry interval: the remembered answer, no new read
    clock.now += RETRY_INTERVAL_S
    bot, webhook_secret = connection()

    assert webhook_secret == WEBHOOK_SECRET
    assert bot.get_me().username == "polybot_local_bot"
    assert connection.status() == "ready"
