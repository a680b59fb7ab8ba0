"""A `terraform plan` of the root configuration against the embedded AWS, and
static checks of what it would create.

The emulator is seeded (conftest.py) with template.yaml deployed and registered
as the SAM stack whose Outputs the root reads, and with the domain's hosted
zone; the provider reaches it through an `*_override.tf` in a temporary copy.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.webhook import REGISTRATION_WINDOW_S
from polybot import naming
from tests.auxil.terraform import (
    BOT_IMAGE,
    BOT_SETTINGS,
    DOMAIN,
    ECR_REGISTRY,
    ECR_REPOSITORY_ARNS,
    PLAN_ENVIRONMENT,
    WORKER_IMAGE,
    Terraform,
    TerraformAws,
    TerraformFailed,
    planned,
    policy_documents,
    walk_modules,
    wildcard_statements,
)

pytestmark = pytest.mark.aws

ENVIRONMENT = PLAN_ENVIRONMENT


@pytest.fixture
def plan(root_plan: dict[str, Any]) -> dict[str, Any]:
    return root_plan


@pytest.fixture
def configuration(root_configuration: Terraform) -> Terraform:
    return root_configuration


def groups(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The planned auto-scaling groups by module: bot, yolo."""
    return {r["address"].split(".")[1]: r["values"] for r in planned(plan, "aws_autoscaling_group")}


def launch_templates(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["address"].split(".")[1]: r["values"] for r in planned(plan, "aws_launch_template")}


def test_plan_creates_the_designed_resources(plan: dict[str, Any]) -> None:
    yolo = groups(plan)["yolo"]
    assert (yolo["min_size"], yolo["max_size"], yolo["desired_capacity"]) == (2, 6, 2)
    assert yolo["instance_refresh"][0]["strategy"] == "Rolling"
    assert yolo["instance_refresh"][0]["preferences"][0]["min_healthy_percentage"] == 50

    [listener] = planned(plan, "aws_lb_listener")
    assert (listener["values"]["port"], listener["values"]["protocol"]) == (8443, "HTTPS")
    assert listener["values"]["ssl_policy"].startswith("ELBSecurityPolicy-TLS13")

    [target_group] = planned(plan, "aws_lb_target_group")
    assert (target_group["values"]["port"], target_group["values"]["protocol"]) == (8080, "HTTP")
    assert target_group["values"]["health_check"][0]["path"] == "/healthz"

    [alb] = planned(plan, "aws_lb")
    assert alb["values"]["drop_invalid_header_fields"] is True

    # The bastion is the one plain instance left; the bot and the workers are groups.
    [bastion] = planned(plan, "aws_instance")
    assert bastion["values"]["tags"]["Role"] == "polybot-bastion"
    assert bastion["values"]["metadata_options"][0]["http_tokens"] == "required"
    assert bastion["values"]["root_block_device"][0]["encrypted"] is True

    assert len(planned(plan, "aws_subnet")) == 4
    assert len(planned(plan, "aws_nat_gateway")) == 2


def test_bot_is_a_group_of_two_replaced_one_at_a_time(plan: dict[str, Any]) -> None:
    bot = groups(plan)["bot"]
    assert (bot["min_size"], bot["max_size"], bot["desired_capacity"]) == (2, 2, 2)
    # Health from the load balancer: a bot whose /healthz fails is replaced.
    assert bot["health_check_type"] == "ELB"
    assert bot["health_check_grace_period"] > 0
    [refresh] = bot["instance_refresh"]
    assert refresh["strategy"] == "Rolling"
    [preferences] = refresh["preferences"]
    assert preferences["min_healthy_percentage"] == 50, "one of the two at a time"
    assert preferences["instance_warmup"] and int(preferences["instance_warmup"]) > 0
    tags = {t["key"]: t["value"] for t in bot["tag"] if t["propagate_at_launch"]}
    assert tags["Role"] == "polybot-bot"

    # Attached to the load balancer's target group, across both private subnets:
    # the references are resolved only at apply, so the configuration says it.
    bot_call = plan["configuration"]["root_module"]["module_calls"]["bot"]
    [group_config] = [r for r in bot_call["module"]["resources"] if r["type"] == "aws_autoscaling_group"]
    assert group_config["expressions"]["target_group_arns"]["references"][0] == "var.target_group_arn"
    assert "module.load_balancer.target_group_arn" in bot_call["expressions"]["target_group_arn"]["references"]
    assert "module.network.private_subnet_ids" in bot_call["expressions"]["private_subnet_ids"]["references"]


def test_instances_get_imdsv2_encrypted_gp3_and_no_public_address(plan: dict[str, Any]) -> None:
    templates = launch_templates(plan)
    assert set(templates) == {"bot", "yolo"}
    for name, template in templates.items():
        assert template["metadata_options"][0]["http_tokens"] == "required", name
        [device] = template["block_device_mappings"]
        assert device["ebs"][0]["encrypted"] == "true", name
        assert device["ebs"][0]["volume_type"] == "gp3", name
        assert template["monitoring"][0]["enabled"] is (name == "yolo"), "the tests turn detailed monitoring off"
        assert template["update_default_version"] is True
    # Neither group asks for a public address: they live in the private subnets.
    assert all(not t.get("network_interfaces") for t in templates.values())


def test_groups_wait_for_the_nat_routes(plan: dict[str, Any]) -> None:
    calls = plan["configuration"]["root_module"]["module_calls"]
    for name in ("bot", "yolo"):
        assert "module.network.nat_route_ids" in calls[name]["expressions"]["nat_route_ids"]["references"], name
        [group] = [r for r in calls[name]["module"]["resources"] if r["type"] == "aws_autoscaling_group"]
        assert group.get("depends_on") == ["var.nat_route_ids"], name
    network = calls["network"]["module"]
    assert "aws_route.private_nat" in network["outputs"]["nat_route_ids"]["expression"]["references"]
    assert network["outputs"]["nat_route_ids"]["depends_on"] == ["aws_route_table_association.private"]


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


def test_health_alarms_watch_the_bot_target_group(plan: dict[str, Any]) -> None:
    alarms = {a["values"]["alarm_name"]: a["values"] for a in planned(plan, "aws_cloudwatch_metric_alarm")}
    unhealthy = alarms[f"polybot-{ENVIRONMENT}-bot-unhealthy"]
    assert unhealthy["metric_name"] == "UnHealthyHostCount"
    assert unhealthy["namespace"] == "AWS/ApplicationELB"
    assert f"polybot-{ENVIRONMENT}-alb-5xx" in alarms and f"polybot-{ENVIRONMENT}-yolo-capacity-low" in alarms


def _settings(user_data: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in user_data.splitlines() if line.startswith(("POLYBOT_", "AWS_")))


def _bash_syntax_check(user_data: str, tmp_path: Path, name: str) -> None:
    script = tmp_path / f"{name}.sh"
    script.write_text(user_data)
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_bot_user_data_carries_its_settings(plan: dict[str, Any], terraform_aws: TerraformAws, tmp_path: Path) -> None:
    user_data = plan["planned_values"]["outputs"]["bot_user_data"]["value"]
    settings = _settings(user_data)
    assert set(BOT_SETTINGS) <= set(settings)
    outputs = terraform_aws.sam_outputs
    assert settings["POLYBOT_STATE_MACHINE_ARN"] == outputs["ImagePipelineArn"]
    assert settings["POLYBOT_TELEGRAM_SECRET_ID"] == outputs["TelegramSecretArn"]
    assert settings["POLYBOT_IMAGES_BUCKET"] == outputs["ImagesBucketName"]
    assert settings["POLYBOT_RESULTS_TABLE"] == outputs["ResultsTableName"]
    assert settings["POLYBOT_PUBLIC_URL"] == f"https://{DOMAIN}:8443"
    assert settings["AWS_REGION"] == terraform_aws.region
    assert f"retry 10 docker pull {BOT_IMAGE}" in user_data and "docker run" in user_data
    assert "retry 10 ecr_login" in user_data, "an ECR image needs a registry login first"
    assert "retry 10 install_docker" in user_data
    _bash_syntax_check(user_data, tmp_path, "bot")


def test_bot_user_data_registers_the_webhook_without_failing_the_boot(plan: dict[str, Any]) -> None:
    user_data = plan["planned_values"]["outputs"]["bot_user_data"]["value"]
    server = user_data.index("docker run -d --name polybot-bot")
    registration = user_data.index(f"{BOT_IMAGE} python -m bot register-webhook")
    assert server < registration, "the server container starts first"
    # The one-shot runs with the same settings, inside `if !`, so `set -e` cannot end the boot there.
    one_shot = r"if ! timeout \d+ docker run --rm --name polybot-register-webhook\s*\\\n\s*--env-file /etc/polybot.env"
    assert re.search(one_shot, user_data)
    assert user_data.rstrip().endswith("fi"), "nothing after the registration can fail the boot either"


def test_containers_log_to_their_log_groups(plan: dict[str, Any]) -> None:
    groups_by_name = {r["values"]["name"]: r["values"] for r in planned(plan, "aws_cloudwatch_log_group")}
    names = plan["planned_values"]["outputs"]["log_group_names"]["value"]
    assert names == {"bot": f"/polybot-{ENVIRONMENT}/bot", "worker": f"/polybot-{ENVIRONMENT}/worker"}
    for part, name in names.items():
        assert groups_by_name[name]["retention_in_days"] == 30, part
    for output, name in (("bot_user_data", names["bot"]), ("yolo_user_data", names["worker"])):
        user_data = plan["planned_values"]["outputs"][output]["value"]
        assert "--log-driver awslogs" in user_data, output
        assert f"awslogs-group={name}" in user_data, output
        assert 'awslogs-stream=$instance_id"' in user_data, output
        assert "awslogs-create-group" not in user_data, "Terraform creates the groups, with their retention"


def test_workers_report_their_container_health(plan: dict[str, Any], tmp_path: Path) -> None:
    user_data = plan["planned_values"]["outputs"]["yolo_user_data"]["value"]
    _bash_syntax_check(user_data, tmp_path, "worker")
    reporter = user_data[user_data.index("<<'REPORTER'") : user_data.index("\nREPORTER\n")]
    assert "docker inspect --format '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}" in reporter
    assert "polybot-yolo" in reporter
    assert "aws autoscaling set-instance-health" in reporter and "--health-status Unhealthy" in reporter
    assert "X-aws-ec2-metadata-token" in reporter, "IMDSv2 for the instance ID"
    grace = groups(plan)["yolo"]["health_check_grace_period"]
    assert f"grace_s={grace}\n" in reporter, "the reporter waits out the group's grace period"
    assert "systemctl enable --now polybot-report-health.timer" in user_data
    # Installed before anything that can fail the boot, so a failed boot is reported too.
    assert user_data.index("polybot-report-health.timer") < user_data.index("retry 10 install_docker")
    _bash_syntax_check(reporter.split("\n", 1)[1], tmp_path, "reporter")

    worker_settings = _settings(user_data)
    assert set(worker_settings) == {"AWS_REGION", "POLYBOT_DETECTION_QUEUE_URL"}
    assert f"retry 10 docker pull {WORKER_IMAGE}" in user_data


def test_one_immutable_image_reference_per_part(plan: dict[str, Any]) -> None:
    outputs = plan["planned_values"]["outputs"]
    assert (outputs["bot_image"]["value"], outputs["worker_image"]["value"]) == (BOT_IMAGE, WORKER_IMAGE)
    parameters = {r["values"]["name"]: r["values"] for r in planned(plan, "aws_ssm_parameter")}
    names = outputs["image_parameter_names"]["value"]
    assert parameters[names["bot"]]["insecure_value"] == BOT_IMAGE
    assert parameters[names["worker"]]["insecure_value"] == WORKER_IMAGE
    text = json.dumps(plan["planned_values"])
    assert ":latest" not in text


def test_a_latest_tag_is_refused(configuration: Terraform, terraform_aws: TerraformAws) -> None:
    variables = {**terraform_aws.variables(ENVIRONMENT), "bot_image": f"{ECR_REGISTRY}/polybot-bot:latest"}
    with pytest.raises(TerraformFailed, match="tag other than latest"):
        configuration.run("plan", "-no-color", "-input=false", "-refresh=false", *Terraform.var_args(variables))


def test_an_image_not_given_is_the_one_deployed(configuration: Terraform, terraform_aws: TerraformAws) -> None:
    """A pipeline that rebuilt only the bot passes only bot_image: the workers keep
    the reference the last apply recorded in SSM."""
    environment = "tfkeep"
    deployed = f"{ECR_REGISTRY}/polybot-worker:{'f' * 40}"
    terraform_aws.client("ssm").put_parameter(
        Name=f"/polybot-{environment}/worker-image", Value=deployed, Type="String", Overwrite=True
    )
    variables = {k: v for k, v in terraform_aws.variables(environment).items() if k != "worker_image"}
    configuration.plan(variables, out="keep.tfplan")
    kept = json.loads(configuration.show_json(["keep.tfplan"]))
    outputs = kept["planned_values"]["outputs"]
    assert outputs["worker_image"]["value"] == deployed
    assert outputs["bot_image"]["value"] == BOT_IMAGE
    assert f"docker pull {deployed}" in outputs["yolo_user_data"]["value"]


def test_instances_may_pull_from_the_repositories_of_their_images(plan: dict[str, Any]) -> None:
    documents = policy_documents(plan)
    [pull] = [json.loads(d) for a, d in documents.items() if "aws_iam_policy_document.pull_images" in a]
    for statement in pull["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if resources == ["*"]:
            assert actions == ["ecr:GetAuthorizationToken"], "only the login token may be granted on every resource"
        else:
            # Derived from bot_image and worker_image; the tests pass no repository list.
            assert set(resources) == set(ECR_REPOSITORY_ARNS)
            assert all(a.startswith("ecr:") for a in actions)
    attachments = [r for r in planned(plan, "aws_iam_role_policy_attachment") if "pull_images" in r["address"]]
    assert len(attachments) == 2, "both the bot and the worker roles pull their image"


def test_no_policy_grants_every_action_on_every_resource(plan: dict[str, Any]) -> None:
    documents = policy_documents(plan)
    assert any("module.iam.data.aws_iam_policy_document.bot" in a for a in documents), sorted(documents)
    assert any("module.iam.data.aws_iam_policy_document.yolo" in a for a in documents), sorted(documents)
    offending = {address: wildcard_statements(doc) for address, doc in documents.items() if wildcard_statements(doc)}
    assert not offending


def _statements(document: str) -> list[dict[str, Any]]:
    parsed = json.loads(document)
    return [
        {
            **s,
            "Action": s["Action"] if isinstance(s["Action"], list) else [s["Action"]],
            "Resource": s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]],
        }
        for s in parsed["Statement"]
    ]


def test_role_statements_are_scoped_to_the_stack(plan: dict[str, Any], terraform_aws: TerraformAws) -> None:
    documents = policy_documents(plan)
    [bot] = [_statements(d) for a, d in documents.items() if a.endswith("aws_iam_policy_document.bot")]
    [yolo] = [_statements(d) for a, d in documents.items() if a.endswith("aws_iam_policy_document.yolo")]
    outputs = terraform_aws.sam_outputs
    bucket = f"arn:aws:s3:::{outputs['ImagesBucketName']}"

    def granted(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {(a, r) for s in statements for a in s["Action"] for r in s["Resource"]}

    # What the code does, call by call: bot/pipeline.py, bot/service.py, bot/quota.py,
    # bot/preferences.py, bot/history.py, bot/handlers.py (crops), polybot/albums.py;
    # inference/worker.py (the S3 prefixes are polybot/naming.py's).
    assert granted(bot) == {
        ("states:StartExecution", outputs["ImagePipelineArn"]),
        ("secretsmanager:GetSecretValue", outputs["TelegramSecretArn"]),
        ("dynamodb:GetItem", outputs["ResultsTableArn"]),
        ("dynamodb:UpdateItem", outputs["ResultsTableArn"]),
        ("dynamodb:Query", f"{outputs['ResultsTableArn']}/index/ByChat"),
        ("s3:GetObject", f"{bucket}/{naming.ANNOTATED_PREFIX}*"),
        ("s3:GetObject", f"{bucket}/{naming.ORIGINALS_PREFIX}*"),
    }
    assert granted(yolo) == {
        ("sqs:ReceiveMessage", outputs["DetectionQueueArn"]),
        ("sqs:ChangeMessageVisibility", outputs["DetectionQueueArn"]),
        ("sqs:DeleteMessage", outputs["DetectionQueueArn"]),
        ("s3:GetObject", f"{bucket}/{naming.ORIGINALS_PREFIX}*"),
        ("s3:PutObject", f"{bucket}/{naming.ANNOTATED_PREFIX}*"),
        # Authorised only on "*" (the task token names the execution).
        ("states:SendTaskSuccess", "*"),
        ("states:SendTaskFailure", "*"),
        ("states:SendTaskHeartbeat", "*"),
        (
            "autoscaling:SetInstanceHealth",
            f"arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/polybot-{ENVIRONMENT}-yolo-*",
        ),
    }

    # The instances write only to their own log group.
    for part, group in (("bot", "bot"), ("yolo", "worker")):
        [logs] = [_statements(d) for a, d in documents.items() if a.endswith(f'container_logs["{part}"]')]
        assert [s["Resource"] for s in logs] == [
            [f"arn:aws:logs:us-east-1:123456789012:log-group:/polybot-{ENVIRONMENT}/{group}:*"]
        ]
        assert {a for s in logs for a in s["Action"]} == {"logs:CreateLogStream", "logs:PutLogEvents"}

    # No AWS managed policy: the only attachment is the ECR pull policy, whose ARN is known after apply.
    attachments = planned(plan, "aws_iam_role_policy_attachment")
    assert {r.get("values", {}).get("policy_arn") for r in attachments} - {None} == set()
    # Session Manager is an option, off by default.
    assert not [a for a in documents if "session_manager" in a and "aws_iam_role_policy" in a]


# --- the first deploy wires itself -------------------------------------------

INSTANCE_STARTERS = frozenset(
    {
        "aws_autoscaling_group",
        "aws_launch_template",
        "aws_launch_configuration",
        "aws_instance",
        "aws_spot_instance_request",
        "aws_spot_fleet_request",
        "aws_ec2_fleet",
    }
)
"""Resource types an instance boots from (its settings, its user data, its start)."""


def _graph_node(address: str) -> str:
    """A plan address as `terraform graph` names the resource: without instance keys."""
    return re.sub(r"\[[^\]]*\]", "", address)


def _depends_on(dot: str) -> dict[str, set[str]]:
    """Each resource's direct dependencies, from `terraform graph`'s DOT output."""
    edges: dict[str, set[str]] = {}
    for source, target in re.findall(r'^\s*"([^"]+)" -> "([^"]+)"', dot, re.MULTILINE):
        edges.setdefault(source, set()).add(target)
    return edges


def _transitive(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    waiting = [start]
    while waiting:
        for target in edges.get(waiting.pop(), set()) - seen:
            seen.add(target)
            waiting.append(target)
    return seen


def test_bot_instances_boot_only_once_their_webhook_address_resolves_and_is_served(
    plan: dict[str, Any], configuration: Terraform
) -> None:
    """Each bot instance calls setWebhook as it boots, and Telegram resolves the name
    and connects at once: whatever boots a bot instance waits for the alias record
    and the HTTPS listener, so the first apply cannot register an address that is
    not there yet."""
    webhook_endpoint = {
        _graph_node(r["address"])
        for r in planned(plan, "aws_route53_record")
        if r["values"].get("name") == DOMAIN and r["values"].get("type") in {"A", "AAAA", "CNAME"}
    } | {_graph_node(r["address"]) for r in planned(plan, "aws_lb_listener")}
    assert len(webhook_endpoint) >= 2, webhook_endpoint
    starters = {
        _graph_node(r["address"])
        for r in walk_modules(plan["planned_values"]["root_module"])
        if r["type"] in INSTANCE_STARTERS and r["address"].startswith("module.bot.")
    }
    assert "module.bot.aws_autoscaling_group.bot" in starters

    edges = _depends_on(configuration.run("graph"))
    missing = {starter: sorted(webhook_endpoint - _transitive(edges, starter)) for starter in sorted(starters)}
    assert not {starter: m for starter, m in missing.items() if m}, "boots before the webhook address exists"


# --- cost and drift ------------------------------------------------------------


def test_private_subnets_reach_s3_and_dynamodb_through_gateway_endpoints(plan: dict[str, Any]) -> None:
    """Originals, annotated images, results and ECR's image layers (served from S3)
    bypass the NAT gateways, which bill per GB; gateway endpoints are free."""
    endpoints = {r["values"]["service_name"]: r for r in planned(plan, "aws_vpc_endpoint")}
    assert set(endpoints) == {"com.amazonaws.us-east-1.s3", "com.amazonaws.us-east-1.dynamodb"}
    private_tables = [r["address"] for r in planned(plan, "aws_route_table") if ".private" in r["address"]]
    assert len(private_tables) == 2
    network = plan["configuration"]["root_module"]["module_calls"]["network"]["module"]
    [endpoint_config] = [r for r in network["resources"] if r["type"] == "aws_vpc_endpoint"]
    for service, endpoint in endpoints.items():
        assert endpoint["values"]["vpc_endpoint_type"] == "Gateway", service
    # Every private route table (the IDs are known after apply: the configuration says it).
    assert endpoint_config["expressions"]["route_table_ids"]["references"][-1] == "aws_route_table.private"


def test_every_instance_runs_the_ami_it_was_given(plan: dict[str, Any], terraform_aws: TerraformAws) -> None:
    """The AMI is an input, changed on purpose: every instance runs the given ID,
    and nothing in the configuration looks one up (a lookup would roll both groups
    and replace the bastion at each Amazon Linux release)."""
    given = terraform_aws.ami_id
    images = {r["address"]: r["values"]["image_id"] for r in planned(plan, "aws_launch_template")}
    images |= {r["address"]: r["values"]["ami"] for r in planned(plan, "aws_instance")}
    assert len(images) == 3 and set(images.values()) == {given}, images

    read = list(walk_modules(plan.get("prior_state", {}).get("values", {}).get("root_module", {})))
    lookups = [r["address"] for r in read if r["type"] in {"aws_ami", "aws_ami_ids"}]
    lookups += [
        r["address"]
        for r in read
        if r["type"] == "aws_ssm_parameter" and str(r["values"].get("name", "")).startswith("/aws/service/")
    ]
    assert not lookups, "an AMI looked up at plan time changes whenever AWS publishes one"


@pytest.mark.parametrize(
    "ami_id", ["", "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"]
)
def test_an_ami_that_is_not_an_id_is_refused(
    configuration: Terraform, terraform_aws: TerraformAws, ami_id: str
) -> None:
    variables = {**terraform_aws.variables(ENVIRONMENT), "ami_id": ami_id}
    with pytest.raises(TerraformFailed, match="ami_id must be an AMI ID"):
        configuration.run("plan", "-no-color", "-input=false", "-refresh=false", *Terraform.var_args(variables))


def test_an_ami_must_be_given(configuration: Terraform, terraform_aws: TerraformAws) -> None:
    variables = {k: v for k, v in terraform_aws.variables(ENVIRONMENT).items() if k != "ami_id"}
    with pytest.raises(TerraformFailed, match="No value for required variable"):
        configuration.run("plan", "-no-color", "-input=false", "-refresh=false", *Terraform.var_args(variables))


BURSTABLE = re.compile(r"^t\d[a-z]*\.")
"""T2, T3, T3a, T4g: types that run on CPU credits (AWS launches T3 in unlimited mode unless told)."""
CREDIT_MODES = {"bot": "unlimited", "bastion": "standard"}
"""What each part runs in, and why (the modules' cpu_credits): the bot bursts at each boot
and idles after; the bastion only idles."""


def test_every_burstable_instance_states_its_credit_mode(plan: dict[str, Any]) -> None:
    launched = {r["address"]: r["values"] for r in planned(plan, "aws_launch_template")}
    launched |= {r["address"]: r["values"] for r in planned(plan, "aws_instance")}
    modes = {}
    for address, values in launched.items():
        if BURSTABLE.match(values["instance_type"]):
            specification = values.get("credit_specification") or []
            assert specification and specification[0]["cpu_credits"] in {"standard", "unlimited"}, address
            modes[address.split(".")[1]] = specification[0]["cpu_credits"]
        else:
            assert not values.get("credit_specification"), f"{address}: a credit mode on a fixed-performance type"
    assert modes == CREDIT_MODES


def test_workers_run_on_fixed_performance(plan: dict[str, Any]) -> None:
    """Sustained inference on a T3 is billed as surplus (unlimited) or slowed to its
    baseline (standard, where a new worker starts with no credits): the workers run
    on the type docs/performance.md chose from the measured rate."""
    worker = launch_templates(plan)["yolo"]
    assert not BURSTABLE.match(worker["instance_type"])
    assert worker["instance_type"] == "c7i.large"


# --- a deaf bot is noticed ---------------------------------------------------------


def _bot_call(plan: dict[str, Any]) -> dict[str, Any]:
    call: dict[str, Any] = plan["configuration"]["root_module"]["module_calls"]["bot"]
    return call


def test_webhook_alarms_count_the_bots_own_log_lines(plan: dict[str, Any], terraform_aws: TerraformAws) -> None:
    """A registration that failed and hours without an update each raise an alarm,
    counted by metric filters over the bot's log group (the patterns are held to
    the lines the code writes in tests/unit/bot)."""
    bot_group = f"/polybot-{ENVIRONMENT}/bot"
    filters = {
        r["values"]["name"].removeprefix(f"polybot-{ENVIRONMENT}-"): r["values"]
        for r in planned(plan, "aws_cloudwatch_log_metric_filter")
    }
    assert set(filters) >= {"webhook-registration-failed", "update-received"}
    metrics = {}
    for name in ("webhook-registration-failed", "update-received"):
        assert filters[name]["log_group_name"] == bot_group, name
        [transformation] = filters[name]["metric_transformation"]
        assert transformation["namespace"] == "Polybot" and transformation["value"] == "1", name
        metrics[name] = transformation["name"]

    alarms = {a["values"]["alarm_name"]: a["values"] for a in planned(plan, "aws_cloudwatch_metric_alarm")}
    failed = alarms[f"polybot-{ENVIRONMENT}-webhook-not-registered"]
    silent = alarms[f"polybot-{ENVIRONMENT}-webhook-silent"]
    assert (failed["namespace"], failed["metric_name"]) == ("Polybot", metrics["webhook-registration-failed"])
    assert (failed["comparison_operator"], failed["threshold"], failed["statistic"]) == (
        "GreaterThanOrEqualToThreshold",
        1,
        "Sum",
    )
    assert failed["treat_missing_data"] == "notBreaching", "no line, no failure"

    assert (silent["namespace"], silent["metric_name"]) == ("Polybot", metrics["update-received"])
    assert (silent["comparison_operator"], silent["threshold"], silent["statistic"]) == ("LessThanThreshold", 1, "Sum")
    assert silent["treat_missing_data"] == "breaching", "an hour without an update has no datapoint at all"
    assert silent["period"] * silent["evaluation_periods"] == 12 * 3600 and silent["datapoints_to_alarm"] == 12
    assert silent["period"] * silent["evaluation_periods"] <= 86400, "CloudWatch evaluates at most one day"

    # Both notify where the other health alarms do (the SAM stack's topic where it has one, alarm_actions):
    # the tests' stack has none, so the wiring is read from the configuration.
    unhealthy = alarms[f"polybot-{ENVIRONMENT}-bot-unhealthy"]
    for alarm in (failed, silent):
        assert alarm["alarm_actions"] == alarm["ok_actions"] == unhealthy["alarm_actions"]
    assert "local.alarms" in _bot_call(plan)["expressions"]["alarm_actions"]["references"]


def test_the_silence_alarm_can_be_turned_off(configuration: Terraform, terraform_aws: TerraformAws) -> None:
    variables = {**terraform_aws.variables("tfquiet"), "webhook_silence_alarm_hours": "0"}
    configuration.run(
        "plan",
        "-no-color",
        "-input=false",
        "-out=quiet.tfplan",
        "-target=module.bot.aws_cloudwatch_metric_alarm.webhook_silent",
        "-target=module.bot.aws_cloudwatch_metric_alarm.webhook_not_registered",
        *Terraform.var_args(variables),
    )
    quiet = json.loads(configuration.show_json(["quiet.tfplan"]))
    names = {a["values"]["alarm_name"] for a in planned(quiet, "aws_cloudwatch_metric_alarm")}
    assert names == {"polybot-tfquiet-webhook-not-registered"}


def test_registration_is_ended_by_its_own_window_not_by_the_boots_timeout(plan: dict[str, Any]) -> None:
    user_data = plan["planned_values"]["outputs"]["bot_user_data"]["value"]
    timeout = re.search(r"timeout (\d+) docker run --rm --name polybot-register-webhook", user_data)
    assert timeout is not None
    assert int(timeout[1]) > REGISTRATION_WINDOW_S, "the command must log how it ended before it is killed"


@pytest.mark.parametrize(("output", "group"), [("bot_user_data", "bot"), ("yolo_user_data", "worker")])
def test_every_boot_ships_its_output_to_its_log_group(
    plan: dict[str, Any], tmp_path: Path, output: str, group: str
) -> None:
    """Run as the instance ends its boot, successful or not: cloud-init's log (this
    script's output) goes to the part's log group, with the AWS CLI and the role's
    own CreateLogStream/PutLogEvents. Played here with an `aws` that records its calls."""
    user_data = plan["planned_values"]["outputs"][output]["value"]
    log_group = f"/polybot-{ENVIRONMENT}/{group}"
    # Armed first: whatever fails later, even reading the instance ID, is shipped.
    assert user_data.index("trap ship_boot_log EXIT") < user_data.index("retry 5 imds_token")
    assert "boot_log=/var/log/cloud-init-output.log\n" in user_data
    shipper = user_data[user_data.index("boot_log=") : user_data.index("trap ship_boot_log EXIT")]

    boot_log = tmp_path / "cloud-init-output.log"
    boot_log.write_text("x" * 300_000 + "\npolybot: giving up after 10 attempts: docker pull\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "aws-calls"
    (bin_dir / "aws").write_text(
        '#!/bin/bash\necho "$*" >> "$CALLS"\n'
        'for a in "$@"; do case "$a" in file://*) cp "${a#file://}" "$CALLS.events";; esac; done\n'
    )
    (bin_dir / "aws").chmod(0o755)
    script = tmp_path / "boot.sh"
    script.write_text(
        "#!/bin/bash\nset -euo pipefail\n"
        + shipper.replace("boot_log=/var/log/cloud-init-output.log", f"boot_log={boot_log}")
        + "trap ship_boot_log EXIT\ninstance_id=i-0123456789abcdef0\nfalse\necho never\n"
    )
    done = subprocess.run(
        ["bash", str(script)],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.returncode == 1, "the boot's own status is kept"
    assert "never" not in done.stdout
    create, put = calls.read_text().splitlines()
    stream = "i-0123456789abcdef0-cloud-init"
    assert (
        create.startswith("logs create-log-stream")
        and f"--log-group-name {log_group} --log-stream-name {stream}" in create
    )
    assert put.startswith("logs put-log-events") and f"--log-group-name {log_group} --log-stream-name {stream}" in put
    [event] = json.loads((tmp_path / "aws-calls.events").read_text())
    assert len(event["message"].encode()) <= 256 * 1024 - 26, "an event holds at most 256 KB"
    assert "giving up after 10 attempts" in event["message"]
    assert event["message"].rstrip().endswith("the boot script ended with status 1")


def test_both_parts_ship_their_boot_output_the_same_way(plan: dict[str, Any]) -> None:
    outputs = plan["planned_values"]["outputs"]
    shippers = [
        outputs[name]["value"][
            outputs[name]["value"].index("boot_log=") : outputs[name]["value"].index("trap ship_boot_log EXIT")
        ]
        for name in ("bot_user_data", "yolo_user_data")
    ]
    assert shippers[0].replace("/bot", "/worker") == shippers[1]
