"""The workspace's Customer data page, for owners: ``GET /workspace/customers`` shows two forms, export
and erase; ``POST /workspace/customers/export`` answers the customer's export (a JSON download, or the
readable page); ``POST /workspace/customers/erase`` erases them once the owner has ticked the confirmation
and typed the address twice. Both POSTs are CSRF-checked like every workspace form; staff get the 403 page.

Thin: parse the form, one call to ``functions.privacy.service``, render. The address travels only in
form bodies, never in a URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from functions.shared.errors import AftercareError
from functions.shared.lazy import lazy_module
from functions.workspace import web

if TYPE_CHECKING:
    from functions import composition
    from functions.privacy import render, service
    from functions.shared.i18n import Translator
else:
    composition = lazy_module("functions.composition")
    service = lazy_module("functions.privacy.service")
    render = lazy_module("functions.privacy.render")

blueprint = Blueprint(__name__)
PATH = "/workspace/customers"
FORMS = ["*/*"]
MAX_ADDRESS = 320
DOWNLOAD_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Disposition": 'attachment; filename="customer-data.json"',
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _translator(workspace: web.Workspace) -> Translator:
    from functions.shared.i18n import Translator

    return Translator(workspace.locale)


def _render(
    workspace: web.Workspace, status: int = 200, *, notice: str = "", error: str = "", typed: str = ""
) -> Response:
    t = _translator(workspace)
    return web.page(
        workspace,
        "pages/workspace/customers.html",
        status=status,
        title=t("ws_customers_title"),
        notice=notice,
        error=error,
        typed=typed[:MAX_ADDRESS],
    )


def _unavailable(workspace: web.Workspace, typed: str) -> Response:
    return _render(workspace, 503, error=_translator(workspace)("ws_customers_unavailable"), typed=typed)


@blueprint.route(PATH, methods=["GET"])
@web.workspace_view(blueprint, owners_only=True)
def customers_page(workspace: web.Workspace) -> Response:
    return _render(workspace)


@blueprint.route(f"{PATH}/export", methods=["POST"], content_types=FORMS)
@web.workspace_form(blueprint, owners_only=True)
def customers_export(workspace: web.Workspace, form: dict[str, str]) -> Response:
    typed = form.get("email", "")
    try:
        email = service.checked_email(typed)
    except service.InvalidEmail:
        return _render(workspace, 422, error=_translator(workspace)("ws_customers_bad_email"), typed=typed)
    try:
        document = service.export(composition.privacy_ports(), workspace.store, email)
    except AftercareError:
        return _unavailable(workspace, typed)
    if form.get("format") == "html":
        from functions.shared.http import PAGE_HEADERS

        return Response(
            body=render.html(document, workspace.store), status_code=200, headers=dict(PAGE_HEADERS)
        )
    return Response(body=render.as_json_text(document), status_code=200, headers=dict(DOWNLOAD_HEADERS))


@blueprint.route(f"{PATH}/erase", methods=["POST"], content_types=FORMS)
@web.workspace_form(blueprint, owners_only=True)
def customers_erase(workspace: web.Workspace, form: dict[str, str]) -> Response:
    t = _translator(workspace)
    typed = form.get("email", "")
    try:
        email = service.checked_email(typed)
    except service.InvalidEmail:
        return _render(workspace, 422, error=t("ws_customers_bad_email"), typed=typed)
    again = form.get("email_again", "").strip().lower()
    if form.get("confirm") != "yes" or again != email:
        return _render(workspace, 422, error=t("ws_customers_not_confirmed"), typed=typed)
    try:
        erased = service.erase(composition.privacy_ports(), workspace.store, email, workspace.session.email)
    except AftercareError:
        return _unavailable(workspace, typed)
    return _render(workspace, notice=t("ws_customers_erased", count=sum(erased.removed.values())))
