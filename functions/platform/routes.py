"""Service-level routes: a health check for deployment smoke tests and uptime monitors, the landing page a
person sees opening the service's address, and its icon (so browsers get no 404 for it)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from functions.shared import clock
from functions.shared.http import PAGE_HEADERS, json_response, route

blueprint = Blueprint(__name__)

CONSOLE = "/_dev/"  # the local stack's dev console (aftercare/devstack/console.py, mounted at /_dev)
ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<rect width="64" height="64" rx="14" fill="#1f5c4d"/>'
    '<path d="M32 48 17.5 34.2a9 9 0 0 1 12.7-12.8L32 23.2l1.8-1.8a9 9 0 0 1 12.7 12.8Z" fill="#fff"/>'
    "</svg>"
)
ICON_HEADERS = {
    "Content-Type": "image/svg+xml",
    "Cache-Control": "public, max-age=604800",
    "X-Content-Type-Options": "nosniff",
}


@route(blueprint, "/health")
def health() -> Any:
    """Answers without touching AWS, so it measures the function, not its dependencies."""
    return json_response({"status": "ok", "service": "aftercare", "time": clock.isoformat(clock.now())})


@route(blueprint, "/")
def landing() -> Any:
    """What the service is, in the visitor's language (Accept-Language among the five locales).

    The local stack links to its dev console; a deployment says there is nothing here for visitors.
    """
    from functions import composition
    from functions.shared.i18n import Translator, accepted_locale
    from functions.shared.templating import render

    locale = accepted_locale(blueprint.current_request.headers.get("accept-language")) or "en"
    t = Translator(locale)
    local = composition.adapters().settings.stage == "local"
    body = render(
        "pages/landing.html", locale=locale, t=t, title=t("landing_title"), local=local, console=CONSOLE
    )
    headers = {**PAGE_HEADERS, "Content-Language": locale, "Vary": "Accept-Language"}
    return Response(body=body, status_code=200, headers=headers)


@route(blueprint, "/favicon.ico")
def favicon() -> Any:
    """The service's icon (SVG, which browsers accept at this address), cached for a week."""
    return Response(body=ICON, status_code=200, headers=dict(ICON_HEADERS))
