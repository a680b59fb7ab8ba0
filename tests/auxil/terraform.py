"""Running the `terraform` CLI from tests, offline.

Used by tests/infrastructure. Providers come from the filesystem mirror on the
machine (../shared/NOTES.md: a folder holding `registry.terraform.io/...`),
found at run time and named in a CLI config file of our own, so `init` never
reaches the registry. Configurations are copied to a temporary folder before
`init`, so no `.terraform/` or state ever lands in the repository; the
committed `.terraform.lock.hcl` files travel with the copy and `init` may not
change them (`-lockfile=readonly`), so a lock that does not match the provider
the mirror holds fails the tests. Also here: what the plan and apply tests
share about the embedded AWS they run against (`TerraformAws`, seeded by
tests/infrastructure/conftest.py) and how to read IAM policy documents out of
a plan.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
BOOTSTRAP_DIR = TERRAFORM_DIR / "bootstrap"
LOCK_FILE = ".terraform.lock.hcl"
MIRROR_SEARCH_ROOTS = (Path("/opt"), Path("/usr/local/share"), Path.home() / ".terraform.d")
DEFAULT_TIMEOUT_S = 300

# What the tests' embedded AWS is seeded with (tests/infrastructure/conftest.py).
ECR_REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
ECR_REPOSITORY_ARNS = [
    "arn:aws:ecr:us-east-1:123456789012:repository/polybot-bot",
    "arn:aws:ecr:us-east-1:123456789012:repository/polybot-worker",
]
SAM_STACK_NAME = "polybot-tftest"
# The environment name of the root configuration's plan (tests/infrastructure/conftest.py).
PLAN_ENVIRONMENT = "tfplan"
DOMAIN = "bot.polybot-tftest.example.com"
# Where an operator looks up the current Amazon Linux 2023 AMI to pin (terraform/README.md).
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
# Image references as CI produces them: ECR, tagged with a git commit SHA.
IMAGE_TAG = "0123456789abcdef0123456789abcdef01234567"
BOT_IMAGE = f"{ECR_REGISTRY}/polybot-bot:{IMAGE_TAG}"
WORKER_IMAGE = f"{ECR_REGISTRY}/polybot-worker:{IMAGE_TAG}"
# The AWS services the root configuration calls, pointed at the emulator.
SERVICES = (
    "acm",
    "autoscaling",
    "cloudformation",
    "cloudwatch",
    "ec2",
    "elbv2",
    "iam",
    "logs",
    "route53",
    "ssm",
    "sts",
)
# The bootstrap configuration: the services it calls, and its variables in the tests.
BOOTSTRAP_SERVICES = ("ecr", "iam", "s3", "sts")
GITHUB_OWNER = "polybot-org"
GITHUB_REPOSITORY = "polybot"
BOOTSTRAP_VARIABLES = {
    "region": "us-east-1",
    "github_owner": GITHUB_OWNER,
    "github_repository": GITHUB_REPOSITORY,
    "environments": '["prod", "dev"]',
}
# The settings the bot container must get from its instance's user data.
BOT_SETTINGS = (
    "POLYBOT_STATE_MACHINE_ARN",
    "POLYBOT_TELEGRAM_SECRET_ID",
    "POLYBOT_PUBLIC_URL",
    "POLYBOT_IMAGES_BUCKET",
    "AWS_REGION",
    "POLYBOT_RESULTS_TABLE",
)


class TerraformFailed(AssertionError):
    """A terraform command exited non-zero; the message carries its output."""


def terraform_binary() -> str:
    """The terraform executable, or skip the calling test where there is none."""
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform is missing: the terraform binary is not on PATH")
    return binary


@functools.cache
def provider_mirror() -> Path | None:
    """The folder whose `registry.terraform.io` child holds the mirrored providers."""
    explicit = os.environ.get("POLYBOT_TF_PROVIDER_MIRROR")
    if explicit:
        return Path(explicit)
    for top in MIRROR_SEARCH_ROOTS:
        if not top.is_dir():
            continue
        for depth in range(4):
            for candidate in top.glob("/".join(["*"] * depth + ["registry.terraform.io"])):
                if candidate.is_dir():
                    return candidate.parent
    return None


def write_cli_config(directory: Path) -> Path:
    """A CLI config file that installs providers from the mirror only (none: the CLI's defaults)."""
    mirror = provider_mirror()
    config = directory / "terraform.rc"
    if mirror is None:
        config.write_text("")
    else:
        config.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n')
    return config


def copy_configuration(destination: Path, source: Path = TERRAFORM_DIR) -> Path:
    """A working copy of `source` without local state, so terraform can write into it
    freely; committed lock files are kept, so `init` checks the provider against them."""
    shutil.copytree(
        source,
        destination,
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan"),
    )
    return destination


class Terraform:
    """terraform commands in one working directory, with an offline CLI config."""

    def __init__(self, workdir: Path, cli_config: Path, env: Mapping[str, str] | None = None) -> None:
        self.binary = terraform_binary()
        self.workdir = workdir
        self.env = {
            **os.environ,
            **(env or {}),
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }

    def run(self, *args: str, timeout_s: float = DEFAULT_TIMEOUT_S, cwd: Path | None = None) -> str:
        """stdout of `terraform <args>`; a failure raises with the command, exit status and both streams."""
        command = [self.binary, *args]
        try:
            completed = subprocess.run(
                command,
                cwd=cwd or self.workdir,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as timeout:
            raise TerraformFailed(
                f"{' '.join(command)} ran past {timeout_s} s\n--- stdout ---\n{_tail(timeout.stdout)}"
                f"\n--- stderr ---\n{_tail(timeout.stderr)}"
            ) from None
        if completed.returncode != 0:
            raise TerraformFailed(
                f"{' '.join(command)} (in {cwd or self.workdir}) exited {completed.returncode}"
                f"\n--- stdout ---\n{_tail(completed.stdout)}\n--- stderr ---\n{_tail(completed.stderr)}"
            )
        return completed.stdout

    def init(self) -> str:
        """`init` offline; where a lock file was committed, it must already hold the
        provider init installs (a module on its own has none and gets a fresh one)."""
        readonly = ["-lockfile=readonly"] if (self.workdir / LOCK_FILE).is_file() else []
        return self.run("init", "-backend=false", "-no-color", "-input=false", *readonly)

    def validate(self) -> str:
        return self.run("validate", "-no-color")

    @staticmethod
    def var_args(variables: Mapping[str, str]) -> list[str]:
        return [f"-var={name}={value}" for name, value in variables.items()]

    def plan(self, variables: Mapping[str, str], out: str = "polybot.tfplan") -> str:
        return self.run("plan", "-no-color", "-input=false", f"-out={out}", *self.var_args(variables))

    def show_json(self, target: Sequence[str] = ()) -> str:
        return self.run("show", "-json", "-no-color", *target)


def _tail(text: str | bytes | None, limit: int = 6000) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return text if len(text) <= limit else "…" + text[-limit:]


def provider_override(endpoint_url: str, services: Sequence[str]) -> str:
    """An `*_override.tf` body pointing the AWS provider at an emulator for `services`."""
    endpoints = "\n".join(f'    {service} = "{endpoint_url}"' for service in services)
    return f"""provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""


def aws_session(region: str) -> boto3.session.Session:
    """A boto3 session with the emulator's fake keys (the endpoint is given per client)."""
    return boto3.session.Session(region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")


@dataclass(frozen=True)
class TerraformAws:
    endpoint_url: str
    region: str
    hosted_zone_id: str
    sam_outputs: dict[str, str]
    ami_id: str
    """An Amazon Linux 2023 AMI the emulator knows (read from its public SSM parameter once, as an operator would)."""

    def client(self, service: str) -> Any:
        return aws_session(self.region).client(service, endpoint_url=self.endpoint_url)

    def environment(self) -> dict[str, str]:
        """Variables for terraform subprocesses: every AWS call (a service missing
        from the override's endpoints too) goes to this emulator, with fake keys."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    def variables(self, environment: str) -> dict[str, str]:
        """-var values for the root configuration in this emulator."""
        return {
            "environment": environment,
            "region": self.region,
            "sam_stack_name": SAM_STACK_NAME,
            "domain_name": DOMAIN,
            "hosted_zone_id": self.hosted_zone_id,
            # Passed as the deploy workflow passes it: an ID, never a lookup.
            "ami_id": self.ami_id,
            # The ECR repositories the instances may pull from are derived from these.
            "bot_image": BOT_IMAGE,
            "worker_image": WORKER_IMAGE,
            "allowed_ssh_cidr_blocks": '["203.0.113.10/32"]',
            "alb_deletion_protection": "false",
            # moto does not implement MonitorInstances (detailed monitoring).
            "detailed_monitoring": "false",
        }


def emulator_configuration(
    base: Path, aws: TerraformAws, source: Path = TERRAFORM_DIR, services: Sequence[str] = SERVICES
) -> Terraform:
    """A configuration (the root by default) copied under `base`, its provider pointed at `aws`, initialised."""
    work = copy_configuration(base / source.name, source)
    (work / "emulator_override.tf").write_text(provider_override(aws.endpoint_url, services))
    terraform = Terraform(work, write_cli_config(base), env=aws.environment())
    terraform.init()
    return terraform


# --- IAM policy documents -------------------------------------------------


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_statements(document: dict[str, Any] | str) -> list[dict[str, Any]]:
    """Allow statements granting every action ("*") on every resource ("*")."""
    if isinstance(document, str):
        document = json.loads(document)
    assert isinstance(document, dict)
    return [
        statement
        for statement in as_list(document.get("Statement", []))
        if statement.get("Effect", "Allow") == "Allow"
        and "*" in as_list(statement.get("Action", []))
        and "*" in as_list(statement.get("Resource", []))
    ]


def walk_modules(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every resource and data source of a `terraform show -json` module, child modules included."""
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from walk_modules(child)


def planned(plan: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """The planned resources of one type, child modules included."""
    return [r for r in walk_modules(plan["planned_values"]["root_module"]) if r["type"] == resource_type]


# Resource types whose `policy` or `assume_role_policy` is an IAM policy document
# (an ECR lifecycle policy, say, is not).
_POLICY_RESOURCE_TYPES = frozenset(
    {"aws_iam_policy", "aws_iam_role", "aws_iam_role_policy", "aws_iam_user_policy", "aws_s3_bucket_policy"}
)


def policy_documents(plan: dict[str, Any]) -> dict[str, str]:
    """Every IAM policy document a saved plan knows, by address: policy-document data
    sources read during planning, and the policy attributes of planned resources
    (inline role policies, managed policies, trust policies, bucket policies) that are known."""
    documents: dict[str, str] = {}
    for r in walk_modules(plan.get("prior_state", {}).get("values", {}).get("root_module", {})):
        if r["type"] == "aws_iam_policy_document" and r["values"].get("json"):
            documents[r["address"]] = r["values"]["json"]
    for r in walk_modules(plan["planned_values"]["root_module"]):
        if r["type"] not in _POLICY_RESOURCE_TYPES:
            continue
        for attribute in ("policy", "assume_role_policy"):
            value = r.get("values", {}).get(attribute)
            if isinstance(value, str) and value:
                documents[f"{r['address']}.{attribute}"] = value
    return documents


def unknown_policy_values(plan: dict[str, Any]) -> list[str]:
    """Addresses of planned resources whose policy attribute is known only after apply,
    so a check of the plan's documents would not see it."""
    unknown: list[str] = []
    for change in plan.get("resource_changes", []):
        if change["type"] not in _POLICY_RESOURCE_TYPES:
            continue
        after_unknown = change.get("change", {}).get("after_unknown") or {}
        unknown += [
            f"{change['address']}.{attribute}"
            for attribute in ("policy", "assume_role_policy")
            if after_unknown.get(attribute) is True
        ]
    return unknown


def distinct_policy_documents(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`policy_documents`, parsed, each distinct document once: under the address of the
    resource that holds it where one does, else under its data source's."""
    by_text: dict[str, str] = {}
    for address, document in sorted(policy_documents(plan).items(), key=lambda item: ".data." in f".{item[0]}"):
        text = json.dumps(json.loads(document), sort_keys=True)
        by_text.setdefault(text, address)
    return {address: json.loads(text) for text, address in by_text.items()}
