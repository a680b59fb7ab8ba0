"""`terraform apply` of the whole root configuration against the embedded AWS,
then a look at what exists there, with boto3, as an operator would.

Everything in the root is applied, certificate validation included (moto
issues a DNS-validated certificate at once, see conftest.py). The one setting
changed for the emulator: detailed monitoring off, because moto does not
implement MonitorInstances. Takes about 1.5 minutes, most of it the provider
waiting for the load balancer to turn active.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest

from tests.auxil.terraform import (
    BOT_SETTINGS,
    DOMAIN,
    Terraform,
    TerraformAws,
    emulator_configuration,
    wildcard_statements,
)

pytestmark = [pytest.mark.aws, pytest.mark.slow]

ENVIRONMENT = "tfapply"
APPLY_TIMEOUT_S = 420


@pytest.fixture(scope="module")
def applied(terraform_aws: TerraformAws, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The root configuration applied; yields its outputs."""
    base = tmp_path_factory.mktemp("apply")
    terraform = emulator_configuration(base, terraform_aws)
    started = time.monotonic()
    terraform.run(
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        *Terraform.var_args(terraform_aws.variables(ENVIRONMENT)),
        timeout_s=APPLY_TIMEOUT_S,
    )
    print(f"terraform apply took {time.monotonic() - started:.0f} s")
    yield {name: o["value"] for name, o in json.loads(terraform.run("output", "-json")).items()}


def test_auto_scaling_group_of_yolo_workers(applied: dict[str, Any], terraform_aws: TerraformAws) -> None:
    autoscaling = terraform_aws.client("autoscaling")
    [group] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[applied["yolo_autoscaling_group_name"]])[
        "AutoScalingGroups"
    ]
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
    targets = elbv2.describe_target_health(TargetGroupArn=target_group["TargetGroupArn"])["TargetHealthDescriptions"]
    assert sorted(t["Target"]["Id"] for t in targets) == sorted(applied["bot_instance_ids"])


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
    ec2 = terraform_aws.client("ec2")
    reservations = ec2.describe_instances(InstanceIds=applied["bot_instance_ids"])["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert len({i["Placement"]["AvailabilityZone"] for i in instances}) == 2
    assert all("PublicIpAddress" not in i for i in instances)
    for instance in instances:
        attribute = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")
        user_data = base64.b64decode(attribute["UserData"]["Value"]).decode()
        for setting in BOT_SETTINGS:
            assert f"\n{setting}=" in user_data, setting
        assert f"POLYBOT_PUBLIC_URL=https://{DOMAIN}:8443\n" in user_data


def test_domain_points_at_the_load_balancer(applied: dict[str, Any], terraform_aws: TerraformAws) -> None:
    records = terraform_aws.client("route53").list_resource_record_sets(HostedZoneId=terraform_aws.hosted_zone_id)
    aliases = [r for r in records["ResourceRecordSets"] if r["Type"] == "A" and "AliasTarget" in r]
    assert any(r["AliasTarget"]["DNSName"].rstrip(".").lower() == applied["alb_dns_name"].lower() for r in aliases)
