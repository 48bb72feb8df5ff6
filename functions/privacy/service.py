"""Export and erase everything Aftercare holds about one customer (an email address) in one store.

The customer is found through the owners' access patterns, never a scan: their orders through the
``by_customer`` indexes of the Orders, Outreach and Responses tables (each keyed by the store and a hash
of the address), and from each order its requests, answers, flags (their ids derive from the answer's key),
returns (index ``by_order``) and the deliveries that named it.

An erasure writes its record first (the suppression it keeps takes effect at once, and the orders it
found are remembered until it closes, since a step may delete the last index entry that found an order),
then works one capability at a time, recording each step as done, and closes the record last. Every step
deletes what it still finds and nothing else, so a second call erases what a first one left (a crash
half-way, or data that arrived since) and changes nothing otherwise. Every key starts with the store's
id, so nothing of another store is read or touched.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.shared import clock
from functions.shared.errors import AftercareError
from functions.shared.observability import logger

if TYPE_CHECKING:
    from functions.privacy.ports import Ports
    from functions.stores.models import Store

# What a request, answer, flag or return keeps for itself (index keys, claims, secrets): never exported.
HIDDEN = frozenset(
    {
        "pk",
        "sk",
        "due_shard",
        "due_key",
        "store_month",
        "planned_key",
        "customer_key",
        "responded_key",
        "open_store",
        "sla_shard",
        "wait_shard",
        "wait_deadline",
        "attention_store",
        "order_key",
        "task_token",
        "claim",
        "reply_digests",
        "action_ids",
        "expires_at",
    }
)
WORKFLOW_STOPPED = "the customer's data was erased"


class InvalidEmail(AftercareError):
    """The address to export or erase is not one valid email address."""


def checked_email(value: Any) -> str:
    """One RFC 5322 address (no display name, no list), lower-cased as Aftercare keys it."""
    from functions.webhooks.parsing import email_address

    found = email_address(value)
    if found is None:
        raise InvalidEmail("Give one email address, such as sam@example.com.")
    return found.lower()


def _shown(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in HIDDEN}


def order_ids(ports: Ports, store_id: str, email: str) -> list[str]:
    """The customer's orders in this store: by the order's own address, every request's, and the address of
    every answer that names one (a store-submitted review of an order Aftercare may never have seen)."""
    found = dict.fromkeys(ports.orders.customer_orders(store_id, email))
    found.update(dict.fromkeys(ports.requests.customer_orders(store_id, email)))
    found.update(dict.fromkeys(ports.answers.customer_orders(store_id, email)))
    return sorted(found)


# ------------------------------------------------------------------------------------------ export
def export(ports: Ports, store: Store, email: str) -> dict[str, Any]:
    """One document with everything held about the customer in the store (only the erasure record, if any,
    once they are erased)."""
    address = checked_email(email)
    ids = order_ids(ports, store.id, address)
    orders = [_order(ports, store.id, order_id) for order_id in ids]
    profile = ports.customers.export(store.id, address)
    erasure = ports.customers.erasure(store.id, address)
    return {
        "store_id": store.id,
        "email": address,
        "exported_at": clock.isoformat(ports.clock.now()),
        "customer": profile,
        "suppression": (profile or {}).get("suppressed") or (erasure or {}).get("suppressed"),
        "erasure": erasure,
        "orders": orders,
        "quarantined_deliveries": ports.orders.quarantined_for(store.id, set(ids), address),
    }


def _order(ports: Ports, store_id: str, order_id: str) -> dict[str, Any]:
    order = ports.orders.export_order(store_id, order_id) or {"order_id": order_id, "events": []}
    answers = ports.answers.for_order(store_id, order_id)
    flags = ports.flags.of_answers(store_id, [(str(a["pk"]), str(a["sk"])) for a in answers])
    returns = []
    for request in ports.returns.of_order(store_id, order_id):
        found, steps = ports.returns.get(store_id, str(request["return_id"]))
        if found is not None:
            returns.append({**_shown(found), "audit_trail": [_shown(step) for step in steps]})
    return {
        **order,
        "requests": [_shown(item) for item in ports.requests.for_order(store_id, order_id)],
        "answers": [_shown(answer) for answer in answers],
        "flags": [_shown(flag) for flag in flags],
        "returns": returns,
    }


# ------------------------------------------------------------------------------------------ erase
Step = Callable[["Ports", str, list[str], str], dict[str, int]]


def _returns(ports: Ports, store_id: str, ids: list[str], email: str) -> dict[str, int]:
    """Stop every running workflow of the customer's returns (a refund made stays made), then delete them."""
    stopped = removed = 0
    for order_id in ids:
        for request in ports.returns.of_order(store_id, order_id):
            return_id = str(request["return_id"])
            retries = int(request.get("refund_retries") or 0)
            for name in [return_id, *(f"{return_id}-retry-{n}" for n in range(1, retries + 1))]:
                stopped += ports.workflows.stop(name, WORKFLOW_STOPPED)
            removed += ports.returns.erase(store_id, return_id)
    return {"return items": removed, "workflows stopped": stopped}


def _flags(ports: Ports, store_id: str, ids: list[str], email: str) -> dict[str, int]:
    removed = 0
    for order_id in ids:
        answers = ports.answers.for_order(store_id, order_id)
        flags = ports.flags.of_answers(store_id, [(str(a["pk"]), str(a["sk"])) for a in answers])
        removed += ports.flags.erase(store_id, [str(flag["sk"]) for flag in flags])
    return {"flags": removed}


def _answers(ports: Ports, store_id: str, ids: list[str], email: str) -> dict[str, int]:
    return {"answers": sum(ports.answers.erase_order(store_id, order_id) for order_id in ids)}


def _requests(ports: Ports, store_id: str, ids: list[str], email: str) -> dict[str, int]:
    total: dict[str, int] = {}
    for order_id in ids:
        for kind, number in ports.requests.erase_order(store_id, order_id).items():
            total[kind] = total.get(kind, 0) + number
    return total


def _deliveries(ports: Ports, store_id: str, ids: list[str], email: str) -> dict[str, int]:
    forgotten = 0
    for order_id in ids:
        for integration, event_key in ports.orders.order_events(store_id, order_id):
            forgotten += ports.deliveries.forget(store_id, integration, event_key)
    return {"delivery records": forgotten}


def _orders(ports: Ports, store_id: str, ids: list[str], email: str) -> dict[str, int]:
    total = {"quarantined deliveries": ports.orders.erase_quarantined(store_id, set(ids), email)}
    for order_id in ids:
        for kind, number in ports.orders.erase_order(store_id, order_id).items():
            total[kind] = total.get(kind, 0) + number
    return total


def _customer(ports: Ports, store_id: str, ids: list[str], email: str) -> dict[str, int]:
    return {"customer records": ports.customers.erase_profile(store_id, email)}


# In this order: what is found through an order (its flags through its answers, its delivery records
# through its events) before what finds it; the profile last.
STEPS: tuple[tuple[str, Step], ...] = (
    ("returns", _returns),
    ("flags", _flags),
    ("answers", _answers),
    ("requests", _requests),
    ("deliveries", _deliveries),
    ("orders", _orders),
    ("customer", _customer),
)


@dataclass(frozen=True)
class Erased:
    record: dict[str, Any]  # the erasure record as closed (no personal data)
    removed: dict[str, int]  # items removed by this call, per kind
    resumed: bool  # this call finished an erasure an earlier call had started

    def as_json(self, store_id: str) -> dict[str, Any]:
        return {
            "store_id": store_id,
            "erasure": self.record,
            "removed": self.removed,
            "resumed": self.resumed,
        }


def erase(ports: Ports, store: Store, email: str, by: str) -> Erased:
    """Erase the customer from the store: record first, then each capability, then close the record."""
    address = checked_email(email)
    found = order_ids(ports, store.id, address)
    record = ports.customers.begin_erasure(store.id, address, by, "era-" + secrets.token_hex(8), found)
    resumed = bool(record.get("steps_done"))  # an earlier call stopped half-way: this one finishes it
    ids = sorted(set(found) | set(record.get("order_ids") or []))  # and what that call had found
    removed: dict[str, int] = {}
    for name, step in STEPS:
        counts = step(ports, store.id, ids, address)
        ports.customers.erasure_step_done(store.id, address, name, counts)
        for kind, number in counts.items():
            removed[kind] = removed.get(kind, 0) + number
    closed = ports.customers.finish_erasure(store.id, address)
    logger.info(
        "Customer erased",
        extra={"store_id": store.id, "erasure_id": record.get("erasure_id"), "by": by, "removed": removed},
    )
    return Erased(closed, removed, resumed)
