from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aftercare import infra
from aftercare.devstack.provision import resolve, table_request
from aftercare.packaging import PackagingError, check_package, merge_template

pytestmark = pytest.mark.unit


def test_template_parses_short_form_intrinsics() -> None:
    template = infra.load_template()
    env = infra.function_environment(template)
    assert env["AFTERCARE_STORES_TABLE"] == {"Ref": "StoresTable"}


def test_every_table_the_settings_need_is_defined_and_wired() -> None:
    from functions.shared.settings import Settings

    template = infra.load_template()
    env = infra.function_environment(template)
    tables = infra.resources_of_type(template, "AWS::DynamoDB::Table")
    for name, field in Settings.model_fields.items():
        if field.is_required():
            assert f"AFTERCARE_{name.upper()}" in env, f"{name} is not wired in Globals"
    for variable, value in env.items():
        if variable.endswith("_TABLE"):
            assert value["Ref"] in tables


def test_every_index_key_is_a_declared_attribute() -> None:
    for logical, resource in infra.resources_of_type(infra.load_template(), "AWS::DynamoDB::Table").items():
        declared = {a["AttributeName"] for a in resource["Properties"]["AttributeDefinitions"]}
        used = {k["AttributeName"] for k in resource["Properties"]["KeySchema"]}
        for index in resource["Properties"].get("GlobalSecondaryIndexes", []):
            used |= {k["AttributeName"] for k in index["KeySchema"]}
        assert used == declared, logical


def test_table_request_translates_streams_and_encryption() -> None:
    responses = infra.load_template()["Resources"]["ResponsesTable"]["Properties"]
    request = table_request("t", responses)
    assert request["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert request["SSESpecification"] == {"Enabled": True}
    assert request["GlobalSecondaryIndexes"][0]["IndexName"] == "by_store_time"


def test_resolve_handles_ref_getatt_and_sub() -> None:
    refs = {"T": {"Ref": "table-t", "Arn": "arn:t"}}
    value = {
        "a": {"Ref": "T"},
        "b": {"Fn::GetAtt": ["T", "Arn"]},
        "c": {"Fn::Sub": "${T.Arn}/index/*"},
        "d": {"Fn::Sub": "${Base}/x"},
        "e": {"Fn::Sub": ["${X}-1", {"X": {"Ref": "T"}}]},
    }
    assert resolve(value, refs, {"Base": "https://b"}) == {
        "a": "table-t",
        "b": "arn:t",
        "c": "arn:t/index/*",
        "d": "https://b/x",
        "e": "table-t-1",
    }


def test_missing_state_machine_substitution_is_a_packaging_error(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "demo.asl.json").write_text(
        json.dumps(
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${WorkerArn}", "End": True}}}
        )
    )
    monkeypatch.setattr(infra, "STATEMACHINES", tmp_path)
    template = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Metadata": {"DefinitionFile": "statemachines/demo.asl.json"},
                "Properties": {"DefinitionSubstitutions": {}},
            }
        }
    }
    with pytest.raises(PackagingError, match="WorkerArn"):
        merge_template(template)
    template["Resources"]["Machine"]["Properties"]["DefinitionSubstitutions"] = {"WorkerArn": "arn"}
    assert merge_template(template)["Resources"]["Machine"]["Properties"]["Definition"]["StartAt"] == "A"


def _package(resources: dict[str, Any], paths: dict[str, Any] | None = None) -> dict[str, Any]:
    resources = {
        **resources,
        "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionBody": {"paths": paths or {}}}},
    }
    return {"Resources": resources}


def test_package_check_refuses_roles_without_policy() -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": {"Statement": []}}]}}
    with pytest.raises(PackagingError, match="SweepRole has no policy"):
        check_package(_package({"SweepRole": role}))


def test_package_check_refuses_functions_without_log_group() -> None:
    with pytest.raises(PackagingError, match="Sweep has no SweepLogGroup"):
        check_package(_package({"Sweep": {"Type": "AWS::Serverless::Function", "Properties": {}}}))


def test_package_check_refuses_dev_routes() -> None:
    with pytest.raises(PackagingError, match="/_dev"):
        check_package(_package({}, {"/_dev/clock": {}}))


def test_package_check_refuses_an_async_function_without_an_on_failure_destination() -> None:
    log_groups = {f"{n}LogGroup": {"Type": "AWS::Logs::LogGroup"} for n in ("Tick", "Bounces")}
    functions = {
        "Tick": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Events": {"T": {"Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)"}}}
            },
        },
        "Bounces": {"Type": "AWS::Serverless::Function", "Properties": {}},
        "Topic": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {"Protocol": "lambda", "Endpoint": {"Fn::GetAtt": ["Bounces", "Arn"]}},
        },
    }
    with pytest.raises(PackagingError, match="function Bounces is invoked asynchronously") as raised:
        check_package(_package({**functions, **log_groups}))
    assert "function Tick" in str(raised.value)
    configs = {
        f"{n}InvokeConfig": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": n},
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}},
            },
        }
        for n in ("Tick", "Bounces")
    }
    check_package(_package({**functions, **log_groups, **configs}))
