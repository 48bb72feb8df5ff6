"""What every workspace page shares: who is signed in, to which store, the CSRF check, rendering.

A request is in the workspace when its session cookie verifies (signature, store, expiry), the session
was not signed out, and the address still has a role in the store's current configuration (an owner
removed from ``staff.owners`` loses the workspace at their next click, not 12 hours later). Pages are
rendered in the store's default locale; times are shown in the store's timezone.

Route modules use ``workspace_view`` (GET pages) and ``workspace_form`` (POST forms): both turn a
missing session into a redirect to the sign-in page and a missing role into a 403 page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from chalice.app import Response

from functions.shared.http import MAX_JSON_BYTES, form_bytes, html_error, html_page
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
MAX_FORM_BYTES = 32 * 1024


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
        store = root.stores.get(session.store_id, cached=True)
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


def sign_in_redirect(request: Any) -> Response:
    """Send the browser to the sign-in page, forgetting a cookie that no longer opens a session."""
    path = str(request.context.get("path") or COOKIE_PATH + "/") if hasattr(request, "context") else ""
    target = f"{SIGN_IN_PATH}?next={quote(path, safe='/')}" if path.startswith(COOKIE_PATH) else SIGN_IN_PATH
    return Response(
        body="",
        status_code=303,
        headers={
            "Location": target,
            "Cache-Control": "no-store",
            "Set-Cookie": clear_cookie(secure=secure_cookies()),
        },
    )


def page(workspace: Workspace, template: str, *, status: int = 200, **context: Any) -> Response:
    """A workspace page in the store's locale, with the session's CSRF value and the navigation."""
    return html_page(
        status,
        template,
        locale=workspace.locale,
        workspace=workspace,
        store=workspace.store,
        session=workspace.session,
        csrf=workspace.session.csrf,
        timezone=workspace.timezone,
        **context,
    )


def read_form(workspace: Workspace, request: Any) -> dict[str, str]:
    """A POSTed form of this session (its CSRF value checked); ``FormRefused`` otherwise."""
    data = form_bytes(request)
    if len(data) > min(MAX_FORM_BYTES, MAX_JSON_BYTES):
        raise FormRefused("too large")
    form = {k: v[0] for k, v in parse_qs(data.decode("utf-8", "replace"), keep_blank_values=True).items()}
    if not sessions.csrf_matches(composition.adapters().signing_key, workspace.session, form.get("csrf", "")):
        raise FormRefused("csrf")
    return form


def _refused(workspace_locale: str, error: Exception) -> Response:
    from functions.shared.i18n import Translator

    t = Translator(workspace_locale)
    if isinstance(error, OwnersOnly):
        return html_error(403, t("ws_owners_only_title"), t("ws_owners_only"), locale=workspace_locale)
    return html_error(403, t("ws_form_refused_title"), t("ws_form_refused"), locale=workspace_locale)


def workspace_view(
    blueprint: Any, *, owners_only: bool = False
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Decorate a view taking ``(workspace, *args)``: it runs only inside a session (else sign-in or 403)."""

    def decorator(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Response:
            request = blueprint.current_request
            try:
                workspace = current(request, owners_only=owners_only)
            except NotSignedIn:
                return sign_in_redirect(request)
            except OwnersOnly as error:
                return _refused(_store_locale(request), error)
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
                workspace = current(request, owners_only=owners_only)
                form = read_form(workspace, request)
            except NotSignedIn:
                return sign_in_redirect(request)
            except (OwnersOnly, FormRefused) as error:
                return _refused(_store_locale(request), error)
            return view(workspace, form, *args, **kwargs)

        return wrapped

    return decorator


def _store_locale(request: Any) -> str:
    """The locale of the store a (verified) session names, for error pages; English if unknown."""
    try:
        session = sessions.open_session(
            composition.adapters().signing_key, cookie_value(request.headers.get("cookie"))
        )
        return composition.adapters().stores.get(session.store_id, cached=True).config.default_locale
    except Exception:  # an error page must never fail: fall back to English
        return "en"
