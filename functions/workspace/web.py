"""What every workspace page shares: who is signed in, to which store, the CSRF check, rendering.

A request is in the workspace when its session cookie verifies (signature, store, expiry), the session
was not signed out, and the address still has a role in the store's current configuration (an owner
removed from ``staff.owners`` loses the workspace at their next click, not 12 hours later). Pages are
rendered in the store's default locale; times are shown in the store's timezone.

Route modules use ``workspace_view`` (GET pages) and ``workspace_form`` (POST forms): both turn a
missing session into a redirect to the sign-in page and a missing role into a 403 page. ``page`` renders
a template with ``t`` (the store locale's translator, workspace catalog included) and ``fmt`` (times in
the store's timezone, durations in words) besides the session's context.

The session cookie is ``SameSite=Strict``, so a browser does not send it when a person follows a link
into the workspace from another site (webmail). Such a GET without a cookie gets a tiny page that
continues to the same address from our own origin (where the cookie is sent) instead of a sign-in form.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlencode

from chalice.app import Response

from functions.shared.http import MAX_JSON_BYTES, form_bytes, html_page
from functions.shared.lazy import lazy_module
from functions.workspace.session import COOKIE_PATH, NotSignedIn, Session, clear_cookie, cookie_value

if TYPE_CHECKING:
    from functions import composition
    from functions.stores.models import Store
    from functions.workspace import session as sessions
else:
    composition = lazy_module("functions.composition")
    sessions = lazy_module("functions.workspace.session")

SIGN_IN_PATH = f"{COOKIE_PATH}/sign-in"
INBOX_PATH = COOKIE_PATH
MAX_FORM_BYTES = 32 * 1024
MAX_NEXT = 512
# A same-origin workspace address: a path under /workspace, an optional plain query; no scheme, no host,
# no "//" or backslash (which browsers read as another host), no fragment, no control characters.
_SEGMENT = r"[A-Za-z0-9._~!$&'()*+,;=:@%-]*"
_NEXT = re.compile(rf"^/workspace(?:/{_SEGMENT})*(?:\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: ``value`` when it is a workspace path of ours, else the inbox."""
    if not value or len(value) > MAX_NEXT or "//" in value or not _NEXT.fullmatch(value):
        return INBOX_PATH
    segments = value.split("?", 1)[0].split("/")
    if any(unquote(segment) in {".", ".."} for segment in segments):  # browsers resolve these
        return INBOX_PATH
    return value


class OwnersOnly(Exception):
    """The page is for the store's owners and the session is a staff member's."""


class FormRefused(Exception):
    """A POST without this session's CSRF value, or too large to be a workspace form."""


@dataclass(frozen=True)
class Workspace:
    """One signed-in person's view of their store."""

    session: Session
    store: Store

    @property
    def locale(self) -> str:
        from functions.shared.i18n import choose_locale

        return choose_locale(None, self.store.config.default_locale)

    @property
    def timezone(self) -> str:
        return self.store.config.timezone


def secure_cookies() -> bool:
    """Cookies are ``Secure`` wherever the service is reached over HTTPS (everywhere but the local stack)."""
    return composition.adapters().settings.public_base_url.startswith("https://")


def current(request: Any, *, owners_only: bool = False) -> Workspace:
    """The workspace of the request's session; ``NotSignedIn`` or ``OwnersOnly`` otherwise."""
    from functions.shared.errors import NotFound

    root = composition.adapters()
    session = sessions.open_session(root.signing_key, cookie_value(request.headers.get("cookie")))
    try:
        store = root.stores.get(session.store_id)  # not cached: a removed person is out at the next click
    except NotFound:
        raise NotSignedIn("the store no longer exists") from None
    role = store.config.staff.role_of(session.email)
    if role is None or (role == "staff" and session.role == "owner"):
        raise NotSignedIn("this address no longer has this role in the store")
    if root.workspace.is_signed_out(session.store_id, session.session_id):
        raise NotSignedIn("signed out")
    if owners_only and session.role != "owner":  # a staff member made owner signs in again to become one
        raise OwnersOnly()
    return Workspace(session, store)


def _requested_path(request: Any) -> str:
    """The workspace address this request asked for (path and query), or the inbox."""
    context = getattr(request, "context", None) or {}
    path = str(context.get("path") or INBOX_PATH)
    query = getattr(request, "query_params", None) or {}
    if query:
        path += "?" + urlencode({str(k): str(v) for k, v in query.items()})
    return safe_next(path)


def sign_in_redirect(request: Any) -> Response:
    """Send the browser to the sign-in page, forgetting a cookie that no longer opens a session."""
    path = _requested_path(request)
    target = SIGN_IN_PATH if path == INBOX_PATH else f"{SIGN_IN_PATH}?next={quote(path, safe='/')}"
    headers: dict[str, str | list[str]] = {
        "Location": target,
        "Cache-Control": "no-store",
        "Content-Type": "text/html; charset=utf-8",
    }
    if cookie_value(request.headers.get("cookie")):  # only a presented cookie is forgotten
        headers["Set-Cookie"] = clear_cookie(secure=secure_cookies())
    return Response(body="", status_code=303, headers=headers)


def _arrived_from_elsewhere(request: Any) -> bool:
    """A GET navigation from another site that carried no session cookie (SameSite=Strict withheld it)."""
    headers = request.headers
    return (
        getattr(request, "method", "GET") == "GET"
        and not cookie_value(headers.get("cookie"))
        and headers.get("sec-fetch-site") == "cross-site"
    )


def continue_here(request: Any) -> Response:
    """A page that continues to the requested address from our own origin, so the cookie is sent."""
    from functions.shared.i18n import Translator

    t = Translator("en")
    return html_page(
        200,
        "pages/workspace/continue.html",
        locale="en",
        t=t,
        title=t("ws_continue_title"),
        target=_requested_path(request),
    )


def not_signed_in(request: Any) -> Response:
    """What a workspace page answers without a session: continue from our origin, or sign in."""
    return continue_here(request) if _arrived_from_elsewhere(request) else sign_in_redirect(request)


@dataclass(frozen=True)
class Formats:
    """Times in the store's timezone (zone named) and durations in words, in the store's language."""

    locale: str
    timezone: str

    def moment(self, at: datetime | str) -> str:
        from functions.shared.clock import parse_iso
        from functions.shared.i18n import format_moment

        return format_moment(parse_iso(at) if isinstance(at, str) else at, self.locale, self.timezone)

    def date(self, at: datetime | str) -> str:
        from functions.shared.clock import parse_iso
        from functions.shared.i18n import format_date

        return format_date(parse_iso(at) if isinstance(at, str) else at, self.locale, self.timezone)

    def relative(self, delta: timedelta) -> str:
        from functions.shared.i18n import format_relative

        return format_relative(delta, self.locale)

    def duration(self, delta: timedelta) -> str:
        from functions.shared.i18n import format_duration

        return format_duration(abs(delta), self.locale)

    def exact(self, delta: timedelta) -> str:
        """A setting's duration exactly, in words: "30 days", "1 day and 12 hours" (never rounded)."""
        from babel.dates import format_timedelta
        from babel.lists import format_list

        whole = abs(delta)
        hours, rest = divmod(whole.seconds, 3600)
        amounts = [(timedelta(days=whole.days), whole.days), (timedelta(hours=hours), hours)]
        amounts.append((timedelta(minutes=rest // 60), rest // 60))
        parts = [
            str(format_timedelta(value, threshold=count, locale=self.locale))
            for value, count in amounts
            if count
        ]
        return str(format_list(parts, locale=self.locale)) if parts else self.duration(delta)

    def money(self, amount: Decimal | str | int | float, currency: str) -> str:
        from babel.numbers import format_currency

        try:
            return str(format_currency(Decimal(str(amount)), currency, locale=self.locale))
        except (ArithmeticError, ValueError):
            return f"{amount} {currency}"


def page(workspace: Workspace, template: str, *, status: int = 200, **context: Any) -> Response:
    """A workspace page in the store's locale, with the session's CSRF value and the navigation.

    Templates get ``t`` (translator), ``fmt`` (``Formats``), ``now``, ``workspace``, ``store``,
    ``session``, ``csrf`` and ``timezone``; a caller's own value for any of them wins.
    """
    from functions.shared import clock
    from functions.shared.i18n import Translator

    shared: dict[str, Any] = {
        "locale": workspace.locale,
        "workspace": workspace,
        "store": workspace.store,
        "session": workspace.session,
        "csrf": workspace.session.csrf,
        "timezone": workspace.timezone,
        "t": Translator(workspace.locale),
        "fmt": Formats(workspace.locale, workspace.timezone),
        "now": clock.now(),
    }
    return html_page(status, template, **{**shared, **context})


def read_form(workspace: Workspace, request: Any) -> dict[str, str]:
    """A POSTed form of this session (its CSRF value checked); ``FormRefused`` otherwise."""
    data = form_bytes(request)
    if len(data) > min(MAX_FORM_BYTES, MAX_JSON_BYTES):
        raise FormRefused("too large")
    form = {k: v[0] for k, v in parse_qs(data.decode("utf-8", "replace"), keep_blank_values=True).items()}
    if not sessions.csrf_matches(composition.adapters().signing_key, workspace.session, form.get("csrf", "")):
        raise FormRefused("csrf")
    return form


def refused(workspace: Workspace, error: Exception) -> Response:
    """The 403 page, inside the workspace's layout: a staff member on an owners' page, or a refused form."""
    from functions.shared.i18n import Translator

    t = Translator(workspace.locale)
    owners = isinstance(error, OwnersOnly)
    heading = t("ws_owners_only_title" if owners else "ws_form_refused_title")
    return page(
        workspace,
        "pages/workspace/message.html",
        status=403,
        title=heading,
        heading=heading,
        message=t("ws_owners_only" if owners else "ws_form_refused"),
        action_href=INBOX_PATH,
        action_label=t("ws_back_to_inbox"),
    )


def workspace_view(
    blueprint: Any, *, owners_only: bool = False
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Decorate a view taking ``(workspace, *args)``: it runs only inside a session (else sign-in or 403)."""

    def decorator(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Response:
            request = blueprint.current_request
            try:
                workspace = current(request)
            except NotSignedIn:
                return not_signed_in(request)
            if owners_only and not workspace.session.is_owner:
                return refused(workspace, OwnersOnly())
            return view(workspace, *args, **kwargs)

        return wrapped

    return decorator


def workspace_form(
    blueprint: Any, *, owners_only: bool = False
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Decorate a POST view taking ``(workspace, form, *args)``: session and CSRF checked first."""

    def decorator(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Response:
            request = blueprint.current_request
            try:
                workspace = current(request)
            except NotSignedIn:
                return sign_in_redirect(request)
            if owners_only and not workspace.session.is_owner:
                return refused(workspace, OwnersOnly())
            try:
                form = read_form(workspace, request)
            except FormRefused as error:
                return refused(workspace, error)
            return view(workspace, form, *args, **kwargs)

        return wrapped

    return decorator
