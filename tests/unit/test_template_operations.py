"""What template.yaml promises operators and the Terraform half: the workflow's
execution log, the alarms and their topic, the dashboard, the Outputs that
terraform/ reads, and samconfig.toml's environments. Pure reading of the files;
cfn-lint, `sam validate --lint` and checkov check the rest (tests/tools)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template
from polybot.errors import USER_CAUSED_ERRORS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
# Read by terraform/main.tf (data "aws_cloudformation_stack"): never rename these.
TERRAFORM_OUTPUTS = {
    "ImagePipelineArn",
    "DetectionQueueUrl",
    "DetectionQueueArn",
    "ResultsTableName",
    "ImagesBucketName",
    "TelegramSecretArn",
    "ResultsTableArn",
}


def of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in RESOURCES.items() if v["Type"] == resource_type}


def alarm_metrics(properties: dict[str, Any]) -> set[tuple[str, str]]:
    if "MetricName" in properties:
        return {(properties["Namespace"], properties["MetricName"])}
    return {
        (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"])
        for m in properties["Metrics"]
        if "MetricStat" in m
    }


def test_the_outputs_terraform_reads_are_there() -> None:
    assert set(TEMPLATE["Outputs"]) >= TERRAFORM_OUTPUTS


def test_the_workflow_logs_its_failures_without_execution_data_to_a_log_group_with_a_retention() -> None:
    """Execution data (every state's input and output) holds the chat's request and
    the worker's task token; the metric filters need only the failures' names."""
    logging = RESOURCES["ImagePipeline"]["Properties"]["Logging"]
    [destination] = logging["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]

    assert logging["Level"] == "ERROR"
    assert logging["IncludeExecutionData"] is False
    assert RESOURCES[log_group]["Type"] == "AWS::Logs::LogGroup"
    assert "RetentionInDays" in RESOURCES[log_group]["Properties"]
    assert RESOURCES["ImagePipeline"]["Properties"]["Tracing"] == {"Enabled": True}


@pytest.mark.parametrize(
    "metric",
    [
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("Polybot", "ExecutionsFailedOnOurSide"),
        ("AWS/States", "ExecutionsTimedOut"),
        ("Polybot", "TasksTimedOut"),
        ("AWS/Lambda", "Errors"),
    ],
)
def test_an_alarm_watches_each_failure_metric_and_notifies_the_topic(metric: tuple[str, str]) -> None:
    alarms = [p for p in of_type("AWS::CloudWatch::Alarm").values() if metric in alarm_metrics(p)]

    assert alarms, f"no alarm on {metric}"
    for alarm in alarms:
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_dead_letter_alarm_watches_the_dead_letter_queue() -> None:
    alarm = RESOURCES["DeadLetterQueueNotEmptyAlarm"]["Properties"]

    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["DetectionDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_timed_out_tasks_are_counted_from_the_workflow_log() -> None:
    metric_filter = RESOURCES["TaskTimedOutMetricFilter"]["Properties"]

    assert metric_filter["LogGroupName"] == {"Ref": "ImagePipelineLogGroup"}
    assert '"TaskTimedOut"' in metric_filter["FilterPattern"]
    assert metric_filter["MetricTransformations"][0]["MetricName"] == "TasksTimedOut"


def test_the_dashboard_is_json_naming_only_resources_of_the_stack() -> None:
    [dashboard] = of_type("AWS::CloudWatch::Dashboard").values()
    body = dashboard["DashboardBody"]["Fn::Sub"]
    names = set(re.findall(r"\$\{([^}]+)\}", body))
    filled = re.sub(r"\$\{[^}]+\}", "x", body)

    widgets = json.loads(filled)["widgets"]
    assert {name.split(".")[0] for name in names} - {"AWS::Region"} <= set(RESOURCES)
    titles = " ".join(w["properties"]["title"] for w in widgets)
    for word in ("Executions", "Detection queue", "Dead-letter", "errors", "duration"):
        assert word in titles


def test_the_bucket_refuses_plain_http() -> None:
    [policy] = of_type("AWS::S3::BucketPolicy").values()
    [statement] = policy["PolicyDocument"]["Statement"]

    assert policy["Bucket"] == {"Ref": "ImagesBucket"}
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_queue_and_dead_letter_queue_are_encrypted() -> None:
    for queue in ("DetectionQueue", "DetectionDeadLetterQueue"):
        assert RESOURCES[queue]["Properties"]["SqsManagedSseEnabled"] is True
    redrive = RESOURCES["DetectionQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DetectionDeadLetterQueue", "Arn"]}


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_samconfig_environments_override_only_template_parameters(environment: str) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    deploy = config[environment]["deploy"]["parameters"]
    names = {pair.split("=", 1)[0] for pair in deploy["parameter_overrides"].split()}

    assert deploy["stack_name"] == f"polybot-{environment}"
    assert names <= set(TEMPLATE["Parameters"])


def test_failed_executions_count_only_failures_on_our_side() -> None:
    """Refusing a user's file (or a chat that blocked the bot) fails the execution by
    design; the alarm must not page for it."""
    metric_filter = RESOURCES["ExecutionFailedMetricFilter"]["Properties"]
    pattern = metric_filter["FilterPattern"]

    assert metric_filter["LogGroupName"] == {"Ref": "ImagePipelineLogGroup"}
    assert '$.type = "ExecutionFailed"' in pattern
    assert set(re.findall(r'\$\.details\.error != "([^"]+)"', pattern)) == USER_CAUSED_ERRORS
