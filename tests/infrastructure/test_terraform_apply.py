"""`terraform apply` of the whole root configuration against the embedded AWS,
then a look at what exists there, with boto3, as an operator would.

Everything in the root is applied, certificate validation included (moto
issues a DNS-validated certificate at once, see conftest.py). The one setting
changed for the emulator: detailed monitoring off, because moto does not
implement MonitorInstances. Takes about 1.5 minutes, most of it the provider
waiting for the load balancer to turn active. The instance refreshes the groups
would run on a later change are not exercised: moto does not replace instances.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import unquote

import pytest

from tests.auxil.terraform import (
    BOT_IMAGE,
    BOT_SETTINGS,
    DOMAIN,
    WORKER_IMAGE,
    TerraformAws,
    wildcard_statements,
)
from tests.infrastructure.conftest import APPLY_ENVIRONMENT, Applied

pytestmark = [pytest.mark.aws, pytest.mark.slow]

ENVIRONMENT = APPLY_ENVIRONMENT


@pytest.fixture(scope="module")
def applied(root_applied: Applied) -> dict[str, Any]:
    """The root configuration applied (conftest.py); its outputs."""
    return root_applied.outputs


def _group(terraform_aws: TerraformAws, name: str) -> dict[str, Any]:
    [group] = terraform_aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"
    ]
    return group


def test_bot_group_of_two_behind_the_load_balancer(applied: dict[str, Any], terraform_aws: TerraformAws) -> None:
    group = _group(terraform_aws, applied["bot_autoscaling_group_name"])
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (2, 2, 2)
    assert group["HealthCheckType"] == "ELB"
    assert len(group["VPCZoneIdentifier"].split(",")) == 2
    assert len(group["TargetGroupARNs"]) == 1
    assert len(group["Instances"]) == 2


def test_auto_scaling_group_of_yolo_workers(applied: dict[str, Any], terraform_aws: TerraformAws) -> None:
    autoscaling = terraform_aws.client("autoscaling")
    group = _group(terraform_aws, applied["yolo_autoscaling_group_name"])
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (2, 6, 2)
    assert len(group["VPCZoneIdentifier"].split(",")) == 2
    policies = autoscaling.describe_policies(AutoScalingGroupName=group["AutoScalingGroupName"])["ScalingPolicies"]
    assert sorted(p["PolicyType"] for p in policies) == ["StepScaling", "StepScaling", "TargetTrackingScaling"]


def test_https_listener_on_8443_forwards_to_the_bot(applied: dict[str, Any], terraform_aws: TerraformAws) -> None:
    elbv2 = terraform_aws.client("elbv2")
    [alb] = elbv2.describe_load_balancers(Names=[f"polybot-{ENVIRONMENT}-alb"])["LoadBalancers"]
    assert alb["DNSName"] == applied["alb_dns_name"]
    [listener] = elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert (listener["Port"], listener["Protocol"]) == (8443, "HTTPS")
    assert listener["Certificates"][0]["CertificateArn"].startswith("arn:aws:acm:")
    [action] = listener["DefaultActions"]
    [target_group] = elbv2.describe_target_groups(TargetGroupArns=[action["TargetGroupArn"]])["TargetGroups"]
    assert (target_group["Port"], target_group["Protocol"], target_group["HealthCheckPath"]) == (
        8080,
        "HTTP",
        "/healthz",
    )
    # The bot group registers its instances in the target group.
    bot_group = _group(terraform_aws, applied["bot_autoscaling_group_name"])
    assert bot_group["TargetGroupARNs"] == [target_group["TargetGroupArn"]]
    targets = elbv2.describe_target_health(TargetGroupArn=target_group["TargetGroupArn"])["TargetHealthDescriptions"]
    assert sorted(t["Target"]["Id"] for t in targets) == sorted(i["InstanceId"] for i in bot_group["Instances"])


def _role_documents(iam: Any, role_arn: str) -> list[dict[str, Any]]:
    role_name = role_arn.rsplit("/", 1)[-1]
    documents = []
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        documents.append(json.loads(unquote(document)) if isinstance(document, str) else document)
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        document = version["PolicyVersion"]["Document"]
        documents.append(json.loads(unquote(document)) if isinstance(document, str) else document)
    return documents


@pytest.mark.parametrize("role", ["bot_role_arn", "yolo_role_arn"])
def test_instance_roles_grant_nothing_on_everything(
    applied: dict[str, Any], terraform_aws: TerraformAws, role: str
) -> None:
    iam = terraform_aws.client("iam")
    role_name = applied[role].rsplit("/", 1)[-1]
    assert iam.get_role(RoleName=role_name)["Role"]["Arn"] == applied[role]
    documents = _role_documents(iam, applied[role])
    assert documents, f"{role_name} has no policies"
    assert not [s for d in documents for s in wildcard_statements(d)]
    profiles = iam.list_instance_profiles_for_role(RoleName=role_name)["InstanceProfiles"]
    assert len(profiles) == 1


def test_bot_instances_start_the_container_with_its_settings(
    applied: dict[str, Any], terraform_aws: TerraformAws
) -> None:
    group = _group(terraform_aws, applied["bot_autoscaling_group_name"])
    ec2 = terraform_aws.client("ec2")
    reservations = ec2.describe_instances(InstanceIds=[i["InstanceId"] for i in group["Instances"]])["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert len(instances) == 2
    assert all("PublicIpAddress" not in i for i in instances)
    # One private subnet per zone; AWS balances the group's instances over them
    # (moto launches them all into the first, so the instances are not checked for it).
    subnets = ec2.describe_subnets(SubnetIds=group["VPCZoneIdentifier"].split(","))["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) == 2
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets)
    template = group["LaunchTemplate"]
    [version] = ec2.describe_launch_template_versions(
        LaunchTemplateId=template["LaunchTemplateId"], Versions=[template["Version"]]
    )["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    user_data = base64.b64decode(data["UserData"]).decode()
    for setting in BOT_SETTINGS:
        assert f"\n{setting}=" in user_data, setting
    assert f"POLYBOT_PUBLIC_URL=https://{DOMAIN}:8443\n" in user_data
    assert f"docker pull {BOT_IMAGE}" in user_data


def test_deployed_images_and_log_groups_exist(applied: dict[str, Any], terraform_aws: TerraformAws) -> None:
    ssm = terraform_aws.client("ssm")
    parameters = applied["image_parameter_names"]
    assert ssm.get_parameter(Name=parameters["bot"])["Parameter"]["Value"] == BOT_IMAGE
    assert ssm.get_parameter(Name=parameters["worker"])["Parameter"]["Value"] == WORKER_IMAGE
    logs = terraform_aws.client("logs")
    for name in applied["log_group_names"].values():
        found = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        [group] = [g for g in found if g["logGroupName"] == name]
        assert group["retentionInDays"] == 30


def test_domain_points_at_the_load_balancer(applied: dict[str, Any], terraform_aws: TerraformAws) -> None:
    records = terraform_aws.client("route53").list_resource_record_sets(HostedZoneId=terraform_aws.hosted_zone_id)
    aliases = [r for r in records["ResourceRecordSets"] if r["Type"] == "A" and "AliasTarget" in r]
    assert any(r["AliasTarget"]["DNSName"].rstrip(".").lower() == applied["alb_dns_name"].lower() for r in aliases)


def test_private_route_tables_reach_s3_and_dynamodb_through_gateway_endpoints(
    applied: dict[str, Any], terraform_aws: TerraformAws
) -> None:
    ec2 = terraform_aws.client("ec2")
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [applied["vpc_id"]]}])["VpcEndpoints"]
    assert {e["ServiceName"] for e in endpoints} == {"com.amazonaws.us-east-1.s3", "com.amazonaws.us-east-1.dynamodb"}
    tables = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [applied["vpc_id"]]}, {"Name": "tag:Name", "Values": ["*-private-*"]}]
    )["RouteTables"]
    assert len(tables) == 2
    for endpoint in endpoints:
        assert endpoint["VpcEndpointType"] == "Gateway"
        assert sorted(endpoint["RouteTableIds"]) == sorted(t["RouteTableId"] for t in tables)


def test_the_bots_log_group_counts_registrations_that_failed_and_updates_received(
    applied: dict[str, Any], terraform_aws: TerraformAws
) -> None:
    logs = terraform_aws.client("logs")
    group = applied["log_group_names"]["bot"]
    filters = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    metrics = {f["metricTransformations"][0]["metricName"]: f["filterPattern"] for f in filters}
    assert metrics == {
        f"polybot-{ENVIRONMENT}-WebhookRegistrationsFailed": '{ $.event = "webhook_registration_failed" }',
        f"polybot-{ENVIRONMENT}-UpdatesReceived": '{ $.event = "update_received" }',
    }
    alarms = terraform_aws.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"polybot-{ENVIRONMENT}-webhook-")
    assert {a["AlarmName"]: a["MetricName"] for a in alarms["MetricAlarms"]} == {
        f"polybot-{ENVIRONMENT}-webhook-not-registered": f"polybot-{ENVIRONMENT}-WebhookRegistrationsFailed",
        f"polybot-{ENVIRONMENT}-webhook-silent": f"polybot-{ENVIRONMENT}-UpdatesReceived",
    }
