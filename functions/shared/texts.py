"""Store-supplied texts are templates, never code: ``{placeholder}`` and nothing else.

The only syntax is ``{name}`` with ``name`` in ``[a-z_]+``, plus ``{{`` and ``}}`` for literal braces.
There are no format specs, conversions, indexing or attribute access, so a text can neither build a
200 MB email (``{store:>999999999}``) nor print internals (``{store.__class__}``). Rendering is one
regular-expression substitution with ``str()`` values (never ``str.format``); an unknown placeholder is
left as written.

Each catalog key allows exactly the placeholders the English catalog uses for it
(``templates/i18n/en.json``); staff reply templates allow ``{name}`` and ``{store}``. Store overrides are
checked against these allow-lists when the configuration is saved (``override_problem``, ``problem``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z_]+)\}")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[a-z_]+")
REPLY_PLACEHOLDERS = frozenset({"name", "store"})
MAX_TEXT = 1000
MAX_REPLY_TEMPLATE = 5000
_MAX_KEY = 100
CATALOG = Path(__file__).resolve().parent.parent.parent / "templates" / "i18n" / "en.json"
# Keys the catalog once had and no longer has (nothing showed them). A store's override of one is dropped
# when its configuration is read, so a configuration saved while the key existed still loads.
RETIRED_KEYS = frozenset(
    {"return_subject", "return_item_not_returnable", "staff_starting_points", "link_hint"}
)


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders with ``str(value)``; ``{{``/``}}`` become braces; nothing else happens."""

    def fill(match: re.Match[str]) -> str:
        found = match.group(0)
        if found in ("{{", "}}"):
            return found[0]
        name = match.group(1)
        return str(values[name]) if name in values else found

    return PLACEHOLDER.sub(fill, template)


def render_reply_template(template: str, *, name: str, store: str) -> str:
    """A staff reply template with the customer's first name and the store's name filled in."""
    return render(template, {"name": name, "store": store})


def placeholders(template: str) -> set[str]:
    """The ``{placeholder}`` names a template uses (not counting ``{{escaped}}`` braces)."""
    return {match.group(1) for match in PLACEHOLDER.finditer(template) if match.group(1)}


def _inner_problem(inner: str) -> str | None:
    """Why ``{inner}`` is not a plain placeholder, or ``None`` when it is one."""
    if _NAME.fullmatch(inner):
        return None
    shown = "{" + inner[:40] + "}"
    if not inner.strip() or inner.strip().isdigit():
        return f"has {shown}, but a placeholder needs a name such as {{store}}"
    if ":" in inner or "!" in inner:
        return f"has {shown}: formatting (after : or !) is not supported, write just the {{placeholder}}"
    if "." in inner or "[" in inner:
        return f"has {shown}: only plain placeholders such as {{store}} work, without . or [ ]"
    return f"has {shown}: placeholder names are lowercase letters and _, such as {{order}}"


def _brace_problem(template: str, match: re.Match[str]) -> str:
    start = max(0, match.start() - 15)
    snippet = template[start : match.end() + 15]
    return f"has a lone {match.group(0)!r} near {snippet!r}; write {{{{ or }}}} for a literal brace"


def syntax_problem(template: str) -> str | None:
    """Why a text is not a valid template (a stray brace, a format spec, attribute access), or ``None``."""
    for match in _TOKEN.finditer(template):
        found = match.group(0)
        if found in ("{{", "}}"):
            continue
        if found in ("{", "}"):
            return _brace_problem(template, match)
        why = _inner_problem(match.group(1))
        if why:
            return why
    return None


def _allowed_problem(template: str, allowed: frozenset[str]) -> str | None:
    unknown = sorted(placeholders(template) - allowed)
    if not unknown:
        return None
    used = ", ".join("{" + name + "}" for name in unknown)
    if not allowed:
        return f"uses {used}, but this text has no placeholders to fill"
    choices = ", ".join("{" + name + "}" for name in sorted(allowed))
    return f"uses {used}, which this text cannot fill (it can use {choices})"


def _control_characters(template: str) -> bool:
    return any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in template)


def problem(template: str, allowed: frozenset[str], limit: int = MAX_TEXT) -> str | None:
    """Why a store-supplied text cannot be used with these placeholders, or ``None``."""
    if len(template) > limit:
        return f"is longer than {limit} characters"
    if _control_characters(template):
        return "contains control characters (only line breaks and tabs are allowed)"
    return syntax_problem(template) or _allowed_problem(template, allowed)


@lru_cache(maxsize=1)
def catalog_placeholders() -> Mapping[str, frozenset[str]]:
    """Catalog key -> the placeholders its English text uses (the allow-list for that key)."""
    english = json.loads(CATALOG.read_text(encoding="utf-8"))
    return {str(k): frozenset(placeholders(str(v))) for k, v in english.items() if not k.startswith("_")}


def _unknown_key(key: str) -> str:
    close = difflib.get_close_matches(key, list(catalog_placeholders()), n=1) if len(key) <= _MAX_KEY else []
    hint = f"; did you mean {close[0]!r}?" if close else " (see templates/i18n/en.json for the texts)"
    return f"is not a text Aftercare uses{hint}"


def override_problem(key: str, template: str) -> str | None:
    """Why a store's override of catalog ``key`` is unacceptable (unknown key, bad template), or ``None``."""
    allowed = catalog_placeholders().get(key)
    if allowed is None:
        return _unknown_key(key)
    return problem(template, allowed)


def reply_template_problem(template: str) -> str | None:
    """Why a staff reply template is unacceptable (it may use ``{name}`` and ``{store}``), or ``None``."""
    return problem(template, REPLY_PLACEHOLDERS, limit=MAX_REPLY_TEMPLATE)
