"""The deploy roles can deploy: for every resource type Polybot deploys, the
role that creates it is granted every action the type's create, read, update
and delete handlers call, as the CloudFormation registry schemas (shipped by
cfn-lint, `cfnlint/data/schemas`) list them.

- The CloudFormation role (terraform/bootstrap/policies.tf, the `cloudformation`
  policies) creates every type of template.yaml as the SAM translator emits it.
- The GitHub deploy role (the `deploy` policies) creates every type the root
  Terraform configuration declares, child modules and data sources included;
  deploy_permissions.yaml maps each Terraform type to the CloudFormation types
  whose handlers stand for it, and a type missing from that table fails.

Handler actions that do not apply to Polybot's resources (a VPC for functions
that run in none, a KMS key for a table on the AWS managed key, ...) are listed
in deploy_permissions.yaml with their reasons; an entry no longer needed
fails too. Grants are compared action by action (wildcards expanded,
conditions aside, an unconditional Deny on "*" taking an action away);
whether each names the right resources is test_iam_policies.py's and
test_terraform_bootstrap.py's concern.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.auxil import iam
from tests.auxil.template import translate
from tests.auxil.terraform import policy_documents

pytestmark = pytest.mark.aws

TABLE = Path(__file__).with_name("deploy_permissions.yaml")
HANDLERS = ("create", "read", "update", "delete")
SCHEMAS = files("cfnlint") / "data" / "schemas"
ROLE_POLICIES = {"cloudformation": "aws_iam_policy.cloudformation[", "deploy": "aws_iam_policy.deploy["}


@functools.cache
def table() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _providers() -> dict[str, str]:
    providers: dict[str, str] = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text(encoding="utf-8"))
    return providers


def handler_actions(cloudformation_type: str, handlers: tuple[str, ...] = HANDLERS) -> set[str]:
    """The IAM actions the type's handlers list (some are patterns: "ec2:Describe*")."""
    schema = json.loads((SCHEMAS / "resources" / f"{_providers()[cloudformation_type]}.json").read_text("utf-8"))
    listed = schema.get("handlers", {})
    return {action for handler in handlers for action in listed.get(handler, {}).get("permissions", [])}


def role_documents(bootstrap_plan: dict[str, Any], role: str) -> list[dict[str, Any]]:
    documents = [
        json.loads(document)
        for address, document in policy_documents(bootstrap_plan).items()
        if address.startswith(ROLE_POLICIES[role]) and address.endswith(".policy")
    ]
    assert documents, f"no policies of the {role} role in the plan"
    return documents


def granted(documents: list[dict[str, Any]], action: str) -> bool:
    allowed = any(iam.covers(s, action) for d in documents for s in iam.statements(d))
    denied = any(
        s.get("Effect") == "Deny"
        and not s.get("Condition")
        and "*" in iam.as_list(s.get("Resource", []))
        and iam.covers(s, action)
        for d in documents
        for s in iam.all_statements(d)
    )
    return allowed and not denied


def _configured(module: dict[str, Any]) -> Iterator[str]:
    for resource in module.get("resources", []):
        yield resource["type"] if resource["mode"] == "managed" else f"data.{resource['type']}"
    for call in module.get("module_calls", {}).values():
        yield from _configured(call["module"])


def terraform_types(root_plan: dict[str, Any]) -> set[str]:
    """Every resource and data source type the root configuration declares (count 0 too)."""
    return set(_configured(root_plan["configuration"]["root_module"]))


def needed(role: str, types: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    """Handler actions by CloudFormation type, for the types (and handlers) a role deploys,
    and for the types its not_needed list names (so that each entry can be held to a need)."""
    listed = {t: HANDLERS for t in table()["not_needed"][role]}
    return {t: handler_actions(t, handlers) for t, handlers in (listed | types).items()}


def missing(role: str, documents: list[dict[str, Any]], types: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """Handler actions the role is not granted and not_needed does not explain, by type."""
    exceptions = table()["not_needed"][role]
    gaps = {}
    for cloudformation_type, actions in needed(role, types).items():
        patterns = [p for entry in exceptions.get(cloudformation_type, []) for p in entry["actions"]]
        gap = sorted(a for a in actions if not granted(documents, a) and not iam.matches(a, patterns))
        if gap:
            gaps[cloudformation_type] = gap
    return gaps


def template_types() -> dict[str, tuple[str, ...]]:
    return {resource["Type"]: HANDLERS for resource in translate()["Resources"].values()}


def root_types(root_plan: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    types: dict[str, tuple[str, ...]] = {}
    for terraform_type in terraform_types(root_plan):
        row = table()["terraform_types"][terraform_type]
        for cloudformation_type in row.get("cloudformation", []):
            handlers = tuple(row.get("handlers", HANDLERS))
            types[cloudformation_type] = tuple(sorted(set(types.get(cloudformation_type, ())) | set(handlers)))
    return types


def test_every_terraform_type_of_the_root_configuration_is_mapped(root_plan: dict[str, Any]) -> None:
    declared = terraform_types(root_plan)

    assert "aws_autoscaling_group" in declared and "data.aws_cloudformation_stack" in declared
    assert sorted(declared - set(table()["terraform_types"])) == []


def test_every_mapped_type_has_handlers_to_check() -> None:
    for row in table()["terraform_types"].values():
        for cloudformation_type in row.get("cloudformation", []):
            assert handler_actions(cloudformation_type, tuple(row.get("handlers", HANDLERS))), cloudformation_type


def test_the_cloudformation_role_can_deploy_every_type_of_the_template(bootstrap_plan: dict[str, Any]) -> None:
    types = template_types()

    assert "AWS::Lambda::Function" in types and "AWS::StepFunctions::StateMachine" in types
    assert missing("cloudformation", role_documents(bootstrap_plan, "cloudformation"), types) == {}


def test_the_deploy_role_can_apply_every_type_of_the_root_configuration(
    root_plan: dict[str, Any], bootstrap_plan: dict[str, Any]
) -> None:
    documents = role_documents(bootstrap_plan, "deploy")
    direct = {
        t: [a for a in table()["terraform_types"][t].get("actions", []) if not granted(documents, a)]
        for t in terraform_types(root_plan)
    }

    assert missing("deploy", documents, root_types(root_plan)) == {}
    assert {t: actions for t, actions in direct.items() if actions} == {}


@pytest.mark.parametrize("role", sorted(ROLE_POLICIES))
def test_every_listed_exception_is_still_needed(
    role: str, root_plan: dict[str, Any], bootstrap_plan: dict[str, Any]
) -> None:
    documents = role_documents(bootstrap_plan, role)
    types = template_types() if role == "cloudformation" else root_types(root_plan)
    actions = needed(role, types)
    unused = [
        f"{cloudformation_type}: {pattern}"
        for cloudformation_type, entries in table()["not_needed"][role].items()
        for entry in entries
        for pattern in entry["actions"]
        if not any(iam.matches(a, [pattern]) and not granted(documents, a) for a in actions[cloudformation_type])
    ]
    reasons = [entry.get("reason", "").strip() for entries in table()["not_needed"][role].values() for entry in entries]

    assert unused == []
    assert all(reasons), "every exception says why"
