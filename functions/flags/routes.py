"""The staff page behind an alert's link, its actions, and the read API for answers and flags."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from chalice.app import Blueprint, Response

from functions.shared import clock, tokens
from functions.shared.errors import NotFound
from functions.shared.http import ApiError, html_error, html_page, json_response, route
from functions.shared.lazy import lazy_module
from functions.stores.routes import require_store_admin

if TYPE_CHECKING:
    from functions.flags import service
    from functions.flags import store as flag_store
else:
    service = lazy_module("functions.flags.service")
    flag_store = lazy_module("functions.flags.store")


blueprint = Blueprint(__name__)
FORM = ["*/*"]  # pages answer HTML whatever is posted; the view reads the form it understands
MAX_FORM_BYTES = 32 * 1024
STATUSES = ("open", "overdue", "resolved")


def _open(token: str) -> service.StaffView:
    return service.open_staff(token, service.shared_ports())


def _problem(error: Exception) -> Response:
    if isinstance(error, tokens.TokenExpired):
        return html_error(
            410, "This link has expired", "Staff links last 14 days. Open the flag from a newer alert."
        )
    if isinstance(error, NotFound):
        return html_error(404, "Nothing to show", "The flagged answer this link points to does not exist.")
    return html_error(400, "This link does not work", "It may have been copied incompletely or changed.")


def _page(
    view: service.StaffView, status: int = 200, notice: str = "", error: str = "", draft: str = ""
) -> Response:
    config = view.store.config
    customer = view.flag.get("customer") or {}
    first = str(customer.get("name") or "").split(" ")[0] or "there"
    from functions.shared.texts import render_reply_template

    templates = {
        name: render_reply_template(text, name=first, store=config.name)
        for name, text in config.alerts.reply_templates.items()
    }
    return html_page(
        status,
        "pages/staff.html",
        title=f"Flagged answer for {config.name}",
        locale="en",
        flag=view.flag,
        answer=view.answer,
        store_name=config.name,
        action=f"/staff/{view.token_text}",
        csrf=view.csrf,
        action_id=uuid.uuid4().hex,
        actor=view.actor,
        templates=templates,
        draft=draft or next(iter(templates.values()), ""),
        notice=notice,
        error=error,
        offers=service.OFFERS,
        offer=service.offer_context(view, service.shared_ports()),
        overdue=clock.parse_iso(str(view.flag["sla_deadline"])) <= clock.now(),
        returns=_returns_of(view),
    )


def _returns_of(view: service.StaffView) -> list[dict[str, Any]]:
    """Returns offered from this flag, with their audit trail, for the page."""
    from functions.returns.store import default_repository

    found = []
    for action in view.flag.get("actions") or []:
        if action.get("return_id"):
            request, steps = default_repository().get(view.store.id, str(action["return_id"]))
            if request is not None:
                found.append({"request": request, "steps": steps})
    return found


@route(blueprint, "/staff/{token}")
def staff_page(token: str) -> Any:
    try:
        view = _open(token)
    except (tokens.TokenError, NotFound) as error:
        return _problem(error)
    return _page(view)


@route(blueprint, "/staff/{token}", methods=("POST",), content_types=FORM)
def staff_action(token: str) -> Any:
    try:
        view = _open(token)
    except (tokens.TokenError, NotFound) as error:
        return _problem(error)
    raw = blueprint.current_request.raw_body or b""
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > MAX_FORM_BYTES:
        return _page(view, 413, error="The form is too large.")
    form = {k: v[0] for k, v in parse_qs(data.decode("utf-8", "replace"), keep_blank_values=True).items()}
    ports = service.shared_ports()
    action = form.get("action", "")
    try:
        view.check(form.get("csrf", ""))
        if action in {"reply", "reply_resolve"}:
            service.reply(
                view, form.get("reply", ""), form.get("action_id", ""), action == "reply_resolve", ports
            )
            notice = "Your reply was emailed to the customer."
        elif action == "resolve":
            service.resolve(view, form.get("note", ""), form.get("action_id", ""), ports)
            notice = "Marked as resolved."
        elif action == "offer":
            started = service.offer(
                view,
                form.get("offer", ""),
                form.get("note", ""),
                form.get("action_id", ""),
                ports,
                outside_policy_ok=form.get("outside_policy_ok") == "1",
            )
            notice = f"The {form.get('offer')} was offered (request {started['return_id']})."
        elif action == "reopen":
            service.reopen(view, ports)
            notice = "Reopened: you can reply or make an offer again."
        else:
            return _page(view, 422, error="Choose an action.")
    except service.ActionRefused as refused:
        return _page(_open(token), 422, error=refused.message, draft=form.get("reply", ""))
    except flag_store.DuplicateReply:
        notice = "This reply was already sent a moment ago; it was not sent again."
    except flag_store.AlreadyDone:
        notice = "This was already done: submitting the form again changes nothing."
    return _page(_open(token), notice=notice)


# ------------------------------------------------------------------------------------- read API


def _int(value: str | None, name: str, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    if not value.lstrip("-").isdigit() or not low <= int(value) <= high:
        raise ApiError(
            400,
            "invalid_query",
            f"{name} must be a whole number from {low} to {high}.",
            [{"field": name, "problem": f"must be between {low} and {high}"}],
        )
    return int(value)


@route(blueprint, "/v1/stores/{store_id}/responses")
def list_responses(store_id: str) -> Any:
    from functions.responses.store import default_repository

    require_store_admin(blueprint, store_id)
    query: dict[str, str] = dict(blueprint.current_request.query_params or {})
    now = clock.now()
    try:
        start = clock.parse_iso(query["from"]) if query.get("from") else now - timedelta(days=30)
        end = clock.parse_iso(query["to"]) if query.get("to") else now
    except ValueError:
        raise ApiError(
            400,
            "invalid_query",
            "from and to must be ISO-8601 times.",
            [{"field": "from/to", "problem": "not an ISO-8601 time"}],
        ) from None
    if end < start or end - start > timedelta(days=731):
        raise ApiError(400, "invalid_query", "The range must run forwards and span at most two years.")
    kind = query.get("kind")
    if kind not in (None, "", "review", "nps"):
        raise ApiError(
            400, "invalid_query", "kind must be review or nps.", [{"field": "kind", "problem": "review|nps"}]
        )
    low, high = (
        _int(query.get("min_score"), "min_score", 0, 10),
        _int(query.get("max_score"), "max_score", 0, 10),
    )
    limit = _int(query.get("limit"), "limit", 1, 500) or 100
    product = query.get("product")

    def wanted(r: dict[str, Any]) -> bool:
        return (
            (not kind or r.get("kind") == kind)
            and (not product or r.get("product_id") == product)
            and (low is None or int(r["score"]) >= low)
            and (high is None or int(r["score"]) <= high)
        )

    found = default_repository().by_time(store_id, start, end, limit, wanted)
    fields = (
        "order_id",
        "outreach_id",
        "product_id",
        "kind",
        "score",
        "comment",
        "locale",
        "channel",
        "responded_at",
        "first_responded_at",
        "answers",
    )
    items = [{k: r.get(k) for k in fields} for r in found]
    return json_response({"from": clock.isoformat(start), "to": clock.isoformat(end), "responses": items})


@route(blueprint, "/v1/stores/{store_id}/flags")
def list_flags(store_id: str) -> Any:
    from functions.flags.store import default_repository

    require_store_admin(blueprint, store_id)
    query: dict[str, str] = dict(blueprint.current_request.query_params or {})
    status = query.get("status") or "open"
    if status not in STATUSES:
        raise ApiError(
            400,
            "invalid_query",
            "status must be open, overdue or resolved.",
            [{"field": "status", "problem": "one of open, overdue, resolved"}],
        )
    limit = _int(query.get("limit"), "limit", 1, 500) or 100
    flags = default_repository().list(store_id, status, clock.now(), limit)
    keys = (
        "flag_id",
        "order_id",
        "kind",
        "score",
        "comment",
        "reasons",
        "status",
        "created_at",
        "sla_deadline",
        "escalated_at",
        "first_reply_at",
        "seconds_to_first_reply",
        "resolved_at",
        "resolved_by",
        "actions",
    )
    return json_response({"status": status, "flags": [{k: f.get(k) for k in keys} for f in flags]})
