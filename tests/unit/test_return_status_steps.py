"""The customer's status page says where a return stands: its steps, the current one, and one sentence."""

from __future__ import annotations

from typing import Any

import pytest

from functions.returns.models import ReturnRequest
from functions.returns.status import steps_of, summary
from functions.shared.i18n import Translator
from tests.unit.test_return_customer_emails import store

pytestmark = pytest.mark.unit

T = Translator("en")


def step(name: str, at: str = "2026-11-03T10:00:00Z") -> dict[str, Any]:
    return {"step": name, "at": at}


def shown(status: str, audit: list[dict[str, Any]], **item: Any) -> tuple[list[tuple[str, str, str]], str]:
    request = ReturnRequest(
        {
            "return_id": "ret-1",
            "order_id": "1001",
            "order_name": "#1001",
            "status": status,
            "outcome": "refund",
            "requested_at": "2026-11-02T09:00:00Z",
            **item,
        }
    )
    rows = [(s.label, s.state, s.when) for s in steps_of(T, store(), request, audit)]
    return rows, summary(T, store(), request, audit)


def test_waiting_for_the_store_marks_the_decision_as_current_with_its_deadline() -> None:
    rows, said = shown(
        "awaiting approval", [step("eligible")], waiting_for="approval", wait_deadline="2026-11-04T09:00:00Z"
    )
    assert rows[0] == ("Requested", "done", "on November 2, 2026")
    assert rows[1] == ("Store's decision", "current", "by November 4, 2026")
    assert [state for _, state, _ in rows[2:]] == ["todo", "todo", "todo"]
    assert said == "The store is looking at your request and will decide by November 4, 2026."


def test_approved_items_to_send_back_by_a_day() -> None:
    rows, said = shown(
        "awaiting the item",
        [step("eligible"), step("approved", "2026-11-03T12:00:00Z")],
        decision={"needs_return": True},
        return_by="2026-11-13T12:00:00Z",
    )
    assert rows[1] == ("Approved", "done", "on November 3, 2026")
    assert rows[2] == ("Send the items back", "current", "by November 13, 2026")
    assert said.startswith("Please send the items to:")


def test_kept_items_skip_sending_back_and_a_completed_return_is_all_done() -> None:
    rows, said = shown(
        "completed",
        [step("eligible"), step("refund issued", "2026-11-02T09:05:00Z")],
        decision={"needs_return": False, "auto_approve": True},
    )
    assert [label for label, _, _ in rows] == ["Requested", "Approved", "Refund issued"]
    assert all(state == "done" for _, state, _ in rows) and said == "Your return is complete: a refund."


@pytest.mark.parametrize(
    ("status", "audit_step", "stopped_at", "sentence"),
    [
        ("refused", "not eligible", ("Not accepted", 1), "This return was not accepted: The request names"),
        ("rejected", "rejected", ("Not accepted", 1), "The store declined this return."),
        ("expired", "expired", ("Closed", 1), "Nobody decided on this request in time"),
        ("closed: item not received", "parcel timed out", ("Closed", 2), "The items never reached the store"),
    ],
)
def test_a_return_that_ends_early_stops_at_its_step(
    status: str, audit_step: str, stopped_at: tuple[str, int], sentence: str
) -> None:
    audit = [step("approved")] if status.startswith("closed") else []
    rows, said = shown(
        status,
        [*audit, step(audit_step)],
        decision={"reason": "The request names no items to return.", "needs_return": True},
    )
    label, index = stopped_at
    assert rows[index][:2] == (label, "stopped") and len(rows) == index + 1
    assert said.startswith(sentence)


def test_the_status_link_is_one_of_the_link_kinds_in_shared_links() -> None:
    from types import SimpleNamespace

    from functions.returns import status
    from functions.shared import links

    kinds = [value for value in vars(links).values() if isinstance(value, links.LinkKind)]
    assert links.RETURN_STATUS in kinds and not [
        value for value in vars(status).values() if isinstance(value, links.LinkKind)
    ]  # defined once, beside the other kinds of link in emails
    assert len({kind.purpose for kind in kinds}) == len({kind.path for kind in kinds}) == len(kinds)
    key = b"k" * 32
    ports = SimpleNamespace(base_url="https://care.example.com", signing_key=lambda: key)
    url = status.link(ports, store(), "ret-1")  # type: ignore[arg-type]
    assert url.startswith("https://care.example.com/rs/")
    token = links.RETURN_STATUS.open(key, url.rsplit("/", 1)[1])
    assert token.claims == {"r": "ret-1"} and token.store_id == store().id
