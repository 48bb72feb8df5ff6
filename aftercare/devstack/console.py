"""The dev console at ``/_dev/``: outbox, simulated clock, schedules, streams, state machines, and a
one-click way into a store's workspace.

Registered on the app only by ``aftercare dev``; the deployed package never contains these routes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
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


_archive: list[dict[str, Any]] = []


def attach(stack: DevStack, archived: list[dict[str, Any]] | None = None) -> None:
    """Serve ``stack``; ``archived``: executions of earlier runs of a saved stack (``persist``)."""
    _state["stack"] = stack
    _archive[:] = archived or []


def _stack() -> DevStack:
    return _state["stack"]


def _render(name: str, **context: Any) -> Response:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
    )
    environment.filters["ago"] = human_duration
    html = environment.get_template(name).render(**context)
    return Response(body=html, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


def human_duration(seconds: float) -> str:
    """``1 h 5 min``, ``17 days``, ``2 days 3 h``: what a person would say (the larger two units)."""
    seconds = abs(round(seconds))
    if seconds >= 86400:  # a few seconds lost to a jump's own running time do not make "9 days 23 h"
        seconds = round(seconds / 3600) * 3600
    elif seconds >= 3600:
        seconds = round(seconds / 60) * 60
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 3600:
        return f"{minutes} min"
    if seconds < 86400:
        rest = minutes % 60
        return f"{hours} h" + (f" {rest} min" if rest else "")
    rest = hours % 24
    day_word = "day" if days == 1 else "days"
    return f"{days} {day_word}" + (f" {rest} h" if rest else "")


def _simulated(moment: datetime) -> str:
    from aftercare.devstack.persist import journal

    return clock.isoformat(journal.simulated(moment))


def _executions(limit: int = 50) -> list[dict[str, Any]]:
    """This run's executions (in simulated time) and earlier runs' (a saved stack), newest first."""
    from aftercare.devstack.persist import RESUME_SUFFIX
    from functions.shared import aws

    sfn = aws.stepfunctions()
    result = []
    for machine in sfn.list_state_machines().get("stateMachines", []):
        resumed = machine["name"].endswith(RESUME_SUFFIX)
        for execution in sfn.list_executions(
            stateMachineArn=machine["stateMachineArn"], maxResults=limit
        ).get("executions", []):
            result.append(
                {
                    "state_machine": machine["name"].removesuffix(RESUME_SUFFIX),
                    "name": execution["name"],
                    "arn": execution["executionArn"],
                    "status": execution["status"],
                    "started_at": _simulated(execution["startDate"]),
                    "stopped_at": _simulated(execution["stopDate"]) if execution.get("stopDate") else None,
                    "note": "resumed after a restart" if resumed else "",
                }
            )
    result.extend({**item, "note": "before a restart"} for item in _archive)
    return sorted(result, key=lambda item: item["started_at"], reverse=True)


_FAILURES = ("Failed", "TimedOut", "Aborted")


def _describe(event: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, text, tone) of one history event, for the timeline."""
    kind = str(event["type"])
    details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
    name = str(details.get("name", ""))
    tone = "bad" if kind.endswith(_FAILURES) else ("good" if kind.endswith("Succeeded") else "")
    if kind == "ExecutionStarted":
        return "start", "Execution started", ""
    if kind == "ExecutionSucceeded":
        return "end", "Execution succeeded", "good"
    if kind.startswith("Execution") and kind.endswith(_FAILURES):
        cause = details.get("error") or details.get("cause") or ""
        ending = kind.removeprefix("Execution").lower()
        return "end", f"Execution {ending}" + (f": {cause}" if cause else ""), "bad"
    if kind.endswith("StateEntered"):
        return "state", f"Entered {name} ({kind.removesuffix('StateEntered').lower() or 'state'})", ""
    if kind.endswith("StateExited"):
        return "state", f"Left {name}", ""
    if kind.startswith("TaskScheduled") or kind == "TaskScheduled":
        resource = str(details.get("resource", ""))
        waits = "waitForTaskToken" in resource
        text = "Task waiting for a person (task token)" if waits else f"Task scheduled: {resource}"
        return "task", text, ""
    if kind == "LambdaFunctionScheduled":
        return "task", "Lambda function called", ""
    if kind == "LambdaFunctionStarted":
        return "task", "Lambda function started", ""
    if kind == "LambdaFunctionSucceeded":
        return "task", "Lambda function succeeded", "good"
    if kind == "TaskSubmitted":
        return "task", "Task submitted", ""
    if kind.startswith("Wait"):
        return "wait", f"Wait {kind.removeprefix('Wait').lower()}", ""
    if kind.endswith(_FAILURES):
        error = details.get("error") or ""
        cause = str(details.get("cause") or "")[:200]
        return "failure", f"{kind}: {error} {cause}".strip(), "bad"
    if kind.endswith("Succeeded"):
        return "task", f"{kind.replace('Succeeded', ' succeeded')}", "good"
    return "other", kind, tone


def history_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A readable timeline of an execution's history: what happened, when (simulated time), and the
    event's details for whoever wants them."""
    timeline = []
    for event in events:
        kind, text, tone = _describe(event)
        details = {k: v for k, v in event.items() if k.endswith("EventDetails")}
        timestamp = event["timestamp"]
        timeline.append(
            {
                "id": event["id"],
                "type": event["type"],
                "at": _simulated(timestamp) if isinstance(timestamp, datetime) else str(timestamp),
                "kind": kind,
                "text": text,
                "tone": tone,
                "details": json.loads(json.dumps(details, default=str)),
            }
        )
    return timeline


def _history(arn: str) -> list[dict[str, Any]]:
    for item in _archive:
        if item["arn"] == arn:
            return list(item.get("history", []))
    from aftercare.devstack.persist import execution_history

    return history_of(execution_history(arn))


def _overview() -> dict[str, Any]:
    stack = _stack()
    return {
        "now": clock.isoformat(clock.now()),
        "offset_seconds": int(clock.clock.offset.total_seconds()),
        "offset_words": human_duration(clock.clock.offset.total_seconds()),
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
    """Every email sent, oldest first; ``?since=N`` skips the first N (a watcher reads only what is new)."""
    params: Any = blueprint.current_request.query_params or {}
    since = str(params.get("since") or "0")
    if not since.isdigit():
        raise ApiError(400, "invalid_since", "since is the number of emails to skip (0 or more).")
    return json_response(outbox.messages(int(since)))


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
    """The history as JSON, or as a timeline page for a browser (``?view=timeline``, the console's links)."""
    from urllib.parse import unquote

    from botocore.exceptions import ClientError

    arn = unquote(execution_arn)
    try:
        history = _history(arn)
    except ClientError:
        raise ApiError(404, "not_found", "No such execution.") from None
    query: Any = blueprint.current_request.query_params or {}
    if query.get("view") == "timeline":
        execution = next((e for e in _executions(1000) if e["arn"] == arn), {"name": arn, "arn": arn})
        return _render(
            "execution.html", execution=execution, history=history, title=f"Execution {execution['name']}"
        )
    return json_response({"arn": arn, "history": history})


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
