"""Unsubscribing from the weekly digest alone: one-click (RFC 8058), the confirm page, subscribing again.

``POST /digest/unsubscribe/{token}`` unsubscribes at once: no cookie, no redirect, any body, as mail
providers' one-click buttons post it. ``GET`` shows a page with a button (mail scanners follow GET links,
so GET never changes anything). ``POST .../resubscribe`` (the done page's button) subscribes again. The
token in the path is the only credential, as for the customers' unsubscribe (``/u/{token}``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from functions.digest import subscription
from functions.shared import http, tokens
from functions.shared.errors import NotFound

if TYPE_CHECKING:
    from collections.abc import Callable

    from functions.digest.ports import Ports

blueprint = Blueprint(__name__)
PATH = "/digest/unsubscribe/{token}"
FORMS = ["*/*"]  # a one-click POST may carry any body; nothing in it is read


def _act(token: str, action: Callable[[Ports, str], subscription.Subscription], state: str) -> Response:
    """Run one of the subscription actions and show its page (a friendly page if the link is bad)."""
    from functions.composition import digest_ports
    from functions.shared.i18n import Translator, choose_locale

    try:
        result = action(digest_ports(), token)
    except (tokens.TokenError, NotFound) as error:
        return http.link_problem(error)
    config = result.store.config
    locale = choose_locale(None, config.default_locale)
    t = Translator(locale)
    if state == "status":
        state = "done" if result.opted_out else "ask"
    return http.html_page(
        200,
        "pages/digest_unsubscribe.html",
        t=t,
        locale=locale,
        state=state,
        title=t(f"dg_page_{state}_title"),
        store_name=config.name,
        timezone=config.timezone,
        action=result.action,
    )


@http.route(blueprint, PATH)
def digest_unsubscribe_page(token: str) -> Any:
    return _act(token, subscription.status, "status")


@http.route(blueprint, PATH, methods=("POST",), content_types=FORMS)
def digest_unsubscribe(token: str) -> Any:
    return _act(token, subscription.unsubscribe, "done")


@http.route(blueprint, f"{PATH}/resubscribe", methods=("POST",), content_types=FORMS)
def digest_resubscribe(token: str) -> Any:
    return _act(token, subscription.resubscribe, "resubscribed")
