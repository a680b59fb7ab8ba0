"""IAM checks shared by the template and Terraform tests: which actions AWS
authorises only on `"*"`, and the statements of a policy that grant anything
else on `"*"`.

"Only on *" comes from the Service Authorization Reference as shipped, offline,
by policy_sentry (its `iam-definition.json`): an action with no resource type
there cannot be scoped to a resource, so a statement may name `"*"` for it and
for nothing else.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from typing import Any

from policy_sentry.querying.actions import get_actions_for_service, get_actions_that_support_wildcard_arns_only


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@functools.cache
def _actions(service: str) -> frozenset[str]:
    return frozenset(action.lower() for action in get_actions_for_service(service))


@functools.cache
def _wildcard_only(service: str) -> frozenset[str]:
    return frozenset(action.lower() for action in get_actions_that_support_wildcard_arns_only(service))


def expand(action: str) -> list[str]:
    """The actions an action pattern ("sqs:SendMessage*", "logs:*") grants, lower case."""
    service, _, name = action.lower().partition(":")
    return sorted(a for a in _actions(service) if fnmatch.fnmatchcase(a.partition(":")[2], name))


def unknown_actions(actions: list[str]) -> list[str]:
    """Actions (or patterns) that name nothing in the Service Authorization Reference: typos."""
    return [a for a in actions if a != "*" and not expand(a)]


def only_on_wildcard(action: str) -> bool:
    """True if AWS authorises every action `action` stands for only on "*"."""
    if action == "*":
        return False
    service = action.split(":", 1)[0].lower()
    granted = expand(action)
    return bool(granted) and all(a in _wildcard_only(service) for a in granted)


def statements(document: dict[str, Any] | str) -> list[dict[str, Any]]:
    if isinstance(document, str):
        document = json.loads(document)
    assert isinstance(document, dict)
    return [s for s in as_list(document.get("Statement", [])) if s.get("Effect", "Allow") == "Allow"]


def scopable_actions_on_wildcard(document: dict[str, Any] | str) -> list[str]:
    """Actions granted on Resource "*" that AWS would let us scope to a resource."""
    loose: list[str] = []
    for statement in statements(document):
        if "*" not in as_list(statement.get("Resource", [])):
            continue
        loose += [a for a in as_list(statement.get("Action", [])) if not only_on_wildcard(a)]
    return loose


def wildcard_only_actions_on_resources(document: dict[str, Any] | str) -> list[str]:
    """Actions AWS authorises only on "*" but granted on a named resource, where they never apply."""
    misplaced: list[str] = []
    for statement in statements(document):
        if "*" in as_list(statement.get("Resource", [])):
            continue
        misplaced += [a for a in as_list(statement.get("Action", [])) if only_on_wildcard(a)]
    return misplaced


# --- permissions boundaries -------------------------------------------------

# The actions that create a role or change what it may do: whoever holds one
# unconditioned, on roles it may also pass to a service, holds every permission.
ROLE_WRITING_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)
# The same for users and groups: Polybot has neither, so nothing may write them (a group
# cannot carry a boundary at all, and no statement here requires one for users).
USER_AND_GROUP_WRITING_ACTIONS = (
    "iam:AddUserToGroup",
    "iam:AttachGroupPolicy",
    "iam:AttachUserPolicy",
    "iam:CreateUser",
    "iam:DeleteUserPolicy",
    "iam:DetachUserPolicy",
    "iam:PutGroupPolicy",
    "iam:PutUserPermissionsBoundary",
    "iam:PutUserPolicy",
)
# Changing a managed policy in place: what would change a boundary under every role that carries it.
POLICY_CHANGING_ACTIONS = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
)
BOUNDARY_KEY = "iam:permissionsboundary"


def _document(document: dict[str, Any] | str) -> dict[str, Any]:
    parsed = json.loads(document) if isinstance(document, str) else document
    assert isinstance(parsed, dict)
    return parsed


def all_statements(document: dict[str, Any] | str) -> list[dict[str, Any]]:
    """Allow and Deny statements alike."""
    return list(as_list(_document(document).get("Statement", [])))


@functools.cache
def _wildcard(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def wildcard_match(text: str, pattern: str, case_sensitive: bool = True) -> bool:
    """IAM's string matching: "*" any run of characters, "?" any one; nothing else is special
    (unlike fnmatch, for which the brackets of `policy["x"]` are a character class)."""
    return _wildcard(pattern, case_sensitive).fullmatch(text) is not None


def matches(action: str, patterns: list[str]) -> bool:
    """Whether an action is one of `patterns` ("iam:Put*", "*"), as IAM compares them (case-insensitively)."""
    return any(wildcard_match(action, pattern, case_sensitive=False) for pattern in patterns)


def covers(statement: dict[str, Any], action: str) -> bool:
    """Whether a statement's Action (or NotAction) takes in `action`."""
    if "NotAction" in statement:
        return not matches(action, as_list(statement["NotAction"]))
    return matches(action, as_list(statement.get("Action", [])))


def _condition_values(statement: dict[str, Any], operators: tuple[str, ...], key: str) -> list[str] | None:
    """The values `statement` compares `key` with under one of `operators` (exact names, so no
    ...IfExists or ForAnyValue variant counts), or None where it does not."""
    for operator, pairs in statement.get("Condition", {}).items():
        if operator not in operators:
            continue
        for name, values in pairs.items():
            if name.lower() == key:
                return [str(v) for v in as_list(values)]
    return None


def requires_boundary(statement: dict[str, Any], boundary_arn: str) -> bool:
    """Whether an Allow statement applies only to requests whose role carries exactly this boundary."""
    return _condition_values(statement, ("StringEquals", "ArnEquals"), BOUNDARY_KEY) == [boundary_arn]


def unbounded_principal_writes(document: dict[str, Any] | str, boundary_arn: str) -> list[str]:
    """`<sid>: <action>` for each action an Allow statement grants (wildcards and NotAction
    expanded) that writes a role without requiring the boundary, or writes a user or group."""
    loose: list[str] = []
    for index, statement in enumerate(statements(document)):
        sid = statement.get("Sid", f"statement {index}")
        if not requires_boundary(statement, boundary_arn):
            loose += [f"{sid}: {action}" for action in ROLE_WRITING_ACTIONS if covers(statement, action)]
        loose += [f"{sid}: {action}" for action in USER_AND_GROUP_WRITING_ACTIONS if covers(statement, action)]
    return loose


def writes_roles(document: dict[str, Any] | str) -> bool:
    return any(covers(s, a) for s in statements(document) for a in ROLE_WRITING_ACTIONS)


def _denies(document: dict[str, Any] | str) -> list[dict[str, Any]]:
    return [s for s in all_statements(document) if s.get("Effect") == "Deny"]


def missing_boundary_guards(document: dict[str, Any] | str, boundary_arn: str) -> list[str]:
    """The Deny statements that keep the boundary on every role, and the boundary itself
    unchanged, which `document` lacks: removing a role's boundary; writing a role that
    carries another boundary or none; changing the boundary policy."""
    denies = _denies(document)
    unconditional = [s for s in denies if not s.get("Condition")]
    on_every_role = [s for s in denies if "*" in as_list(s.get("Resource", []))]
    other_boundary = [
        s
        for s in on_every_role
        if _condition_values(s, ("StringNotEquals", "ArnNotEquals"), BOUNDARY_KEY) == [boundary_arn]
    ]
    on_boundary = [s for s in unconditional if {"*", boundary_arn} & {str(r) for r in as_list(s.get("Resource", []))}]
    missing = []
    if not any(covers(s, "iam:DeleteRolePermissionsBoundary") for s in unconditional if s in on_every_role):
        missing.append("Deny iam:DeleteRolePermissionsBoundary on every role")
    missing += [
        f"Deny {action} unless the role carries the boundary"
        for action in ROLE_WRITING_ACTIONS
        if not any(covers(s, action) for s in other_boundary)
    ]
    missing += [
        f"Deny {action} on the boundary policy"
        for action in POLICY_CHANGING_ACTIONS
        if not any(covers(s, action) for s in on_boundary)
    ]
    return missing


def resource_covered(resource: str, patterns: list[str]) -> bool:
    """Whether every ARN `resource` stands for (its own wildcards included) matches one of `patterns`."""
    return any(wildcard_match(resource, pattern) for pattern in patterns)


def allows(document: dict[str, Any] | str, action: str, resource: str) -> bool:
    """Whether an Allow statement of `document` (conditions aside) grants `action` on `resource`."""
    return any(
        covers(s, action) and resource_covered(resource, [str(r) for r in as_list(s.get("Resource", []))])
        for s in statements(document)
    )
