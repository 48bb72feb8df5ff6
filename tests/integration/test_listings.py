"""The store's lists (answers, flags) never come back shorter than asked while more exist."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from functions.shared import clock
from functions.stores.models import Retention
from tests.helpers import bearer
from tests.shop import T0, Shop

pytestmark = pytest.mark.integration


def answer(shop: Shop, number: int, kind: str, at: Any) -> None:
    from functions.composition import adapters
    from functions.responses.store import Answer

    product = None if kind == "nps" else f"p{number}"
    outreach = "nps" if kind == "nps" else f"review-{number}"
    adapters().responses.record(
        Answer(shop.id, f"O-{number}", outreach, product, kind, 9, "", "en", f"t{number}"),
        at,
        keep=Retention().answers,
    )


def test_a_filtered_answer_list_is_filled_from_older_answers(shop: Shop) -> None:
    # Given two NPS answers last month, then thirty newer review answers this month
    for number in range(2):
        answer(shop, number, "nps", T0 - timedelta(days=10, minutes=-number))
    for number in range(2, 32):
        answer(shop, number, "review", T0 + timedelta(hours=1, minutes=number))
    clock.clock.freeze(T0 + timedelta(days=1))

    # When the store asks for its two newest NPS answers
    response = shop.api.get(
        f"/v1/stores/{shop.id}/responses?kind=nps&limit=2&from=2026-10-01T00:00:00Z",
        headers=bearer(shop.admin_key),
    )

    # Then both come back, newest first, though thirty newer answers did not match
    assert response.status == 200, response.text
    assert [r["order_id"] for r in response.json["responses"]] == ["O-1", "O-0"]


def test_resolved_flags_are_listed_in_full_past_many_open_ones(shop: Shop) -> None:
    from functions.composition import adapters

    flags = adapters().flags
    # Given forty-two open flags and three resolved ones among them
    for number in range(45):
        flag_id = f"f{number:023x}"
        flags.create(
            {"store_id": shop.id, "flag_id": flag_id, "created_at": clock.isoformat(T0)},
            keep=Retention().answers,
        )
        if number % 15 == 14:
            flags.record_action(
                shop.id,
                flag_id,
                {"action": "resolve"},
                reply=False,
                resolve=True,
                created_at=T0,
                keep=Retention().answers,
            )

    # When the store asks for three resolved flags
    response = shop.api.get(
        f"/v1/stores/{shop.id}/flags?status=resolved&limit=3", headers=bearer(shop.admin_key)
    )

    # Then it gets all three
    assert response.status == 200, response.text
    assert len(response.json["flags"]) == 3
    assert {f["status"] for f in response.json["flags"]} == {"resolved"}
