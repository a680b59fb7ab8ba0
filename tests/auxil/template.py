"""template.yaml as CloudFormation receives it, and its IAM documents as a
stack of it would hold them.

`translate()` runs the SAM translator offline, as `sam deploy` would before
handing the template over (tests/unit/test_template_iam.py reads the roles it
generates). `Deployed` resolves the intrinsic functions in the translated
template's IAM documents to the names and ARNs CloudFormation would give a
stack (`<stack>-<logical id>-<random>` and the like), so policy linters and
ARN matching see real ARNs rather than `{"Fn::GetAtt": ...}`.
`iam_documents()` names every policy document of the stack's roles: inline,
AWS managed (their published text, from moto's copy), and trust policies.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from moto.iam.aws_managed_policies import aws_managed_policies_data
from samtranslator.translator.transform import transform

from local.intrinsics import Intrinsics
from local.stack import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"
MANAGED_POLICIES: dict[str, Any] = json.loads(aws_managed_policies_data)
# The random part CloudFormation appends to the names it generates.
_SUFFIX = "A1B2C3D4E5F6"


class _NoManagedPolicyLookups:
    """The translator asks IAM for managed policy ARNs by name; this template names none."""

    def load(self) -> dict[str, str]:
        return {}


def translate(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as `sam deploy` hands it to CloudFormation."""
    template = copy.deepcopy(load_template(path))
    # As `sam package` would: local code locations become S3 locations.
    template["Globals"]["Function"]["CodeUri"] = "s3://artifacts/functions.zip"
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if key in properties:
                properties[key] = f"s3://artifacts/{key}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        return transform(template, {}, _NoManagedPolicyLookups())  # type: ignore[no-any-return]


class Deployed(Intrinsics):
    """The translated template's values as a stack named `stack_name` would resolve them
    (parameters at their defaults)."""

    def __init__(self, translated: dict[str, Any], stack_name: str) -> None:
        self.translated = translated
        self.stack_name = stack_name
        self.parameters = {k: str(v.get("Default", "")) for k, v in translated.get("Parameters", {}).items()}
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self._attributes(name)["Ref"]

    def attribute(self, logical_id: str, attribute: str) -> str:
        return self._attributes(logical_id)[attribute]

    def _attributes(self, logical_id: str) -> dict[str, str]:
        """Ref and the attributes of one resource, shaped as CloudFormation returns them."""
        resource = self.translated["Resources"][logical_id]
        kind, properties = resource["Type"], resource.get("Properties", {})
        regional = f"{REGION}:{ACCOUNT}"
        generated = f"{self.stack_name}-{logical_id}-{_SUFFIX}"
        if kind == "AWS::S3::Bucket":
            name = f"{self.stack_name}-{logical_id.lower()}-{_SUFFIX.lower()}"
            return {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}
        if kind == "AWS::SQS::Queue":
            url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{generated}"
            return {"Ref": url, "QueueUrl": url, "QueueName": generated, "Arn": f"arn:aws:sqs:{regional}:{generated}"}
        if kind == "AWS::DynamoDB::Table":
            return {"Ref": generated, "Arn": f"arn:aws:dynamodb:{regional}:table/{generated}"}
        if kind == "AWS::SecretsManager::Secret":
            arn = f"arn:aws:secretsmanager:{regional}:secret:{logical_id}-{_SUFFIX}-AbCdEf"
            return {"Ref": arn, "Id": arn}
        if kind == "AWS::Lambda::Function":
            return {"Ref": generated, "Arn": f"arn:aws:lambda:{regional}:function:{generated}"}
        if kind == "AWS::Lambda::LayerVersion":
            return {"Ref": f"arn:aws:lambda:{regional}:layer:{logical_id}:1"}
        if kind == "AWS::Logs::LogGroup":
            name = str(self.resolve(properties.get("LogGroupName", generated)))
            return {"Ref": name, "Arn": f"arn:aws:logs:{regional}:log-group:{name}:*"}
        if kind == "AWS::StepFunctions::StateMachine":
            name = f"{logical_id}-{_SUFFIX}"
            arn = f"arn:aws:states:{regional}:stateMachine:{name}"
            return {"Ref": arn, "Arn": arn, "Name": name}
        if kind == "AWS::IAM::Role":
            return {"Ref": generated, "Arn": f"arn:aws:iam::{ACCOUNT}:role/{generated}"}
        if kind == "AWS::SNS::Topic":
            arn = f"arn:aws:sns:{regional}:{generated}"
            return {"Ref": arn, "TopicArn": arn, "TopicName": generated}
        if kind == "AWS::KMS::Key":
            key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
            return {"Ref": key_id, "KeyId": key_id, "Arn": f"arn:aws:kms:{regional}:key/{key_id}"}
        if kind == "AWS::KMS::Alias":
            return {"Ref": str(self.resolve(properties["AliasName"]))}
        return {"Ref": generated}


def roles(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in translated["Resources"].items() if v["Type"] == "AWS::IAM::Role"}


def iam_documents(translated: dict[str, Any], stack_name: str) -> dict[str, dict[str, Any]]:
    """Every policy document the stack's roles hold, resolved, by name:
    `<role>/<inline policy>`, `<role>/<AWS managed policy>`, `<role>/trust`."""
    deployed = Deployed(translated, stack_name)
    documents: dict[str, dict[str, Any]] = {}
    for name, role in roles(translated).items():
        properties = role["Properties"]
        documents[f"{name}/trust"] = deployed.resolve(properties["AssumeRolePolicyDocument"])
        for policy in properties.get("Policies", []):
            documents[f"{name}/{policy['PolicyName']}"] = deployed.resolve(policy["PolicyDocument"])
        for arn in properties.get("ManagedPolicyArns", []):
            assert isinstance(arn, str) and arn.startswith("arn:aws:iam::aws:policy/"), f"unexpected policy {arn}"
            managed = arn.rsplit("/", 1)[1]
            documents[f"{name}/{managed}"] = MANAGED_POLICIES[managed]["Document"]
    return documents
