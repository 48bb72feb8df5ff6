"""The export as a readable HTML page in the store's language (every value escaped by the template)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functions.stores.models import Store


def as_json_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def html(document: dict[str, Any], store: Store) -> str:
    from functions.shared.i18n import Translator, choose_locale
    from functions.shared.templating import render

    language = choose_locale(None, store.config.default_locale)
    t = Translator(language)
    return render(
        "pages/privacy_export.html",
        title=t("privacy_title"),
        t=t,
        doc=document,
        full=as_json_text(document),
        store_name=store.config.name,
        locale=language,
    )
