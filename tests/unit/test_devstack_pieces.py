"""Pieces of the local stack that need no stack: durations in words, the execution timeline, the
resumable state machine, simulated time of moto's real timestamps, and the per-port state files."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aftercare.devstack import statefiles
from aftercare.devstack.console import history_of, human_duration
from aftercare.devstack.persist import Journal, resume_definition, waiting_state

T = datetime(2026, 6, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (600, "10 min"),
        (3600, "1 h"),
        (3900, "1 h 5 min"),
        (86400, "1 day"),
        (408 * 3600, "17 days"),
        (10 * 86400 - 4, "10 days"),  # seconds lost to the jump itself
        (2 * 86400 + 3 * 3600, "2 days 3 h"),
    ],
)
def test_durations_read_as_a_person_would_say_them(seconds: float, words: str) -> None:
    assert human_duration(seconds) == words


def event(number: int, kind: str, at: datetime, **details: object) -> dict[str, object]:
    key = {
        "TaskStateEntered": "stateEnteredEventDetails",
        "TaskStateExited": "stateExitedEventDetails",
        "TaskScheduled": "taskScheduledEventDetails",
        "TaskFailed": "taskFailedEventDetails",
        "ExecutionFailed": "executionFailedEventDetails",
    }.get(kind)
    return {"id": number, "type": kind, "timestamp": at, **({key: details} if key else {})}


def test_the_timeline_says_what_happened_in_words() -> None:
    events = [
        event(1, "ExecutionStarted", T),
        event(2, "TaskStateEntered", T, name="AskApproval", input="{}"),
        event(3, "TaskScheduled", T, resource="arn:aws:states:::lambda:invoke.waitForTaskToken"),
        event(4, "TaskFailed", T, error="ApprovalTimeout", cause="no approval by then"),
        event(5, "ExecutionFailed", T, error="States.TaskFailed"),
    ]

    timeline = history_of(events)

    assert [(e["kind"], e["text"], e["tone"]) for e in timeline] == [
        ("start", "Execution started", ""),
        ("state", "Entered AskApproval (task)", ""),
        ("task", "Task waiting for a person (task token)", ""),
        ("failure", "TaskFailed: ApprovalTimeout no approval by then", "bad"),
        ("end", "Execution failed: States.TaskFailed", "bad"),
    ]
    assert timeline[1]["details"]["stateEnteredEventDetails"]["name"] == "AskApproval"


def test_a_running_execution_waits_in_the_state_it_entered_last() -> None:
    events = [
        event(1, "TaskStateEntered", T, name="Validate", input='{"a": 1}'),
        event(2, "TaskStateExited", T, name="Validate"),
        event(3, "TaskStateEntered", T, name="AskApproval", input='{"store_id": "s", "return_id": "r"}'),
    ]
    assert waiting_state(events) == ("AskApproval", {"store_id": "s", "return_id": "r"})
    assert waiting_state(events[:2]) is None


def test_the_resumable_copy_starts_where_the_input_says_and_otherwise_as_before() -> None:
    definition = json.dumps(
        {
            "StartAt": "First",
            "States": {
                "First": {"Type": "Pass", "Next": "Wait"},
                "Wait": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "End": True,
                },
            },
        }
    )
    asl = json.loads(resume_definition(definition))
    assert asl["StartAt"] == "Resume?"
    assert asl["States"]["Resume?"]["Choices"] == [
        {"Variable": "$.resume_at", "StringEquals": "Wait", "Next": "Wait"}
    ]
    assert asl["States"]["Resume?"]["Default"] == "First"


def test_moto_timestamps_are_shown_in_the_simulated_time_of_their_moment() -> None:
    journal = Journal()
    pinned = datetime(2026, 1, 1, tzinfo=UTC)
    journal.entries = [
        (T, pinned, timedelta(0)),  # the demo history: the clock pinned in the past
        (T + timedelta(minutes=1), None, timedelta(0)),  # landed: real time
        (T + timedelta(minutes=2), None, timedelta(days=3)),  # a developer jumped three days
    ]
    assert journal.simulated(T + timedelta(seconds=30)) == pinned
    assert journal.simulated(T + timedelta(seconds=90)) == T + timedelta(seconds=90)
    assert journal.simulated(T + timedelta(minutes=5)) == T + timedelta(days=3, minutes=5)


def test_a_second_stack_never_takes_or_removes_the_default_pointer(tmp_path: Path) -> None:
    # Given a running stack (another live process: our parent) holding the pointer
    root = tmp_path / ".aftercare"
    statefiles.write(root / "dev.json", {"port": 8000, "pid": os.getppid(), "file": "stack-8000/dev.json"})
    statefiles.write(
        statefiles.connection_file(8000, root), {"endpoint": "http://127.0.0.1:8000", "pid": os.getppid()}
    )

    # When this process starts a second stack and stops it
    assert statefiles.claim_default(8001, "http://127.0.0.1:8001", root) is False
    statefiles.write(
        statefiles.connection_file(8001, root), {"endpoint": "http://127.0.0.1:8001", "pid": os.getpid()}
    )
    statefiles.release_default(root)

    # Then the pointer still names the first, and the CLI finds each stack by its endpoint
    assert json.loads((root / "dev.json").read_text())["port"] == 8000
    assert statefiles.find(None, root)[1]["endpoint"] == "http://127.0.0.1:8000"
    assert statefiles.find("http://127.0.0.1:8001/", root)[1]["pid"] == os.getpid()
    assert statefiles.find("http://127.0.0.1:9999", root) == (None, {})


def test_a_stale_pointer_is_taken_over(tmp_path: Path) -> None:
    root = tmp_path / ".aftercare"
    statefiles.write(root / "dev.json", {"port": 8000, "pid": 2**22 + 12345, "file": "stack-8000/dev.json"})
    assert statefiles.claim_default(8001, "http://127.0.0.1:8001", root) is True
    assert json.loads((root / "dev.json").read_text())["pid"] == os.getpid()
    statefiles.release_default(root)
    assert not (root / "dev.json").exists()
