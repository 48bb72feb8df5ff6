"""Insights routes: the workspace page and its CSV exports, and the operator's rebuild.

* ``GET /workspace/insights?weeks=4|13|52``: the page (charts, tables, a link per CSV export);
* ``GET /workspace/insights.csv?view=<view>&weeks=N``: one view's numbers as a CSV attachment;
* ``POST /v1/admin/stores/{store_id}/insights/rebuild`` (operator key): recompute the store's counters.

Thin: parse and check the query, one call (``report.build`` / ``rebuild.rebuild``), render.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from functions.shared.errors import AftercareError
from functions.shared.http import ApiError, json_response, route
from functions.shared.lazy import lazy_module
from functions.workspace import web

if TYPE_CHECKING:
    from functions import composition
    from functions.insights import rebuild, report, views
    from functions.shared.i18n import Translator
    from functions.stores import service as stores
else:
    composition = lazy_module("functions.composition")
    report = lazy_module("functions.insights.report")
    rebuild = lazy_module("functions.insights.rebuild")
    views = lazy_module("functions.insights.views")
    stores = lazy_module("functions.stores.service")

blueprint = Blueprint(__name__)
PATH = "/workspace/insights"
DEFAULT_WEEKS = 13


def _translator(workspace: web.Workspace) -> Translator:
    from functions.shared.i18n import Translator

    return Translator(workspace.locale)


def _query() -> dict[str, str]:
    params: Any = blueprint.current_request.query_params or {}
    return {str(k): str(v) for k, v in dict(params).items()}


def _weeks(raw: str | None) -> int:
    """The range asked for (``report.InvalidRange`` for anything but 4, 13 or 52)."""
    if raw is None or raw == "":
        return DEFAULT_WEEKS
    if not raw.isdigit() or len(raw) > 3:
        raise report.InvalidRange(raw)
    if int(raw) not in report.RANGES:
        raise report.InvalidRange(raw)
    return int(raw)


def _bad(workspace: web.Workspace, key: str) -> Response:
    from functions.shared.http import html_error

    t = _translator(workspace)
    return html_error(400, t("in_bad_query_title"), t(key), locale=workspace.locale)


def _unavailable(workspace: web.Workspace) -> Response:
    from functions.shared.http import html_error

    t = _translator(workspace)
    return html_error(503, t("in_unavailable_title"), t("in_unavailable"), locale=workspace.locale)


def _report(workspace: web.Workspace, weeks: int) -> report.Report:
    root = composition.adapters()
    return report.build(workspace.store, weeks, root.clock.now(), root.insights)


@blueprint.route(PATH, methods=["GET"])
@web.workspace_view(blueprint)
def insights_page(workspace: web.Workspace) -> Response:
    try:
        weeks = _weeks(_query().get("weeks"))
    except report.InvalidRange:
        return _bad(workspace, "in_bad_range")
    try:
        found = _report(workspace, weeks)
    except AftercareError:
        return _unavailable(workspace)
    t = _translator(workspace)
    formats = views.Formats(workspace.locale, found.currency)
    return web.page(
        workspace,
        "pages/workspace/insights.html",
        t=t,
        title=t("in_title"),
        report=found,
        ranges=[(n, f"{PATH}?weeks={n}") for n in report.RANGES],
        weeks=weeks,
        period=t("in_period", first=formats.day(found.first), last=formats.day(found.last), weeks=weeks),
        summary=views.summary(found, t, formats),
        sections=views.sections(found, t, formats),
        csv_link=lambda view: f"{PATH}.csv?view={view}&weeks={weeks}",
        empty=not any(week.answers or week.total_sent or week.total_flags for week in found.weeks),
    )


@blueprint.route(f"{PATH}.csv", methods=["GET"])
@web.workspace_view(blueprint)
def insights_csv(workspace: web.Workspace) -> Response:
    query = _query()
    view = query.get("view", "")
    try:
        weeks = _weeks(query.get("weeks"))
    except report.InvalidRange:
        return _bad(workspace, "in_bad_range")
    if view not in views.VIEWS:
        return _bad(workspace, "in_bad_view")
    try:
        found = _report(workspace, weeks)
    except AftercareError:
        return _unavailable(workspace)
    body = "\ufeff" + views.to_csv(views.csv_rows(found, view))  # the BOM: spreadsheets then read UTF-8
    filename = f"insights-{workspace.store.id}-{view}-{weeks}w-{found.last.isoformat()}.csv"
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _require_operator() -> None:
    from functions.shared.secrets import get_secret

    operator_key = get_secret(composition.adapters().settings.operator_key_secret_arn)
    try:
        stores.authenticate_operator(blueprint.current_request.headers.get("authorization"), operator_key)
    except stores.AuthError as error:
        raise ApiError(
            401, "unauthorized", error.message, headers={"WWW-Authenticate": 'Bearer realm="aftercare"'}
        ) from None


@route(blueprint, "/v1/admin/stores/{store_id}/insights/rebuild", methods=("POST",))
def rebuild_insights(store_id: str) -> Any:
    """Recompute a store's insights counters from the source tables (operator key; idempotent)."""
    _require_operator()
    store = composition.adapters().stores.get(store_id)
    return json_response(rebuild.rebuild(store, composition.insights_ports()).as_json())
