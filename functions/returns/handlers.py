"""Lambda entry points of the returns workflow: its task handlers and the deadline schedule."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from chalice.app import Blueprint, Rate

blueprint = Blueprint(__name__)


@blueprint.lambda_function(name="returns_step")
def returns_step(event: dict[str, Any], context: Any) -> Any:
    """Every step of the returns state machine except the refund call (validate, notify, wait, record)."""
    from functions.returns import tasks

    return tasks.run(event)


@blueprint.lambda_function(name="returns_refund")
def returns_refund(event: dict[str, Any], context: Any) -> Any:
    """The call to the store's refund endpoint (retried by the state machine on 5xx and timeouts)."""
    from functions.returns import tasks

    return tasks.run({**event, "task": "refund"})


@blueprint.schedule(
    Rate(15, unit=Rate.MINUTES),
    name="returns_deadlines",
    description="Time out return approvals and parcels past their deadline",
)
def returns_deadlines(event: Any) -> dict[str, int]:
    from functions.returns import service
    from functions.returns.store import default_repository

    return {"timed_out": service.enforce_deadlines(default_repository())}


# Lambda imports this module directly; importing the app attaches its middleware (see outreach.handlers).
import_module("app")
