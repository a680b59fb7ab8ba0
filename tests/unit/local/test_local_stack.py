from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from local.embedded_aws import ACCOUNT_ID, REGION
from local.lambda_runtime import LambdaRuntime
from local.stack import TemplateError, _deployment_order, _references, deploy, load_template

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "template.yaml"
FUNCTIONS = ["StageImageFunction", "SendReplyFunction", "NotifyFailureFunction"]


class AwsStandIn:
    """One boto3 client's create_* calls: recorded, answered with what AWS returns."""

    def __init__(self, service: str, calls: list[tuple[str, str, dict[str, Any]]]) -> None:
        self.service, self.calls = service, calls

    def __getattr__(self, operation: str) -> Any:
        def call(**arguments: Any) -> dict[str, Any]:
            self.calls.append((self.service, operation, arguments))
            return self.answer(operation, arguments)

        return call

    @staticmethod
    def answer(operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
        prefix = f"{REGION}:{ACCOUNT_ID}"
        answers: dict[str, Any] = {
            "create_bucket": lambda a: {},
            "create_queue": lambda a: {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{a['QueueName']}"},
            "create_table": lambda a: {
                "TableDescription": {"TableArn": f"arn:aws:dynamodb:{prefix}:table/{a['TableName']}"}
            },
            "create_secret": lambda a: {"ARN": f"arn:aws:secretsmanager:{prefix}:secret:{a['Name']}-AbCdEf"},
            "create_role": lambda a: {"Role": {"Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{a['RoleName']}"}},
            "create_state_machine": lambda a: {"stateMachineArn": f"arn:aws:states:{prefix}:stateMachine:{a['name']}"},
            "create_key": lambda a: {"KeyMetadata": {"KeyId": "k-1", "Arn": f"arn:aws:kms:{prefix}:key/k-1"}},
            "enable_key_rotation": lambda a: {},
            "create_alias": lambda a: {},
            "create_topic": lambda a: {"TopicArn": f"arn:aws:sns:{prefix}:{a['Name']}"},
        }
        return answers[operation](arguments)


@pytest.fixture
def calls() -> list[tuple[str, str, dict[str, Any]]]:
    return []


@pytest.fixture
def clients(calls: list[tuple[str, str, dict[str, Any]]]) -> dict[str, AwsStandIn]:
    services = ("s3", "sqs", "dynamodb", "secretsmanager", "iam", "stepfunctions", "kms", "sns")
    return {s: AwsStandIn(s, calls) for s in services}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- reading the template --------------------------------------------------


def test_short_tags_become_intrinsic_function_objects(tmp_path: Path) -> None:
    template = load_template(
        write(
            tmp_path,
            """
            Resources:
              Thing:
                Type: AWS::SQS::Queue
                Properties:
                  Ref: !Ref Bucket
                  Dotted: !GetAtt Queue.Arn
                  Listed: !GetAtt [Queue, QueueName]
                  Sub: !Sub "${AWS::StackName}-${Bucket}-${Queue.Arn}"
                  SubList: !Sub ["${Name}-x", {Name: !Ref Bucket}]
                  Join: !Join ["/", [a, !Ref Bucket]]
            """,
        )
    )

    properties = template["Resources"]["Thing"]["Properties"]
    assert properties == {
        "Ref": {"Ref": "Bucket"},
        "Dotted": {"Fn::GetAtt": ["Queue", "Arn"]},
        "Listed": {"Fn::GetAtt": ["Queue", "QueueName"]},
        "Sub": {"Fn::Sub": "${AWS::StackName}-${Bucket}-${Queue.Arn}"},
        "SubList": {"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "Bucket"}}]},
        "Join": {"Fn::Join": ["/", ["a", {"Ref": "Bucket"}]]},
    }


def test_the_project_template_reads_with_its_references() -> None:
    template = load_template(TEMPLATE)

    resources = template["Resources"]
    assert resources["DetectionQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["DetectionDeadLetterQueue", "Arn"]
    }
    assert template["Globals"]["Function"]["Environment"]["Variables"]["POLYBOT_IMAGES_BUCKET"] == {
        "Ref": "ImagesBucket"
    }
    substitutions = resources["ImagePipeline"]["Properties"]["DefinitionSubstitutions"]
    assert substitutions["StageImageFunctionArn"] == {"Fn::GetAtt": ["StageImageFunction", "Arn"]}
    assert substitutions["DetectionQueueUrl"] == {"Ref": "DetectionQueue"}


def test_references_finds_ref_getatt_and_sub_variables() -> None:
    value = {
        "a": [{"Ref": "Bucket"}, {"Fn::GetAtt": ["Queue", "Arn"]}],
        "b": {"Fn::Sub": "${AWS::Region}:${Table.Arn}:${!Literal}"},
        "c": {"Fn::Sub": ["${Secret}", {}]},
        "d": "plain ${NotAReference}",
    }

    assert _references(value) == {"Bucket", "Queue", "AWS::Region", "Table", "Secret"}


# --- order -------------------------------------------------------------------


def test_each_resource_comes_after_the_resources_it_refers_to() -> None:
    resources = load_template(TEMPLATE)["Resources"]

    order = _deployment_order(resources)

    assert sorted(order) == sorted(resources)
    assert order.index("DetectionDeadLetterQueue") < order.index("DetectionQueue")
    for function in FUNCTIONS:
        assert order.index(function) < order.index("ImagePipeline")
    for logical_id in order:
        for dependency in _references(resources[logical_id].get("Properties", {})) & set(resources):
            assert order.index(dependency) < order.index(logical_id), (dependency, logical_id)


def test_order_does_not_depend_on_declaration_order() -> None:
    resources = {
        "Pipeline": {"Properties": {"Queue": {"Ref": "Queue"}}},
        "Queue": {"Properties": {"Dlq": {"Fn::GetAtt": ["DeadLetters", "Arn"]}}},
        "DeadLetters": {"Properties": {}},
    }

    assert _deployment_order(resources) == ["DeadLetters", "Queue", "Pipeline"]


def test_a_circular_reference_is_refused() -> None:
    resources = {"A": {"Properties": {"x": {"Ref": "B"}}}, "B": {"Properties": {"y": {"Ref": "A"}}}}

    with pytest.raises(TemplateError, match="circular"):
        _deployment_order(resources)


# --- deploying (AWS calls answered by stand-ins) -----------------------------


def test_the_project_template_deploys_with_its_wiring_resolved(
    clients: dict[str, AwsStandIn], calls: list[tuple[str, str, dict[str, Any]]]
) -> None:
    runtime = LambdaRuntime(lambda environ, start_response: [])

    deployment = deploy(TEMPLATE, "polybot", clients, runtime, parameters={"LogLevel": "DEBUG"})

    # Operations-only resources (logs, alarms, the dashboard, the bucket's TLS
    # policy) are not emulated; nothing the workflow uses is skipped. The alarm
    # topic and its key are (terraform/ reads the topic from the Outputs).
    assert set(deployment.skipped.values()) <= {
        "AWS::Logs::LogGroup",
        "AWS::Logs::MetricFilter",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::SNS::Subscription",
        "AWS::S3::BucketPolicy",
        # Nothing enforces IAM locally (tests/unit/test_template_iam.py reads the
        # roles instead), and the layer's package is the one this process imports.
        "AWS::IAM::Role",
        "AWS::Serverless::LayerVersion",
    }
    assert deployment.physical_ids["TelegramSecret"] == (
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:polybot-telegramsecret-AbCdEf"
    )
    by_operation = {
        (service, operation, a.get("QueueName") or a.get("Name") or a.get("name")): a for service, operation, a in calls
    }
    queue = by_operation[("sqs", "create_queue", "polybot-detectionqueue")]
    assert queue["Attributes"]["VisibilityTimeout"] == "660"
    assert json.loads(queue["Attributes"]["RedrivePolicy"]) == {
        "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:polybot-detectiondeadletterqueue",
        "maxReceiveCount": 3,
    }
    secret = json.loads(by_operation[("secretsmanager", "create_secret", "polybot-telegramsecret")]["SecretString"])
    assert secret["telegram_token"] == "SET-ME"
    assert len(secret["webhook_secret"]) >= 32
    definition = by_operation[("stepfunctions", "create_state_machine", "polybot-imagepipeline")]["definition"]
    assert not re.search(r"\$\{[^}]*\}", definition)
    states = json.loads(definition)["States"]
    assert (
        states["StageImage"]["Resource"] == f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:polybot-stageimagefunction"
    )
    assert states["DetectObjects"]["Parameters"]["QueueUrl"] == deployment.outputs["DetectionQueueUrl"]
    assert states["PersistResults"]["Parameters"]["TableName"] == "polybot-resultstable"
    assert deployment.function_environment == {
        "POLYBOT_IMAGES_BUCKET": "polybot-imagesbucket",
        "POLYBOT_TELEGRAM_SECRET_ID": deployment.physical_ids["TelegramSecret"],
        "POLYBOT_TELEGRAM_API_URL": "https://api.telegram.org",
        "POLYBOT_MAX_DOWNLOAD_BYTES": "20971520",
        "POLYBOT_LOG_LEVEL": "DEBUG",
        "POLYBOT_RESULTS_TABLE": "polybot-resultstable",
        "POLYBOT_RETENTION_DAYS": "30",
        "POLYBOT_AWS_ENDPOINT_URL": "",
    }
    assert deployment.outputs["ImagesBucketName"] == "polybot-imagesbucket"
    key_policy = json.loads(by_operation[("kms", "create_key", None)]["Policy"])
    [cloudwatch] = [s for s in key_policy["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
    topic = by_operation[("sns", "create_topic", "polybot-alarmtopic")]
    assert topic["Attributes"]["KmsMasterKeyId"] == "k-1"
    assert deployment.outputs["AlarmTopicArn"] == f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:polybot-alarmtopic"
    assert (
        deployment.outputs["ImagePipelineArn"]
        == f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:polybot-imagepipeline"
    )


def test_deployed_functions_are_invocable_by_their_arn(clients: dict[str, AwsStandIn]) -> None:
    runtime = LambdaRuntime(lambda environ, start_response: [])
    deploy(TEMPLATE, "polybot", clients, runtime)

    # An invalid event is refused by the handler's own contract check, naming it.
    headers, body = runtime.invoke("polybot-notifyfailurefunction", {})

    assert headers == [("X-Amz-Function-Error", "Unhandled")]
    assert json.loads(body)["errorType"] == "ContractViolation"


def test_a_secret_value_given_out_of_band_is_used(
    clients: dict[str, AwsStandIn], calls: list[tuple[str, str, dict[str, Any]]]
) -> None:
    value = json.dumps({"telegram_token": "123:ABC", "webhook_secret": "w"})

    deploy(TEMPLATE, "polybot", clients, LambdaRuntime(lambda e, s: []), secret_strings={"TelegramSecret": value})

    [secret] = [a for _, operation, a in calls if operation == "create_secret"]
    assert secret["SecretString"] == value


def test_an_unknown_parameter_is_refused(clients: dict[str, AwsStandIn]) -> None:
    with pytest.raises(TemplateError, match="NoSuchParameter"):
        deploy(TEMPLATE, "polybot", clients, LambdaRuntime(lambda e, s: []), parameters={"NoSuchParameter": "1"})


def test_a_function_deploys_before_a_resource_its_globals_refer_to_is_declared(
    tmp_path: Path, clients: dict[str, AwsStandIn]
) -> None:
    template = write(
        tmp_path,
        """
        Globals:
          Function:
            CodeUri: functions/
            Environment:
              Variables:
                POLYBOT_IMAGES_BUCKET: !Ref ImagesBucket
        Resources:
          NotifyFailureFunction:
            Type: AWS::Serverless::Function
            Properties:
              Handler: notify_failure.handler
          ImagesBucket:
            Type: AWS::S3::Bucket
        """,
    )

    deployment = deploy(template, "polybot", clients, LambdaRuntime(lambda e, s: []))

    assert deployment.function_environment == {"POLYBOT_IMAGES_BUCKET": "polybot-imagesbucket"}
