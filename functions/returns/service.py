"""Returns and refunds: start a request (customer, staff or store), decide on it, resume its workflow.

Every request is one item in the Returns table with its audit steps beside it; a Step Functions
execution (named after the request, so a repeated start is the same execution) carries it through
eligibility, approval, the parcel and the store's refund call. Deadlines (approval, parcel) are kept on
the item and enforced by a schedule with Aftercare's clock, so the local stack's clock moves through them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from functions.returns.store import Conflict, ReturnRepository
from functions.shared import aws, clock
from functions.shared.observability import logger, metrics
from functions.stores.models import Store

APPROVAL, PARCEL = "approval", "parcel"


def return_id_for(store_id: str, *parts: str) -> str:
    return "ret-" + hashlib.sha256("/".join((store_id, *parts)).encode()).hexdigest()[:16]


def _state_machine_arn() -> str:
    from functions.shared.settings import get_settings

    return get_settings().returns_state_machine_arn


def start(store: Store, request: dict[str, Any], repository: ReturnRepository, actor: str) -> dict[str, Any]:
    """Record the request and start its workflow; the same request again changes nothing."""
    from botocore.exceptions import ClientError

    now = clock.isoformat(clock.now())
    request = {**request, "store_id": store.id, "status": "requested", "requested_at": now}
    created = repository.create(request)
    if created:
        repository.step(
            store.id,
            request["return_id"],
            actor,
            "requested",
            f"{request.get('outcome', 'refund')} requested for {len(request.get('items', []))} item(s)",
            reason=request.get("reason"),
        )
    current, _ = repository.get(store.id, request["return_id"])
    if current is not None and current.get("execution_arn"):
        return {"return_id": request["return_id"], "status": current.get("status"), "duplicate": True}
    safety = (
        int(
            store.config.returns.approval_timeout.total_seconds()
            + store.config.returns.return_timeout.total_seconds()
        )
        * 3
    )
    payload = json.dumps(
        {"store_id": store.id, "return_id": request["return_id"], "safety_timeout_seconds": safety}
    )
    try:
        execution = aws.stepfunctions().start_execution(
            stateMachineArn=_state_machine_arn(), name=request["return_id"], input=payload
        )
        arn = execution["executionArn"]
    except ClientError as error:
        if aws.error_code(error) != "ExecutionAlreadyExists":
            raise aws.domain_error(error, "starting the return workflow") from error
        arn = f"{_state_machine_arn().replace(':stateMachine:', ':execution:')}:{request['return_id']}"
    repository.update(store.id, request["return_id"], {"execution_arn": arn, "status": "in progress"})
    metrics.add_metric(name="ReturnStarted", unit="Count", value=1)
    return {"return_id": request["return_id"], "status": "in progress", "duplicate": not created}


def _resume(
    repository: ReturnRepository, store_id: str, return_id: str, kind: str, output: dict[str, Any]
) -> None:
    token = repository.resume(store_id, return_id, kind)
    aws.stepfunctions().send_task_success(taskToken=token, output=json.dumps(output))


def decide(
    store: Store, return_id: str, approve: bool, staff: str, note: str, repository: ReturnRepository
) -> None:
    """A staff member approves or rejects from their link; a second decision is a ``Conflict``."""
    _resume(repository, store.id, return_id, APPROVAL, {"approved": approve, "by": staff, "note": note})
    repository.step(store.id, return_id, staff, "approved" if approve else "rejected", note or "no note")


def parcel_received(store: Store, return_id: str, repository: ReturnRepository) -> None:
    """The store reports the returned item arrived (``return.received``)."""
    _resume(repository, store.id, return_id, PARCEL, {"received": True, "at": clock.isoformat(clock.now())})
    repository.step(
        store.id, return_id, f"store {store.id}", "received", "the store received the returned item"
    )


def enforce_deadlines(repository: ReturnRepository) -> int:
    """Fail the waiting task of every request past its deadline, so the workflow escalates or moves on."""
    from botocore.exceptions import ClientError

    from functions.returns.store import SHARDS

    expired = 0
    now = clock.now()
    for shard in range(SHARDS):
        for request in repository.overdue(shard, now):
            kind = str(request.get("waiting_for"))
            try:
                token = repository.resume(str(request["store_id"]), str(request["return_id"]), kind)
            except Conflict:
                continue
            error = "ApprovalTimeout" if kind == APPROVAL else "ReturnTimeout"
            try:
                aws.stepfunctions().send_task_failure(
                    taskToken=token, error=error, cause=f"no {kind} by {request.get('wait_deadline')}"
                )
            except ClientError as failure:
                logger.warning("could not time out a return task", extra={"error": aws.error_code(failure)})
                continue
            repository.step(
                str(request["store_id"]),
                str(request["return_id"]),
                "system",
                f"{kind} timed out",
                f"nothing happened by {request.get('wait_deadline')}",
            )
            expired += 1
    return expired
