"""Return pages: the customer's request page, the staff approval page, and the read API.

Thin views: each opens its link, calls one service function with the ports from the composition
root, and turns the result or the domain error into a page or a JSON answer.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from chalice.app import Blueprint, Response

from functions.returns.models import CUSTOMER_OUTCOMES, StaffAction, Waiting
from functions.shared import links, tokens
from functions.shared.errors import NotFound
from functions.shared.http import ApiError, html_error, html_page, json_response, route
from functions.shared.lazy import lazy_module
from functions.stores.routes import require_store_admin

if TYPE_CHECKING:
    from functions.returns import customer, reasons, service
    from functions.returns import status as return_status
    from functions.returns import store as returns_store
    from functions.returns.ports import Ports
    from functions.shared.i18n import Translator
    from functions.stores.models import Store
else:
    customer = lazy_module("functions.returns.customer")
    reasons = lazy_module("functions.returns.reasons")
    return_status = lazy_module("functions.returns.status")
    service = lazy_module("functions.returns.service")
    returns_store = lazy_module("functions.returns.store")


blueprint = Blueprint(__name__)
FORM = ["*/*"]  # pages answer HTML whatever is posted; the view reads the form it understands
NOT_WAITING = "approval_not_waiting"  # catalog keys of what the approval page tells staff
LINK_ERRORS = {  # what a customer's return link that does not open says (catalog keys, by status)
    410: ("rt_link_expired_title", "rt_link_expired"),
    404: ("rt_link_missing_title", "rt_link_missing"),
    400: ("rt_link_broken_title", "rt_link_broken"),
}
NOTICES = {
    StaffAction.APPROVE: "approval_notice_approve",
    StaffAction.REJECT: "approval_notice_reject",
    StaffAction.RETRY_REFUND: "approval_notice_retry_refund",
    StaffAction.SETTLE: "approval_notice_settle",
}


def _ports() -> Ports:
    from functions.composition import returns_ports

    return returns_ports()


APPROVAL_LINK_ERRORS = {  # catalog keys by ``links.problem`` status
    410: ("staff_link_expired_title", "approval_link_expired"),
    404: ("staff_link_missing_title", "approval_link_missing"),
    400: ("staff_link_broken_title", "staff_link_broken"),
}


def _approval_link_error(error: Exception, ports: Ports) -> Response:
    """In the store's language when the link proves its store (expired, its return gone), else English."""
    from functions.returns.emails import link_translator

    problem = links.problem(error)
    t = link_translator(error, lambda store_id: ports.stores.get(store_id, cached=True))
    heading, message = APPROVAL_LINK_ERRORS[problem.status]
    days = links.RETURN_APPROVAL.ttl.days
    return html_error(problem.status, t(heading), t(message, days=days), locale=t.language)


def _link_error(error: Exception, ports: Ports) -> Response:
    """A customer's return or status link that does not open: in the store's language when the link
    proves its store, else in the browser's language (``Accept-Language``), else English."""
    from functions.returns.emails import staff_translator
    from functions.shared.errors import AftercareError
    from functions.shared.i18n import DEFAULT, Translator, accepted_locale

    problem = links.problem(error)
    t = Translator(accepted_locale(blueprint.current_request.headers.get("accept-language")) or DEFAULT)
    store_id = links.store_of(error)
    if store_id:
        with contextlib.suppress(AftercareError):
            t = staff_translator(ports.stores.get(store_id, cached=True))
    heading, message = LINK_ERRORS[problem.status]
    return html_error(problem.status, t(heading), t(message), locale=t.language)


def _form() -> dict[str, list[str]]:
    raw = blueprint.current_request.raw_body or b""
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > 32 * 1024:
        raise ApiError(413, "body_too_large", "The form is too large.")
    return parse_qs(data.decode("utf-8", "replace"), keep_blank_values=True)


# ------------------------------------------------------------------------------------- customer


def _customer_page(view: customer.CustomerView, token_text: str) -> dict[str, Any]:
    """The return page's template context for this view of the customer's link."""
    from functions.shared.i18n import Translator, choose_locale

    config = view.store.config
    language = choose_locale(view.customer.locale if view.customer else None, config.default_locale)
    t = Translator(language, config.emails.texts)
    return {
        "token": view.token,
        "store": view.store,
        "facts": view.facts,
        "t": t,
        "locale": language,
        "title": t("return_page_title"),
        "store_name": config.name,
        "order_label": view.order_label,
        "items": view.items,
        "blocked": _blocked(view, t, language),
        "reasons": reasons.offered(t, config.returns.reasons),
        "outcomes": CUSTOMER_OUTCOMES,
        "action": links.RETURN.action(token_text),
        "customer": view.customer,
    }


def _blocked(view: customer.CustomerView, t: Any, language: str) -> str:
    """Why nothing can be returned, in the customer's words (empty when something can)."""
    from functions.shared import clock
    from functions.shared.i18n import format_date

    if view.nothing.startswith("window:"):
        closed_on = clock.parse_iso(view.nothing.split(":", 1)[1] + "T00:00:00Z")
        return str(
            t("return_window_closed", date=format_date(closed_on, language, view.store.config.timezone))
        )
    texts = {"closed": "return_order_closed", "nothing left": "return_nothing_left"}
    return str(t(texts[view.nothing], order=view.order_label)) if view.nothing in texts else ""


def _ask_page(ports: Ports, token: str, status: int = 200, error: str = "") -> Response:
    """The form, with a fresh request id (again, with ``error``, after a refused request)."""
    view = customer.customer_view(ports, token)
    request_id = customer.issue_request_id(ports.signing_key(), view.token.token_id)
    page = _customer_page(view, token)
    return html_page(
        status, "pages/return_request.html", **page, request_id=request_id, state="ask", error=error
    )


@route(blueprint, "/r/{token}")
def return_page(token: str) -> Any:
    ports = _ports()
    try:
        return _ask_page(ports, token)
    except (tokens.TokenError, NotFound) as error:
        return _link_error(error, ports)


REFUSALS = {  # why a request was refused -> HTTP status and the text key the page shows
    "form expired": (422, "return_form_expired"),
    "nothing selected": (422, "return_nothing_selected"),
    "no reason": (422, "rt_reason_choose"),
    "already requested": (409, "return_already_requested"),
}


@route(blueprint, "/r/{token}", methods=("POST",), content_types=FORM)
def request_return(token: str) -> Any:
    ports = _ports()
    try:
        view = customer.customer_view(ports, token)
    except (tokens.TokenError, NotFound) as error:
        return _link_error(error, ports)
    page = _customer_page(view, token)
    form = customer.ReturnForm.parse(_form(), view.items)
    try:
        return_id = customer.ask(ports, view, form)
    except customer.RequestRefused as refused:
        if refused.why == customer.Refusal.BLOCKED:
            return _ask_page(ports, token, 409, page["blocked"])
        if refused.why == customer.Refusal.NOT_RETURNABLE:
            names = ", ".join(refused.names)
            return _ask_page(ports, token, 422, page["t"]("rt_refused_not_returnable", names=names))
        status, key = REFUSALS[refused.why]
        return _ask_page(ports, token, status, page["t"](key))
    return html_page(
        200,
        "pages/return_request.html",
        **page,
        request_id=form.request_id,
        state="done",
        error="",
        return_id=return_id,
    )


# ------------------------------------------------------------------------------------- customer status


def _status_context(ports: Ports, token_text: str) -> dict[str, Any]:
    """The status page of the one return a customer's status link names (``tokens.TokenError`` or
    ``NotFound`` when it opens nothing)."""
    from functions.returns.emails import translator
    from functions.returns.models import ReturnRequest

    token = links.RETURN_STATUS.open(ports.signing_key(), token_text)
    store = ports.stores.get(token.store_id, cached=True)
    item, audit = ports.returns.get(store.id, str(token.claims.get("r", "")))
    if item is None:
        raise links.Gone("no such return", store.id)
    request = ReturnRequest(item)
    t = translator(store, request)
    items = request.items
    return {
        "t": t,
        "locale": t.language,
        "title": t("rt_status_title", order=request.order_label),
        "store_name": store.config.name,
        "return_id": request.return_id,
        "summary": return_status.summary(t, store, request, audit),
        "steps": return_status.steps_of(t, store, request, audit),
        "items": [(str(i.get("name") or i.get("product_id")), int(i.get("quantity") or 1)) for i in items],
    }


@route(blueprint, "/rs/{token}")
def return_status_page(token: str) -> Any:
    """Where the customer's return stands. Only shows: nothing changes when it is opened."""
    ports = _ports()
    try:
        context = _status_context(ports, token)
    except (tokens.TokenError, NotFound) as error:
        return _link_error(error, ports)
    return html_page(200, "pages/return_status.html", **context)


# ------------------------------------------------------------------------------------- staff approval


def _decide_by(t: Translator, store: Store, request: dict[str, Any], now: datetime) -> str:
    """By when staff should decide (awaiting approval only), in the store's time and in words."""
    from functions.shared import clock
    from functions.shared.i18n import format_moment, format_relative

    if request.get("waiting_for") != Waiting.APPROVAL or not request.get("wait_deadline"):
        return ""
    at = clock.parse_iso(str(request["wait_deadline"]))
    when = format_moment(at, t.language, store.config.timezone)
    return t("approval_decide_by", moment=when, relative=format_relative(at - now, t.language))


def _approval_words(
    t: Translator, store: Store, request: dict[str, Any], steps: list[dict[str, Any]]
) -> dict[str, Any]:
    """The approval page's words in the store's language, and its times in the store's timezone."""
    from functions.returns import emails, wording
    from functions.shared import clock

    order = request.get("order_name") or request.get("order_id")
    outcome = emails.outcome_word(t, str(request.get("outcome", "refund")))
    zone = store.config.timezone
    return {
        "t": t,
        "locale": t.language,
        "title": t("approval_title", id=request["return_id"], store=store.config.name),
        "heading": t("approval_heading", outcome=outcome, order=order),
        "status_text": emails.status_word(t, str(request.get("status", ""))),
        "source": emails.source_word(t, str(request.get("source", ""))),
        "decide_by": _decide_by(t, store, request, clock.now()),
        "reason": wording.reason_said(t, str(request.get("reason") or "")),
        "refund_problem": wording.problem_said(t, str(request.get("refund_problem") or "")),
        "audit": [wording.audit_row(t, zone, step) for step in steps],
    }


def _approval_context(ports: Ports, token_text: str) -> dict[str, Any]:
    from functions.returns.emails import staff_translator

    token = links.RETURN_APPROVAL.open(ports.signing_key(), token_text)
    store = ports.stores.get(token.store_id, cached=True)
    request, steps = ports.returns.get(store.id, str(token.claims.get("r", "")))
    if request is None:
        raise links.Gone("no such return", store.id)
    return {
        "token": token,
        "store": store,
        "request": request,
        "steps": steps,
        "actions": service.staff_actions(request),
        "csrf": links.RETURN_APPROVAL.form_value(ports.signing_key(), token),
        "store_name": store.config.name,
        "currency": store.config.currency,
        "action": links.RETURN_APPROVAL.action(token_text),
        "actor": str(token.claims.get("a", "staff")),
        **_approval_words(staff_translator(store), store, request, steps),
    }


@route(blueprint, "/approve/{token}")
def approval_page(token: str) -> Any:
    ports = _ports()
    try:
        context = _approval_context(ports, token)
    except (tokens.TokenError, NotFound) as error:
        return _approval_link_error(error, ports)
    return html_page(200, "pages/return_approval.html", **context, notice="", error="")


@route(blueprint, "/approve/{token}", methods=("POST",), content_types=FORM)
def approval_decision(token: str) -> Any:
    ports = _ports()
    try:
        context = _approval_context(ports, token)
    except (tokens.TokenError, NotFound) as error:
        return _approval_link_error(error, ports)
    t = context["t"]
    form = {k: v[0] for k, v in _form().items()}
    if not links.RETURN_APPROVAL.form_matches(ports.signing_key(), context["token"], form.get("csrf", "")):
        stale = t("staff_error_stale_form")
        return html_page(422, "pages/return_approval.html", **context, notice="", error=stale)
    decision = form.get("decision", "")
    if decision not in set(StaffAction):
        choose = t("staff_error_choose_action")
        return html_page(422, "pages/return_approval.html", **context, notice="", error=choose)
    notice = NOT_WAITING
    if decision in context["actions"]:
        notice = _carry_out(ports, StaffAction(decision), context, form.get("note", "")[:1000])
    return html_page(
        200, "pages/return_approval.html", **_approval_context(ports, token), notice=t(notice), error=""
    )


def _carry_out(ports: Ports, action: StaffAction, context: dict[str, Any], note: str) -> str:
    try:
        service.act(context["store"], context["request"]["return_id"], action, context["actor"], note, ports)
    except returns_store.Conflict:
        return NOT_WAITING
    return NOTICES[action]


# ------------------------------------------------------------------------------------- read API


@route(blueprint, "/v1/stores/{store_id}/returns/{return_id}")
def get_return(store_id: str, return_id: str) -> Any:
    require_store_admin(blueprint, store_id)
    request, steps = _ports().returns.get(store_id, return_id[:64])
    if request is None:
        raise ApiError(404, "not_found", f"No return {return_id} for store {store_id}.")
    hidden = {"pk", "sk", "task_token", "wait_shard", "order_key"}
    return json_response(
        {
            "return": {k: v for k, v in request.items() if k not in hidden},
            "audit": [{k: v for k, v in step.items() if k not in {"pk", "sk"}} for step in steps],
        }
    )
