"""The export as a readable HTML page in the store's language (every value escaped by the template)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functions.stores.models import Store


def as_json_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def html(document: dict[str, Any], store: Store) -> str:
    from functions.privacy.readable import view
    from functions.shared.templating import render

    return render("pages/privacy_export.html", **view(document, store))
