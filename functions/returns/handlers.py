"""Entry points of the returns workflow: its task handlers and the deadline schedule.

``app.py`` declares them as Lambda functions (so every one runs with the app's middleware) and calls these;
each gets the capability's ports from the composition root and calls one service function.
"""

from __future__ import annotations

from typing import Any


def returns_step(event: dict[str, Any], context: Any) -> Any:
    """Every step of the returns state machine except the refund call (validate, notify, wait, record)."""
    from functions.composition import returns_ports
    from functions.returns import steps

    return steps.run(event, returns_ports())


def returns_refund(event: dict[str, Any], context: Any) -> Any:
    """The call to the store's refund endpoint (retried by the state machine on 5xx and timeouts)."""
    from functions.composition import returns_ports
    from functions.returns import steps

    return steps.run({**event, "task": "refund"}, returns_ports())


def returns_deadlines(event: Any) -> dict[str, int]:
    """Time out return approvals and parcels past their deadline (a scheduled event)."""
    from functions.composition import returns_ports
    from functions.returns import service

    return {"timed_out": service.enforce_deadlines(returns_ports())}
