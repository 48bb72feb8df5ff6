"""The workspace's request history: ``/workspace/requests`` (GET) lists every review request, survey and
reminder, newest first, searchable by order number or customer email, 25 to a page; two CSRF-checked
POST forms act on a pending one: ``/workspace/requests/cancel`` and ``/workspace/requests/send-now``.

Thin: parse, one call to ``functions.outreach.history``, render. The answer to a POST is the page itself
with what happened (the search kept), so nothing rides on a query string a link could fake.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from chalice.app import Blueprint, Response

from functions.shared import clock
from functions.shared.errors import AftercareError
from functions.shared.lazy import lazy_module
from functions.workspace import web

if TYPE_CHECKING:
    from functions import composition
    from functions.outreach import history
    from functions.shared.i18n import Translator
else:
    composition = lazy_module("functions.composition")
    history = lazy_module("functions.outreach.history")  # loaded on the first request, not at import

blueprint = Blueprint(__name__)
PATH = "/workspace/requests"
FORMS = ["*/*"]  # the page answers whatever is posted; the view reads the form it understands
OUTCOME_STATUS = {"not_found": 404}  # refusals other than these are 409: the request is not as it was


def _translator(workspace: web.Workspace) -> Translator:
    from functions.shared.i18n import Translator

    return Translator(workspace.locale)


def _formatters(workspace: web.Workspace, now: datetime) -> dict[str, Callable[..., str]]:
    from functions.shared.i18n import format_moment, format_relative

    locale, timezone = workspace.locale, workspace.timezone
    return {
        "moment": lambda at: format_moment(at, locale, timezone),
        "relative": lambda at: format_relative(at - now, locale),
    }


def _link(search: str, cursor: str | None = None) -> str:
    query = {key: value for key, value in (("q", search), ("cursor", cursor)) if value}
    return f"{PATH}?{urlencode(query)}" if query else PATH


def _reason_label(t: Translator, text: str) -> str:
    """A stored reason in the page's language (the stored text after it when the phrase says less)."""
    reason = history.translate_reason(text)
    if reason.key is None:
        return text
    return t(reason.key) if reason.exact else f"{t(reason.key)} ({text})"


def _outcome_text(t: Translator, outcome: history.Outcome, moment: Callable[..., str]) -> str:
    values = dict(outcome.values)
    if "status" in values:
        values["status"] = t(f"rq_status_{values['status']}")
    for name in ("detail", "until"):
        if outcome.code in ("capped", "deferred", "retry") and values.get(name):
            values[name] = moment(clock.parse_iso(values[name]))
    if outcome.code == "suppressed":
        values["detail"] = _reason_label(t, values.get("detail", ""))
    if outcome.code in ("skipped", "failed"):
        values["reason"] = _reason_label(t, values.get("reason", ""))
    return t(f"rq_outcome_{outcome.code}", **values)


def _render(
    workspace: web.Workspace,
    search_text: str,
    cursor: str | None,
    *,
    outcome: history.Outcome | None = None,
) -> Response:
    t = _translator(workspace)
    status, error, notice = 200, "", ""
    try:
        search = history.parse_search(search_text)
    except history.BadSearch:
        search, status, error = history.Search(), 400, t("rq_bad_search")
    try:
        page = _page(workspace, search, cursor)
    except history.BadCursor:
        page, status, error = _page(workspace, search, None), 400, t("rq_bad_cursor")
    formatters = _formatters(workspace, page.now)
    if outcome is not None:
        message = _outcome_text(t, outcome, formatters["moment"])
        notice, error = (message, error) if outcome.ok else ("", message)
        status = 200 if outcome.ok else OUTCOME_STATUS.get(outcome.code, 409)
    return web.page(
        workspace,
        "pages/workspace/requests.html",
        status=status,
        t=t,
        title=t("rq_title"),
        page=page,
        typed=search_text[: history.MAX_SEARCH] if error and not page.search.text else page.search.text,
        notice=notice,
        error=error,
        older=_link(page.search.text, page.next_cursor) if page.next_cursor else None,
        newest=None if page.first else _link(page.search.text),
        clear=_link("") if page.search.text else None,
        **formatters,
    )


def _page(workspace: web.Workspace, search: history.Search, cursor: str | None) -> history.Page:
    return history.list_requests(composition.request_history_ports(), workspace.store.id, search, cursor)


def _unavailable(workspace: web.Workspace) -> Response:
    from functions.shared.http import html_error

    t = _translator(workspace)
    return html_error(503, t("rq_unavailable_title"), t("rq_unavailable"), locale=workspace.locale)


def _act(workspace: web.Workspace, form: dict[str, str], action: Callable[..., history.Outcome]) -> Response:
    """Validate the form's target, run ``action`` on it as the signed-in person, show the page."""
    from functions.shared.http import html_error

    try:
        order_id, outreach_id = history.check_target(form.get("order"), form.get("outreach"))
    except history.BadTarget:
        t = _translator(workspace)
        return html_error(400, t("rq_bad_form_title"), t("rq_bad_form"), locale=workspace.locale)
    search = form.get("q", "")[: history.MAX_SEARCH]
    try:
        ports = composition.request_history_ports()
        outcome = action(ports, workspace.store.id, order_id, outreach_id, workspace.session.email)
        return _render(workspace, search, None, outcome=outcome)
    except AftercareError:
        return _unavailable(workspace)


@blueprint.route(PATH, methods=["GET"])
@web.workspace_view(blueprint)
def requests_page(workspace: web.Workspace) -> Response:
    params: Any = blueprint.current_request.query_params or {}
    cursor = str(params.get("cursor") or "") or None
    try:
        return _render(workspace, str(params.get("q") or ""), cursor)
    except AftercareError:
        return _unavailable(workspace)


@blueprint.route(f"{PATH}/cancel", methods=["POST"], content_types=FORMS)
@web.workspace_form(blueprint)
def requests_cancel(workspace: web.Workspace, form: dict[str, str]) -> Response:
    return _act(workspace, form, history.cancel)


@blueprint.route(f"{PATH}/send-now", methods=["POST"], content_types=FORMS)
@web.workspace_form(blueprint)
def requests_send_now(workspace: web.Workspace, form: dict[str, str]) -> Response:
    return _act(workspace, form, history.send_now)
