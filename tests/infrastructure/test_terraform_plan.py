"""A `terraform plan` of the root configuration against the embedded AWS, and
static checks of what it would create.

The emulator is seeded (conftest.py) with template.yaml deployed and registered
as the SAM stack whose Outputs the root reads, and with the domain's hosted
zone; the provider reaches it through an `*_override.tf` in a temporary copy.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.auxil.terraform import (
    BOT_SETTINGS,
    DOMAIN,
    ECR_REGISTRY,
    ECR_REPOSITORY_ARNS,
    TerraformAws,
    planned,
    policy_documents,
    wildcard_statements,
)

pytestmark = pytest.mark.aws


@pytest.fixture
def plan(root_plan: dict[str, Any]) -> dict[str, Any]:
    return root_plan


def test_plan_creates_the_designed_resources(plan: dict[str, Any]) -> None:
    [group] = planned(plan, "aws_autoscaling_group")
    assert (group["values"]["min_size"], group["values"]["max_size"], group["values"]["desired_capacity"]) == (2, 6, 2)
    assert group["values"]["instance_refresh"][0]["strategy"] == "Rolling"
    assert group["values"]["instance_refresh"][0]["preferences"][0]["min_healthy_percentage"] == 50

    [listener] = planned(plan, "aws_lb_listener")
    assert (listener["values"]["port"], listener["values"]["protocol"]) == (8443, "HTTPS")
    assert listener["values"]["ssl_policy"].startswith("ELBSecurityPolicy-TLS13")

    [target_group] = planned(plan, "aws_lb_target_group")
    assert (target_group["values"]["port"], target_group["values"]["protocol"]) == (8080, "HTTP")
    assert target_group["values"]["health_check"][0]["path"] == "/healthz"

    [alb] = planned(plan, "aws_lb")
    assert alb["values"]["drop_invalid_header_fields"] is True

    bots = [r for r in planned(plan, "aws_instance") if r["values"]["tags"].get("Role") == "polybot-bot"]
    assert len(bots) == 2
    for instance in [*bots, *planned(plan, "aws_instance")]:
        assert instance["values"]["metadata_options"][0]["http_tokens"] == "required"
        assert instance["values"]["root_block_device"][0]["encrypted"] is True
    assert all(bot["values"]["associate_public_ip_address"] is False for bot in bots)

    assert len(planned(plan, "aws_subnet")) == 4
    assert len(planned(plan, "aws_nat_gateway")) == 2


def test_scaling_is_step_on_cpu_and_target_tracking_on_backlog(plan: dict[str, Any]) -> None:
    policies = {
        p["values"]["name"].rsplit("-yolo-", 1)[-1]: p["values"] for p in planned(plan, "aws_autoscaling_policy")
    }
    assert policies["cpu-scale-out"]["policy_type"] == "StepScaling"
    assert policies["cpu-scale-in"]["policy_type"] == "StepScaling"
    tracking = policies["backlog-per-instance"]["target_tracking_configuration"][0]
    metrics = tracking["customized_metric_specification"][0]["metrics"]
    names = {m["metric_stat"][0]["metric"][0]["metric_name"] for m in metrics if m["metric_stat"]}
    assert names == {"ApproximateNumberOfMessagesVisible", "GroupInServiceInstances"}
    assert [m["expression"] for m in metrics if m["return_data"]] == ["visible / in_service"]

    thresholds = {
        a["values"]["alarm_name"].rsplit("-", 2)[-1]: a["values"]["threshold"]
        for a in planned(plan, "aws_cloudwatch_metric_alarm")
        if "-yolo-cpu-" in a["values"]["alarm_name"]
    }
    assert thresholds == {"high": 70, "low": 30}


def test_bot_user_data_carries_its_settings(plan: dict[str, Any], terraform_aws: TerraformAws) -> None:
    user_data = plan["planned_values"]["outputs"]["bot_user_data"]["value"]
    settings = dict(line.split("=", 1) for line in user_data.splitlines() if line.startswith(("POLYBOT_", "AWS_")))
    assert set(BOT_SETTINGS) <= set(settings)
    outputs = terraform_aws.sam_outputs
    assert settings["POLYBOT_STATE_MACHINE_ARN"] == outputs["ImagePipelineArn"]
    assert settings["POLYBOT_TELEGRAM_SECRET_ID"] == outputs["TelegramSecretArn"]
    assert settings["POLYBOT_IMAGES_BUCKET"] == outputs["ImagesBucketName"]
    assert settings["POLYBOT_RESULTS_TABLE"] == outputs["ResultsTableName"]
    assert settings["POLYBOT_PUBLIC_URL"] == f"https://{DOMAIN}:8443"
    assert settings["AWS_REGION"] == terraform_aws.region
    assert f"docker pull {ECR_REGISTRY}/polybot-bot:test" in user_data and "docker run" in user_data
    assert "docker login --username AWS" in user_data, "an ECR image needs a registry login first"


def test_no_policy_grants_every_action_on_every_resource(plan: dict[str, Any]) -> None:
    documents = policy_documents(plan)
    assert any("module.iam.data.aws_iam_policy_document.bot" in a for a in documents), sorted(documents)
    assert any("module.iam.data.aws_iam_policy_document.yolo" in a for a in documents), sorted(documents)
    offending = {address: wildcard_statements(doc) for address, doc in documents.items() if wildcard_statements(doc)}
    assert not offending


def test_role_statements_are_scoped_to_the_stack(plan: dict[str, Any], terraform_aws: TerraformAws) -> None:
    documents = policy_documents(plan)
    [bot] = [json.loads(d) for a, d in documents.items() if a.endswith("aws_iam_policy_document.bot")]
    [yolo] = [json.loads(d) for a, d in documents.items() if a.endswith("aws_iam_policy_document.yolo")]
    outputs = terraform_aws.sam_outputs
    allowed = {
        outputs["ImagePipelineArn"],
        outputs["TelegramSecretArn"],
        outputs["DetectionQueueArn"],
        f"arn:aws:s3:::{outputs['ImagesBucketName']}/*",
    }
    # Task-token callbacks are the only actions on "*": AWS authorises them on nothing else.
    on_everything = {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}
    for statement in [*bot["Statement"], *yolo["Statement"]]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if resources == ["*"]:
            assert set(actions) <= on_everything, statement
        else:
            assert set(resources) <= allowed, statement
    bot_actions = {
        a for s in bot["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "states:StartExecution" in bot_actions and "secretsmanager:GetSecretValue" in bot_actions

    # No AWS managed policy: the only attachment is the ECR pull policy, whose ARN is known after apply.
    attachments = planned(plan, "aws_iam_role_policy_attachment")
    assert {r.get("values", {}).get("policy_arn") for r in attachments} - {None} == set()
    # Session Manager is an option, off by default.
    assert not [r for r in planned(plan, "aws_iam_role_policy") if "session_manager" in r["address"]]


def test_image_pull_policy_is_scoped_to_the_repositories(plan: dict[str, Any]) -> None:
    documents = policy_documents(plan)
    [pull] = [json.loads(d) for a, d in documents.items() if "aws_iam_policy_document.pull_images" in a]
    for statement in pull["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if resources == ["*"]:
            assert actions == ["ecr:GetAuthorizationToken"], "only the login token may be granted on every resource"
        else:
            assert set(resources) == set(ECR_REPOSITORY_ARNS)
            assert all(a.startswith("ecr:") for a in actions)
    attachments = [r for r in planned(plan, "aws_iam_role_policy_attachment") if "pull_images" in r["address"]]
    assert len(attachments) == 2, "both the bot and the worker roles pull their image"
