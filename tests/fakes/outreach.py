"""In-memory fakes of the sweep's ports (``functions.outreach.ports``), checked against its Protocols.

``FakeQueue`` keeps the conditions of the DynamoDB adapter: a claim needs the item pending with the
``due_key`` the sweep read, transitions need the sweep's claim, and every read hands out a copy (so the
sweep's view and the stored item can differ, as they do against DynamoDB).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from functions.customers.store import customer_key, normalise_email
from functions.orders.store import StoredOrder
from functions.outreach.models import LEASE, Due, OutreachStatus
from functions.outreach.ports import Customers, Now, Orders, Ports, Queue, Stores, SweepSettings
from functions.outreach.store import LostRace, due_key
from functions.shared import clock as clocks
from functions.shared.email import Email
from functions.shared.mailer import Mailer, PermanentSendError, TransientSendError
from functions.stores.models import Store, StoreConfig
from tests.fakes.clock import FakeClock

Item = dict[str, Any]
STORE_ID = "acme-goods"


class FakeQueue:
    """The Outreach table: items by (pk, sk); one shard."""

    shards = 1

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.items: dict[tuple[str, str], Item] = {}

    # ------------------------------------------------------------------ test set-up and inspection
    def plan(
        self, order_id: str, outreach_id: str, due_at: datetime, email: str = "ann@example.com", **extra: Any
    ) -> Item:
        """A pending review request (or what ``extra`` makes of it), as planning would store it."""
        item: Item = {
            "pk": f"{STORE_ID}#{order_id}",
            "sk": outreach_id,
            "store_id": STORE_ID,
            "order_id": order_id,
            "outreach_id": outreach_id,
            "kind": "review",
            "status": OutreachStatus.PENDING.value,
            "customer": {"email": email, "name": "Ann Lee", "locale": "en"},
            "products": [{"product_id": "p1", "line_item_id": "l1", "name": "Mug", "product_type": "mug"}],
            "attempts": 0,
            "due_at": clocks.isoformat(due_at),
            "first_due_at": clocks.isoformat(due_at),
            "history": [],
            **extra,
        }
        item["due_key"] = due_key(due_at, STORE_ID, order_id, outreach_id)
        self.items[(item["pk"], item["sk"])] = item
        return item

    def status(self, order_id: str, outreach_id: str) -> str:
        return str(self.items[(f"{STORE_ID}#{order_id}", outreach_id)]["status"])

    def stored(self, order_id: str, outreach_id: str) -> Item:
        return self.items[(f"{STORE_ID}#{order_id}", outreach_id)]

    # ------------------------------------------------------------------ the Queue protocol
    def due(self, shard: int, now: datetime, limit: int) -> list[Due]:
        limit_key = clocks.isoformat(now) + "#\uffff"
        waiting = sorted(
            (item for item in self.items.values() if "due_key" in item and item["due_key"] <= limit_key),
            key=lambda item: str(item["due_key"]),
        )
        return [Due(copy.deepcopy(item)) for item in waiting[:limit]]

    def get(self, pk: str, sk: str) -> Item | None:
        found = self.items.get((pk, sk))
        return copy.deepcopy(found) if found is not None else None

    def _claimed(self, due: Due, claim: str) -> Item:
        item = self.items[(due.pk, due.sk)]
        if item.get("claim") != claim:
            raise LostRace("not our claim")
        return item

    def _note(self, item: Item, status: str, note: str) -> None:
        item["status"] = status
        item["history"].append({"at": clocks.isoformat(self.clock.now()), "status": status, "note": note})

    def claim(self, due: Due, claim: str) -> None:
        item = self.items[(due.pk, due.sk)]
        if item["status"] != OutreachStatus.PENDING or item.get("due_key") != due.item["due_key"]:
            raise LostRace("claiming outreach")
        lease = due_key(self.clock.now() + LEASE, due.store_id, due.order_id, due.sk)
        item.update(status=OutreachStatus.SENDING.value, claim=claim, due_key=lease)
        due.item.update(status=OutreachStatus.SENDING.value, claim=claim, due_key=lease)

    def release(self, due: Due, claim: str, until: datetime, note: str, attempts: int | None = None) -> None:
        item = self._claimed(due, claim)
        self._note(item, OutreachStatus.PENDING.value, note)
        item.update(
            due_at=clocks.isoformat(until), due_key=due_key(until, due.store_id, due.order_id, due.sk)
        )
        if attempts is not None:
            item.update(attempts=attempts, last_error=note[:500])
        item.pop("claim")
        due.item.update(status=OutreachStatus.PENDING.value)

    def finish(
        self, due: Due, claim: str, status: OutreachStatus, note: str, attempts: int | None = None
    ) -> None:
        item = self._claimed(due, claim)
        self._note(item, status.value, note)
        item["reason"] = note[:500]
        if attempts is not None:
            item["attempts"] = attempts
        for name in ("due_key", "claim"):
            item.pop(name, None)
        due.item["status"] = status.value

    def interrupted(self, due: Due) -> None:
        item = self.items[(due.pk, due.sk)]
        if item["status"] != OutreachStatus.SENDING or item.get("due_key") != due.item["due_key"]:
            raise LostRace("marking an interrupted send")
        self._note(item, OutreachStatus.FAILED.value, "interrupted")
        for name in ("due_key", "claim"):
            item.pop(name, None)

    def sent(
        self, due: Due, claim: str, message_id: str, remind_at: datetime | None, header_id: str, subject: str
    ) -> None:
        if remind_at is not None:
            reminder = f"{due.sk}-reminder"
            if (due.pk, reminder) not in self.items:
                self.plan(due.order_id, reminder, remind_at, due.email, reminder_of=due.sk)
        item = self._claimed(due, claim)
        self._note(item, OutreachStatus.SENT.value, f"sent as {message_id}")
        item.update(message_id=message_id, email_message_id=header_id, subject=subject)
        for name in ("due_key", "claim"):
            item.pop(name, None)
        due.item["status"] = OutreachStatus.SENT.value


def store(**outreach: Any) -> Store:
    """A store with the given ``outreach`` settings (frequency cap, lateness …) over sensible defaults."""
    config = StoreConfig.model_validate(
        {
            "id": STORE_ID,
            "name": "Acme Goods",
            "sender": {"email": "hello@acme-goods.example.com", "name": "Acme Goods"},
            "postal_address": "Acme Goods, 1 Main Street, Springfield 12345",
            "staff": {"alert_emails": ["care@acme-goods.example.com"]},
            "integrations": {"generic": {}},
            "outreach": {"product_types": {"mug": {"review_delay": "P1D"}}, **outreach},
        }
    )
    return Store(config=config, created_at="2026-01-01T00:00:00Z", admin_key_hash="-")


class FakeStores:
    def __init__(self, *stores: Store) -> None:
        self.stores = {found.id: found for found in stores}

    def get(self, store_id: str, *, cached: bool = False) -> Store:
        return self.stores[store_id]


class FakeOrders:
    """Orders the sweep checks before sending; an order not given here is known only through its plan."""

    def __init__(self) -> None:
        self.orders: dict[tuple[str, str], StoredOrder] = {}

    def get_order(self, store_id: str, order_id: str) -> StoredOrder | None:
        return self.orders.get((store_id, order_id))


class FakeCustomers:
    """Customer profiles with the adapter's frequency-cap and suppression conditions."""

    def __init__(self) -> None:
        self.profiles: dict[tuple[str, str], Item] = {}

    def suppress(self, store_id: str, email: str, reason: str) -> None:
        profile = self.profiles.setdefault((store_id, customer_key(email)), {"email": normalise_email(email)})
        profile["suppressed"] = {"reason": reason}

    def get(self, store_id: str, key: str) -> Item | None:
        found = self.profiles.get((store_id, key))
        return copy.deepcopy(found) if found is not None else None

    def reserve_contact(self, store_id: str, email: str, at: datetime, not_before: datetime) -> bool:
        profile = self.profiles.setdefault((store_id, customer_key(email)), {"email": normalise_email(email)})
        last = profile.get("last_contacted_at")
        if profile.get("suppressed") or (last is not None and last > clocks.isoformat(not_before)):
            return False
        profile.update(previous_contacted_at=last or "", last_contacted_at=clocks.isoformat(at))
        profile["emails_sent"] = profile.get("emails_sent", 0) + 1
        return True

    def release_contact(self, store_id: str, email: str, at: datetime) -> None:
        profile = self.profiles.get((store_id, customer_key(email))) or {}
        if profile.get("last_contacted_at") == clocks.isoformat(at):
            profile["last_contacted_at"] = profile.get("previous_contacted_at")
            profile["emails_sent"] -= 1


class FakeMailer:
    """Collects sent emails; ``fail_with`` makes the next sends raise (transient or permanent)."""

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.fail_with: TransientSendError | PermanentSendError | None = None

    def send(self, email: Email) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(email)
        return f"ses-{len(self.sent)}"

    def to(self, address: str) -> list[Email]:
        return [email for email in self.sent if email.to == address]


class World:
    """Every fake, wired into the sweep's ``Ports``."""

    def __init__(self, **outreach: Any) -> None:
        self.clock = FakeClock()
        self.queue = FakeQueue(self.clock)
        self.stores = FakeStores(store(**outreach))
        self.orders = FakeOrders()
        self.customers = FakeCustomers()
        self.mailer = FakeMailer()

    def ports(self) -> Ports:
        return Ports(
            queue=self.queue,
            stores=self.stores,
            orders=self.orders,
            customers=self.customers,
            mailer=self.mailer,
            signing_key=b"k" * 32,
            clock=self.clock,
            settings=SweepSettings(base_url="https://aftercare.example.com", max_attempts=3),
        )


_queue: Queue = FakeQueue(FakeClock())
_stores: Stores = FakeStores()
_orders: Orders = FakeOrders()
_customers: Customers = FakeCustomers()
_mailer: Mailer = FakeMailer()
_clock: Now = FakeClock()
