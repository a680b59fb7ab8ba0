"""The embedded AWS that Terraform plans and applies against.

One moto server for the session, seeded with what the root configuration reads
before it creates anything: the SAM stack (template.yaml deployed by
`local.stack.deploy`, then registered as a CloudFormation stack whose Outputs
are the deployment's resolved Outputs) and the Route 53 hosted zone of the
bot's domain. moto keeps its state per process, so everything here is named
apart from the other tests' stack, and the AWS variables `EmbeddedAws.start()`
sets are put back at once (terraform and boto3 here get the endpoint explicitly).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import moto.settings
import pytest

from local.embedded_aws import ACCOUNT_ID, REGION, EmbeddedAws
from local.stack import deploy
from tests.auxil.terraform import DOMAIN, SAM_STACK_NAME, TerraformAws, aws_session, terraform_binary

ROOT = Path(__file__).resolve().parents[2]
# AWS managed policies the iam module attaches (attach_ssm_core, attach_cloudwatch_agent).
AWS_MANAGED_POLICIES = ("AmazonSSMManagedInstanceCore", "CloudWatchAgentServerPolicy")
_AWS_VARIABLES = (
    "MOTO_PORT",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


@pytest.fixture(scope="session")
def terraform_aws() -> Iterator[TerraformAws]:
    terraform_binary()  # skips before starting anything where terraform is missing
    saved_acm_wait = moto.settings.ACM_VALIDATION_WAIT
    # moto issues a DNS-validated certificate once it is this old; no need to wait.
    moto.settings.ACM_VALIDATION_WAIT = 0
    aws = EmbeddedAws()
    saved = {name: os.environ.get(name) for name in _AWS_VARIABLES}
    try:
        endpoint_url = aws.start()
    finally:
        # start() points this process's AWS variables at this server; put them
        # back at once, so the other tests' embedded AWS (with its own Lambda
        # runtime and MOTO_PORT) keeps serving them. Everything here passes
        # endpoint_url explicitly instead.
        _restore(saved)
    try:
        region = REGION
        session = aws_session(region)
        clients = {
            name: session.client(name, endpoint_url=endpoint_url)
            for name in ("s3", "sqs", "dynamodb", "secretsmanager", "stepfunctions", "iam")
        }
        deployment = deploy(
            ROOT / "template.yaml",
            SAM_STACK_NAME,
            clients,
            aws.lambda_runtime,
            secret_strings={"TelegramSecret": json.dumps({"token": "123:ABC", "webhook_secret": "s"})},
        )
        _load_aws_managed_policies(AWS_MANAGED_POLICIES)
        _register_stack(session.client("cloudformation", endpoint_url=endpoint_url), deployment.outputs)
        zone = session.client("route53", endpoint_url=endpoint_url).create_hosted_zone(
            Name=DOMAIN.split(".", 1)[1], CallerReference=SAM_STACK_NAME
        )
        yield TerraformAws(
            endpoint_url=endpoint_url,
            region=region,
            hosted_zone_id=zone["HostedZone"]["Id"].rsplit("/", 1)[-1],
            sam_outputs=dict(deployment.outputs),
        )
    finally:
        aws.stop()
        moto.settings.ACM_VALIDATION_WAIT = saved_acm_wait


def _restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _register_stack(cloudformation: Any, outputs: dict[str, str]) -> None:
    """A CloudFormation stack named like the SAM stack, with its Outputs as they resolved."""
    template = {
        "Resources": {
            "Placeholder": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": f"/{SAM_STACK_NAME}/registered-by-tests", "Type": "String", "Value": "-"},
            }
        },
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    cloudformation.create_stack(StackName=SAM_STACK_NAME, TemplateBody=json.dumps(template))


def _load_aws_managed_policies(names: tuple[str, ...]) -> None:
    """Make AWS managed policies attachable in moto's IAM.

    moto loads them only where MOTO_IAM_LOAD_MANAGED_POLICIES was set when the
    account's IAM backend was created, which other tests of the session may
    already have done without it; so the few the configuration uses are added
    to that backend directly.
    """
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, iam_backends

    backend = iam_backends[ACCOUNT_ID]["global"]
    catalogue = json.loads(aws_managed_policies_data)
    for name in names:
        policy = AWSManagedPolicy.from_data(name, ACCOUNT_ID, backend.region_name, catalogue[name])
        backend.managed_policies.setdefault(policy.arn, policy)
