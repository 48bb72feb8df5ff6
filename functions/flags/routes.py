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
    from functions.flags import emails, models, offers, staff
    from functions.flags.ports import Ports
    from functions.returns import emails as returns_emails
    from functions.returns import wording
    from functions.shared.i18n import Translator
else:
    composition = lazy_module("functions.composition")
    emails = lazy_module("functions.flags.emails")
    models = lazy_module("functions.flags.models")
    offers = lazy_module("functions.flags.offers")
    staff = lazy_module("functions.flags.staff")
    returns_emails = lazy_module("functions.returns.emails")
    wording = lazy_module("functions.returns.wording")


blueprint = Blueprint(__name__)
FORM = ["*/*"]  # pages answer HTML whatever is posted; the view reads the form it understands
MAX_FORM_BYTES = 32 * 1024
STATUSES = ("open", "overdue", "resolved")
LINK_TEXTS = {  # what the holder of a staff link that does not open is told (catalog keys, by status)
    410: ("staff_link_expired_title", "staff_link_expired"),
    404: ("staff_link_missing_title", "staff_link_missing"),
    400: ("staff_link_broken_title", "staff_link_broken"),
}


def _problem(error: Exception, ports: Ports) -> Response:
    """The page of a link that does not open: in the store's language when the link proves whose store it
    is (expired, or its flag is gone), else in English (a damaged link says nothing it can be trusted on)."""
    found = links.problem(error)
    t = returns_emails.link_translator(error, lambda store_id: ports.stores.get(store_id, cached=True))
    heading, message = LINK_TEXTS[found.status]
    return html_error(found.status, t(heading), t(message, days=links.STAFF.ttl.days), locale=t.language)


def _reply_locale(view: staff.StaffView, asked: str | None) -> str:
    """The language of the reply: the one staff chose on the page, else the customer's (else the store's)."""
    from functions.shared.i18n import choose_locale
    from functions.stores.models import SUPPORTED_LOCALES

    if asked in SUPPORTED_LOCALES:
        return str(asked)
    customer = view.flag.get("customer") or {}
    return choose_locale(customer.get("locale"), view.store.config.default_locale)


def _templates(view: staff.StaffView, locale: str) -> dict[str, str]:
    """The reply templates in ``locale`` with the customer's first name and the store's name filled in.

    The store's own for that locale (a plain text counts for the store's default locale); where it has
    none, Aftercare's own from the replies catalog. Without a name, the locale's own way of addressing a
    customer ("عزيزي العميل"), never an English "there".
    """
    from functions.shared.i18n import Translator, choose_locale
    from functions.shared.texts import render_reply_template

    config = view.store.config
    t = Translator(locale)
    customer = view.flag.get("customer") or {}
    first = str(customer.get("name") or "").split(" ")[0] or t("rp_name_missing")
    store_language = choose_locale(None, config.default_locale)
    own = config.alerts.reply_templates_for(locale, store_language)
    if not own:
        own = {t("rp_apology_title"): t.text("rp_apology_body")}
    return {name: render_reply_template(text, name=first, store=config.name) for name, text in own.items()}


def _reply_languages(t: Translator, view: staff.StaffView) -> list[tuple[str, str]]:
    """The languages a reply may be written in, named in the store's language, the customer's marked."""
    from functions.shared.i18n import choose_locale
    from functions.stores.models import SUPPORTED_LOCALES

    customer = view.flag.get("customer") or {}
    theirs = choose_locale(customer.get("locale"), view.store.config.default_locale)
    return [
        (
            code,
            t("rp_customer_language", language=t(f"rp_language_{code}"))
            if code == theirs
            else t(f"rp_language_{code}"),
        )
        for code in SUPPORTED_LOCALES
    ]


def _log(t: Translator, view: staff.StaffView) -> list[dict[str, str]]:
    """The flag's actions as the page lists them: when (store time), who, what, the note."""
    return [
        {
            "at": emails.moment(t, view.store, str(a["at"])),
            "actor": str(a.get("actor", "")),
            "action": t(emails.ACTION_WORDS[a["action"]])
            if a.get("action") in emails.ACTION_WORDS
            else str(a.get("action")),
            "text": str(a.get("text") or ""),
        }
        for a in view.flag.get("actions") or []
    ]


def _first_reply(t: Translator, view: staff.StaffView) -> str:
    flag = view.flag
    if not flag.get("first_reply_at"):
        return ""
    from functions.shared.i18n import format_duration

    waited = timedelta(seconds=int(flag.get("seconds_to_first_reply", 0)))
    return t(
        "staff_first_reply_text",
        moment=emails.moment(t, view.store, str(flag["first_reply_at"])),
        duration=format_duration(waited, t.language),
    )


def _returns(t: Translator, view: staff.StaffView, ports: Ports) -> list[dict[str, Any]]:
    """Returns offered from this flag, headed in the store's language, their steps in its time."""
    found = []
    for item in offers.offered_returns(view, ports):
        request = item["request"]
        heading = t(
            "staff_offered_return",
            outcome=returns_emails.outcome_word(t, str(request.get("outcome", ""))),
            id=request["return_id"],
            status=returns_emails.status_word(t, str(request.get("status", ""))),
        )
        zone = view.store.config.timezone
        found.append({"heading": heading, "steps": [wording.audit_row(t, zone, s) for s in item["steps"]]})
    return found


def _page(
    view: staff.StaffView,
    ports: Ports,
    status: int = 200,
    notice: str = "",
    error: str = "",
    draft: str = "",
    choice: dict[str, str] | None = None,
) -> Response:
    """The staff page; ``choice`` is the reply's language and starting point staff picked (query or form)."""
    config = view.store.config
    t = emails.staff_translator(view.store)
    now = ports.clock.now()
    overdue, due = emails.due(t, view.store, str(view.flag["sla_deadline"]), now)
    choice = choice or {}
    reply_locale = _reply_locale(view, choice.get("reply_locale"))
    templates = _templates(view, reply_locale)
    asked = str(choice.get("template") or "")
    starting_point = asked if asked in templates else next(iter(templates), "")
    current = view.answer or view.flag
    offer = offers.offer_context(view, ports)
    return html_page(
        status,
        "pages/staff.html",
        t=t,
        title=t("staff_page_title", store=config.name),
        locale=t.language,
        flag=view.flag,
        answer=view.answer,
        comment=str(current.get("comment") or ""),
        verdict=emails.verdict(t, view.flag, current.get("score")),
        reasons=emails.reasons(t, view.flag),
        history=emails.history(t, view.flag),
        first_reply=_first_reply(t, view),
        log=_log(t, view),
        store_name=config.name,
        action=links.STAFF.action(view.token_text),
        csrf=view.form_value,
        action_id=uuid.uuid4().hex,
        actor=view.actor,
        templates=templates,
        starting_point=starting_point,
        reply_locale=reply_locale,
        reply_languages=_reply_languages(t, view),
        draft=draft or templates.get(starting_point, ""),
        notice=notice,
        error=error,
        offers=[(kind, returns_emails.outcome_word(t, kind)) for kind in models.OFFERS],
        offer=offer,
        offer_problem=offer.said(t),
        offer_warnings=offer.warnings_said(t),
        overdue=overdue,
        due=due,
        business_left=emails.business_left(t, view.store, str(view.flag["sla_deadline"]), now),
        returns=_returns(t, view, ports),
    )


@route(blueprint, "/staff/{token}")
def staff_page(token: str) -> Any:
    ports = composition.flag_ports()
    try:
        view = staff.open_staff(token, ports)
    except (tokens.TokenError, NotFound) as error:
        return _problem(error, ports)
    query = dict(blueprint.current_request.query_params or {})  # the reply's language and starting point
    return _page(view, ports, choice={k: str(query.get(k, ""))[:100] for k in ("reply_locale", "template")})


Form = dict[str, str]
Notice = tuple[str, dict[str, str]]  # what the page confirms: a catalog key and its values


def _reply(view: staff.StaffView, form: Form, ports: Ports) -> Notice:
    staff.reply(
        view,
        form.get("reply", ""),
        form.get("action_id", ""),
        form.get("action") == "reply_resolve",
        ports,
        locale=_reply_locale(view, form.get("reply_locale")),
    )
    return "staff_notice_replied", {}


def _resolve(view: staff.StaffView, form: Form, ports: Ports) -> Notice:
    staff.resolve(view, form.get("note", ""), form.get("action_id", ""), ports)
    return "staff_notice_resolved", {}


def _offer(view: staff.StaffView, form: Form, ports: Ports) -> Notice:
    made = offers.offer(
        view,
        form.get("offer", ""),
        form.get("note", ""),
        form.get("action_id", ""),
        ports,
        outside_policy_ok=form.get("outside_policy_ok") == "1",
    )
    return f"staff_notice_offered_{made.kind.value}", {"id": made.return_id}


def _reopen(view: staff.StaffView, form: Form, ports: Ports) -> Notice:
    staff.reopen(view, ports)
    return "staff_notice_reopened", {}


ACTIONS: dict[str, Callable[[staff.StaffView, Form, Ports], Notice]] = {
    "reply": _reply,
    "reply_resolve": _reply,
    "resolve": _resolve,
    "offer": _offer,
    "reopen": _reopen,
}


def _form(data: bytes) -> Form:
    return {k: v[0] for k, v in parse_qs(data.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _refusal(t: Translator, refused: Exception) -> str:
    if isinstance(refused, staff.Refused):
        return refused.said(t)
    return str(getattr(refused, "message", "")) or str(refused)


@route(blueprint, "/staff/{token}", methods=("POST",), content_types=FORM)
def staff_action(token: str) -> Any:
    ports = composition.flag_ports()
    try:
        view = staff.open_staff(token, ports)
    except (tokens.TokenError, NotFound) as error:
        return _problem(error, ports)
    t = emails.staff_translator(view.store)
    raw = blueprint.current_request.raw_body or b""
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > MAX_FORM_BYTES:
        return _page(view, ports, 413, error=t("staff_error_too_large"))
    form = _form(data)
    try:
        staff.check_form(view, form.get("csrf", ""), ports)
        act = ACTIONS.get(form.get("action", ""))
        if act is None:
            return _page(view, ports, 422, error=t("staff_error_choose_action"))
        notice = act(view, form, ports)
    except models.ActionRefused as refused:
        return _page(
            staff.open_staff(token, ports),
            ports,
            422,
            error=_refusal(t, refused),
            draft=form.get("reply", ""),
            choice=form,
        )
    except models.DuplicateReply:
        notice = "staff_notice_duplicate_reply", {}
    except models.AlreadyDone:
        notice = "staff_notice_already_done", {}
    key, values = notice
    return _page(staff.open_staff(token, ports), ports, notice=t(key, **values))


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
