"""No role can escalate: every IAM policy of both halves, rendered as AWS
would receive it (the SAM translator's output of template.yaml, resolved for
a stack named like a real environment; `terraform show -json` of the root and
bootstrap plans), checked

- by cloudsplaining and parliament (tests/auxil/policy_lint.py), which catch
  unscoped escalation (iam:PutRolePolicy on "*" and the like); whatever they
  report is listed with its reason in iam_findings.yaml, and a listed finding
  that no longer occurs fails too, so the list stays true;
- for what they cannot see: a role that may write policies for roles under
  its own prefix and pass those roles to a service. Every statement that may
  create a role or write or attach its policies must require the workload
  boundary (iam:PermissionsBoundary), every policy holding one must deny
  removing or replacing the boundary and changing the boundary policy, every
  role the pipelines create must carry the boundary, and the boundary must
  hold everything those roles are granted (or they fail on AWS).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.auxil import iam
from tests.auxil.policy_lint import Finding, explanations, lint, stale, unexplained
from tests.auxil.template import Deployed, iam_documents, roles, translate
from tests.auxil.terraform import (
    BOOTSTRAP_VARIABLES,
    PLAN_ENVIRONMENT,
    SAM_STACK_NAME,
    Terraform,
    TerraformFailed,
    distinct_policy_documents,
    planned,
)

pytestmark = pytest.mark.aws

ACCOUNT = "123456789012"
BOUNDARY_NAME = "polybot-workload-boundary"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{BOUNDARY_NAME}"
BOUNDARY_DOCUMENT = "bootstrap:aws_iam_policy.workload_boundary.policy"
# The bootstrap plan's environments are prod and dev; the SAM stack is rendered
# as prod's. The root plan's environment, and the SAM stack it reads, are named
# for the tests: read as prod's when matched against the boundary.
STACK_NAME = "polybot-prod"
TEST_NAMES = {f"polybot-{PLAN_ENVIRONMENT}": STACK_NAME, SAM_STACK_NAME: STACK_NAME}


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate()


@pytest.fixture(scope="module")
def documents(
    translated: dict[str, Any], root_plan: dict[str, Any], bootstrap_plan: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Every policy document of both halves, by `<half>:<name>`."""
    named = {f"template:{k}": v for k, v in iam_documents(translated, STACK_NAME).items()}
    for half, plan in (("root", root_plan), ("bootstrap", bootstrap_plan)):
        named |= {f"{half}:{k}": v for k, v in distinct_policy_documents(plan).items()}
    return named


@pytest.fixture(scope="module")
def findings(documents: dict[str, dict[str, Any]]) -> list[Finding]:
    return lint(documents)


def test_the_linters_report_nothing_unexplained(findings: list[Finding]) -> None:
    assert unexplained(findings, explanations()) == []


def test_every_listed_finding_still_occurs(findings: list[Finding]) -> None:
    assert stale(findings, explanations()) == []


def test_no_statement_writes_a_role_without_the_boundary(documents: dict[str, dict[str, Any]]) -> None:
    """Nor a user or a group, which Polybot has none of."""
    loose = {name: iam.unbounded_principal_writes(doc, BOUNDARY_ARN) for name, doc in documents.items()}

    assert {name: actions for name, actions in loose.items() if actions} == {}
    # Not vacuous: both roles that deploy write roles.
    writers = {name for name, doc in documents.items() if iam.writes_roles(doc)}
    assert 'bootstrap:aws_iam_policy.deploy["iam"].policy' in writers
    assert 'bootstrap:aws_iam_policy.cloudformation["roles"].policy' in writers


def test_every_policy_that_writes_roles_keeps_the_boundary_on_them(documents: dict[str, dict[str, Any]]) -> None:
    writers = {name: doc for name, doc in documents.items() if iam.writes_roles(doc)}
    missing = {name: iam.missing_boundary_guards(doc, BOUNDARY_ARN) for name, doc in writers.items()}

    assert writers
    assert {name: guards for name, guards in missing.items() if guards} == {}


def test_every_role_the_pipelines_create_carries_the_boundary(
    translated: dict[str, Any], root_plan: dict[str, Any], bootstrap_plan: dict[str, Any]
) -> None:
    [boundary] = [r["values"] for r in planned(bootstrap_plan, "aws_iam_policy") if r["name"] == "workload_boundary"]
    assert boundary["name"] == BOUNDARY_NAME

    deployed = Deployed(translated, STACK_NAME)
    template_roles = {
        name: deployed.resolve(role["Properties"].get("PermissionsBoundary"))
        for name, role in roles(translated).items()
    }
    root_roles = {r["address"]: r["values"].get("permissions_boundary") for r in planned(root_plan, "aws_iam_role")}

    assert template_roles and template_roles == dict.fromkeys(template_roles, BOUNDARY_ARN)
    assert root_roles and root_roles == dict.fromkeys(root_roles, BOUNDARY_ARN)


@pytest.mark.parametrize("environment", ["github", "deploy", "workload", "tfstate"])
def test_no_environment_may_be_named_into_the_bootstraps_own_names(
    bootstrap_configuration: Terraform, environment: str
) -> None:
    """The pipelines' statements are scoped to polybot-<environment>-*: an environment
    "deploy" would hand them the deploy role's own policies (polybot-deploy-*),
    "workload" the boundary, "github" the deploy role, "tfstate" the state bucket."""
    variables = {**BOOTSTRAP_VARIABLES, "environments": f'["prod", "{environment}"]'}
    with pytest.raises(TerraformFailed, match=r"starts\s+one\s+of\s+the\s+bootstrap's\s+own\s+names"):
        bootstrap_configuration.run("plan", "-no-color", "-input=false", *Terraform.var_args(variables))


def _as_prod(resource: str) -> str:
    for test_name, name in TEST_NAMES.items():
        resource = resource.replace(test_name, name)
    return resource


def test_the_boundary_holds_everything_the_workload_roles_are_granted(documents: dict[str, dict[str, Any]]) -> None:
    """A grant outside the boundary is denied on AWS, however the role's own policy reads."""
    boundary = documents[BOUNDARY_DOCUMENT]
    workload = {
        name: doc
        for name, doc in documents.items()
        if name.startswith(("template:", "root:")) and not name.endswith(("/trust", ".assume_role_policy"))
    }
    outside = {
        name: sorted(
            f"{action} on {resource}"
            for statement in iam.statements(doc)
            for pattern in iam.as_list(statement["Action"])
            for action in iam.expand(pattern)
            for resource in map(_as_prod, iam.as_list(statement["Resource"]))
            if not iam.allows(boundary, action, resource)
        )
        for name, doc in workload.items()
    }

    assert len(workload) > 10
    assert {name: grants for name, grants in outside.items() if grants} == {}
