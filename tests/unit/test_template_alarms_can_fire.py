"""Every alarm of template.yaml can fire and be heard: its actions are topics
CloudWatch may publish to, and each metric it watches is one something we deploy
emits, with those dimensions, when what it counts happens (and only then).

For every AWS::CloudWatch::Alarm, whatever it is:
- each action is an SNS topic of the template, encrypted with a key of the
  template whose policy lets cloudwatch.amazonaws.com use it for this alarm (an
  AWS-managed key such as alias/aws/sns cannot: its policy cannot be changed),
  or unencrypted with the reason in the topic's Metadata;
- an AWS metric is in the table of what the service emits with those dimensions
  (tests/auxil/alarms.py), its dimensions name resources of the template, and
  its preconditions hold: AWS/States ExecutionsTimedOut needs the state
  machine's own TimeoutSeconds; AWS/Lambda Errors of a function needs a handler
  that answers the user's doing instead of raising (functions/refusals.py);
- a metric of our own namespace comes from a metric filter of the template, on
  a log group something of the template writes, whose pattern matches a line
  that writer really writes (tests/auxil/log_lines.py, metric_filters.py).
The Terraform half: tests/infrastructure/test_terraform_alarms_can_fire.py.
"""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from functions.refusals import refusing
from local.stack import load_template
from polybot import errors
from tests.auxil.alarms import (
    STACK_NAME,
    alarm_arn,
    aws_metric_problems,
    referenced,
    resolve,
    topic_problems,
)
from tests.auxil.log_lines import python_lines, step_functions_samples
from tests.auxil.metric_filters import OutsideSubset, parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
ALARMS = sorted(k for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm")
ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")
STATE_MACHINES = {"AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"}
FUNCTIONS = {"AWS::Serverless::Function", "AWS::Lambda::Function"}

ERROR_NAMES = sorted(
    {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.PolybotError) and value is not errors.PolybotError
    }
    | {"States.ALL", "States.Timeout", "States.HeartbeatTimeout", "States.TaskFailed", "States.Runtime"}
    | {"Sandbox.Timedout", "Lambda.ServiceException", "DynamoDB.ConditionalCheckFailedException"}
)
"""Every error name a failure of the workflow may carry."""


# --- reading the template ---------------------------------------------------------


def alarm_name(logical_id: str, resources: dict[str, Any]) -> str:
    # CloudFormation names an alarm without AlarmName <stack>-<logical id>-<suffix>.
    given = resources[logical_id]["Properties"].get("AlarmName")
    return str(resolve(given)) if given is not None else f"{STACK_NAME}-{logical_id}-1A2B3C4D5E6F"


def metric_stats(properties: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric name, {dimension: value}) of each metric the alarm reads."""
    if "MetricName" in properties:
        metrics = [properties]
    else:
        metrics = [m["MetricStat"]["Metric"] for m in properties["Metrics"] if "MetricStat" in m]
    return [
        (m["Namespace"], m["MetricName"], {d["Name"]: d["Value"] for d in m.get("Dimensions", [])}) for m in metrics
    ]


# --- the actions --------------------------------------------------------------------


def alarm_arn_of(alarm: str, resources: dict[str, Any]) -> str:
    return alarm_arn(alarm_name(alarm, resources))


def action_problems(alarm: str, resources: dict[str, Any]) -> list[str]:
    properties = resources[alarm]["Properties"]
    problems = [] if properties.get("AlarmActions") else [f"{alarm} notifies nobody when it fires"]
    for field in ACTIONS:
        for action in properties.get(field, []):
            topic = referenced(action, resources)
            if topic is None or resources[topic]["Type"] != "AWS::SNS::Topic":
                problems.append(f"{alarm} {field}: {action} is not a topic of the template")
                continue
            problems += topic_problems(topic, alarm_arn_of(alarm, resources), resources)
    return problems


@pytest.mark.parametrize("alarm", ALARMS)
def test_every_alarm_notifies_a_topic_cloudwatch_may_publish_to(alarm: str) -> None:
    assert action_problems(alarm, RESOURCES) == []


def test_a_topic_on_the_aws_managed_key_is_one_no_alarm_can_publish_to() -> None:
    resources = copy.deepcopy(RESOURCES)
    resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] = "alias/aws/sns"

    problems = action_problems(ALARMS[0], resources)
    assert problems and all("AWS-managed" in problem for problem in problems)


def test_a_key_policy_scoped_to_another_account_is_one_no_alarm_can_publish_to() -> None:
    resources = copy.deepcopy(RESOURCES)
    topic_key = referenced(resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"], resources)
    assert topic_key is not None
    for statement in resources[topic_key]["Properties"]["KeyPolicy"]["Statement"]:
        if "Condition" in statement:
            statement["Condition"]["StringEquals"]["aws:SourceAccount"] = "210987654321"

    assert action_problems(ALARMS[0], resources)


# --- the metrics ----------------------------------------------------------------------


def log_group_writer(log_group: str, resources: dict[str, Any]) -> tuple[str, Any] | None:
    """What of the template writes the log group: ("states", (level, execution data)) or
    ("python", component)."""
    for properties in (r["Properties"] for r in resources.values() if r["Type"] in STATE_MACHINES):
        logging = properties.get("Logging") or properties.get("LoggingConfiguration") or {}
        for destination in logging.get("Destinations", []):
            if referenced(destination["CloudWatchLogsLogGroup"]["LogGroupArn"], resources, "Arn") == log_group:
                return "states", (logging["Level"], logging.get("IncludeExecutionData", False))
    for properties in (r["Properties"] for r in resources.values() if r["Type"] in FUNCTIONS):
        if referenced(properties.get("LoggingConfig", {}).get("LogGroup"), resources) == log_group:
            return "python", "functions"
    return None


def lines_written(writer: tuple[str, Any]) -> list[Any]:
    kind, how = writer
    if kind == "states":
        level, _ = how
        return step_functions_samples(level, ERROR_NAMES)
    return python_lines(["functions", "polybot"], how)


def custom_metric_problems(
    namespace: str, metric: str, dimensions: dict[str, Any], resources: dict[str, Any]
) -> list[str]:
    filters = {
        name: r["Properties"]
        for name, r in resources.items()
        if r["Type"] == "AWS::Logs::MetricFilter"
        and any(
            (t["MetricNamespace"], t["MetricName"]) == (namespace, metric)
            for t in r["Properties"]["MetricTransformations"]
        )
    }
    if not filters:
        return [f"nothing of the template emits {namespace} {metric} (no metric filter)"]
    problems = []
    for name, properties in filters.items():
        [transformation] = [t for t in properties["MetricTransformations"] if t["MetricName"] == metric]
        if {d["Key"] for d in transformation.get("Dimensions", [])} != set(dimensions):
            problems.append(f"{name} emits {metric} with other dimensions than {sorted(dimensions)}")
        log_group = referenced(properties["LogGroupName"], resources)
        writer = log_group_writer(log_group, resources) if log_group else None
        if writer is None:
            problems.append(f"{name} reads {properties['LogGroupName']}, which nothing of the template writes")
            continue
        try:
            pattern = parse(properties["FilterPattern"])
        except OutsideSubset as outside:
            problems.append(f"{name}: {outside}")
            continue
        if not any(pattern.matches(line) for line in lines_written(writer)):
            problems.append(f"{name}'s pattern matches no line {log_group} gets")
    return problems


DIMENSION_RESOURCES = {
    "QueueName": ("QueueName", {"AWS::SQS::Queue"}),
    "StateMachineArn": (None, STATE_MACHINES),
    "FunctionName": (None, FUNCTIONS),
}
"""Each dimension we alarm on: how the template names the resource, and its types."""


def aws_metric_precondition_problems(
    namespace: str, metric: str, resource: str, resources: dict[str, Any]
) -> list[str]:
    properties = resources[resource]["Properties"]
    if (namespace, metric) == ("AWS/States", "ExecutionsTimedOut"):
        definition = json.loads((ROOT / properties["DefinitionUri"]).read_text(encoding="utf-8"))
        if "TimeoutSeconds" not in definition:
            return [f"{resource} has no TimeoutSeconds of its own: a Standard execution times out after a year"]
    if (namespace, metric) == ("AWS/Lambda", "Errors"):
        code_uri = properties.get("CodeUri", TEMPLATE["Globals"]["Function"]["CodeUri"])
        module, _, attribute = properties["Handler"].rpartition(".")
        handler = getattr(importlib.import_module(".".join([*Path(code_uri).parts, module])), attribute)
        if not isinstance(handler, refusing):
            return [f"{resource}'s handler raises for what the user did: its Errors would page for users' files"]
    return []


def metric_problems(alarm: str, resources: dict[str, Any]) -> list[str]:
    problems = []
    for namespace, metric, dimensions in metric_stats(resources[alarm]["Properties"]):
        if not namespace.startswith("AWS/"):
            problems += custom_metric_problems(namespace, metric, dimensions, resources)
            continue
        problems += aws_metric_problems(namespace, metric, set(dimensions))
        for dimension, value in dimensions.items():
            if dimension not in DIMENSION_RESOURCES:
                problems.append(f"{alarm}: no rule here for the dimension {dimension}: add it to DIMENSION_RESOURCES")
                continue
            attribute, types = DIMENSION_RESOURCES[dimension]
            resource = referenced(value, resources, attribute)
            if resource is None or resources[resource]["Type"] not in types:
                problems.append(f"{alarm}: {dimension} {value} is no {'/'.join(sorted(types))} of the template")
                continue
            problems += aws_metric_precondition_problems(namespace, metric, resource, resources)
    return problems


@pytest.mark.parametrize("alarm", ALARMS)
def test_every_metric_an_alarm_watches_is_emitted_by_something_we_deploy(alarm: str) -> None:
    assert metric_problems(alarm, RESOURCES) == []


def test_failed_executions_count_every_failure_of_ours_and_no_refusal() -> None:
    """What ExecutionsFailedOnOurSide counts, line by line, in the log the state machine writes."""
    [pattern] = [
        parse(r["Properties"]["FilterPattern"])
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Logs::MetricFilter"
        and r["Properties"]["MetricTransformations"][0]["MetricName"] == "ExecutionsFailedOnOurSide"
    ]
    failed = [line for line in step_functions_samples("ERROR", ERROR_NAMES) if line["type"] == "ExecutionFailed"]

    counted = {line["details"]["error"] for line in failed if pattern.matches(line)}
    assert counted == set(ERROR_NAMES) - errors.USER_CAUSED_ERRORS
    others = [line for line in step_functions_samples("ERROR", ERROR_NAMES) if line["type"] != "ExecutionFailed"]
    assert not any(pattern.matches(line) for line in others)


def test_a_filter_on_events_the_state_machine_does_not_log_is_a_metric_nothing_emits() -> None:
    resources = copy.deepcopy(RESOURCES)
    resources["ImagePipeline"]["Properties"]["Logging"]["Level"] = "FATAL"  # no TaskTimedOut

    assert any("matches no line" in p for p in metric_problems("TasksTimedOutAlarm", resources))


def test_a_filter_on_a_field_no_line_has_is_a_metric_nothing_emits() -> None:
    resources = copy.deepcopy(RESOURCES)
    resources["TaskTimedOutMetricFilter"]["Properties"]["FilterPattern"] = '{ $.eventType = "TaskTimedOut" }'

    assert any("matches no line" in p for p in metric_problems("TasksTimedOutAlarm", resources))


def test_a_timed_out_alarm_on_a_state_machine_without_its_own_timeout_can_never_fire(tmp_path: Path) -> None:
    resources = copy.deepcopy(RESOURCES)
    definition = json.loads((ROOT / resources["ImagePipeline"]["Properties"]["DefinitionUri"]).read_text())
    del definition["TimeoutSeconds"]
    (tmp_path / "no_timeout.asl.json").write_text(json.dumps(definition))
    resources["ImagePipeline"]["Properties"]["DefinitionUri"] = str(tmp_path / "no_timeout.asl.json")

    assert any("TimeoutSeconds" in p for p in metric_problems("ExecutionsTimedOutAlarm", resources))


def test_an_error_alarm_on_a_function_that_raises_for_the_users_file_pages_for_users(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = importlib.import_module("functions.stage_image")
    monkeypatch.setattr(module, "handler", module.handler.handler)

    assert any("raises for what the user did" in p for p in metric_problems("FunctionErrorsAlarm", RESOURCES))


def test_an_alarm_on_a_dimension_aws_does_not_emit_the_metric_with_can_never_fire() -> None:
    resources = copy.deepcopy(RESOURCES)
    resources["DeadLetterQueueNotEmptyAlarm"]["Properties"]["Dimensions"][0]["Name"] = "QueueUrl"

    assert metric_problems("DeadLetterQueueNotEmptyAlarm", resources)


# --- the pattern matcher the checks rely on (tests/auxil/metric_filters.py) ------------------

EVENT = {"eventType": "UpdateTrail", "sourceIPAddress": "123.123.1.4", "latency": 1200, "error": {"code": "X"}}


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        # Examples of CloudWatch's filter pattern syntax (FilterAndPatternSyntax.html).
        ('{ $.eventType = "UpdateTrail" }', True),
        ("{ $.sourceIPAddress != 123.123.* }", False),
        ('{ ($.eventType = "DeleteTrail") || ($.latency > 1000) }', True),
        ('{ $.eventType = "Update*" && $.error.code = "X" }', True),
        ("{ $.latency <= 1000 }", False),
        ('{ $.missing != "X" }', False),  # a comparison on an absent property does not match
        ('"UpdateTrail" 123.123', True),
        ("UpdateTrail DeleteTrail", False),
        ("", True),
    ],
)
def test_the_matcher_reads_the_subset_as_cloudwatch_does(pattern: str, matches: bool) -> None:
    assert parse(pattern).matches(EVENT) is matches


@pytest.mark.parametrize(
    "pattern",
    [
        "{ $.a = 1 && $.b = 2 || $.c = 3 }",
        "{ $.a IS TRUE }",
        "{ $.a NOT EXISTS }",
        "{ $.list[0] = 1 }",
        "?ERROR ?WARN",
        "ERROR -DEBUG",
        "[ip, user, status=4*]",
        "%regex%",
        '{ $.a > "text" }',
    ],
)
def test_the_matcher_refuses_what_it_does_not_evaluate(pattern: str) -> None:
    with pytest.raises(OutsideSubset):
        parse(pattern)


OPERATIONS = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("alarm", ALARMS)
def test_the_operators_page_says_what_every_alarm_means_and_what_to_do(alarm: str) -> None:
    """docs/operations.md: an alarm nobody can act on pages for nothing."""
    assert f"**{alarm}**" in OPERATIONS
