"""Return pages: the customer's request page, the staff approval page, and the read API."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from chalice.app import Blueprint, Response

from functions.shared import clock, tokens
from functions.shared.errors import NotFound
from functions.shared.http import ApiError, html_error, html_page, json_response, route
from functions.shared.lazy import lazy_module
from functions.stores.routes import require_store_admin

if TYPE_CHECKING:
    from functions.returns import service
    from functions.returns import store as returns_store
else:
    service = lazy_module("functions.returns.service")
    returns_store = lazy_module("functions.returns.store")


blueprint = Blueprint(__name__)
FORM = ["*/*"]  # pages answer HTML whatever is posted; the view reads the form it understands
OUTCOMES = ("refund", "replacement", "store_credit")
NOT_WAITING = "Nothing changed: someone decided already, or the request timed out or moved on."


def _link_problem(error: Exception) -> Response:
    if isinstance(error, tokens.TokenExpired):
        return html_error(410, "This link has expired", "Ask the store for a new one.")
    if isinstance(error, NotFound):
        return html_error(404, "Nothing to show", "What this link points to no longer exists.")
    return html_error(400, "This link does not work", "It may have been copied incompletely.")


def _form() -> dict[str, list[str]]:
    raw = blueprint.current_request.raw_body or b""
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > 32 * 1024:
        raise ApiError(413, "body_too_large", "The form is too large.")
    return parse_qs(data.decode("utf-8", "replace"), keep_blank_values=True)


# ------------------------------------------------------------------------------------- customer


def _customer_context(token_text: str) -> dict[str, Any]:
    from functions.orders.store import default_repository as orders
    from functions.shared.i18n import Translator, choose_locale, format_date
    from functions.stores.store import default_repository as stores

    token = tokens.verify(tokens.signing_key(), token_text, purpose="return")
    store = stores().get(token.store_id, cached=True)
    order_id = str(token.claims.get("o", ""))
    stored = orders().get_order(store.id, order_id)
    if stored is None or stored.facts.items is None:
        raise NotFound("the order this link belongs to does not exist")
    facts = stored.facts
    customer = facts.customer.customer if facts.customer else None
    language = choose_locale(customer.locale if customer else None, store.config.default_locale)
    t = Translator(language, store.config.emails.texts)
    rows, nothing = service.returnable_items(store, facts, stored.ledger)
    order_label = facts.name or order_id
    if nothing.startswith("window:"):
        closed_on = clock.parse_iso(nothing.split(":", 1)[1] + "T00:00:00Z")
        blocked = t("return_window_closed", date=format_date(closed_on, language, store.config.timezone))
    else:
        blocked = {
            "closed": t("return_order_closed", order=order_label),
            "nothing left": t("return_nothing_left", order=order_label),
        }.get(nothing, "")
    return {
        "token": token,
        "store": store,
        "facts": facts,
        "t": t,
        "locale": language,
        "title": t("return_page_title"),
        "store_name": store.config.name,
        "order_label": order_label,
        "items": rows,
        "blocked": blocked,
        "reasons": store.config.returns.reasons,
        "outcomes": OUTCOMES,
        "action": f"/r/{token_text}",
        "customer": customer,
    }


@route(blueprint, "/r/{token}")
def return_page(token: str) -> Any:
    try:
        context = _customer_context(token)
    except (tokens.TokenError, NotFound) as error:
        return _link_problem(error)
    request_id = service.issue_request_id(tokens.signing_key(), context["token"].token_id)
    return html_page(
        200, "pages/return_request.html", **context, request_id=request_id, state="ask", error=""
    )


def _chosen_lines(context: dict[str, Any], form: dict[str, list[str]]) -> dict[str, int]:
    """Line item id -> units the customer ticked, each clamped to what is still returnable."""
    lines = {}
    for row in context["items"]:
        if f"item-{row.line_item_id}" in form and row.left > 0:
            raw = (form.get(f"quantity-{row.line_item_id}") or ["1"])[0].strip()
            quantity = int(raw) if raw.isdigit() and len(raw) <= 5 else 1
            lines[row.line_item_id] = max(1, min(quantity, row.left))
    return lines


@route(blueprint, "/r/{token}", methods=("POST",), content_types=FORM)
def request_return(token: str) -> Any:
    from functions.orders import ledger
    from functions.orders.store import default_repository as orders

    try:
        context = _customer_context(token)
    except (tokens.TokenError, NotFound) as error:
        return _link_problem(error)
    form = _form()
    t = context["t"]
    key = tokens.signing_key()
    token_id = context["token"].token_id
    request_id = (form.get("request_id") or [""])[0][:80]
    lines = _chosen_lines(context, form)
    outcome = (form.get("outcome") or ["refund"])[0]
    reason = (form.get("reason") or [""])[0]

    def again(status: int, message: str) -> Response:
        fresh = _customer_context(token)
        new_id = service.issue_request_id(key, token_id)
        return html_page(
            status, "pages/return_request.html", **fresh, request_id=new_id, state="ask", error=message
        )

    if not service.request_id_valid(key, token_id, request_id):
        return again(422, t("return_form_expired"))
    store, facts = context["store"], context["facts"]
    return_id = service.return_id_for(store.id, facts.order_id, "customer", request_id)
    existing, _ = returns_store.default_repository().get(store.id, return_id)
    if existing is not None:  # the same form again (a double click, a resubmit): the same answer
        return html_page(
            200,
            "pages/return_request.html",
            **context,
            request_id=request_id,
            state="done",
            error="",
            return_id=return_id,
        )
    if context["blocked"]:
        return again(
            409, context["blocked"]
        )  # everything was returned meanwhile, the order closed, or time ran out
    if not lines or outcome not in OUTCOMES or reason not in context["reasons"]:
        return again(422, t("return_nothing_selected"))
    customer = context["customer"]
    requested = service.Requested(
        return_id=return_id,
        order_id=facts.order_id,
        lines=lines,
        outcome=outcome,
        reason=reason,
        source="customer",
        extra={"details": (form.get("details") or [""])[0][:2000]},
    )
    actor = f"customer {customer.email if customer and customer.email else ''}".strip()
    try:
        started = service.start(store, requested, returns_store.default_repository(), orders(), actor)
    except ledger.NotReturnable:
        return again(409, t("return_already_requested"))
    return html_page(
        200,
        "pages/return_request.html",
        **context,
        request_id=request_id,
        state="done",
        error="",
        return_id=started["return_id"],
    )


# ------------------------------------------------------------------------------------- staff approval


def _approval_context(token_text: str) -> dict[str, Any]:
    from functions.stores.store import default_repository as stores

    token = tokens.verify(tokens.signing_key(), token_text, purpose="return-approval")
    store = stores().get(token.store_id, cached=True)
    request, steps = returns_store.default_repository().get(store.id, str(token.claims.get("r", "")))
    if request is None:
        raise NotFound("no such return")
    csrf = hmac.new(tokens.signing_key(), f"approve/{token.token_id}".encode(), hashlib.sha256).hexdigest()[
        :32
    ]
    return {
        "token": token,
        "store": store,
        "request": request,
        "steps": steps,
        "actions": _staff_actions(request),
        "csrf": csrf,
        "locale": "en",
        "title": f"Return {request['return_id']} for {store.config.name}",
        "store_name": store.config.name,
        "currency": store.config.currency,
        "action": f"/approve/{token_text}",
        "actor": str(token.claims.get("a", "staff")),
    }


@route(blueprint, "/approve/{token}")
def approval_page(token: str) -> Any:
    try:
        context = _approval_context(token)
    except (tokens.TokenError, NotFound) as error:
        return _link_problem(error)
    return html_page(200, "pages/return_approval.html", **context, notice="", error="")


@route(blueprint, "/approve/{token}", methods=("POST",), content_types=FORM)
def approval_decision(token: str) -> Any:
    try:
        context = _approval_context(token)
    except (tokens.TokenError, NotFound) as error:
        return _link_problem(error)
    form = {k: v[0] for k, v in _form().items()}
    if not hmac.compare_digest(context["csrf"].encode(), form.get("csrf", "").encode("utf-8", "replace")):
        return html_page(
            422,
            "pages/return_approval.html",
            **context,
            notice="",
            error="This form is out of date. Reload the page and try again.",
        )
    decision = form.get("decision", "")
    if decision not in {"approve", "reject", "retry_refund", "settle"}:
        return html_page(422, "pages/return_approval.html", **context, notice="", error="Choose an action.")
    if decision in _staff_actions(context["request"]):
        notice = _carry_out(decision, context, form.get("note", "")[:1000])
    else:
        notice = NOT_WAITING
    return html_page(200, "pages/return_approval.html", **_approval_context(token), notice=notice, error="")


def _staff_actions(request: dict[str, Any]) -> list[str]:
    """What staff may do with a return in its current state."""
    if request.get("waiting_for") == "approval":
        return ["approve", "reject"]
    if request.get("status") == service.REFUND_FAILED_STATUS:
        return ["retry_refund", "settle"]
    return []


def _carry_out(decision: str, context: dict[str, Any], note: str) -> str:
    from functions.orders.store import default_repository as orders

    store, request, actor = context["store"], context["request"], context["actor"]
    repository = returns_store.default_repository()
    try:
        if decision in {"approve", "reject"}:
            service.decide(store, request["return_id"], decision == "approve", actor, note, repository)
            return (
                "Approved: the workflow continues."
                if decision == "approve"
                else "Rejected: the customer is told."
            )
        if decision == "retry_refund":
            service.retry_refund(store, request["return_id"], actor, repository)
            return "The refund is being retried with the same idempotency key."
        service.settle(store, request["return_id"], actor, note, repository, orders())
        return "Marked as settled outside Aftercare. Its items are returnable again in Aftercare's records."
    except returns_store.Conflict:
        return NOT_WAITING


# ------------------------------------------------------------------------------------- read API


@route(blueprint, "/v1/stores/{store_id}/returns/{return_id}")
def get_return(store_id: str, return_id: str) -> Any:
    require_store_admin(blueprint, store_id)
    request, steps = returns_store.default_repository().get(store_id, return_id[:64])
    if request is None:
        raise ApiError(404, "not_found", f"No return {return_id} for store {store_id}.")
    hidden = {"pk", "sk", "task_token", "wait_shard", "order_key"}
    return json_response(
        {
            "return": {k: v for k, v in request.items() if k not in hidden},
            "audit": [{k: v for k, v in step.items() if k not in {"pk", "sk"}} for step in steps],
        }
    )
