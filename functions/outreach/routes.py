"""One-click unsubscribe (RFC 8058) and the unsubscribe page.

``POST /u/{token}`` unsubscribes at once: no cookie, no redirect, as mail providers' one-click buttons
expect. ``GET /u/{token}`` shows a page with a confirm button (mail scanners follow GET links, so GET
never changes anything) and, once unsubscribed, a way to subscribe again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from functions.customers.store import Suppression
from functions.shared import links, tokens
from functions.shared.http import html_page, link_problem, route

if TYPE_CHECKING:
    from functions.customers.store import CustomerRepository

blueprint = Blueprint(__name__)
FORMS = ["*/*"]  # pages answer HTML whatever is posted; the view reads the form it understands


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "your address"  # never reveals the local part's length


def _page(status: int, template: str, **context: Any) -> Response:
    return html_page(status, template, **context)


def _customers() -> CustomerRepository:
    from functions import composition

    return composition.adapters().customers


def _context(token_text: str) -> dict[str, Any]:
    """Verify the token; return what the pages need, or raise ``tokens.TokenError``."""
    from functions import composition
    from functions.shared.i18n import Translator, choose_locale

    found = composition.adapters()
    token = links.UNSUBSCRIBE.open(found.signing_key, token_text)
    store = found.stores.get(token.store_id, cached=True)
    profile = found.customers.get(store.id, str(token.claims.get("c", ""))) or {}
    # The language of the email the link came in (links from before it was recorded: the store's)
    language = choose_locale(str(token.claims.get("l") or ""), store.config.default_locale)
    return {
        "token": token,
        "store": store,
        "profile": profile,
        "t": Translator(language, store.config.emails.texts),
        "locale": language,
        "store_name": store.config.name,
        "email": _mask(str(profile.get("email", ""))),
        "action": links.UNSUBSCRIBE.action(token_text),
    }


def _invalid(error: tokens.TokenError) -> Response:
    """The page of a link that does not open, in the browser's language (the link proves nothing)."""
    from functions.shared.i18n import accepted_locale

    return link_problem(
        error, accepted_locale(blueprint.current_request.headers.get("accept-language")) or "en"
    )


@route(blueprint, "/u/{token}")
def unsubscribe_page(token: str) -> Any:
    try:
        context = _context(token)
    except tokens.TokenError as error:
        return _invalid(error)
    suppressed = (context["profile"].get("suppressed") or {}).get("reason")
    done = suppressed == Suppression.UNSUBSCRIBED or context["profile"].get("erased")
    return _page(
        200,
        "pages/unsubscribe.html",
        state="done" if done else "ask",
        **context,
        title=context["t"]("unsubscribe_title"),
    )


@route(blueprint, "/u/{token}", methods=("POST",), content_types=FORMS)
def unsubscribe(token: str) -> Any:
    try:
        context = _context(token)
    except tokens.TokenError as error:
        return _invalid(error)
    profile = context["profile"]
    email = str(profile.get("email") or "")
    if profile.get("erased"):
        pass  # erased: never emailed again already, and nothing new is written about the address
    elif email:
        _customers().suppress(context["store"].id, email, Suppression.UNSUBSCRIBED, "one-click")
    else:
        # Never emailed through this record (should not happen): suppress by key alone.
        _customers().suppress_key(
            context["store"].id, str(context["token"].claims.get("c", "")), Suppression.UNSUBSCRIBED
        )
    return _page(
        200, "pages/unsubscribe.html", state="done", **context, title=context["t"]("unsubscribe_done_title")
    )


@route(blueprint, "/u/{token}/resubscribe", methods=("POST",), content_types=FORMS)
def resubscribe(token: str) -> Any:
    try:
        context = _context(token)
    except tokens.TokenError as error:
        return _invalid(error)
    lifted = _customers().resubscribe(context["store"].id, str(context["token"].claims.get("c", "")))
    return _page(
        200,
        "pages/unsubscribe.html",
        state="done" if context["profile"].get("erased") and not lifted else "resubscribed",
        **context,
        title=context["t"]("resubscribe_done_title"),
    )
