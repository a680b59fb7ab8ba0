"""The IAM roles template.yaml deploys, as CloudFormation receives them: the
template translated by the SAM translator (what `sam deploy` sends), every
role's inline and managed policies read, and checked against

- what each part's code does, permission by permission (a missing one fails
  the first photo on AWS; an extra one is privilege nobody uses), and
- the Service Authorization Reference (tests/auxil/iam.py): nothing on "*"
  beyond the actions AWS authorises only on "*", no such action on a named
  resource (where it never matches), no action that does not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from polybot.naming import ANNOTATED_PREFIX, ORIGINALS_PREFIX
from tests.auxil import iam
from tests.auxil.template import MANAGED_POLICIES, roles
from tests.auxil.template import translate as translate_template

XRAY_WRITE = {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}
# Step Functions' documented policy for logging to CloudWatch Logs.
LOG_DELIVERY = {
    (f"logs:{action}", "*")
    for action in (
        "CreateLogDelivery",
        "GetLogDelivery",
        "UpdateLogDelivery",
        "DeleteLogDelivery",
        "ListLogDeliveries",
        "PutResourcePolicy",
        "DescribeResourcePolicies",
        "DescribeLogGroups",
    )
}
SECRET = {("secretsmanager:GetSecretValue", "TelegramSecret")}
# polybot/reply_ledger.py: what an execution has sent, read and recorded in the results table.
REPLY_LEDGER = {("dynamodb:GetItem", "ResultsTable.Arn"), ("dynamodb:UpdateItem", "ResultsTable.Arn")}
# polybot/forgetting.py: the records of an image whose chat was forgotten while it was analysed,
# deleted at the end of its execution (the marker read with the ledger's GetItem).
FORGET_IN_FLIGHT = {
    ("dynamodb:BatchWriteItem", "ResultsTable.Arn"),
    ("s3:ListBucket", "ImagesBucket.Arn"),
    ("s3:DeleteObject", f"ImagesBucket.Arn/{ORIGINALS_PREFIX}*"),
    ("s3:DeleteObject", f"ImagesBucket.Arn/{ANNOTATED_PREFIX}*"),
}


def own_logs(log_group: str) -> set[tuple[str, str]]:
    return {("logs:CreateLogStream", f"{log_group}.Arn"), ("logs:PutLogEvents", f"{log_group}.Arn")}


# What each role's code does, as (action, resource) with resources named by
# logical id: functions/stage_image.py stores originals, send_reply.py reads
# the annotated image, both reply functions keep their ledger, every function
# reads the bot token, gather_album.py closes albums; the workflow
# invokes the four functions, sends detection tasks, puts results and records failures.
EXPECTED: dict[str, set[tuple[str, str]]] = {
    "StageImageRole": {("s3:PutObject", f"ImagesBucket.Arn/{ORIGINALS_PREFIX}*")}
    | SECRET
    | own_logs("StageImageLogGroup")
    | XRAY_WRITE,
    "SendReplyRole": {("s3:GetObject", f"ImagesBucket.Arn/{ANNOTATED_PREFIX}*")}
    | REPLY_LEDGER
    | FORGET_IN_FLIGHT
    | SECRET
    | own_logs("SendReplyLogGroup")
    | XRAY_WRITE,
    "NotifyFailureRole": SECRET | REPLY_LEDGER | FORGET_IN_FLIGHT | own_logs("NotifyFailureLogGroup") | XRAY_WRITE,
    # polybot/albums.py: `gather` closes the album's item and reads it back in one UpdateItem.
    "GatherAlbumRole": {("dynamodb:UpdateItem", "ResultsTable.Arn")} | own_logs("GatherAlbumLogGroup") | XRAY_WRITE,
    # polybot/forgetting.py: the chat's item keys by the ByChatItems index, their
    # deletion in batches and the forgotten marker; its images listed by prefix and deleted.
    "ForgetChatRole": {
        ("dynamodb:Query", "ResultsTable.Arn/index/ByChatItems"),
        ("dynamodb:BatchWriteItem", "ResultsTable.Arn"),
        ("dynamodb:GetItem", "ResultsTable.Arn"),
        ("dynamodb:UpdateItem", "ResultsTable.Arn"),
        ("s3:ListBucket", "ImagesBucket.Arn"),
        ("s3:DeleteObject", f"ImagesBucket.Arn/{ORIGINALS_PREFIX}*"),
        ("s3:DeleteObject", f"ImagesBucket.Arn/{ANNOTATED_PREFIX}*"),
    }
    | SECRET
    | own_logs("ForgetChatLogGroup")
    | XRAY_WRITE,
    "ImagePipelineRole": {
        ("lambda:InvokeFunction", "StageImageFunction.Arn"),
        ("lambda:InvokeFunction", "SendReplyFunction.Arn"),
        ("lambda:InvokeFunction", "NotifyFailureFunction.Arn"),
        ("lambda:InvokeFunction", "GatherAlbumFunction.Arn"),
        ("lambda:InvokeFunction", "ForgetChatFunction.Arn"),
        ("sqs:SendMessage", "DetectionQueue.Arn"),
        ("dynamodb:PutItem", "ResultsTable.Arn"),  # PersistResults
        ("dynamodb:UpdateItem", "ResultsTable.Arn"),  # RecordFailure
    }
    | LOG_DELIVERY
    # AWSXrayWriteOnlyAccess, which SAM attaches for Tracing: X-Ray's sampling
    # reads too, all of them only on "*".
    | XRAY_WRITE
    | {("xray:GetSamplingRules", "*"), ("xray:GetSamplingTargets", "*"), ("xray:GetSamplingStatisticSummaries", "*")},
}


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate_template()


def readable(value: Any) -> str:
    """A resource reference as text: {"Fn::GetAtt": ["Queue", "Arn"]} -> "Queue.Arn"."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return str(value["Ref"])
    if "Fn::GetAtt" in value:
        return ".".join(value["Fn::GetAtt"])
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        return text.replace("${", "").replace("}", "")
    raise AssertionError(f"cannot read resource {value}")


def role_documents(role: dict[str, Any]) -> list[dict[str, Any]]:
    """Every policy document a role holds: inline, and managed ones from AWS's published text."""
    properties = role["Properties"]
    documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
    for arn in properties.get("ManagedPolicyArns", []):
        assert isinstance(arn, str) and arn.startswith("arn:aws:iam::aws:policy/"), f"unexpected policy {arn}"
        documents.append(MANAGED_POLICIES[arn.rsplit("/", 1)[1]]["Document"])
    return documents


def permissions(documents: list[dict[str, Any]]) -> set[tuple[str, str]]:
    granted = set()
    for document in documents:
        for statement in iam.statements(document):
            for action in iam.as_list(statement["Action"]):
                for resource in iam.as_list(statement["Resource"]):
                    granted.add((action, readable(resource)))
    return granted


def test_the_deployed_stack_has_exactly_the_roles_expected(translated: dict[str, Any]) -> None:
    assert set(roles(translated)) == set(EXPECTED)


@pytest.mark.parametrize("role_name", sorted(EXPECTED))
def test_each_role_holds_what_its_code_does_and_nothing_more(translated: dict[str, Any], role_name: str) -> None:
    granted = permissions(role_documents(roles(translated)[role_name]))

    assert granted - EXPECTED[role_name] == set(), "granted but never used"
    assert EXPECTED[role_name] - granted == set(), "used but not granted"


@pytest.mark.parametrize("role_name", sorted(EXPECTED))
def test_each_role_uses_star_only_where_aws_allows_nothing_else(translated: dict[str, Any], role_name: str) -> None:
    documents = role_documents(roles(translated)[role_name])
    actions = [a for d in documents for s in iam.statements(d) for a in iam.as_list(s["Action"])]

    assert iam.unknown_actions(actions) == []
    assert not [a for a in actions if "*" in a], "action wildcards grant more than the code calls"
    for document in documents:
        assert iam.scopable_actions_on_wildcard(document) == []
        assert iam.wildcard_only_actions_on_resources(document) == []


@pytest.mark.parametrize("role_name", sorted(EXPECTED))
def test_each_role_is_assumed_by_its_service_only(translated: dict[str, Any], role_name: str) -> None:
    trust = roles(translated)[role_name]["Properties"]["AssumeRolePolicyDocument"]
    [statement] = trust["Statement"]
    service = "states.amazonaws.com" if role_name == "ImagePipelineRole" else "lambda.amazonaws.com"

    assert iam.as_list(statement["Principal"]["Service"]) == [service]
    assert iam.as_list(statement["Action"]) == ["sts:AssumeRole"]


def test_every_function_runs_with_its_own_role(translated: dict[str, Any]) -> None:
    functions = {k: v for k, v in translated["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}

    assert {name: fn["Properties"]["Role"] for name, fn in functions.items()} == {
        name: {"Fn::GetAtt": [name.removesuffix("Function") + "Role", "Arn"]} for name in functions
    }


# The bootstrap's workload boundary (terraform/bootstrap/boundary.tf): the
# CloudFormation role may create a role only with it on, so a role without it
# fails the deploy, and one with it holds at most what it allows.
BOUNDARY = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${PermissionsBoundaryName}"}


def test_every_role_carries_the_workload_boundary(translated: dict[str, Any]) -> None:
    boundaries = {name: role["Properties"].get("PermissionsBoundary") for name, role in roles(translated).items()}

    assert boundaries == dict.fromkeys(EXPECTED, BOUNDARY)
    assert translated["Parameters"]["PermissionsBoundaryName"]["Default"] == "polybot-workload-boundary"
