"""Jinja2 rendering for emails and pages, autoescaped, from the top-level ``templates/`` folder.

The folder sits beside ``functions/`` both in the repository and in the deployment zip.
jinja2 is imported on first render, keeping it off the cold-start path of routes that never render.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "ckb", "yi"})

_lock = threading.Lock()
_environment: dict[str, jinja2.Environment] = {}


def environment() -> jinja2.Environment:
    existing = _environment.get("default")
    if existing is not None:
        return existing
    with _lock:
        if "default" not in _environment:
            import jinja2

            _environment["default"] = jinja2.Environment(
                loader=jinja2.FileSystemLoader(TEMPLATES),
                autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default_for_string=True),
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            from functions.shared import colors, i18n

            _environment["default"].filters.update(
                ink=colors.ink, button=colors.button, language_name=i18n.language_name
            )
        return _environment["default"]


def language_of(locale: str) -> str:
    return locale.replace("_", "-").split("-")[0].lower() or "en"


def direction(locale: str) -> str:
    return "rtl" if language_of(locale) in RTL_LANGUAGES else "ltr"


def render(name: str, **context: Any) -> str:
    locale = str(context.get("locale") or "en")
    context.setdefault("lang", language_of(locale))
    context.setdefault("dir", direction(locale))
    return environment().get_template(name).render(**context)
