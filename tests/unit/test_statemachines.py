"""Every state machine in infra/statemachines/ is well formed and fully wired."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aftercare import infra
from aftercare.packaging import check_package, merge_template

pytestmark = pytest.mark.unit

MACHINES = infra.state_machines()


def targets(state: dict[str, Any]) -> set[str]:
    found = {state[key] for key in ("Next", "Default") if key in state}
    found |= {choice["Next"] for choice in state.get("Choices", [])}
    found |= {catch["Next"] for catch in state.get("Catch", [])}
    return found


def test_there_is_a_returns_workflow() -> None:
    assert [m.name for m in MACHINES] == ["returns"]


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_every_state_is_reachable_and_every_target_exists(machine: infra.StateMachineSource) -> None:
    states = machine.definition["States"]
    assert machine.definition["StartAt"] in states
    seen, todo = set(), [machine.definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for target in targets(states[name]):
            assert target in states, f"{name} points at a missing state {target}"
            todo.append(target)
    assert seen == set(states), f"unreachable: {sorted(set(states) - seen)}"


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_every_task_retries_and_catches(machine: infra.StateMachineSource) -> None:
    for name, state in machine.definition["States"].items():
        if state["Type"] == "Task":
            assert state.get("Retry"), f"{name} has no Retry"
            assert any("States.ALL" in c["ErrorEquals"] for c in state.get("Catch", [])), (
                f"{name} has no catch-all"
            )


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_every_path_ends(machine: infra.StateMachineSource) -> None:
    states = machine.definition["States"]
    for name, state in states.items():
        ends = state.get("End") or state["Type"] in {"Succeed", "Fail"}
        assert ends or targets(state), f"{name} neither ends nor continues"


def test_every_placeholder_is_substituted_in_the_packaged_template() -> None:
    template = merge_template(infra.load_template())
    for logical, resource in infra.resources_of_type(template, "AWS::StepFunctions::StateMachine").items():
        definition = json.dumps(resource["Properties"]["Definition"])
        source = infra.definition_for(resource)
        assert source.placeholders, logical
        assert source.placeholders <= set(resource["Properties"]["DefinitionSubstitutions"]), logical
        assert all(f"${{{name}}}" in definition for name in source.placeholders)
    resources = dict(template["Resources"])
    resources["RestAPI"] = {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionBody": {"paths": {}}}}
    check_package(
        {"Resources": {k: v for k, v in resources.items() if v.get("Type") != "AWS::Serverless::Function"}}
    )
