"""Keep a local stack's state across restarts (docs/decisions.md, "the local stack remembers").

moto keeps everything in memory, so the stack saves what a developer would miss to
``.aftercare/stack-<port>/state.json`` on a clean stop (Ctrl-C, SIGTERM) and every few seconds after a
change, and loads it on the next start (``aftercare dev --fresh`` ignores and replaces it):

- every DynamoDB item (stores, orders, outreach, answers, flags, returns, insights...), read with Scan and
  written back with BatchWriteItem before anything runs; the stream readers then start after the restored
  records, so nothing is flagged, counted or emailed twice;
- the secrets (operator key, link signing key), so keys, links and sessions stay valid;
- the outbox (every email sent so far) and the SES identities; nothing is sent again;
- the simulated clock, as its distance from the wall clock (time that passed while stopped passes);
- when each schedule last ran, the refunds the stand-in refund endpoint made, the demo's secrets;
- Step Functions: finished executions as their history (the console shows them); an execution waiting
  for a person (a return awaiting approval or its parcel) is started again at the state it waited in,
  on a copy of the state machine that can start there, and its new task token replaces the old one on
  the return (the step's emails are not sent again; its deadline is the one it had).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from functions.shared import clock

VERSION = 1
STATE = "state.json"
RESUME_SUFFIX = "-resume"
WAITING_TASK = "waitForTaskToken"


# ----------------------------------------------------------------------------- DynamoDB items as JSON


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _wire_binary(value: Any) -> Any:
    """moto's wire JSON carries binary as base64 text; mark it so ``_decode`` gives bytes back."""
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, inner in value.items():
            if key == "B" and isinstance(inner, str):
                result[key] = {"__b64__": inner}
            elif key == "BS" and isinstance(inner, list):
                result[key] = [{"__b64__": x} if isinstance(x, str) else x for x in inner]
            else:
                result[key] = _wire_binary(inner)
        return result
    if isinstance(value, list):
        return [_wire_binary(v) for v in value]
    return value


def dump_tables(tables: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Every item of every table (logical id -> table name), read from moto's memory in one moment.

    Scan over HTTP took 1.6 s for the demo's 620 items; moto's own item list takes milliseconds. Holding
    ``motolock.LOCK`` (every DynamoDB request holds it) makes the copy consistent across tables: no
    request is half-seen. This reads moto's private ``Table.all_items`` and ``Item.to_json``; the e2e
    test of restarts is its contract test.
    """
    from moto.dynamodb.models import dynamodb_backends

    from aftercare.devstack.motolock import LOCK
    from aftercare.devstack.provision import ACCOUNT, REGION

    backend = dynamodb_backends[ACCOUNT][REGION]
    with LOCK:
        return {
            logical: [
                _encode(_wire_binary(item.to_json()["Attributes"]))
                for item in backend.tables[name].all_items()
            ]
            for logical, name in tables.items()
        }


def load_table(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": _decode(item)}} for item in items[start : start + 25]]
        pending: dict[str, Any] = {table: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


# ----------------------------------------------------------------------------- the simulated-time journal


@dataclass
class Journal:
    """When the simulated clock changed, so a real timestamp (moto's, for Step Functions) can be shown in
    simulated time: the simulated time of wall time ``t`` is ``t + offset`` of the last change before ``t``,
    or the pinned time if the clock was pinned then."""

    entries: list[tuple[datetime, datetime | None, timedelta]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self) -> None:
        frozen = clock.clock._frozen  # the clock's own state: pinned or running with an offset
        with self.lock:
            offset = clock.clock.offset if frozen is None else timedelta(0)
            self.entries.append((clock.wall_now(), frozen, offset))

    def simulated(self, wall: datetime) -> datetime:
        with self.lock:
            entries = list(self.entries)
        chosen = None
        for entry in entries:
            if entry[0] <= wall:
                chosen = entry
            else:
                break
        if chosen is None:
            return wall + (entries[0][2] if entries else clock.clock.offset)
        _, frozen, offset = chosen
        return frozen if frozen is not None else wall + offset

    def install(self) -> None:
        """Note every change of the process's clock (advance, pin, unpin)."""
        instance = clock.clock
        if getattr(instance, "journal", None) is self:
            return
        originals = {name: getattr(instance, name) for name in ("advance", "freeze", "reset")}

        def wrap(name: str) -> Any:
            def changed(*args: Any, **kwargs: Any) -> Any:
                result = originals[name](*args, **kwargs)
                self.note()
                return result

            return changed

        for name in originals:
            setattr(instance, name, wrap(name))
        instance.journal = self  # type: ignore[attr-defined]
        self.note()


journal = Journal()


# ----------------------------------------------------------------------------- Step Functions


def execution_history(arn: str) -> list[dict[str, Any]]:
    from functions.shared import aws

    sfn: Any = aws.stepfunctions()
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page.get("events", []))
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def waiting_state(events: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """The state a running execution is in (entered, not exited) and the input it entered with."""
    entered: tuple[str, dict[str, Any]] | None = None
    for event in events:
        if event["type"].endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails", {})
            entered = (str(details.get("name", "")), json.loads(details.get("input") or "{}"))
        elif event["type"].endswith("StateExited"):
            entered = None
    return entered


def resume_definition(definition: str) -> str:
    """The state machine with a first Choice that jumps to ``$.resume_at`` when the input names a state."""
    asl = json.loads(definition)
    start = asl["StartAt"]
    choices = [
        {"Variable": "$.resume_at", "StringEquals": name, "Next": name}
        for name, state in asl["States"].items()
        if state.get("Type") == "Task"
    ]
    asl["States"]["Resume?"] = {"Type": "Choice", "Choices": choices, "Default": start}
    asl["StartAt"] = "Resume?"
    return json.dumps(asl)


# ----------------------------------------------------------------------------- snapshot and restore


def snapshot(stack: Any, archived: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything the stack keeps, as JSON. Call it under ``stack.lock``."""
    from aftercare.devstack import console
    from aftercare.devstack.provision import ACCOUNT, REGION
    from functions.shared import aws

    provisioned = stack.provisioned
    tables = dump_tables(provisioned.tables)

    from moto.ses.models import RawMessage, ses_backends

    backend = ses_backends[ACCOUNT][REGION]
    messages = []
    for message in list(backend.sent_messages):
        if isinstance(message, RawMessage):
            messages.append(
                {
                    "id": message.id,
                    "source": message.source,
                    "to": list(message.destinations),
                    "raw": message.raw_data,
                }
            )
    listed = aws.sesv2().list_email_identities().get("EmailIdentities", [])
    identities = [identity["IdentityName"] for identity in listed]
    executions = archived_executions(stack, archived)
    return {
        "version": VERSION,
        "saved_at": clock.isoformat(clock.wall_now()),
        "now": clock.isoformat(clock.now()),
        "offset_seconds": clock.clock.offset.total_seconds(),
        "secrets": dict(provisioned.secret_values),
        "tables": tables,
        "outbox": messages,
        "identities": identities,
        "schedules": {
            s.name: clock.isoformat(s.last_run) if s.last_run else None for s in stack.scheduler.schedules
        },
        "refunds": [refund.view() for refund in console.desk.refunds.values()],
        "refused_refunds": console.desk.refused,
        "executions": executions,
        "demo": stack.demo,
        "demo_data": stack.demo_data,
    }


def archived_executions(stack: Any, archived: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every execution (this run's and earlier runs'), with its history in simulated time."""
    from aftercare.devstack.console import history_of
    from functions.shared import aws

    sfn = aws.stepfunctions()
    seen = {item["arn"] for item in archived}
    result = list(archived)
    for machine in sfn.list_state_machines().get("stateMachines", []):
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine["stateMachineArn"])
        for page in pages:
            for execution in page["executions"]:
                if execution["executionArn"] in seen:
                    continue
                events = execution_history(execution["executionArn"])
                entry: dict[str, Any] = {
                    "state_machine": machine["name"].removesuffix(RESUME_SUFFIX),
                    "name": execution["name"],
                    "arn": execution["executionArn"],
                    "status": execution["status"],
                    "started_at": clock.isoformat(journal.simulated(execution["startDate"])),
                    "stopped_at": clock.isoformat(journal.simulated(execution["stopDate"]))
                    if execution.get("stopDate")
                    else None,
                    "history": history_of(events),
                }
                if execution["status"] == "RUNNING":
                    entry["waiting"] = waiting_state(events)
                result.append(entry)
    return result


def save(stack: Any, directory: Path, archived: list[dict[str, Any]]) -> float:
    """Write the snapshot atomically; return the seconds it took."""
    started = time.perf_counter()
    with stack.lock:
        data = snapshot(stack, archived)
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{STATE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(directory / STATE)
    return time.perf_counter() - started


def load(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / STATE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as error:
        raise SavedStateUnreadable(directory / STATE, str(error)) from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise SavedStateUnreadable(directory / STATE, f"not a version {VERSION} saved state")
    return data


class SavedStateUnreadable(Exception):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"The saved local stack in {path} cannot be read ({problem}). "
            "Start empty with: aftercare dev --fresh (it replaces that file)."
        )


def restore_data(saved: dict[str, Any], provisioned: Any) -> None:
    """Tables, outbox, identities and the clock, before anything runs."""
    from aftercare.devstack.provision import ACCOUNT, REGION
    from functions.shared import aws

    client = aws.dynamodb()
    for logical, items in saved.get("tables", {}).items():
        if logical in provisioned.tables:
            load_table(client, provisioned.tables[logical], items)
    sesv2 = aws.sesv2()
    for identity in saved.get("identities", []):
        with contextlib.suppress(Exception):  # one there already is what we want
            sesv2.create_email_identity(EmailIdentity=identity)
    from moto.ses.models import RawMessage, ses_backends

    backend = ses_backends[ACCOUNT][REGION]
    for message in saved.get("outbox", []):
        raw = RawMessage(message["id"], message["source"], message["to"], message["raw"])
        backend.sent_messages.append(raw)
        backend.sent_message_count += len(message["to"])
    offset = timedelta(seconds=float(saved.get("offset_seconds", 0)))
    if offset > timedelta(0):
        clock.clock.advance(offset)


def restore_stack(saved: dict[str, Any], stack: Any) -> None:
    """Schedules, refunds and the demo, once the stack exists."""
    from aftercare.devstack import console
    from aftercare.devstack.refunds import Refund

    for schedule in stack.scheduler.schedules:
        last = saved.get("schedules", {}).get(schedule.name)
        schedule.last_run = clock.parse_iso(last) if last else None
    for item in saved.get("refunds", []):
        refund = Refund(**item)
        console.desk.refunds[(refund.store_id, refund.idempotency_key)] = refund
    console.desk.refused = int(saved.get("refused_refunds", 0))
    stack.demo = dict(saved.get("demo") or {})
    stack.demo_data = dict(saved.get("demo_data") or {})


def resume_executions(saved: dict[str, Any], stack: Any, function_prefix: str) -> list[dict[str, Any]]:
    """Start again every execution that waited for a person; return the archive of the others."""
    from aftercare.devstack import lambdas
    from functions.composition import adapters
    from functions.returns.store import RETURN
    from functions.shared import aws

    executions = saved.get("executions", [])
    waiting = [e for e in executions if e.get("status") == "RUNNING" and e.get("waiting")]
    archived = [e for e in executions if e not in waiting]
    if not waiting:
        return archived
    sfn = aws.stepfunctions()
    step_name = f"{function_prefix}-returns_step"
    real_step = lambdas._handlers[step_name]
    reattach: dict[tuple[str, str], threading.Event] = {}
    returns = adapters().returns

    def step(event: dict[str, Any], context: Any) -> Any:
        key = (str(event.get("store_id")), str(event.get("return_id")))
        done = reattach.get(key)
        if done is None or "token" not in event:
            return real_step(event, context)
        aws.dynamodb().update_item(
            TableName=returns.table,
            Key={"pk": {"S": returns.pk(*key)}, "sk": {"S": RETURN}},
            UpdateExpression="SET task_token = :token",
            ConditionExpression="attribute_exists(waiting_for)",
            ExpressionAttributeValues={":token": {"S": str(event["token"])}},
        )
        done.set()
        return None

    lambdas.register(step_name, step)
    machines: dict[str, str] = {}
    token_states: set[str] = set()
    try:
        for execution in waiting:
            state, data = execution["waiting"]
            machine = execution["state_machine"]
            if machine not in machines:
                original = next(m for m in sfn.list_state_machines()["stateMachines"] if m["name"] == machine)
                described = sfn.describe_state_machine(stateMachineArn=original["stateMachineArn"])
                states = json.loads(described["definition"])["States"]
                token_states.update(
                    n for n, st in states.items() if WAITING_TASK in str(st.get("Resource", ""))
                )
                machines[machine] = sfn.create_state_machine(
                    name=f"{machine}{RESUME_SUFFIX}",
                    definition=resume_definition(described["definition"]),
                    roleArn=described["roleArn"],
                )["stateMachineArn"]
            key = (str(data.get("store_id")), str(data.get("return_id")))
            if state in token_states:  # the step that parks it only records its new token
                reattach[key] = threading.Event()
            sfn.start_execution(
                stateMachineArn=machines[machine],
                name=execution["name"],
                input=json.dumps({**data, "resume_at": state}),
            )
        for event in reattach.values():
            event.wait(10)
    finally:
        lambdas.register(step_name, real_step)
    return archived
