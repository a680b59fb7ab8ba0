"""Every record has an end, and one setting says when (issue 17): the images
bucket's lifecycle and the `expires_at` of every results-table item come from
template.yaml's `RetentionDays`, passed to the functions and, through the stack's
output and Terraform, to the bot instances as POLYBOT_RETENTION_DAYS; and every
write the workflow itself makes to the table carries an `expires_at`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from local.stack import load_template
from polybot.settings import ENV_VARS, Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
RETENTION = {"Ref": "RetentionDays"}


def table_writes(states: dict[str, Any]) -> dict[str, Any]:
    """Every Task state (Map and Parallel states' included) that writes an item of the table."""
    found: dict[str, Any] = {}
    for name, state in states.items():
        if state["Type"] == "Map":
            found |= table_writes((state.get("ItemProcessor") or state["Iterator"])["States"])
        elif state["Type"] == "Parallel":
            for branch in state["Branches"]:
                found |= table_writes(branch["States"])
        elif state["Type"] == "Task" and re.search(
            r":dynamodb:(putItem|updateItem|transactWriteItems)", state["Resource"], re.I
        ):
            found[name] = state
    return found


def test_one_retention_parameter_drives_the_bucket_lifecycle_and_the_items_end() -> None:
    parameters = TEMPLATE["Parameters"]
    assert "RetentionDays" in parameters
    assert not [p for p in parameters if "Retention" in p and p not in ("RetentionDays", "LogRetentionDays")]
    rules = RESOURCES["ImagesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = [rule for rule in rules if "ExpirationInDays" in rule]
    assert expiring and all(rule["ExpirationInDays"] == RETENTION for rule in expiring)
    assert all("Prefix" not in rule and "Filter" not in rule for rule in expiring), "every object, not some"
    ttl = RESOURCES["ResultsTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables[ENV_VARS["retention_days"]] == RETENTION
    for name, function in RESOURCES.items():
        if function["Type"] == "AWS::Serverless::Function":
            own = function["Properties"].get("Environment", {}).get("Variables", {})
            assert ENV_VARS["retention_days"] not in own, f"{name} overrides the retention"
    assert TEMPLATE["Outputs"]["RetentionDays"]["Value"] == RETENTION
    assert int(parameters["RetentionDays"]["Default"]) == Settings().retention_days


def test_the_bot_instances_get_the_stacks_retention_through_terraform() -> None:
    root = (ROOT / "terraform" / "main.tf").read_text(encoding="utf-8")
    assert re.search(r'retention_days\s*=\s*tonumber\(lookup\(local\.sam, "RetentionDays"', root)
    module = (ROOT / "terraform" / "modules" / "bot" / "main.tf").read_text(encoding="utf-8")
    assert re.search(r"retention_days\s*=\s*var\.retention_days", module)
    user_data = (ROOT / "terraform" / "modules" / "bot" / "templates" / "bot_user_data.sh.tftpl").read_text("utf-8")
    assert f"{ENV_VARS['retention_days']}=${{retention_days}}" in user_data


def test_every_item_the_workflow_writes_carries_the_requests_end() -> None:
    asl = json.loads((ROOT / RESOURCES["ImagePipeline"]["Properties"]["DefinitionUri"]).read_text("utf-8"))
    writes = table_writes(asl["States"])
    assert len(writes) >= 4, sorted(writes)
    for name, state in writes.items():
        parameters = state["Parameters"]
        if "Item" in parameters:
            end = parameters["Item"].get("expires_at")
        else:
            assert re.search(r"\bexpires_at\s*=\s*:expires_at\b", parameters["UpdateExpression"]), name
            end = parameters["ExpressionAttributeValues"].get(":expires_at")
        assert end == {"N.$": "States.JsonToString($.request.expires_at)"}, name
