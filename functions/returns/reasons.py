"""Return reasons: a stable code stored with the return, a text in whoever reads it's language.

The store's list (``returns.reasons`` in its config) names Aftercare's own reasons by their English text
(the defaults) or by code; the return page offers them in the customer's language and posts the code, and
staff read the code in the store's language. A reason the store wrote itself has no code: it is stored
and shown as written.
"""

from __future__ import annotations

from collections.abc import Iterable

from functions.shared.i18n import Translator

CODES = {  # code -> the English text the store's configuration uses for it
    "damaged": "Damaged or defective",
    "wrong_item": "Wrong item",
    "does_not_fit": "Does not fit",
    "not_as_described": "Not as described",
    "other": "Other",
}
_BY_TEXT = {text.casefold(): code for code, text in CODES.items()}


def code_of(reason: str) -> str:
    """The stable code of a reason (its code, or the English text of one), else the text as written."""
    text = " ".join(reason.split())
    if text in CODES:
        return text
    return _BY_TEXT.get(text.casefold(), text)


def said(t: Translator, reason: str) -> str:
    """A reason in ``t``'s language (one the store wrote itself, as written)."""
    code = code_of(reason)
    return t(f"rt_reason_{code}") if code in CODES else reason


def offered(t: Translator, configured: Iterable[str]) -> list[tuple[str, str]]:
    """The store's reasons as the return page offers them: (the code posted, the text shown)."""
    seen: dict[str, str] = {}
    for reason in configured:
        code = code_of(reason)
        seen.setdefault(code, said(t, reason))
    return list(seen.items())


def accepted(configured: Iterable[str], posted: str) -> str | None:
    """The code to store for a posted reason, or None when the store does not offer it."""
    code = code_of(posted)
    return code if code in {code_of(reason) for reason in configured} else None
