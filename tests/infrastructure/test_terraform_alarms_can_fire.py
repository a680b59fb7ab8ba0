"""Every alarm of terraform/ can fire and be heard: the Terraform half of
tests/unit/test_template_alarms_can_fire.py, for whatever aws_cloudwatch_metric_alarm
any module declares, now or later.

Read from the root configuration applied to the embedded AWS (conftest.py's
`root_applied`): a plan knows neither the alarms' dimensions (load balancer and
target group ARN suffixes, group names) nor the scaling policies' ARNs; the
state after apply has every value as Terraform sent it.

- Each action is the SAM stack's alarm topic (its AlarmTopicArn output, which
  `local.alarms` passes to the modules; the template half proves CloudWatch may
  publish to it, and here that its key lets in these alarms, by name), or a
  scaling policy of the alarm's module; and the alarm acts when it fires.
- An AWS metric is one the service emits with those dimensions
  (tests/auxil/alarms.py), the dimensions name resources we deploy, and the
  preconditions hold: an auto-scaling group's metrics need the group to enable
  them, EC2 data points more often than every 5 minutes need detailed monitoring
  in the group's launch template.
- A metric of our own namespace comes from an aws_cloudwatch_log_metric_filter,
  on a log group that something writes (a policy may put log events there),
  whose pattern matches a line that writer logs (tests/auxil/log_lines.py reads
  our code's logging calls).
"""

from __future__ import annotations

import copy
import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template
from tests.auxil.alarms import (
    BASIC_MONITORING_PERIOD_S,
    alarm_arn,
    as_list,
    aws_metric_problems,
    referenced,
    topic_problems,
)
from tests.auxil.log_lines import python_lines
from tests.auxil.metric_filters import OutsideSubset, parse
from tests.auxil.terraform import TerraformAws, walk_modules
from tests.infrastructure.conftest import APPLY_ENVIRONMENT, Applied

pytestmark = [pytest.mark.aws, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
ACTIONS = ("alarm_actions", "ok_actions", "insufficient_data_actions")

WRITERS = {
    "module.bot.aws_cloudwatch_log_group.bot": ("bot", ("bot", "polybot")),
    "module.yolo.aws_cloudwatch_log_group.yolo": ("inference", ("inference", "polybot")),
}
"""Who writes each log group, as (component, source folders): the bot's and the
worker's containers send their processes' JSON lines there (awslogs driver). A
log group that gets other lines (cloud-init's output, say) needs its writer
here before a metric filter on it can be checked."""

DIMENSIONS = {
    "LoadBalancer": ("aws_lb", "arn_suffix"),
    "TargetGroup": ("aws_lb_target_group", "arn_suffix"),
    "AutoScalingGroupName": ("aws_autoscaling_group", "name"),
    "InstanceId": ("aws_instance", "id"),
}
"""For each dimension an alarm may name: the resource type and attribute whose value it must be."""


# --- reading the state ---------------------------------------------------------------


def resources(state: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        r
        for r in walk_modules(state["values"]["root_module"])
        if r["type"] == kind and r.get("mode", "managed") == "managed"
    ]


def module_of(address: str) -> str:
    """The module prefix of an address: "module.yolo." for "module.yolo.aws_x.y[0]" (nested too)."""
    parts = address.split(".")
    prefix = []
    while len(parts) > 2 and parts[0] == "module":
        prefix += parts[:2]
        parts = parts[2:]
    return "".join(f"{part}." for part in prefix)


def policy_documents(state: dict[str, Any]) -> list[dict[str, Any]]:
    documents = []
    for r in walk_modules(state["values"]["root_module"]):
        for attribute in ("policy", "json"):
            value = r.get("values", {}).get(attribute)
            if isinstance(value, str) and value.startswith("{") and '"Statement"' in value:
                documents.append(json.loads(value))
    return documents


def alarms(state: dict[str, Any]) -> list[dict[str, Any]]:
    return resources(state, "aws_cloudwatch_metric_alarm")


# --- the actions ---------------------------------------------------------------------


def action_problems(state: dict[str, Any], alarm: dict[str, Any], sam_outputs: dict[str, str]) -> list[str]:
    address, values = alarm["address"], alarm["values"]
    topic = sam_outputs.get("AlarmTopicArn")
    policies = {
        p["values"]["arn"]
        for p in resources(state, "aws_autoscaling_policy")
        if module_of(p["address"]) == module_of(address)
    }
    problems = [] if values.get("alarm_actions") else [f"{address} notifies nobody and scales nothing when it fires"]
    for field in ACTIONS:
        for action in values.get(field) or []:
            if action != topic and action not in policies:
                problems.append(
                    f"{address} {field}: {action} is neither the SAM stack's alarm topic nor a scaling policy"
                )
    return problems


def test_the_sam_stack_outputs_the_topic_the_template_half_checks(terraform_aws: TerraformAws) -> None:
    assert TEMPLATE["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert terraform_aws.sam_outputs["AlarmTopicArn"].startswith("arn:aws:sns:")


def test_every_alarm_notifies_the_alarm_topic_or_scales_its_group(
    root_applied: Applied, terraform_aws: TerraformAws
) -> None:
    state = root_applied.state
    problems = [p for a in alarms(state) for p in action_problems(state, a, terraform_aws.sam_outputs)]

    assert alarms(state), "nothing applied declares an alarm: is this the root configuration?"
    assert problems == []


def test_an_alarm_without_the_topic_is_one_nobody_hears(root_applied: Applied, terraform_aws: TerraformAws) -> None:
    state = copy.deepcopy(root_applied.state)
    [alarm, *_] = [a for a in alarms(state) if a["values"].get("ok_actions")]
    alarm["values"]["alarm_actions"] = []

    assert action_problems(state, alarm, terraform_aws.sam_outputs) == [
        f"{alarm['address']} notifies nobody and scales nothing when it fires"
    ]


def test_the_alarm_topics_key_lets_every_terraform_alarm_publish(
    root_applied: Applied, terraform_aws: TerraformAws
) -> None:
    """The key policy's aws:SourceArn condition covers these alarms' names too."""
    topic = referenced(TEMPLATE["Outputs"]["AlarmTopicArn"]["Value"], TEMPLATE["Resources"])
    notifying = [
        a["values"]["alarm_name"]
        for a in alarms(root_applied.state)
        if terraform_aws.sam_outputs["AlarmTopicArn"] in a["values"].get("alarm_actions", [])
    ]
    assert topic is not None and notifying

    for name in notifying:
        assert topic_problems(topic, alarm_arn(name), TEMPLATE["Resources"]) == [], name


# --- the metrics ---------------------------------------------------------------------

Metric = tuple[str, str, dict[str, str], int]
"""(namespace, metric name, dimensions, period)"""


def metrics_of(values: dict[str, Any]) -> list[Metric]:
    if values.get("metric_name"):
        return [(values["namespace"], values["metric_name"], values.get("dimensions") or {}, values["period"])]
    return [
        (m["namespace"], m["metric_name"], m.get("dimensions") or {}, m["period"])
        for query in values.get("metric_query") or []
        for m in query.get("metric") or []
    ]


def dimension_problems(state: dict[str, Any], alarm: str, metric: Metric) -> list[str]:
    namespace, name, dimensions, period = metric
    problems = []
    for dimension, value in dimensions.items():
        if dimension not in DIMENSIONS:
            problems.append(f"{alarm}: no rule here for the dimension {dimension}: add it to DIMENSIONS")
            continue
        kind, attribute = DIMENSIONS[dimension]
        named = [r for r in resources(state, kind) if r["values"].get(attribute) == value]
        if not named:
            problems.append(f"{alarm}: {dimension} {value} is no {kind} we deploy")
            continue
        if kind == "aws_autoscaling_group":
            problems += group_precondition_problems(state, alarm, named[0], namespace, name, period)
    return problems


def group_precondition_problems(
    state: dict[str, Any], alarm: str, group: dict[str, Any], namespace: str, name: str, period: int
) -> list[str]:
    if namespace == "AWS/AutoScaling" and name not in (group["values"].get("enabled_metrics") or []):
        return [f"{alarm}: {group['address']} does not enable {name}: nothing emits it"]
    if namespace == "AWS/EC2" and period < BASIC_MONITORING_PERIOD_S:
        launch = {t["id"] for t in group["values"].get("launch_template") or []}
        templates = [t for t in resources(state, "aws_launch_template") if t["values"]["id"] in launch]
        if not any(m.get("enabled") for t in templates for m in t["values"].get("monitoring") or []):
            return [f"{alarm}: a {period} s period needs detailed monitoring in {group['address']}'s launch template"]
    return []


def log_group_written(state: dict[str, Any], log_group_name: str) -> bool:
    """Whether a policy lets something put log events into the log group."""
    for document in policy_documents(state):
        for statement in as_list(document.get("Statement", [])):
            actions = as_list(statement.get("Action", []))
            if statement.get("Effect", "Allow") != "Allow" or not any(
                fnmatch.fnmatchcase("logs:PutLogEvents", a) for a in actions
            ):
                continue
            for resource in as_list(statement.get("Resource", [])):
                if resource == "*" or f":log-group:{log_group_name}:" in f"{resource}:":
                    return True
    return False


def custom_metric_problems(state: dict[str, Any], alarm: str, metric: Metric) -> list[str]:
    namespace, name, dimensions, _ = metric
    filters = [
        f
        for f in resources(state, "aws_cloudwatch_log_metric_filter")
        if any((t["namespace"], t["name"]) == (namespace, name) for t in f["values"].get("metric_transformation") or [])
    ]
    if not filters:
        return [f"{alarm}: nothing we deploy emits {namespace} {name} (no metric filter)"]
    groups = {g["values"]["name"]: g["address"] for g in resources(state, "aws_cloudwatch_log_group")}
    problems = []
    for metric_filter in filters:
        address, values = metric_filter["address"], metric_filter["values"]
        [transformation] = [t for t in values["metric_transformation"] if t["name"] == name]
        if set(transformation.get("dimensions") or {}) != set(dimensions):
            problems.append(f"{address} emits {name} with other dimensions than {sorted(dimensions)}")
        group = groups.get(values["log_group_name"])
        if group is None:
            problems.append(f"{address} reads {values['log_group_name']}, no log group we deploy")
            continue
        if not log_group_written(state, values["log_group_name"]):
            problems.append(f"{address} reads {values['log_group_name']}, which nothing may write")
        if group not in WRITERS:
            problems.append(f"{address} reads {group}: say in WRITERS (this file) what writes it")
            continue
        try:
            pattern = parse(values["pattern"])
        except OutsideSubset as outside:
            problems.append(f"{address}: {outside}")
            continue
        component, folders = WRITERS[group]
        if not any(pattern.matches(line) for line in python_lines(folders, component)):
            problems.append(f"{address}'s pattern {values['pattern']!r} matches no line {component} logs")
    return problems


def metric_problems(state: dict[str, Any], alarm: dict[str, Any]) -> list[str]:
    problems = []
    for metric in metrics_of(alarm["values"]):
        namespace, name, dimensions, _ = metric
        if namespace.startswith("AWS/"):
            problems += aws_metric_problems(namespace, name, set(dimensions))
            problems += dimension_problems(state, alarm["address"], metric)
        else:
            problems += custom_metric_problems(state, alarm["address"], metric)
    return problems


def test_every_metric_an_alarm_watches_is_emitted_by_something_we_deploy(root_applied: Applied) -> None:
    state = root_applied.state

    assert [p for a in alarms(state) for p in metric_problems(state, a)] == []


def test_an_alarm_on_a_group_metric_the_group_does_not_enable_can_never_fire(root_applied: Applied) -> None:
    state = copy.deepcopy(root_applied.state)
    for group in resources(state, "aws_autoscaling_group"):
        group["values"]["enabled_metrics"] = []

    problems = [p for a in alarms(state) for p in metric_problems(state, a)]
    assert any("does not enable GroupInServiceInstances" in p for p in problems)


def test_a_per_minute_cpu_alarm_on_workers_without_detailed_monitoring_can_never_fire(root_applied: Applied) -> None:
    state = copy.deepcopy(root_applied.state)
    for template in resources(state, "aws_launch_template"):
        template["values"]["monitoring"] = [{"enabled": False}]

    problems = [p for a in alarms(state) for p in metric_problems(state, a)]
    assert any("needs detailed monitoring" in p for p in problems)


def test_an_alarm_on_a_load_balancer_we_do_not_deploy_can_never_fire(root_applied: Applied) -> None:
    state = copy.deepcopy(root_applied.state)
    [alarm, *_] = [a for a in alarms(state) if "LoadBalancer" in (a["values"].get("dimensions") or {})]
    alarm["values"]["dimensions"]["LoadBalancer"] = "app/someone-elses/0123456789abcdef"

    assert any("is no aws_lb we deploy" in p for p in metric_problems(state, alarm))


@pytest.mark.parametrize(
    ("pattern", "counts"),
    [
        ('{ $.level = "ERROR" && $.component = "bot" }', True),
        ('{ $.message = "refused, the user*" }', False),  # a line of the functions, not of the bot
        ('{ $.msg = "anything" }', False),  # no such field in our lines
        ('{ $.level = "FATAL" }', False),  # no such level in Python's logging
    ],
)
def test_a_metric_filter_counts_only_if_its_pattern_matches_a_line_the_bot_logs(
    root_applied: Applied, pattern: str, counts: bool
) -> None:
    """What the bot's own metric filters meet, here on one made up for the test."""
    state = copy.deepcopy(root_applied.state)
    [bot_group] = [g for g in resources(state, "aws_cloudwatch_log_group") if g["address"].startswith("module.bot.")]
    made_up = {
        "address": "module.bot.aws_cloudwatch_log_metric_filter.made_up",
        "type": "aws_cloudwatch_log_metric_filter",
        "values": {
            "log_group_name": bot_group["values"]["name"],
            "pattern": pattern,
            "metric_transformation": [{"namespace": "Polybot", "name": "MadeUp", "dimensions": {}}],
        },
    }
    state["values"]["root_module"].setdefault("resources", []).append(made_up)
    alarm = {
        "address": "module.bot.aws_cloudwatch_metric_alarm.made_up",
        "values": {"namespace": "Polybot", "metric_name": "MadeUp", "dimensions": {}, "period": 60},
    }

    assert (metric_problems(state, alarm) == []) is counts


def test_the_operators_page_says_what_every_alarm_means_and_what_to_do(root_applied: Applied) -> None:
    """docs/operations.md names each alarm of this half by its name after the environment's prefix."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    names = [alarm["values"]["alarm_name"] for alarm in alarms(root_applied.state)]
    prefix = f"polybot-{APPLY_ENVIRONMENT}-"
    assert names and all(name.startswith(prefix) for name in names)
    assert [name for name in names if f"**{name.removeprefix(prefix)}**" not in page] == []
