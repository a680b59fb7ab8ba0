"""Deploys `template.yaml` to the embedded AWS, the way CloudFormation would.

moto's CloudFormation cannot do it for this template (it skips secrets,
ignores DefinitionSubstitutions and creates a state machine it cannot run;
see ../shared/NOTES.md), so this module reads the template itself: it
creates the bucket, queues, table, secret, state machine, alarm topic and its
key the template declares, with the template's properties, registers each function's Python
handler (from `CodeUri` + `Handler`) with the embedded AWS's Lambda runtime, and
substitutes `DefinitionSubstitutions` into the ASL file as Step Functions
does. Resource types it does not emulate (alarms, dashboards, log groups)
are listed in `Deployment.skipped`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from local.embedded_aws import ACCOUNT_ID, REGION
from local.intrinsics import SUB_VARIABLE, Intrinsics


class FunctionHost(Protocol):
    """Where the template's functions run: the embedded AWS (`EmbeddedAws.functions`),
    or a `LambdaRuntime` in this process."""

    def add_function(self, function_name: str, handler: str, timeout_s: int) -> None:
        """`handler` as Lambda names it: `package.module.function`."""


class TemplateError(ValueError):
    """The template uses something this local deployment cannot resolve."""


class _TemplateLoader(yaml.SafeLoader):
    """YAML loader that reads CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...)."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise TemplateError(f"cannot read !{tag_suffix} here")
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        template: dict[str, Any] = yaml.load(handle, Loader=_TemplateLoader)  # noqa: S506 - SafeLoader subclass
    return template


def _references(value: Any) -> set[str]:
    """Logical ids a property value refers to."""
    if isinstance(value, dict):
        if "Ref" in value:
            return {value["Ref"]}
        if "Fn::GetAtt" in value:
            return {value["Fn::GetAtt"][0]}
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            return {m.split(".")[0] for m in SUB_VARIABLE.findall(text)}
        return set().union(*(_references(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value)) if value else set()
    return set()


@dataclass
class Deployment:
    stack_name: str
    outputs: dict[str, str] = field(default_factory=dict)
    physical_ids: dict[str, str] = field(default_factory=dict)
    function_environment: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


class _Deployer(Intrinsics):
    def __init__(
        self,
        template: dict[str, Any],
        template_dir: Path,
        stack_name: str,
        clients: dict[str, Any],
        runtime: FunctionHost,
        secret_strings: dict[str, str],
    ) -> None:
        self.template = template
        self.template_dir = template_dir
        self.stack_name = stack_name
        self.clients = clients
        self.runtime = runtime
        self.secret_strings = secret_strings
        self.parameters = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
        self.refs: dict[str, str] = {}
        self.attributes: dict[tuple[str, str], str] = {}
        self.deployment = Deployment(stack_name)

    # --- intrinsic functions (local.intrinsics) --------------------------
    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        for source in (pseudo, self.parameters, self.refs):
            if name in source:
                return source[name]
        raise TemplateError(f"!Ref {name}: no such parameter or deployed resource")

    def attribute(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[(logical_id, attribute)]
        except KeyError:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute} is not available locally") from None

    # --- resources -------------------------------------------------------
    def physical_name(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}".lower()

    def deploy(self) -> Deployment:
        resources: dict[str, Any] = self.template["Resources"]
        creators: dict[str, Callable[[str, dict[str, Any]], None]] = {
            "AWS::S3::Bucket": self._bucket,
            "AWS::SQS::Queue": self._queue,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::Serverless::Function": self._function,
            "AWS::Serverless::StateMachine": self._state_machine,
            "AWS::KMS::Key": self._key,
            "AWS::KMS::Alias": self._alias,
            "AWS::SNS::Topic": self._topic,
        }
        for logical_id in _deployment_order(resources, self.template.get("Globals", {})):
            resource = resources[logical_id]
            creator = creators.get(resource["Type"])
            if creator is None:
                self.deployment.skipped[logical_id] = resource["Type"]
                continue
            creator(logical_id, resource.get("Properties", {}))
            self.deployment.physical_ids[logical_id] = self.refs[logical_id]
        for name, output in self.template.get("Outputs", {}).items():
            if _references(output["Value"]) <= set(self.refs) | set(self.parameters):
                self.deployment.outputs[name] = str(self.resolve(output["Value"]))
        return self.deployment

    def _bucket(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = self.physical_name(logical_id)
        self.clients["s3"].create_bucket(Bucket=name)
        self.refs[logical_id] = name
        self.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"

    def _queue(self, logical_id: str, properties: dict[str, Any]) -> None:
        props = self.resolve(properties)
        attributes = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled", "DelaySeconds"):
            if key in props:
                attributes[key] = str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        name = self.physical_name(logical_id)
        url = self.clients["sqs"].create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self.refs[logical_id] = url
        self.attributes[(logical_id, "QueueUrl")] = url
        self.attributes[(logical_id, "QueueName")] = name
        self.attributes[(logical_id, "Arn")] = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"

    def _table(self, logical_id: str, properties: dict[str, Any]) -> None:
        props = self.resolve(properties)
        name = self.physical_name(logical_id)
        arguments = {
            k: props[k]
            for k in ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
            if k in props
        }
        description = self.clients["dynamodb"].create_table(TableName=name, **arguments)["TableDescription"]
        self.refs[logical_id] = name
        self.attributes[(logical_id, "Arn")] = description["TableArn"]

    def _secret(self, logical_id: str, properties: dict[str, Any]) -> None:
        props = self.resolve(properties)
        value = self.secret_strings.get(logical_id) or props.get("SecretString")
        if value is None and "GenerateSecretString" in props:
            generate = props["GenerateSecretString"]
            document = json.loads(generate.get("SecretStringTemplate", "{}"))
            document[generate["GenerateStringKey"]] = secrets.token_urlsafe(36)
            value = json.dumps(document)
        arn = self.clients["secretsmanager"].create_secret(
            Name=self.physical_name(logical_id), SecretString=value or "{}"
        )["ARN"]
        self.refs[logical_id] = arn

    def _key(self, logical_id: str, properties: dict[str, Any]) -> None:
        props = self.resolve(properties)
        metadata = self.clients["kms"].create_key(
            Description=props.get("Description", ""), Policy=json.dumps(props["KeyPolicy"])
        )["KeyMetadata"]
        if props.get("EnableKeyRotation"):
            self.clients["kms"].enable_key_rotation(KeyId=metadata["KeyId"])
        self.refs[logical_id] = metadata["KeyId"]
        self.attributes[(logical_id, "Arn")] = metadata["Arn"]
        self.attributes[(logical_id, "KeyId")] = metadata["KeyId"]

    def _alias(self, logical_id: str, properties: dict[str, Any]) -> None:
        props = self.resolve(properties)
        self.clients["kms"].create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        self.refs[logical_id] = props["AliasName"]

    def _topic(self, logical_id: str, properties: dict[str, Any]) -> None:
        props = self.resolve(properties)
        attributes = {key: str(props[key]) for key in ("DisplayName", "KmsMasterKeyId") if key in props}
        name = self.physical_name(logical_id)
        arn = self.clients["sns"].create_topic(Name=name, Attributes=attributes)["TopicArn"]
        self.refs[logical_id] = arn
        self.attributes[(logical_id, "TopicArn")] = arn
        self.attributes[(logical_id, "TopicName")] = name

    def _function(self, logical_id: str, properties: dict[str, Any]) -> None:
        defaults = self.template.get("Globals", {}).get("Function", {})
        code_uri = properties.get("CodeUri", defaults.get("CodeUri"))
        module_name, _, attribute = properties["Handler"].rpartition(".")
        package = ".".join(Path(code_uri).parts)
        name = self.physical_name(logical_id)
        timeout_s = int(properties.get("Timeout", defaults.get("Timeout", 3)))
        self.runtime.add_function(name, f"{package}.{module_name}.{attribute}", timeout_s)
        variables = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **properties.get("Environment", {}).get("Variables", {}),
        }
        for key, value in self.resolve(variables).items():
            if self.deployment.function_environment.get(key, str(value)) != str(value):
                raise TemplateError(f"functions disagree on {key}; they share one process locally")
            self.deployment.function_environment[key] = str(value)
        self.refs[logical_id] = name
        self.attributes[(logical_id, "Arn")] = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"

    def _state_machine(self, logical_id: str, properties: dict[str, Any]) -> None:
        definition = (self.template_dir / properties["DefinitionUri"]).read_text(encoding="utf-8")
        for key, value in self.resolve(properties.get("DefinitionSubstitutions", {})).items():
            definition = definition.replace("${" + key + "}", str(value))
        leftover = SUB_VARIABLE.findall(definition)
        if leftover:
            raise TemplateError(f"{logical_id}: no DefinitionSubstitutions for {sorted(set(leftover))}")
        name = self.physical_name(logical_id)
        role = self.clients["iam"].create_role(
            RoleName=f"{name}-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "states.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        arn = self.clients["stepfunctions"].create_state_machine(
            name=name, definition=definition, roleArn=role, type=properties.get("Type", "STANDARD")
        )["stateMachineArn"]
        self.refs[logical_id] = arn
        self.attributes[(logical_id, "Name")] = name
        self.attributes[(logical_id, "Arn")] = arn


def _effective_properties(resource: dict[str, Any], globals_: dict[str, Any]) -> dict[str, Any]:
    """A resource's properties with the template's Globals it inherits."""
    inherited = globals_.get(str(resource.get("Type", "")).removeprefix("AWS::Serverless::"), {})
    return {"Globals": inherited, **resource.get("Properties", {})} if inherited else resource.get("Properties", {})


def _deployment_order(resources: dict[str, Any], globals_: dict[str, Any] | None = None) -> list[str]:
    """Logical ids, each after the resources it (or the Globals it inherits) refers to."""
    globals_ = globals_ or {}
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in ordered:
            return
        if logical_id in visiting:
            raise TemplateError(f"circular reference through {logical_id}")
        visiting.add(logical_id)
        for dependency in sorted(_references(_effective_properties(resources[logical_id], globals_)) & set(resources)):
            visit(dependency)
        visiting.discard(logical_id)
        ordered.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return ordered


def deploy(
    template_path: Path,
    stack_name: str,
    clients: dict[str, Any],
    runtime: FunctionHost,
    secret_strings: dict[str, str] | None = None,
    parameters: dict[str, str] | None = None,
) -> Deployment:
    """Create the template's resources in the embedded AWS. `parameters` override
    the template's defaults (like `sam deploy --parameter-overrides`);
    `secret_strings` set secret values by logical id, as an operator would out
    of band."""
    template = load_template(template_path)
    deployer = _Deployer(template, template_path.parent, stack_name, clients, runtime, secret_strings or {})
    unknown = set(parameters or {}) - set(deployer.parameters)
    if unknown:
        raise TemplateError(f"the template has no parameter(s) {sorted(unknown)}")
    deployer.parameters.update(parameters or {})
    return deployer.deploy()
