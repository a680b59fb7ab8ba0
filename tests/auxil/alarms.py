"""What makes an alarm able to fire, as both alarm tests check it
(tests/unit/test_template_alarms_can_fire.py for template.yaml, tests/infrastructure/
test_terraform_alarms_can_fire.py for terraform/): the metrics each AWS service emits,
with which dimensions, and whether a KMS key policy lets CloudWatch alarms
publish to a topic the key encrypts.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
STACK_NAME = "polybot-prod"


def _sets(*names: tuple[str, ...]) -> frozenset[frozenset[str]]:
    return frozenset(frozenset(n) for n in names)


_SQS = _sets(("QueueName",))
"""docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html"""
_STATES = _sets(("StateMachineArn",))
"""docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html (execution metrics)"""
_LAMBDA = _sets((), ("FunctionName",), ("FunctionName", "Resource"), ("FunctionName", "ExecutedVersion"))
"""docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html"""
_ALB_BALANCER = _sets(("LoadBalancer",), ("LoadBalancer", "AvailabilityZone"))
_ALB_TARGETS = _sets(("LoadBalancer", "TargetGroup"), ("LoadBalancer", "TargetGroup", "AvailabilityZone"))
"""docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html"""
_EC2 = _sets((), ("InstanceId",), ("AutoScalingGroupName",), ("ImageId",), ("InstanceType",))
"""docs.aws.amazon.com/AWSEC2/latest/UserGuide/viewing_metrics_with_cloudwatch.html"""
_AUTO_SCALING = _sets(("AutoScalingGroupName",))
"""docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-metrics.html (group metrics)"""

AWS_METRICS: dict[tuple[str, str], frozenset[frozenset[str]]] = {
    **{
        ("AWS/SQS", name): _SQS
        for name in (
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
            "ApproximateAgeOfOldestMessage",
            "NumberOfMessagesSent",
            "NumberOfMessagesReceived",
            "NumberOfMessagesDeleted",
            "NumberOfEmptyReceives",
        )
    },
    **{
        ("AWS/States", name): _STATES
        for name in (
            "ExecutionsStarted",
            "ExecutionsSucceeded",
            "ExecutionsFailed",
            "ExecutionsAborted",
            "ExecutionsTimedOut",
            "ExecutionThrottled",
            "ExecutionTime",
        )
    },
    **{
        ("AWS/Lambda", name): _LAMBDA
        for name in ("Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions")
    },
    **{("AWS/ApplicationELB", name): _ALB_BALANCER for name in ("HTTPCode_ELB_5XX_Count", "HTTPCode_ELB_4XX_Count")},
    **{
        ("AWS/ApplicationELB", name): _ALB_BALANCER | _ALB_TARGETS
        for name in ("HTTPCode_Target_5XX_Count", "HTTPCode_Target_4XX_Count", "RequestCount", "TargetResponseTime")
    },
    **{("AWS/ApplicationELB", name): _ALB_TARGETS for name in ("UnHealthyHostCount", "HealthyHostCount")},
    **{("AWS/EC2", name): _EC2 for name in ("CPUUtilization", "StatusCheckFailed", "NetworkIn", "NetworkOut")},
    **{
        ("AWS/AutoScaling", name): _AUTO_SCALING
        for name in (
            "GroupMinSize",
            "GroupMaxSize",
            "GroupDesiredCapacity",
            "GroupInServiceInstances",
            "GroupPendingInstances",
            "GroupStandbyInstances",
            "GroupTerminatingInstances",
            "GroupTotalInstances",
        )
    },
}
"""What each AWS service publishes, with the dimension sets it publishes them under.
Auto Scaling publishes group metrics only for a group that enables them, and
EC2 per-minute data only for instances with detailed monitoring: the tests
check those preconditions where the group is declared."""

BASIC_MONITORING_PERIOD_S = 300
"""EC2 without detailed monitoring publishes a data point every 5 minutes."""


def aws_metric_problems(namespace: str, metric: str, dimensions: set[str]) -> list[str]:
    """Why no AWS service emits this metric with these dimension names (none: it does)."""
    if (namespace, metric) not in AWS_METRICS:
        return [
            f"{namespace} {metric} is not in the table of what AWS emits (tests/auxil/alarms.py): "
            "add it, from AWS's docs"
        ]
    known = AWS_METRICS[(namespace, metric)]
    if frozenset(dimensions) not in known:
        shown = " or ".join(sorted(str(sorted(d)) for d in known))
        return [f"{namespace} {metric} is emitted with dimensions {shown}, not {sorted(dimensions)}"]
    return []


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _action_allowed(patterns: list[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


PUBLISH_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
"""What CloudWatch calls on the topic's key to publish (the docs grant kms:GenerateDataKey*)."""


def key_policy_problems(policy: Mapping[str, Any], alarm_arns: list[str]) -> list[str]:
    """Why CloudWatch, publishing for these alarms, may not use a key with this
    policy (resolved: no intrinsic functions left). The conditions AWS documents
    for the service principal are evaluated: aws:SourceAccount, aws:SourceArn."""
    problems = []
    statements = as_list(policy.get("Statement", []))
    for alarm_arn in alarm_arns:
        context = {"aws:SourceAccount": ACCOUNT_ID, "aws:SourceArn": alarm_arn}
        for action in PUBLISH_ACTIONS:
            applies = [s for s in statements if _names_cloudwatch(s) and _action_allowed(as_list(s["Action"]), action)]
            allowed = any(s["Effect"] == "Allow" and _conditions_hold(s.get("Condition", {}), context) for s in applies)
            denied = any(s["Effect"] == "Deny" and _conditions_hold(s.get("Condition", {}), context) for s in applies)
            if not allowed or denied:
                problems.append(f"the key policy does not let cloudwatch.amazonaws.com {action} for {alarm_arn}")
    return problems


def _names_cloudwatch(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal", {})
    if principal == "*":
        return True
    return "cloudwatch.amazonaws.com" in as_list(principal.get("Service", [])) if isinstance(principal, dict) else False


def _conditions_hold(conditions: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    operators = {
        "StringEquals": lambda actual, wanted: actual == wanted,
        "StringLike": fnmatch.fnmatchcase,
        "ArnEquals": lambda actual, wanted: actual == wanted,
        "ArnLike": fnmatch.fnmatchcase,
    }
    for operator, keys in conditions.items():
        if operator not in operators:
            raise AssertionError(f"the key policy's condition {operator} is not evaluated here: add it")
        for key, wanted in keys.items():
            if key not in context:
                raise AssertionError(f"CloudWatch's requests carry no {key}: the condition would never hold")
            if not any(operators[operator](context[key], value) for value in as_list(wanted)):
                return False
    return True


def alarm_arn(name: str) -> str:
    return f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{name}"


# --- template.yaml's topics ----------------------------------------------------------


def resolve(value: Any) -> Any:
    """A value with the pseudo parameters of a deployment filled in; a reference to
    a resource becomes `<LogicalId>` (`<LogicalId.Attribute>`)."""
    pseudo = {"AWS::AccountId": ACCOUNT_ID, "AWS::Region": REGION, "AWS::Partition": PARTITION}
    pseudo["AWS::StackName"] = STACK_NAME
    if isinstance(value, list):
        return [resolve(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return pseudo.get(value["Ref"], f"<{value['Ref']}>")
    if "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        return re.sub(r"\$\{([^}]+)\}", lambda m: pseudo.get(m.group(1), f"<{m.group(1)}>"), text)
    return {k: resolve(v) for k, v in value.items()}


def referenced(value: Any, resources: Mapping[str, Any], attribute: str | None = None) -> str | None:
    """The logical id a `!Ref` (attribute None) or `!GetAtt X.attribute` names, if it is a resource."""
    if not isinstance(value, dict):
        return None
    if attribute is None and "Ref" in value and value["Ref"] in resources:
        return str(value["Ref"])
    if attribute is not None and value.get("Fn::GetAtt", [None, None])[1] == attribute:
        return str(value["Fn::GetAtt"][0]) if value["Fn::GetAtt"][0] in resources else None
    return None


def topic_problems(topic_id: str, alarm_arn: str, resources: Mapping[str, Any]) -> list[str]:
    """Why CloudWatch could not publish the notifications of the alarm `alarm_arn`
    to this topic of template.yaml (its resources: `resources`)."""
    topic = resources[topic_id]["Properties"]
    key = topic.get("KmsMasterKeyId")
    if key is None:
        reason = resources[topic_id].get("Metadata", {}).get("SseOffReason")
        return [] if reason else [f"{topic_id} is unencrypted without a stated reason (Metadata.SseOffReason)"]
    key_id = referenced(key, resources) or referenced(key, resources, "Arn")
    if key_id is not None and resources[key_id]["Type"] == "AWS::KMS::Alias":
        key_id = referenced(resources[key_id]["Properties"]["TargetKeyId"], resources) or referenced(
            resources[key_id]["Properties"]["TargetKeyId"], resources, "Arn"
        )
    if key_id is None or resources[key_id]["Type"] != "AWS::KMS::Key":
        managed = " (an AWS-managed key, whose policy cannot let CloudWatch in)" if "alias/aws/" in str(key) else ""
        return [f"{topic_id} is encrypted with {key}, not a key of this template{managed}"]
    properties = resources[key_id]["Properties"]
    if properties.get("Enabled") is False or properties.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        return [f"{key_id} is disabled or not a symmetric key (SNS takes only symmetric keys)"]
    problems = key_policy_problems(resolve(properties["KeyPolicy"]), [alarm_arn])
    return [f"{key_id}: {p}" for p in problems]
