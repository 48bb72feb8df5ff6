"""Contract test for the local Step Functions hook (it patches a private moto class).

A tiny Standard state machine calls a Lambda task that moto executes by running the real Python
handler in-process: Retry must retry it after a failure, Catch must route a permanent failure,
and the handler must receive the state's input as its event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.app import Chalice

from aftercare.devstack import lambdas

pytestmark = pytest.mark.integration

DEFINITION = {
    "Comment": "hook contract",
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:test-worker",
            "Retry": [
                {
                    "ErrorEquals": ["TransientError"],
                    "IntervalSeconds": 1,
                    "MaxAttempts": 2,
                    "BackoffRate": 1.0,
                }
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recovered"}],
            "Next": "Done",
        },
        "Recovered": {"Type": "Pass", "Result": "recovered", "ResultPath": "$.outcome", "End": True},
        "Done": {"Type": "Succeed"},
    },
}


class TransientError(Exception):
    pass


class PermanentError(Exception):
    pass


@pytest.fixture
def worker_app() -> Iterator[tuple[Chalice, list[dict[str, Any]]]]:
    calls: list[dict[str, Any]] = []
    app = Chalice(app_name="hook")

    @app.lambda_function(name="worker")
    def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append({"event": event, "function": context.function_name})
        if event.get("mode") == "flaky" and len(calls) == 1:
            raise TransientError("try again")
        if event.get("mode") == "broken":
            raise PermanentError("refund endpoint said no")
        return {"handled": event["order"], "attempt": len(calls)}

    import sys
    import types

    module = types.ModuleType("hook_app")
    module.worker = worker  # type: ignore[attr-defined]
    sys.modules["hook_app"] = module
    app.pure_lambda_functions[0].handler_string = "hook_app.worker"
    lambdas.install()
    lambdas.register_app(app, "test")
    yield app, calls
    lambdas.clear()
    lambdas.uninstall()
    sys.modules.pop("hook_app", None)


def run(machine_arn: str, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine_arn, name=name, input=json.dumps(payload))[
        "executionArn"
    ]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.05)
    raise AssertionError("execution did not finish")


@pytest.fixture
def machine(aws_stack: Any, worker_app: Any) -> str:
    sfn = boto3.client("stepfunctions")
    return sfn.create_state_machine(
        name="hook-contract",
        definition=json.dumps(DEFINITION),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]


def test_task_runs_the_real_handler_with_the_state_input(machine: str, worker_app: Any) -> None:
    _, calls = worker_app
    execution = run(machine, "ok-1", {"order": "A-1"})

    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {"handled": "A-1", "attempt": 1}
    assert calls == [{"event": {"order": "A-1"}, "function": "test-worker"}]


def test_retry_reruns_the_handler_after_a_transient_failure(machine: str, worker_app: Any) -> None:
    _, calls = worker_app
    execution = run(machine, "flaky-1", {"order": "A-2", "mode": "flaky"})

    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"])["attempt"] == 2
    assert len(calls) == 2


def test_catch_routes_a_permanent_failure_with_the_error(machine: str, worker_app: Any) -> None:
    _, calls = worker_app
    execution = run(machine, "broken-1", {"order": "A-3", "mode": "broken"})

    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["outcome"] == "recovered"
    assert output["error"]["Error"] == "PermanentError"
    assert "refund endpoint said no" in output["error"]["Cause"]
    assert len(calls) == 1  # PermanentError is not retried


def test_state_machines_in_infra_are_provisioned_with_local_function_arns(
    worker_app: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state machine declared in infra/ runs locally against the real handler it names."""
    from moto import mock_aws

    from aftercare import infra
    from aftercare.devstack.provision import local_function_refs, provision

    definition = {**DEFINITION, "States": {**DEFINITION["States"]}}
    definition["States"]["Work"] = {**DEFINITION["States"]["Work"], "Resource": "${WorkerArn}"}
    (tmp_path / "contract.asl.json").write_text(json.dumps(definition))
    monkeypatch.setattr(infra, "STATEMACHINES", tmp_path)
    provision_prefix = "contract"
    template = infra.load_template()
    template["Resources"].pop("ReturnsStateMachine")  # its tasks are the app's, not this test's
    template["Resources"]["ContractMachine"] = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Metadata": {"DefinitionFile": "statemachines/contract.asl.json"},
        "Properties": {"DefinitionSubstitutions": {"WorkerArn": {"Fn::GetAtt": ["Worker", "Arn"]}}},
    }
    app, calls = worker_app
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        provisioned = provision(
            provision_prefix, template=template, function_refs=local_function_refs(app, "test")
        )

        execution = run(provisioned.state_machines["ContractMachine"], "from-infra", {"order": "B-1"})

    assert execution["status"] == "SUCCEEDED"
    assert calls[0]["function"] == "test-worker"
