"""The page a rating link opens: ``GET /s/{token}`` shows it, ``POST /s/{token}`` records the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from chalice.app import Blueprint, Response

from functions.shared import links, tokens
from functions.shared.errors import NotFound
from functions.shared.http import PAGE_HEADERS, form_bytes, html_page, link_problem, route
from functions.shared.lazy import lazy_module

if TYPE_CHECKING:
    from functions import composition
    from functions.responses import service
else:
    composition = lazy_module("functions.composition")
    service = lazy_module("functions.responses.service")


blueprint = Blueprint(__name__)
FORM = ["*/*"]  # pages answer HTML whatever is posted; the view reads the form it understands
MAX_FORM_BYTES = 16 * 1024
PAGE = "pages/survey.html"


def _browser_language() -> str:
    """A link that does not open proves no store or customer: its page speaks the browser's language."""
    from functions.shared.i18n import accepted_locale

    return accepted_locale(blueprint.current_request.headers.get("accept-language")) or "en"


@route(blueprint, "/s/{token}", methods=("GET",))
def survey_page(token: str) -> Any:
    try:
        survey = service.open_survey(token, composition.response_ports())
    except (tokens.TokenError, NotFound) as error:
        return link_problem(error, _browser_language())
    return html_page(
        200, PAGE, **survey.context(), action=links.SURVEY.action(token), state="ask", error=None
    )


@route(blueprint, "/s/{token}", methods=("HEAD",))
def survey_head(token: str) -> Any:
    """Link checkers and mail scanners: answer, record nothing."""
    return Response(body="", status_code=200, headers=dict(PAGE_HEADERS))


@route(blueprint, "/s/{token}", methods=("POST",), content_types=FORM)
def survey_answer(token: str) -> Any:
    ports = composition.response_ports()
    try:
        survey = service.open_survey(token, ports)
    except (tokens.TokenError, NotFound) as error:
        return link_problem(error, _browser_language())
    raw = form_bytes(blueprint.current_request)
    context = {**survey.context(), "action": links.SURVEY.action(token)}
    if len(raw) > MAX_FORM_BYTES:
        return html_page(413, PAGE, **context, state="ask", error=survey.t("comment_too_long"))
    form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    try:
        score, comment = service.parse_answer(survey, form)
    except service.InvalidAnswer as problem:
        context.update(comment=(form.get("comment") or [""])[0][: service.MAX_COMMENT])
        return html_page(422, PAGE, **context, state="ask", error=survey.t(problem.key))
    service.record(survey, score, comment, ports)
    context.update(selected=score, comment=comment, answered=True)
    return html_page(200, PAGE, **context, state="thanks", error=None)
