"""Return pages: the customer's request page, the staff approval page, and the read API."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from chalice.app import Blueprint, Response

from functions.shared import tokens
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
RETURN_TTL = timedelta(days=120)
OUTCOMES = ("refund", "replacement", "store_credit")


def return_link(signing_key: bytes, base_url: str, store_id: str, order_id: str) -> str:
    token = tokens.sign(
        signing_key, purpose="return", store_id=store_id, ttl=RETURN_TTL, claims={"o": order_id}
    )
    return f"{base_url.rstrip('/')}/r/{token}"


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
    from functions.shared.i18n import Translator, choose_locale
    from functions.stores.store import default_repository as stores

    token = tokens.verify(tokens.signing_key(), token_text, purpose="return")
    store = stores().get(token.store_id, cached=True)
    order_id = str(token.claims.get("o", ""))
    stored = orders().load(store.id, order_id)
    if stored is None or stored.facts.items is None:
        raise NotFound("the order this link belongs to does not exist")
    facts = stored.facts
    customer = facts.customer.customer if facts.customer else None
    language = choose_locale(customer.locale if customer else None, store.config.default_locale)
    t = Translator(language, store.config.emails.texts)
    return {
        "token": token,
        "store": store,
        "facts": facts,
        "t": t,
        "locale": language,
        "title": t("return_page_title"),
        "store_name": store.config.name,
        "order_label": facts.name or order_id,
        "items": facts.items.items if facts.items else [],
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
    return html_page(
        200, "pages/return_request.html", **context, request_id=uuid.uuid4().hex, state="ask", error=""
    )


@route(blueprint, "/r/{token}", methods=("POST",), content_types=FORM)
def request_return(token: str) -> Any:
    try:
        context = _customer_context(token)
    except (tokens.TokenError, NotFound) as error:
        return _link_problem(error)
    form = _form()
    t = context["t"]
    items = []
    for item in context["items"]:
        if f"item-{item.id}" in form:
            raw_quantity = (form.get(f"quantity-{item.id}") or ["1"])[0]
            quantity = int(raw_quantity) if raw_quantity.isdigit() else 1
            items.append(
                {
                    "product_id": item.product_key,
                    "line_item_id": item.id,
                    "name": item.name,
                    "product_type": item.product_type,
                    "quantity": max(1, min(quantity, item.quantity)),
                    "price": str(item.price) if item.price is not None else "0",
                }
            )
    request_id = (form.get("request_id") or [""])[0][:64]
    outcome = (form.get("outcome") or ["refund"])[0]
    reason = (form.get("reason") or [""])[0]
    if not items or not request_id or outcome not in OUTCOMES or reason not in context["reasons"]:
        return html_page(
            422,
            "pages/return_request.html",
            **context,
            request_id=request_id or uuid.uuid4().hex,
            state="ask",
            error=t("return_nothing_selected"),
        )
    store, facts, customer = context["store"], context["facts"], context["customer"]
    request = {
        "return_id": service.return_id_for(store.id, facts.order_id, "customer", request_id),
        "order_id": facts.order_id,
        "order_name": facts.name,
        "items": items,
        "outcome": outcome,
        "reason": reason,
        "details": (form.get("details") or [""])[0][:2000],
        "source": "customer",
        "customer": customer.model_dump() if customer else None,
    }
    started = service.start(
        store, request, returns_store.default_repository(), f"customer {customer.email if customer else ''}"
    )
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
    decision = form.get("decision")
    if decision not in {"approve", "reject"}:
        return html_page(
            422, "pages/return_approval.html", **context, notice="", error="Choose approve or reject."
        )
    try:
        service.decide(
            context["store"],
            context["request"]["return_id"],
            decision == "approve",
            context["actor"],
            form.get("note", "")[:1000],
            returns_store.default_repository(),
        )
        notice = (
            "Approved: the workflow continues."
            if decision == "approve"
            else "Rejected: the customer is told."
        )
    except returns_store.Conflict:
        notice = "This request is not waiting for a decision any more (someone decided, or it timed out)."
    return html_page(200, "pages/return_approval.html", **_approval_context(token), notice=notice, error="")


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
