"""Create the resources of ``infra/aftercare.yaml`` through the AWS APIs (moto locally and in tests).

moto's CloudFormation cannot run Step Functions it creates, and its stream event-source mappings
drop records without Docker, so the local stack provisions through the service APIs instead, reading
the very same template. The result is the environment the Lambda functions would get in production.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import boto3

from aftercare import infra

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class Provisioned:
    prefix: str
    tables: dict[str, str] = field(default_factory=dict)  # logical id -> table name
    stream_arns: dict[str, str] = field(default_factory=dict)  # logical id -> stream ARN
    secrets: dict[str, str] = field(default_factory=dict)  # logical id -> secret ARN
    secret_values: dict[str, str] = field(default_factory=dict)  # logical id -> value
    configuration_sets: dict[str, str] = field(default_factory=dict)
    state_machines: dict[str, str] = field(default_factory=dict)  # logical id -> state machine ARN
    environment: dict[str, str] = field(default_factory=dict)

    def refs(self) -> dict[str, dict[str, str]]:
        """What ``!Ref`` / ``!GetAtt`` resolve to locally, per logical id."""
        result: dict[str, dict[str, str]] = {}
        for logical, name in self.tables.items():
            result[logical] = {"Ref": name, "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"}
            if logical in self.stream_arns:
                result[logical]["StreamArn"] = self.stream_arns[logical]
        for logical, arn in self.secrets.items():
            result[logical] = {"Ref": arn, "Arn": arn}
        for logical, name in self.configuration_sets.items():
            result[logical] = {"Ref": name}
        return result


def resolve(value: Any, refs: dict[str, dict[str, str]], parameters: dict[str, str]) -> Any:
    """Evaluate the intrinsic functions the template uses in values the local stack needs."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            if arg in parameters:
                return parameters[arg]
            if arg == "AWS::Region":
                return REGION
            if arg == "AWS::AccountId":
                return ACCOUNT
            if arg == "AWS::Partition":
                return "aws"
            if arg == "AWS::StackName":
                return parameters.get("AWS::StackName", "aftercare")
            return refs[arg]["Ref"]
        if key == "Fn::GetAtt":
            logical, attribute = arg
            return refs[logical][attribute]
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

            def lookup(name: str) -> str:
                if name in variables:
                    return str(resolve(variables[name], refs, parameters))
                if "." in name:
                    logical, attribute = name.split(".", 1)
                    return refs[logical][attribute]
                return str(resolve({"Ref": name}, refs, parameters))

            import re

            return re.sub(r"\$\{([^}]+)\}", lambda m: lookup(m.group(1)), text)
    if isinstance(value, dict):
        return {k: resolve(v, refs, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs, parameters) for v in value]
    return value


def table_request(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    """Translate an ``AWS::DynamoDB::Table`` resource into ``CreateTable`` arguments."""
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in properties:
        request["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    if "LocalSecondaryIndexes" in properties:
        request["LocalSecondaryIndexes"] = properties["LocalSecondaryIndexes"]
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = properties.get("SSESpecification")
    if sse:
        request["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled"))}
    return request


def provision(
    prefix: str = "aftercare-dev",
    *,
    public_base_url: str = "http://127.0.0.1:8000",
    template: dict[str, Any] | None = None,
    function_refs: dict[str, dict[str, str]] | None = None,
    secret_values: dict[str, str] | None = None,
) -> Provisioned:
    """Create every table, secret and configuration set in the template; return the environment.

    ``secret_values`` (logical id -> value) gives secrets the values a saved local stack had."""
    template = template or infra.load_template()
    session = boto3.session.Session(region_name=REGION)
    dynamodb = session.client("dynamodb")
    result = Provisioned(prefix=prefix)

    for logical, resource in infra.resources_of_type(template, "AWS::DynamoDB::Table").items():
        properties = resource["Properties"]
        name = f"{prefix}-{logical}"
        description = dynamodb.create_table(**table_request(name, properties))["TableDescription"]
        result.tables[logical] = name
        if description.get("LatestStreamArn"):
            result.stream_arns[logical] = description["LatestStreamArn"]
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )

    secretsmanager = session.client("secretsmanager")
    for logical, resource in infra.resources_of_type(template, "AWS::SecretsManager::Secret").items():
        length = int(resource["Properties"].get("GenerateSecretString", {}).get("PasswordLength", 48))
        value = (secret_values or {}).get(logical) or secrets.token_urlsafe(length)[:length]
        arn = secretsmanager.create_secret(Name=f"{prefix}-{logical}", SecretString=value)["ARN"]
        result.secrets[logical] = arn
        result.secret_values[logical] = value

    sesv2 = session.client("sesv2")
    for logical in infra.resources_of_type(template, "AWS::SES::ConfigurationSet"):
        name = f"{prefix}-{logical}"
        sesv2.create_configuration_set(ConfigurationSetName=name)
        result.configuration_sets[logical] = name

    parameters = {"PublicBaseUrl": public_base_url.rstrip("/"), "AWS::StackName": prefix}
    refs = {**result.refs(), **(function_refs or {})}
    sfn = session.client("stepfunctions")
    for logical, resource in infra.resources_of_type(template, "AWS::StepFunctions::StateMachine").items():
        source = infra.definition_for(resource)
        substitutions = resolve(resource["Properties"].get("DefinitionSubstitutions", {}), refs, parameters)
        definition = infra.substitute(source.definition, {k: str(v) for k, v in substitutions.items()})
        name = str(
            resolve(resource["Properties"].get("StateMachineName", f"{prefix}-{logical}"), refs, parameters)
        )
        arn = sfn.create_state_machine(
            name=name,
            definition=definition,
            type=resource["Properties"].get("StateMachineType", "STANDARD"),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{prefix}-{logical}",
        )["stateMachineArn"]
        result.state_machines[logical] = arn
        refs[logical] = {"Ref": arn, "Arn": arn, "Name": name}
    environment = resolve(infra.function_environment(template), refs, parameters)
    result.environment = {key: str(value) for key, value in environment.items()}
    result.environment["AFTERCARE_STAGE"] = "local"
    # moto's SES says MaxSendRate 1; the local stack's simulated SES takes what a production account does.
    result.environment["AFTERCARE_SEND_RATE"] = "100"
    return result


def local_function_refs(app: Any, function_prefix: str) -> dict[str, dict[str, str]]:
    """What ``!GetAtt <ChaliceFunction>.Arn`` means locally, for every ``@app.lambda_function``."""
    from chalice.utils import to_cfn_resource_name

    refs = {}
    for function in getattr(app, "pure_lambda_functions", []):
        name = f"{function_prefix}-{function.name}"
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        refs[to_cfn_resource_name(function.name)] = {"Ref": name, "Arn": arn}
    return refs
