"""The staff page behind an alert's link, its actions, and the read API for answers and flags."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from chalice.app import Blueprint, Response

from functions.shared import clock, links, tokens
from functions.shared.errors import NotFound
from functions.shared.http import ApiError, html_error, html_page, json_response, route
from functions.shared.lazy import lazy_module
from functions.stores.routes import require_store_admin

if TYPE_CHECKING:
    from functions import composition
    from functions.flags import models, offers, staff
    from functions.flags.ports import Ports
else:
    composition = lazy_module("functions.composition")
    models = lazy_module("functions.flags.models")
    offers = lazy_module("functions.flags.offers")
    staff = lazy_module("functions.flags.staff")


blueprint = Blueprint(__name__)
FORM = ["*/*"]  # pages answer HTML whatever is posted; the view reads the form it understands
MAX_FORM_BYTES = 32 * 1024
STATUSES = ("open", "overdue", "resolved")
LINK_TEXTS = {  # what the holder of a staff link that does not open is told, by ``links.problem`` status
    410: ("This link has expired", "Staff links last 14 days. Open the flag from a newer alert."),
    404: ("Nothing to show", "The flagged answer this link points to does not exist."),
    400: ("This link does not work", "It may have been copied incompletely or changed."),
}


def _problem(error: Exception) -> Response:
    found = links.problem(error)
    heading, message = LINK_TEXTS[found.status]
    return html_error(found.status, heading, message)


def _page(
    view: staff.StaffView, ports: Ports, status: int = 200, notice: str = "", error: str = "", draft: str = ""
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
        action=links.STAFF.action(view.token_text),
        csrf=view.form_value,
        action_id=uuid.uuid4().hex,
        actor=view.actor,
        templates=templates,
        draft=draft or next(iter(templates.values()), ""),
        notice=notice,
        error=error,
        offers=models.OFFERS,
        offer=offers.offer_context(view, ports),
        overdue=clock.parse_iso(str(view.flag["sla_deadline"])) <= ports.clock.now(),
        returns=offers.offered_returns(view, ports),
    )


@route(blueprint, "/staff/{token}")
def staff_page(token: str) -> Any:
    ports = composition.flag_ports()
    try:
        view = staff.open_staff(token, ports)
    except (tokens.TokenError, NotFound) as error:
        return _problem(error)
    return _page(view, ports)


Form = dict[str, str]


def _reply(view: staff.StaffView, form: Form, ports: Ports) -> str:
    staff.reply(
        view, form.get("reply", ""), form.get("action_id", ""), form.get("action") == "reply_resolve", ports
    )
    return "Your reply was emailed to the customer."


def _resolve(view: staff.StaffView, form: Form, ports: Ports) -> str:
    staff.resolve(view, form.get("note", ""), form.get("action_id", ""), ports)
    return "Marked as resolved."


def _offer(view: staff.StaffView, form: Form, ports: Ports) -> str:
    made = offers.offer(
        view,
        form.get("offer", ""),
        form.get("note", ""),
        form.get("action_id", ""),
        ports,
        outside_policy_ok=form.get("outside_policy_ok") == "1",
    )
    return f"The {made.kind} was offered (request {made.return_id})."


def _reopen(view: staff.StaffView, form: Form, ports: Ports) -> str:
    staff.reopen(view, ports)
    return "Reopened: you can reply or make an offer again."


ACTIONS: dict[str, Callable[[staff.StaffView, Form, Ports], str]] = {
    "reply": _reply,
    "reply_resolve": _reply,
    "resolve": _resolve,
    "offer": _offer,
    "reopen": _reopen,
}


def _form(data: bytes) -> Form:
    return {k: v[0] for k, v in parse_qs(data.decode("utf-8", "replace"), keep_blank_values=True).items()}


@route(blueprint, "/staff/{token}", methods=("POST",), content_types=FORM)
def staff_action(token: str) -> Any:
    ports = composition.flag_ports()
    try:
        view = staff.open_staff(token, ports)
    except (tokens.TokenError, NotFound) as error:
        return _problem(error)
    raw = blueprint.current_request.raw_body or b""
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > MAX_FORM_BYTES:
        return _page(view, ports, 413, error="The form is too large.")
    form = _form(data)
    try:
        staff.check_form(view, form.get("csrf", ""), ports)
        act = ACTIONS.get(form.get("action", ""))
        if act is None:
            return _page(view, ports, 422, error="Choose an action.")
        notice = act(view, form, ports)
    except models.ActionRefused as refused:
        return _page(
            staff.open_staff(token, ports), ports, 422, error=refused.message, draft=form.get("reply", "")
        )
    except models.DuplicateReply:
        notice = "This reply was already sent a moment ago; it was not sent again."
    except models.AlreadyDone:
        notice = "This was already done: submitting the form again changes nothing."
    return _page(staff.open_staff(token, ports), ports, notice=notice)


# ------------------------------------------------------------------------------------- read API

ANSWER_FIELDS = (
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
FLAG_FIELDS = (
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


def _query() -> dict[str, str]:
    return dict(blueprint.current_request.query_params or {})


def _time_range(query: dict[str, str], now: datetime) -> tuple[datetime, datetime]:
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
    return start, end


def _answer_filter(query: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    """Which answers the query keeps: by kind, product and score range."""
    kind = query.get("kind")
    if kind not in (None, "", "review", "nps"):
        raise ApiError(
            400, "invalid_query", "kind must be review or nps.", [{"field": "kind", "problem": "review|nps"}]
        )
    low = _int(query.get("min_score"), "min_score", 0, 10)
    high = _int(query.get("max_score"), "max_score", 0, 10)
    product = query.get("product")

    def wanted(r: dict[str, Any]) -> bool:
        return (
            (not kind or r.get("kind") == kind)
            and (not product or r.get("product_id") == product)
            and (low is None or int(r["score"]) >= low)
            and (high is None or int(r["score"]) <= high)
        )

    return wanted


@route(blueprint, "/v1/stores/{store_id}/responses")
def list_responses(store_id: str) -> Any:
    require_store_admin(blueprint, store_id)
    query = _query()
    ports = composition.flag_ports()
    start, end = _time_range(query, ports.clock.now())
    wanted = _answer_filter(query)
    limit = _int(query.get("limit"), "limit", 1, 500) or 100
    found = ports.responses.by_time(store_id, start, end, limit, wanted)
    items = [{k: r.get(k) for k in ANSWER_FIELDS} for r in found]
    return json_response({"from": clock.isoformat(start), "to": clock.isoformat(end), "responses": items})


@route(blueprint, "/v1/stores/{store_id}/flags")
def list_flags(store_id: str) -> Any:
    require_store_admin(blueprint, store_id)
    query = _query()
    status = query.get("status") or "open"
    if status not in STATUSES:
        raise ApiError(
            400,
            "invalid_query",
            "status must be open, overdue or resolved.",
            [{"field": "status", "problem": "one of open, overdue, resolved"}],
        )
    limit = _int(query.get("limit"), "limit", 1, 500) or 100
    ports = composition.flag_ports()
    flags = ports.flags.list(store_id, status, ports.clock.now(), limit)
    return json_response({"status": status, "flags": [{k: f.get(k) for k in FLAG_FIELDS} for f in flags]})
