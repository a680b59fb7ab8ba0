"""The embedded AWS that Terraform plans and applies against.

One moto server for the session, seeded with what the root configuration reads
before it creates anything: the SAM stack (template.yaml deployed by
`local.stack.deploy`, then registered as a CloudFormation stack whose Outputs
are the deployment's resolved Outputs) and the Route 53 hosted zone of the
bot's domain; the AMI the instances run is read from its public SSM parameter
once, as an operator picks one. It is a server process of its own, apart from
the other tests' stack; the AWS variables `EmbeddedAws.start()` sets are put
back at once (terraform and boto3 here get the endpoint explicitly).

Also here, because several test files read them: the saved plans of the root
configuration and of the bootstrap configuration against that server, and the
root configuration applied there (its outputs and state).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.embedded_aws import REGION, EmbeddedAws
from local.stack import deploy
from tests.auxil.terraform import (
    AMI_PARAMETER,
    BOOTSTRAP_DIR,
    BOOTSTRAP_SERVICES,
    BOOTSTRAP_VARIABLES,
    DOMAIN,
    PLAN_ENVIRONMENT,
    SAM_STACK_NAME,
    Terraform,
    TerraformAws,
    aws_session,
    emulator_configuration,
    terraform_binary,
)

ROOT = Path(__file__).resolve().parents[2]
APPLY_ENVIRONMENT = "tfapply"
APPLY_TIMEOUT_S = 420
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
    # moto issues a DNS-validated certificate once it is this old; no need to wait.
    aws = EmbeddedAws(environment={"MOTO_ACM_VALIDATION_WAIT": "0"})
    saved = {name: os.environ.get(name) for name in _AWS_VARIABLES}
    try:
        endpoint_url = aws.start()
    finally:
        # start() points this process's AWS variables at this server; put them
        # back at once, so the other tests' embedded AWS keeps serving them.
        # Everything here passes endpoint_url explicitly instead.
        _restore(saved)
    try:
        region = REGION
        session = aws_session(region)
        clients = {
            name: session.client(name, endpoint_url=endpoint_url)
            for name in ("s3", "sqs", "dynamodb", "secretsmanager", "stepfunctions", "iam", "kms", "sns")
        }
        deployment = deploy(
            ROOT / "template.yaml",
            SAM_STACK_NAME,
            clients,
            aws.functions,
            secret_strings={"TelegramSecret": json.dumps({"token": "123:ABC", "webhook_secret": "s"})},
        )
        _register_stack(session.client("cloudformation", endpoint_url=endpoint_url), deployment.outputs)
        zone = session.client("route53", endpoint_url=endpoint_url).create_hosted_zone(
            Name=DOMAIN.split(".", 1)[1], CallerReference=SAM_STACK_NAME
        )
        ami = session.client("ssm", endpoint_url=endpoint_url).get_parameter(Name=AMI_PARAMETER)
        yield TerraformAws(
            endpoint_url=endpoint_url,
            region=region,
            hosted_zone_id=zone["HostedZone"]["Id"].rsplit("/", 1)[-1],
            sam_outputs=dict(deployment.outputs),
            ami_id=ami["Parameter"]["Value"],
        )
    finally:
        aws.stop()


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


@pytest.fixture(scope="session")
def root_configuration(terraform_aws: TerraformAws, tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    """The root configuration, initialised against the embedded AWS (with its committed lock file)."""
    return emulator_configuration(tmp_path_factory.mktemp("root"), terraform_aws)


@pytest.fixture(scope="session")
def root_plan(root_configuration: Terraform, terraform_aws: TerraformAws) -> dict[str, Any]:
    """`terraform show -json` of the root configuration's saved plan."""
    started = time.monotonic()
    root_configuration.plan(terraform_aws.variables(PLAN_ENVIRONMENT), out="polybot.tfplan")
    print(f"terraform plan (root) took {time.monotonic() - started:.0f} s")
    return json.loads(root_configuration.show_json(["polybot.tfplan"]))


@pytest.fixture(scope="session")
def bootstrap_configuration(terraform_aws: TerraformAws, tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    """The bootstrap configuration, initialised against the embedded AWS (with its committed lock file)."""
    base = tmp_path_factory.mktemp("bootstrap")
    return emulator_configuration(base, terraform_aws, BOOTSTRAP_DIR, BOOTSTRAP_SERVICES)


@pytest.fixture(scope="session")
def bootstrap_plan(bootstrap_configuration: Terraform) -> dict[str, Any]:
    """`terraform show -json` of the bootstrap configuration's saved plan, from an empty account."""
    started = time.monotonic()
    bootstrap_configuration.plan(BOOTSTRAP_VARIABLES, out="bootstrap.tfplan")
    print(f"terraform plan (bootstrap) took {time.monotonic() - started:.0f} s")
    return json.loads(bootstrap_configuration.show_json(["bootstrap.tfplan"]))


@dataclass(frozen=True)
class Applied:
    outputs: dict[str, Any]
    state: dict[str, Any]
    """`terraform show -json` of the state: every value, those a plan knows only after apply too."""


@pytest.fixture(scope="session")
def root_applied(terraform_aws: TerraformAws, tmp_path_factory: pytest.TempPathFactory) -> Applied:
    """The root configuration applied to the embedded AWS (about 1.5 minutes, most
    of it the provider waiting for the load balancer to turn active)."""
    terraform = emulator_configuration(tmp_path_factory.mktemp("apply"), terraform_aws)
    started = time.monotonic()
    terraform.run(
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        *Terraform.var_args(terraform_aws.variables(APPLY_ENVIRONMENT)),
        timeout_s=APPLY_TIMEOUT_S,
    )
    print(f"terraform apply took {time.monotonic() - started:.0f} s")
    outputs = {name: o["value"] for name, o in json.loads(terraform.run("output", "-json")).items()}
    return Applied(outputs=outputs, state=json.loads(terraform.show_json()))
