"""The local stack and the tests build their AWS resources from infra/, never from a copy."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from aftercare import infra
from functions.composition import adapters

pytestmark = pytest.mark.integration


def test_every_table_in_infra_exists_with_its_keys_indexes_and_stream(aws_stack: Any) -> None:
    client = boto3.client("dynamodb")
    tables = infra.resources_of_type(infra.load_template(), "AWS::DynamoDB::Table")

    for logical, resource in tables.items():
        properties = resource["Properties"]
        description = client.describe_table(TableName=aws_stack.tables[logical])["Table"]

        assert description["KeySchema"] == properties["KeySchema"], logical
        expected_indexes = {
            i["IndexName"]: i["KeySchema"] for i in properties.get("GlobalSecondaryIndexes", [])
        }
        actual_indexes = {
            i["IndexName"]: i["KeySchema"] for i in description.get("GlobalSecondaryIndexes", [])
        }
        assert actual_indexes == expected_indexes, logical
        has_stream = bool(description.get("StreamSpecification", {}).get("StreamEnabled"))
        assert has_stream == ("StreamSpecification" in properties), logical


def test_time_to_live_is_enabled_where_infra_says(aws_stack: Any) -> None:
    client = boto3.client("dynamodb")
    for logical, resource in infra.resources_of_type(infra.load_template(), "AWS::DynamoDB::Table").items():
        ttl = resource["Properties"].get("TimeToLiveSpecification")
        described = client.describe_time_to_live(TableName=aws_stack.tables[logical])["TimeToLiveDescription"]
        if ttl:
            assert described["TimeToLiveStatus"] == "ENABLED"
            assert described["AttributeName"] == ttl["AttributeName"]
        else:
            assert described["TimeToLiveStatus"] == "DISABLED"


def test_settings_resolve_to_the_provisioned_resources(aws_stack: Any) -> None:
    settings = adapters().settings

    assert settings.stores_table == aws_stack.tables["StoresTable"]
    assert settings.idempotency_table == aws_stack.tables["IdempotencyTable"]
    assert settings.public_base_url == "https://care.example.com"
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=settings.signing_key_secret_arn)
    assert len(secret["SecretString"]) >= 32
    boto3.client("sesv2").get_configuration_set(ConfigurationSetName=settings.ses_configuration_set)
