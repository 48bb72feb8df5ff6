"""The workspace's own pages: sign in by email, sign out, the inbox, the way into each item, settings.

Thin views: each reads its input, calls one service function (``signin``, ``inbox``, ``settings_view``)
with the ports from the composition root, and answers a page or a redirect. Pages answer HTML for every
failure, never JSON and never a stack trace. Before sign-in the pages speak the browser's language (the
store is not known to be real yet, and the answer must not tell); after it, the store's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from chalice.app import Blueprint, Response

from functions.shared import tokens
from functions.shared.errors import DependencyFailed, NotFound, Throttled
from functions.shared.http import form_bytes, html_error, html_page
from functions.shared.lazy import lazy_module
from functions.workspace import session as sessions
from functions.workspace import web
from functions.workspace.web import Workspace, workspace_form, workspace_view

if TYPE_CHECKING:
    from functions import composition
    from functions.workspace import inbox, settings_view, signin
    from functions.workspace.ports import Ports
else:
    composition = lazy_module("functions.composition")
    inbox = lazy_module("functions.workspace.inbox")
    settings_view = lazy_module("functions.workspace.settings_view")
    signin = lazy_module("functions.workspace.signin")

blueprint = Blueprint(__name__)
FORM = ["*/*"]  # pages answer HTML whatever is posted; the view reads the form it understands
STORE_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
EMAIL = re.compile(r"^[^@\s<>\"'\\,;]{1,64}@[^@\s<>\"'\\,;]{1,189}$")
HISTORY = 50


def _ports() -> Ports:
    return composition.workspace_ports()


def _translator(locale: str) -> Any:
    from functions.shared.i18n import Translator

    return Translator(locale)


def guarded(view: Callable[..., Response]) -> Callable[..., Response]:
    """Answer an HTML error page for anything unexpected (a page never returns JSON or a traceback)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        from functions.shared.observability import logger

        try:
            return view(*args, **kwargs)
        except (Throttled, DependencyFailed):
            logger.exception("workspace page: a dependency failed")
            t = _translator("en")
            return html_error(503, t("ws_busy_title"), t("ws_busy"))
        except Exception:
            logger.exception("workspace page failed")
            t = _translator("en")
            return html_error(500, t("ws_error_title"), t("ws_error"))

    return wrapped


def browser_locale(request: Any) -> str:
    """The first supported language of the browser's ``Accept-Language``, else English."""
    from functions.shared.i18n import accepted_locale

    return accepted_locale(request.headers.get("accept-language")) or "en"


def _form(request: Any) -> dict[str, str]:
    """A posted form (first value of each field); empty when it is too large to be one of ours."""
    data = form_bytes(request)
    if len(data) > web.MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(data.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


def _query(request: Any, name: str) -> str:
    return str((request.query_params or {}).get(name) or "")[:600]


# ------------------------------------------------------------------------------ sign in


def _sign_in_page(request: Any, status: int = 200, **context: Any) -> Response:
    """The sign-in form with a fresh form value (and its cookie) for this browser."""
    key = composition.adapters().signing_key
    nonce = sessions.new_form_nonce()
    locale = browser_locale(request)
    values = {
        "store_id": "",
        "email": "",
        "next": web.INBOX_PATH,
        "state": "form",
        "notice": "",
        "error": "",
        "errors": {},
        "signed_in": None,
        **context,
    }
    response = html_page(
        status,
        "pages/workspace/sign_in.html",
        locale=locale,
        t=_translator(locale),
        title=_translator(locale)("ws_sign_in_title"),
        csrf=sessions.sign_in_form_value(key, nonce),
        **values,
    )
    response.headers["Set-Cookie"] = sessions.form_cookie(nonce, secure=web.secure_cookies())
    return response


def _signed_in_already(request: Any) -> Workspace | None:
    try:
        return web.current(request)
    except sessions.NotSignedIn:
        return None


@blueprint.route("/workspace/sign-in", methods=["GET"])
@guarded
def sign_in_form() -> Response:
    request = blueprint.current_request
    store_id = _query(request, "store").strip().lower()
    t = _translator(browser_locale(request))
    return _sign_in_page(
        request,
        store_id=store_id if STORE_ID.fullmatch(store_id) else "",
        next=web.safe_next(_query(request, "next")),
        notice=t("ws_signed_out") if _query(request, "signed_out") == "1" else "",
        signed_in=_signed_in_already(request),
    )


def _form_problems(store_id: str, email: str, t: Any) -> dict[str, str]:
    problems = {}
    if not STORE_ID.fullmatch(store_id):
        problems["store"] = t("ws_store_invalid")
    if len(email) > 254 or not EMAIL.fullmatch(email):
        problems["email"] = t("ws_email_invalid")
    return problems


@blueprint.route("/workspace/sign-in", methods=["POST"], content_types=FORM)
@guarded
def send_sign_in_link() -> Response:
    request = blueprint.current_request
    form = _form(request)
    t = _translator(browser_locale(request))
    store_id, email = form.get("store", "").strip().lower()[:100], form.get("email", "").strip()[:300]
    next_path = web.safe_next(form.get("next"))
    nonce = sessions.cookie_value(request.headers.get("cookie"), sessions.FORM_COOKIE)
    if not sessions.sign_in_form_matches(composition.adapters().signing_key, nonce, form.get("csrf", "")):
        error = t("ws_sign_in_form_expired")
        return _sign_in_page(request, 403, store_id=store_id, email=email, next=next_path, error=error)
    problems = _form_problems(store_id, email, t)
    if problems:
        return _sign_in_page(request, 422, store_id=store_id, email=email, next=next_path, errors=problems)
    signin.request_link(signin.LinkRequest(store_id, email, next_path), _ports())
    return _sign_in_page(request, store_id=store_id, email=email, next=next_path, state="sent")


# ------------------------------------------------------------------------------ the link's page


def _link_page(view: signin.LinkView, status: int = 200, state: str = "ready", error: str = "") -> Response:
    from functions.shared.i18n import choose_locale

    locale = choose_locale(None, view.store.config.default_locale)
    t = _translator(locale)
    return html_page(
        status,
        "pages/workspace/link.html",
        locale=locale,
        t=t,
        title=t("ws_link_title", store=view.store.config.name),
        view=view,
        state=state,
        error=error,
        action=sessions.SIGN_IN.action(view.token_text),
        again=f"{web.SIGN_IN_PATH}?store={quote(view.store.id)}",
    )


def _link_problem(request: Any, error: Exception) -> Response:
    """A link that does not open: expired, damaged, or its store is gone (in the browser's language)."""
    locale = browser_locale(request)
    t = _translator(locale)
    if isinstance(error, tokens.TokenExpired):
        status, heading, message = 410, t("ws_link_expired_title"), t("ws_link_expired")
    elif isinstance(error, NotFound):
        status, heading, message = 404, t("ws_link_invalid_title"), t("ws_link_store_gone")
    else:
        status, heading, message = 400, t("ws_link_invalid_title"), t("ws_link_invalid")
    return html_page(
        status,
        "pages/workspace/message.html",
        locale=locale,
        t=t,
        title=heading,
        heading=heading,
        message=message,
        action_href=web.SIGN_IN_PATH,
        action_label=t("ws_get_new_link"),
    )


@blueprint.route("/workspace/sign-in/link/{token}", methods=["GET"])
@guarded
def sign_in_link(token: str) -> Response:
    request = blueprint.current_request
    try:
        view = signin.open_link(token, _ports())
    except (tokens.TokenError, NotFound) as error:
        return _link_problem(request, error)
    return _link_page(view, 410, "used") if view.used else _link_page(view)


@blueprint.route("/workspace/sign-in/link/{token}", methods=["POST"], content_types=FORM)
@guarded
def use_sign_in_link(token: str) -> Response:
    request = blueprint.current_request
    ports = _ports()
    try:
        previous = sessions.open_session(
            ports.signing_key(), sessions.cookie_value(request.headers.get("cookie"))
        )
    except sessions.NotSignedIn:
        previous = None
    try:
        signed = signin.use_link(token, _form(request).get("csrf", ""), ports, previous)
    except (tokens.TokenError, NotFound) as error:
        return _link_problem(request, error)
    except signin.SignInRefused as refused:
        return _refused_link(refused)
    return Response(
        body="",
        status_code=303,
        headers={
            "Location": signed.next_path,
            "Cache-Control": "no-store",
            "Content-Type": "text/html; charset=utf-8",
            "Set-Cookie": sessions.set_cookie(signed.cookie_token, secure=web.secure_cookies()),
        },
    )


def _refused_link(refused: signin.SignInRefused) -> Response:
    if refused.why == signin.Refusal.USED:
        return _link_page(refused.view, 410, "used")
    if refused.why == signin.Refusal.NO_ROLE:
        return _link_page(refused.view, 403, "no role")
    return _link_page(refused.view, 403, "ready", error="form")


@blueprint.route("/workspace/sign-out", methods=["POST"], content_types=FORM)
@guarded
@workspace_form(blueprint)
def sign_out(workspace: Workspace, form: dict[str, str]) -> Response:
    signin.sign_out(workspace.session, _ports())
    return Response(
        body="",
        status_code=303,
        headers={
            "Location": f"{web.SIGN_IN_PATH}?signed_out=1&store={quote(workspace.store.id)}",
            "Cache-Control": "no-store",
            "Content-Type": "text/html; charset=utf-8",
            "Set-Cookie": sessions.clear_cookie(secure=web.secure_cookies()),
        },
    )


# ------------------------------------------------------------------------------ inside a session


@blueprint.route("/workspace", methods=["GET"])
@guarded
@workspace_view(blueprint)
def inbox_page(workspace: Workspace) -> Response:
    t = _translator(workspace.locale)
    found = inbox.inbox(workspace.store.id, workspace.store.config.currency, _ports(), t)
    return web.page(
        workspace, "pages/workspace/inbox.html", title=t("ws_inbox_title"), active="inbox", inbox=found
    )


def _not_here(workspace: Workspace, message_key: str) -> Response:
    t = _translator(workspace.locale)
    return web.page(
        workspace,
        "pages/workspace/message.html",
        status=404,
        title=t("ws_not_found_title"),
        heading=t("ws_not_found_title"),
        message=t(message_key),
        action_href=web.INBOX_PATH,
        action_label=t("ws_back_to_inbox"),
        active="inbox",
    )


def _see_other(location: str) -> Response:
    headers: dict[str, str | list[str]] = {
        "Location": location,
        "Cache-Control": "no-store",
        "Content-Type": "text/html; charset=utf-8",
    }
    return Response(body="", status_code=303, headers=headers)


@blueprint.route("/workspace/flags/{flag_id}", methods=["GET"])
@guarded
@workspace_view(blueprint)
def open_flag(workspace: Workspace, flag_id: str) -> Response:
    try:
        return _see_other(inbox.flag_page(workspace.session, flag_id, _ports()))
    except NotFound:
        return _not_here(workspace, "ws_flag_not_found")


@blueprint.route("/workspace/returns/{return_id}", methods=["GET"])
@guarded
@workspace_view(blueprint)
def open_return(workspace: Workspace, return_id: str) -> Response:
    try:
        return _see_other(inbox.return_page(workspace.session, return_id, _ports()))
    except NotFound:
        return _not_here(workspace, "ws_return_not_found")


@blueprint.route("/workspace/settings", methods=["GET"])
@guarded
@workspace_view(blueprint, owners_only=True)
def settings_page(workspace: Workspace) -> Response:
    t = _translator(workspace.locale)
    fmt = web.Formats(workspace.locale, workspace.timezone)
    return web.page(
        workspace,
        "pages/workspace/settings.html",
        title=t("ws_settings_title"),
        active="settings",
        sections=settings_view.sections(workspace.store.config, t, fmt),
        history=_ports().stores.history(workspace.store.id, limit=HISTORY),
        summary_said=lambda summary: settings_view.summary_said(summary, t, fmt),
        actor_said=lambda actor: settings_view.actor_said(actor, t),
    )
