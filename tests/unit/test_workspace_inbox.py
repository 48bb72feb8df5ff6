"""The inbox says what stored codes and English sentences mean in the store's language."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from functions.shared.i18n import Translator
from functions.workspace import inbox
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.unit

CLOCK = FakeClock()
FLAG = {
    "flag_id": "f1",
    "kind": "review",
    "score": 1,
    "order_name": "#1001",
    "sla_deadline": "2026-11-02T12:00:00Z",
    "reasons": ["1 of 5 stars (the store flags 2 or fewer)", 'mentions "broken"'],
}
RETURNS = [
    {"return_id": "r1", "order_name": "#1001", "reason": "damaged", "requested_at": "2026-11-01T09:00:00Z"},
    {"return_id": "r2", "order_name": "#1002", "reason": "Too small", "requested_at": "2026-11-01T10:00:00Z"},
    {
        "return_id": "r3",
        "order_name": "#1003",
        "reason": "does_not_fit",
        "status": "failed: refund not issued",
        "refund_problem": "the store has no refund endpoint configured",
        "requested_at": "2026-11-01T11:00:00Z",
    },
    {"return_id": "r4", "order_name": "#1004", "requested_at": "2026-11-01T12:00:00Z"},
]


def _ports() -> Any:
    return SimpleNamespace(
        clock=CLOCK,
        flags=SimpleNamespace(list=lambda store_id, state, now, limit: [FLAG]),
        returns=SimpleNamespace(needing_attention=lambda store_id, limit: RETURNS),
    )


@pytest.mark.parametrize(
    ("locale", "damaged", "does_not_fit"),
    [("en", "Damaged or defective", "Does not fit"), ("ar", "تالف أو معيب", "المقاس غير مناسب")],
)
def test_return_reasons_are_in_the_stores_language_and_its_own_as_written(
    locale: str, damaged: str, does_not_fit: str
) -> None:
    t = Translator(locale)
    found = inbox.inbox("shop", "EUR", _ports(), t)
    assert [row.reason for row in found.returns] == [damaged, "Too small", does_not_fit, ""]
    assert found.returns[2].problem == t("staff_problem_no_endpoint")


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_flag_reasons_are_in_the_stores_language(locale: str) -> None:
    t = Translator(locale)
    (row,) = inbox.inbox("shop", "EUR", _ports(), t).flags
    stars, keyword = t("staff_reason_stars", score=1, limit=2), t("staff_reason_keyword", keyword="broken")
    assert row.reasons == [stars, keyword]
    if locale == "ar":
        assert not [reason for reason in row.reasons if "stars" in reason or "mentions" in reason]
