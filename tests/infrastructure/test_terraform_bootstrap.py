"""A `terraform plan` of terraform/bootstrap against the embedded AWS, as from
an empty account: the state and artifacts buckets, the two image repositories,
the GitHub Actions OIDC provider, the deploy role and the CloudFormation role.
Its IAM documents are checked with the root's in test_iam_policies.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from tests.auxil.iam import as_list, statements
from tests.auxil.terraform import (
    GITHUB_OWNER,
    GITHUB_REPOSITORY,
    ROOT,
    Terraform,
    planned,
    policy_documents,
)

pytestmark = pytest.mark.aws

ACCOUNT = "123456789012"


@pytest.fixture
def plan(bootstrap_plan: dict[str, Any]) -> dict[str, Any]:
    return bootstrap_plan


def by_key(plan: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Planned resources of a for_each'd type by their key; a single one under ""."""
    return {str(r.get("index", "")): r["values"] for r in planned(plan, resource_type)}


def test_state_bucket_is_versioned_private_encrypted_and_tls_only(plan: dict[str, Any]) -> None:
    buckets = by_key(plan, "aws_s3_bucket")
    assert set(buckets) == {"state", "artifacts"}
    assert buckets["state"]["bucket"] == f"polybot-tfstate-{ACCOUNT}-us-east-1"

    [versioning] = planned(plan, "aws_s3_bucket_versioning")
    assert versioning["values"]["versioning_configuration"][0]["status"] == "Enabled"
    for key, encryption in by_key(plan, "aws_s3_bucket_server_side_encryption_configuration").items():
        [rule] = encryption["rule"]
        assert rule["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms", key
    blocks = by_key(plan, "aws_s3_bucket_public_access_block")
    assert set(blocks) == {"state", "artifacts"}
    for key, block in blocks.items():
        flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
        assert all(block[flag] is True for flag in flags), key

    policies = by_key(plan, "aws_s3_bucket_policy")
    assert set(policies) == {"state", "artifacts"}
    for key, policy in policies.items():
        [deny] = json.loads(policy["policy"])["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, key


def test_repositories_hold_immutable_scanned_images_and_expire_old_ones(plan: dict[str, Any]) -> None:
    repositories = by_key(plan, "aws_ecr_repository")
    assert {k: r["name"] for k, r in repositories.items()} == {"bot": "polybot-bot", "worker": "polybot-worker"}
    for key, repository in repositories.items():
        assert repository["image_tag_mutability"] == "IMMUTABLE", key
        assert repository["image_scanning_configuration"][0]["scan_on_push"] is True, key
    lifecycles = by_key(plan, "aws_ecr_lifecycle_policy")
    assert set(lifecycles) == {"bot", "worker"}
    for key, lifecycle in lifecycles.items():
        rules = sorted(json.loads(lifecycle["policy"])["rules"], key=lambda r: r["rulePriority"])
        assert rules[0]["selection"]["tagStatus"] == "untagged"
        assert rules[0]["selection"]["countType"] == "sinceImagePushed"
        assert rules[1]["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30}
        assert all(rule["action"] == {"type": "expire"} for rule in rules), key


def test_only_this_repositorys_workflows_may_assume_the_deploy_role(plan: dict[str, Any]) -> None:
    [provider] = planned(plan, "aws_iam_openid_connect_provider")
    assert provider["values"]["url"] == "https://token.actions.githubusercontent.com"
    assert provider["values"]["client_id_list"] == ["sts.amazonaws.com"]

    roles = {r["values"]["name"]: r["values"] for r in planned(plan, "aws_iam_role")}
    [trust] = statements(roles["polybot-github-deploy"]["assume_role_policy"])
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    }
    conditions = trust["Condition"]["StringEquals"]
    assert conditions["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    repository = f"repo:{GITHUB_OWNER}/{GITHUB_REPOSITORY}"
    assert sorted(as_list(conditions["token.actions.githubusercontent.com:sub"])) == sorted(
        [f"{repository}:ref:refs/heads/main", f"{repository}:environment:prod", f"{repository}:environment:dev"]
    ), "exact subjects: no wildcard, no pull_request"

    [cloudformation] = statements(roles["polybot-cloudformation"]["assume_role_policy"])
    assert cloudformation["Principal"] == {"Service": "cloudformation.amazonaws.com"}


def _deploy_statements(plan: dict[str, Any]) -> list[dict[str, Any]]:
    documents = policy_documents(plan)
    return [
        s
        for address, document in documents.items()
        if address.startswith("aws_iam_policy.deploy[")
        for s in statements(document)
    ]


def test_deploy_role_passes_only_polybots_roles(plan: dict[str, Any]) -> None:
    passes = [s for s in _deploy_statements(plan) if "iam:PassRole" in as_list(s["Action"])]
    resources = {r for s in passes for r in as_list(s["Resource"])}
    assert resources == {
        f"arn:aws:iam::{ACCOUNT}:role/polybot-prod-*",
        f"arn:aws:iam::{ACCOUNT}:role/polybot-dev-*",
        f"arn:aws:iam::{ACCOUNT}:role/polybot-cloudformation",
    }
    assert all("iam:PassedToService" in s["Condition"]["StringEquals"] for s in passes)
    # The deploy role's own name is not among them: it cannot widen itself.
    assert not any(r.endswith("polybot-github-deploy") or r.endswith("role/polybot-*") for r in resources)


def test_deploy_role_covers_what_the_pipelines_do(plan: dict[str, Any]) -> None:
    granted: dict[str, set[str]] = {}
    for statement in _deploy_statements(plan):
        for action in as_list(statement["Action"]):
            granted.setdefault(action, set()).update(as_list(statement["Resource"]))
    # bot.yml / worker.yml push :<sha> to the two repositories.
    assert granted["ecr:PutImage"] == {
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/polybot-bot",
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/polybot-worker",
    }
    # deploy.yml: the state under polybot/ with its lock file, instance refreshes, image parameters.
    state = f"arn:aws:s3:::polybot-tfstate-{ACCOUNT}-us-east-1"
    assert granted["s3:PutObject"] >= {f"{state}/polybot/*"}
    assert granted["s3:DeleteObject"] == {f"{state}/polybot/*.tflock"}
    assert "autoscaling:DescribeInstanceRefreshes" in granted and "autoscaling:StartInstanceRefresh" in granted
    assert granted["ssm:PutParameter"] == {
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/polybot-prod/*",
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/polybot-dev/*",
    }
    # sam.yml: change sets of the environments' stacks only.
    assert granted["cloudformation:ExecuteChangeSet"] == {
        f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/polybot-prod/*",
        f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/polybot-dev/*",
    }
    # Nothing of the bootstrap itself: not its buckets' settings, not IAM outside Polybot's environments.
    assert "s3:PutBucketPolicy" not in granted
    assert all(r.startswith(f"arn:aws:iam::{ACCOUNT}:role/polybot-") for r in granted["iam:PutRolePolicy"])
    assert not any("polybot-github-deploy" in r for r in granted["iam:PutRolePolicy"])


# --- the environments the pipelines deploy -----------------------------------

WORKFLOWS = ROOT / ".github" / "workflows"
DEPLOY_WORKFLOW = "./.github/workflows/deploy.yml"
_LITERAL = re.compile(r"(==|!=)?\s*'([^']*)'")


def _environment_names(value: Any) -> set[str]:
    """The environment names a workflow value can take: the value itself, or the
    string literals of its `${{ }}` expression that are not compared against."""
    if isinstance(value, dict):
        value = value.get("name", "")
    text = str(value or "")
    if "${{" not in text:
        return {text} if text else set()
    return {literal for comparison, literal in _LITERAL.findall(text) if not comparison}


def deployed_environments() -> dict[str, set[str]]:
    """Every GitHub environment a workflow job runs in (the subject its OIDC token
    carries), by the workflows that deploy it: a job's own `environment`, and for
    the reusable deploy (`environment: ${{ inputs.environment }}`) what its callers
    pass and what its manual run offers."""
    deployed: dict[str, set[str]] = {}
    for path in sorted(WORKFLOWS.glob("*.y*ml")):
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        for job in workflow.get("jobs", {}).values():
            names = _environment_names(job.get("environment"))
            if job.get("uses") == DEPLOY_WORKFLOW:
                names |= _environment_names(job.get("with", {}).get("environment"))
            for name in names:
                deployed.setdefault(name, set()).add(path.name)
        dispatch = (workflow.get(True) or {}).get("workflow_dispatch") or {}  # PyYAML reads `on` as True
        offered = (dispatch.get("inputs") or {}).get("environment")
        if offered:
            assert offered.get("type") == "choice", f"{path.name}: a free-form environment can be any name"
            for name in {*offered.get("options", []), offered.get("default", "")} - {""}:
                deployed.setdefault(name, set()).add(path.name)
    return deployed


@pytest.fixture(scope="module")
def default_trust_plan(bootstrap_configuration: Terraform) -> dict[str, Any]:
    """The deploy role's trust policy as the bootstrap renders it with only its
    required variables given: what an operator who follows the README gets."""
    bootstrap_configuration.run(
        "plan",
        "-no-color",
        "-input=false",
        "-out=defaults.tfplan",
        "-target=data.aws_iam_policy_document.github_trust",
        f"-var=github_owner={GITHUB_OWNER}",
        f"-var=github_repository={GITHUB_REPOSITORY}",
    )
    return json.loads(bootstrap_configuration.show_json(["defaults.tfplan"]))


def test_every_environment_a_pipeline_deploys_is_trusted_by_the_default_bootstrap(
    default_trust_plan: dict[str, Any],
) -> None:
    """A job in a GitHub environment assumes the deploy role with the subject
    repo:<owner>/<repository>:environment:<name>, and only the bootstrap's
    `environments` are trusted (and scoped): an environment any workflow deploys
    that the default bootstrap leaves out fails at AssumeRole."""
    deployed = deployed_environments()
    assert "prod" in deployed, deployed
    defaults = set(default_trust_plan["variables"]["environments"]["value"])
    untrusted = {name: sorted(where) for name, where in deployed.items() if name not in defaults}
    assert not untrusted, f"deployed by these workflows, not in the bootstrap's default environments {defaults}"

    [document] = [d for a, d in policy_documents(default_trust_plan).items() if "github_trust" in a]
    [trust] = statements(document)
    subjects = as_list(trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"])
    repository = f"repo:{GITHUB_OWNER}/{GITHUB_REPOSITORY}"
    assert {f"{repository}:environment:{name}" for name in deployed} <= set(subjects), subjects
