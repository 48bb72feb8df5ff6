"""The page a rating link opens: ``GET /s/{token}`` shows it, ``POST /s/{token}`` records the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from chalice.app import Blueprint, Response

from functions.shared import tokens
from functions.shared.errors import NotFound
from functions.shared.http import PAGE_HEADERS, html_error, html_page, route
from functions.shared.lazy import lazy_module

if TYPE_CHECKING:
    from functions.responses import service
else:
    service = lazy_module("functions.responses.service")


blueprint = Blueprint(__name__)
FORM = ["*/*"]  # pages answer HTML whatever is posted; the view reads the form it understands
MAX_FORM_BYTES = 16 * 1024


def _open(token: str) -> service.Survey:
    from functions.outreach.store import default_queue
    from functions.responses.store import default_repository as responses
    from functions.stores.store import default_repository as stores

    return service.open_survey(token, tokens.signing_key(), stores(), default_queue(), responses())


def _link_problem(error: Exception) -> Response:
    from functions.shared.i18n import Translator

    t = Translator("en")
    if isinstance(error, tokens.TokenExpired):
        return html_error(410, t("link_invalid_title"), t("link_expired"))
    if isinstance(error, NotFound):
        return html_error(404, t("not_found_title"), t("not_found"))
    return html_error(400, t("link_invalid_title"), t("link_invalid"))


@route(blueprint, "/s/{token}", methods=("GET",))
def survey_page(token: str) -> Any:
    try:
        survey = _open(token)
    except (tokens.TokenError, NotFound) as error:
        return _link_problem(error)
    return html_page(
        200, "pages/survey.html", **survey.context(), action=f"/s/{token}", state="ask", error=None
    )


@route(blueprint, "/s/{token}", methods=("HEAD",))
def survey_head(token: str) -> Any:
    """Link checkers and mail scanners: answer, record nothing."""
    return Response(body="", status_code=200, headers=dict(PAGE_HEADERS))


@route(blueprint, "/s/{token}", methods=("POST",), content_types=FORM)
def survey_answer(token: str) -> Any:
    from functions.outreach.store import default_queue
    from functions.responses.store import default_repository as responses

    try:
        survey = _open(token)
    except (tokens.TokenError, NotFound) as error:
        return _link_problem(error)
    raw = blueprint.current_request.raw_body or b""
    raw_bytes = raw.encode("utf-8") if isinstance(raw, str) else raw
    context = {**survey.context(), "action": f"/s/{token}"}
    if len(raw_bytes) > MAX_FORM_BYTES:
        return html_page(413, "pages/survey.html", **context, state="ask", error=survey.t("comment_too_long"))
    form = parse_qs(raw_bytes.decode("utf-8", "replace"), keep_blank_values=True)
    try:
        score, comment = service.parse_answer(survey, form)
    except service.InvalidAnswer as problem:
        context.update(comment=(form.get("comment") or [""])[0][: service.MAX_COMMENT])
        return html_page(422, "pages/survey.html", **context, state="ask", error=survey.t(problem.key))
    service.record(survey, score, comment, responses(), default_queue())
    context.update(selected=score, comment=comment, answered=True)
    return html_page(200, "pages/survey.html", **context, state="thanks", error=None)
