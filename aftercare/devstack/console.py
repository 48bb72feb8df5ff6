"""The dev console at ``/_dev/``: outbox, simulated clock, schedules, streams, state machines, and a
one-click way into a store's workspace.

Registered on the app only by ``aftercare dev``; the deployed package never contains these routes.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from chalice.app import Blueprint, Response
from pydantic import TypeAdapter, ValidationError

from aftercare.devstack import outbox
from aftercare.devstack.refunds import RefundDesk
from aftercare.devstack.stack import DevStack
from functions.shared import clock
from functions.shared.http import ApiError, json_response, route

blueprint = Blueprint(__name__)
_state: dict[str, DevStack] = {}
desk = RefundDesk()
_DURATION: TypeAdapter[timedelta] = TypeAdapter(timedelta)
_FORM = "application/x-www-form-urlencoded"


def attach(stack: DevStack) -> None:
    _state["stack"] = stack


def _stack() -> DevStack:
    return _state["stack"]


def _render(name: str, **context: Any) -> Response:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
    )
    html = environment.get_template(name).render(**context)
    return Response(body=html, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


def _executions(limit: int = 50) -> list[dict[str, Any]]:
    from functions.shared import aws

    sfn = aws.stepfunctions()
    result = []
    for machine in sfn.list_state_machines().get("stateMachines", []):
        for execution in sfn.list_executions(
            stateMachineArn=machine["stateMachineArn"], maxResults=limit
        ).get("executions", []):
            result.append(
                {
                    "state_machine": machine["name"],
                    "name": execution["name"],
                    "arn": execution["executionArn"],
                    "status": execution["status"],
                    "started_at": execution["startDate"].isoformat(),
                    "stopped_at": execution["stopDate"].isoformat() if execution.get("stopDate") else None,
                }
            )
    return sorted(result, key=lambda item: item["started_at"], reverse=True)


def _history(arn: str) -> list[dict[str, Any]]:
    from functions.shared import aws

    events = aws.stepfunctions().get_execution_history(executionArn=arn, maxResults=1000).get("events", [])
    history = []
    for event in events:
        details = {k: v for k, v in event.items() if k.endswith("EventDetails")}
        history.append(
            {
                "id": event["id"],
                "type": event["type"],
                "timestamp": event["timestamp"].isoformat(),
                "details": json.loads(json.dumps(details, default=str)),
            }
        )
    return history


def _overview() -> dict[str, Any]:
    stack = _stack()
    return {
        "now": clock.isoformat(clock.now()),
        "offset_seconds": int(clock.clock.offset.total_seconds()),
        "schedules": [
            {
                "name": s.name,
                "expression": s.expression,
                "runs": s.runs,
                "failures": s.failures,
                "last_run": clock.isoformat(s.last_run) if s.last_run else None,
                "last_error": s.last_error,
            }
            for s in stack.scheduler.schedules
        ],
        "streams": [
            {
                "table": m.table,
                "function": m.function_name,
                "delivered": m.delivered,
                "pending": len(m.pending),
                "failed": len(m.failed),
            }
            for m in stack.pump.mappings
        ],
        "demo": {k: v for k, v in stack.demo.items() if k != "secrets"},
        "demo_data": stack.demo_data.get("line", ""),
    }


@route(blueprint, "/")
def console() -> Any:
    messages = list(reversed(outbox.messages()))
    return _render(
        "console.html",
        overview=_overview(),
        messages=messages,
        executions=_executions(),
        refunds=desk.listing(),
        stack=_stack(),
        title="Aftercare dev console",
    )


@route(blueprint, "/outbox")
def list_outbox() -> Any:
    return json_response(outbox.messages())


@route(blueprint, "/outbox/{message_id}/view")
def view_message(message_id: str) -> Any:
    for message in outbox.messages():
        if message["id"] == message_id:
            return _render("message.html", message=message, title=message["subject"])
    raise ApiError(404, "not_found", f"No message {message_id} in the outbox.")


@route(blueprint, "/clock")
def get_clock() -> Any:
    return json_response(_overview())


def _parse_advance(raw_body: bytes | str | None, content_type: str) -> tuple[timedelta, bool]:
    if isinstance(raw_body, str):
        raw_body = raw_body.encode("utf-8")
    is_form = content_type.startswith(_FORM)
    text: Any
    if is_form:
        values = parse_qs((raw_body or b"").decode("utf-8", "replace"))
        text = (values.get("advance") or [""])[0]
    else:
        try:
            data = json.loads(raw_body or b"{}")
        except json.JSONDecodeError:
            raise ApiError(400, "invalid_json", 'Send {"advance": "PT1H"}.') from None
        text = data.get("advance") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text:
        raise ApiError(
            422,
            "validation_failed",
            "Say how far to advance.",
            [{"field": "advance", "problem": "required, an ISO-8601 duration such as PT1H or P14D"}],
        )
    try:
        delta = _DURATION.validate_python(text)
    except ValidationError:
        raise ApiError(
            422,
            "validation_failed",
            "That is not a duration.",
            [{"field": "advance", "problem": f"{text!r} is not an ISO-8601 duration such as PT1H"}],
        ) from None
    if delta <= timedelta(0) or delta > timedelta(days=400):
        raise ApiError(
            422,
            "validation_failed",
            "Advance by a positive duration of at most 400 days.",
            [{"field": "advance", "problem": "must be positive and at most P400D"}],
        )
    return delta, is_form


@route(blueprint, "/clock", methods=("POST",), content_types=["application/json", _FORM])
def advance_clock() -> Any:
    request = blueprint.current_request
    delta, is_form = _parse_advance(request.raw_body, request.headers.get("content-type", "application/json"))
    summary = _stack().advance(delta)
    if is_form:
        return Response(body="", status_code=303, headers={"Location": "/_dev/"})
    return json_response(summary)


@route(blueprint, "/run", methods=("POST",), content_types=["application/json", _FORM])
def run_schedules() -> Any:
    summary = _stack().run_now()
    if blueprint.current_request.headers.get("content-type", "").startswith(_FORM):
        return Response(body="", status_code=303, headers={"Location": "/_dev/"})
    return json_response(summary)


@route(blueprint, "/executions")
def list_executions() -> Any:
    return json_response(_executions())


@route(blueprint, "/executions/{execution_arn}")
def execution_history(execution_arn: str) -> Any:
    from urllib.parse import unquote

    from botocore.exceptions import ClientError

    try:
        return json_response({"arn": unquote(execution_arn), "history": _history(unquote(execution_arn))})
    except ClientError:
        raise ApiError(404, "not_found", "No such execution.") from None


@route(blueprint, "/refunds")
def list_refunds() -> Any:
    return json_response({"refunds": desk.listing(), "refused": desk.refused})


@route(blueprint, "/refunds/{store_id}", methods=("POST",), content_types=["application/json"])
def take_refund(store_id: str) -> Any:
    """The demo store's refund endpoint (see ``aftercare.devstack.refunds``)."""
    from functions.composition import adapters
    from functions.shared.errors import NotFound

    request = blueprint.current_request
    raw = request.raw_body or b""
    body = raw.encode("utf-8") if isinstance(raw, str) else raw
    try:
        secrets = adapters().stores.get_secrets(store_id).webhook.get("generic", [])
    except NotFound:
        raise ApiError(404, "not_found", f"No store {store_id}.") from None
    headers = {name.lower(): value for name, value in request.headers.items()}
    status, answer = desk.take(store_id, headers, body, secrets)
    return json_response(answer, status)


@route(blueprint, "/workspace/{store_id}", methods=("POST",), content_types=[_FORM, "application/json"])
def open_workspace(store_id: str) -> Any:
    """Sign in to a store's workspace as its first owner and go there (the console's button).

    The workspace's own way in is a magic link by email, which works locally too (the link lands in the
    outbox); this skips the round trip. A POST, because it signs someone in. The session is the one a
    magic link would give (``functions.workspace.session``): 12 hours, HttpOnly, SameSite=Strict, not
    ``Secure`` on plain http://127.0.0.1.
    """
    from functions.composition import adapters
    from functions.shared.errors import NotFound
    from functions.workspace import session, web

    root = adapters()
    try:
        store = root.stores.get(store_id[:64])
    except NotFound:
        raise ApiError(404, "not_found", f"No store {store_id}.") from None
    owners = store.config.staff.owners
    if not owners:
        raise ApiError(
            409,
            "no_owner",
            f"Store {store.id} has no owner: list one under staff.owners to open its workspace.",
        )
    token = session.issue(root.signing_key, store.id, str(owners[0]), "owner")
    headers: dict[str, str | list[str]] = {
        "Location": f"{web.INBOX_PATH}/",
        "Set-Cookie": session.set_cookie(token, secure=web.secure_cookies()),
        "Cache-Control": "no-store",
    }
    return Response(body="", status_code=303, headers=headers)
