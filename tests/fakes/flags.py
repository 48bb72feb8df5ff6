"""In-memory fakes of the flags capability's ports (``functions.flags.ports``), checked against its Protocols.

``FakeFlags`` keeps the same conditions as the DynamoDB adapter (one flag per answer, one alert claim,
one claim per form action on an open flag, reply de-duplication, escalation only while unanswered).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from functions.flags.models import AlertStatus, AlreadyDone, DuplicateReply, FlagResolved, FlagStatus, Listing
from functions.flags.ports import Clock, Customers, Flags, Orders, Ports, Responses, Returns, Stores
from functions.flags.sentiment import LocalAnalyzer
from functions.orders.store import StoredOrder
from functions.returns.service import Requested, Started
from functions.shared import clock as clocks
from functions.shared.email import Email
from functions.shared.errors import NotFound
from functions.shared.mailer import Mailer, TransientSendError
from functions.stores.models import Store
from tests.fakes.clock import FakeClock

Item = dict[str, Any]


class FakeFlags:
    def __init__(self, clock: FakeClock, shards: int = 4) -> None:
        self.clock = clock
        self.shards = shards
        self.items: dict[tuple[str, str], Item] = {}

    def _iso(self) -> str:
        return clocks.isoformat(self.clock.now())

    def _item(self, store_id: str, flag: str, what: str) -> Item:
        item = self.items.get((store_id, flag))
        if item is None:
            raise AlreadyDone(what)  # the adapter's conditions all require the flag to exist
        return item

    def create(self, flag: Item, *, keep: timedelta) -> bool:
        key = (str(flag["store_id"]), str(flag["flag_id"]))
        if key in self.items:
            return False
        shard = str(int(key[1][1:9], 16) % self.shards)
        extra = {
            "status": FlagStatus.OPEN.value,
            "open_store": key[0],
            "sla_shard": shard,
            "reply_digests": {},
            "expires_at": int((self.clock.now() + keep).timestamp()),
        }
        self.items[key] = {**copy.deepcopy(flag), **extra}
        return True

    def get(self, store_id: str, flag: str) -> Item | None:
        found = self.items.get((store_id, flag))
        return copy.deepcopy(found) if found is not None else None

    def claim_alert(self, store_id: str, flag: str) -> None:
        item = self._item(store_id, flag, "claiming an alert")
        if "alert_status" in item:
            raise AlreadyDone("claiming an alert")
        item["alert_status"] = AlertStatus.SENDING.value

    def release_alert(self, store_id: str, flag: str) -> None:
        item = self._item(store_id, flag, "releasing an alert")
        if item.get("alert_status") != AlertStatus.SENDING:
            raise AlreadyDone("releasing an alert")
        del item["alert_status"]

    def alert_sent(self, store_id: str, flag: str, recipients: list[str]) -> None:
        item = self._item(store_id, flag, "recording an alert")
        if item.get("alert_status") != AlertStatus.SENDING:
            raise AlreadyDone("recording an alert")
        item.update(alert_status=AlertStatus.SENT.value, alert_sent_at=self._iso(), alerted=list(recipients))

    def claim_action(
        self, store_id: str, flag: str, action_id: str, *, reply_digest: str | None = None, since: str = ""
    ) -> None:
        item = self._item(store_id, flag, "claiming an action")
        if item["status"] != FlagStatus.OPEN:
            raise FlagResolved("this flag is resolved")
        ids: set[str] = item.setdefault("action_ids", set())
        if action_id in ids:
            raise AlreadyDone("this form was already submitted")
        digests: dict[str, str] = item["reply_digests"]
        if reply_digest is not None and reply_digest in digests and digests[reply_digest] >= since:
            raise DuplicateReply("the same reply was sent a moment ago")
        ids.add(action_id)
        if reply_digest is not None:
            digests[reply_digest] = self._iso()
            item["replying"] = action_id
            item.pop("sla_shard", None)

    def release_action(
        self, store_id: str, flag: str, action_id: str, *, reply_digest: str | None = None
    ) -> None:
        item = self._item(store_id, flag, "releasing an action")
        item.get("action_ids", set()).discard(action_id)
        if reply_digest is not None:
            item["reply_digests"].pop(reply_digest, None)
            item.pop("replying", None)
            unanswered = not item.get("first_reply_at") and not item.get("escalated_at")
            if item["status"] == FlagStatus.OPEN and unanswered:
                item["sla_shard"] = str(int(flag[1:9], 16) % self.shards)

    def reopen(self, store_id: str, flag: str, actor: str) -> None:
        item = self._item(store_id, flag, "reopening a flag")
        if item["status"] != FlagStatus.RESOLVED:
            raise AlreadyDone("reopening a flag")
        item.update(status=FlagStatus.OPEN.value, open_store=store_id, updated_at=self._iso())
        item.setdefault("actions", []).append(
            {"at": self._iso(), "actor": actor, "action": "reopen", "text": ""}
        )
        item.pop("resolved_at", None)
        item.pop("resolved_by", None)

    def record_action(
        self,
        store_id: str,
        flag: str,
        action: Item,
        *,
        reply: bool,
        resolve: bool,
        created_at: datetime,
        keep: timedelta,
    ) -> None:
        item = self._item(store_id, flag, "recording an action")
        item.setdefault("actions", []).append(copy.deepcopy(action))
        item["updated_at"] = self._iso()
        item["expires_at"] = int((self.clock.now() + keep).timestamp())
        if reply:
            item.setdefault("first_reply_at", self._iso())
            item.setdefault("seconds_to_first_reply", int((self.clock.now() - created_at).total_seconds()))
            item.pop("replying", None)
            item.pop("sla_shard", None)
        if resolve:
            item.update(
                status=FlagStatus.RESOLVED.value, resolved_at=self._iso(), resolved_by=action.get("actor")
            )
            item.pop("open_store", None)
            item.pop("sla_shard", None)

    def mark_escalated(self, store_id: str, flag: str) -> None:
        item = self._item(store_id, flag, "escalating a flag")
        blocked = item.get("first_reply_at") or item.get("replying") or item["status"] != FlagStatus.OPEN
        if "sla_shard" not in item or blocked:
            raise AlreadyDone("escalating a flag")
        item["escalated_at"] = self._iso()
        del item["sla_shard"]

    def overdue(self, shard: int, now: datetime, limit: int = 100) -> list[Item]:
        due = clocks.isoformat(now)
        found = [
            copy.deepcopy(i)
            for i in self.items.values()
            if i.get("sla_shard") == str(shard) and str(i["sla_deadline"]) <= due
        ]
        return found[:limit]

    def list(self, store_id: str, status: str, now: datetime, limit: int = 100) -> list[Item]:
        mine = [i for (store, _), i in self.items.items() if store == store_id]
        if status == Listing.RESOLVED:
            found = [i for i in mine if i["status"] == FlagStatus.RESOLVED]
        else:
            found = [i for i in mine if i.get("open_store") == store_id]
            if status == Listing.OVERDUE:
                found = [i for i in found if str(i["sla_deadline"]) <= clocks.isoformat(now)]
        return [copy.deepcopy(i) for i in found[:limit]]


class FakeStores:
    def __init__(self, *stores: Store) -> None:
        self.stores = {store.id: store for store in stores}

    def get(self, store_id: str, *, cached: bool = False) -> Store:
        if store_id not in self.stores:
            raise NotFound(f"no store with id {store_id!r}")
        return self.stores[store_id]


class FakeResponses:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}  # (pk, sk) → answer

    def add(self, answer: Item) -> None:
        self.items[(str(answer["pk"]), str(answer["sk"]))] = copy.deepcopy(answer)

    def get(self, store_id: str, order_id: str, sk: str) -> Item | None:
        return copy.deepcopy(self.items.get((f"{store_id}#{order_id}", sk)))

    def for_order(self, store_id: str, order_id: str) -> list[Item]:
        return [copy.deepcopy(a) for (pk, _), a in self.items.items() if pk == f"{store_id}#{order_id}"]

    def by_time(
        self,
        store_id: str,
        start: datetime,
        end: datetime,
        limit: int,
        keep: Callable[[Item], bool] = lambda answer: True,
    ) -> list[Item]:
        low, high = clocks.isoformat(start), clocks.isoformat(end)
        found = [
            a
            for a in self.items.values()
            if a["store_id"] == store_id and low <= str(a["responded_at"]) <= high and keep(a)
        ]
        return sorted(found, key=lambda a: str(a["responded_at"]), reverse=True)[:limit]


class FakeCustomers:
    def __init__(self) -> None:
        self.profiles: dict[tuple[str, str], Item] = {}

    def get(self, store_id: str, key: str) -> Item | None:
        return copy.deepcopy(self.profiles.get((store_id, key)))


class FakeOrders:
    def __init__(self) -> None:
        self.orders: dict[tuple[str, str], StoredOrder] = {}

    def load(self, store_id: str, order_id: str) -> StoredOrder | None:
        return self.orders.get((store_id, order_id))

    def get_order(self, store_id: str, order_id: str) -> StoredOrder | None:
        found = self.orders.get((store_id, order_id))
        return found if found is not None and found.exists else None


class FakeReturns:
    def __init__(self) -> None:
        self.started: list[tuple[str, Requested, str]] = []
        self.requests: dict[tuple[str, str], Item] = {}

    def start(self, store: Store, requested: Requested, actor: str) -> Started:
        self.started.append((store.id, requested, actor))
        self.requests[(store.id, requested.return_id)] = {
            "return_id": requested.return_id,
            "status": "in progress",
        }
        return {"return_id": requested.return_id, "status": "in progress", "duplicate": False}

    def get(self, store_id: str, return_id: str) -> tuple[Item | None, list[Item]]:
        return self.requests.get((store_id, return_id)), []


class FakeMailer:
    """Keeps every email sent; addresses in ``refuse`` fail with ``error`` instead."""

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.refuse: set[str] = set()
        self.error: type[Exception] = TransientSendError

    def send(self, email: Email) -> str:
        if email.to in self.refuse:
            raise self.error(f"could not send to {email.to}")
        self.sent.append(email)
        return f"ses-{len(self.sent)}"

    def to(self, address: str) -> list[Email]:
        return [email for email in self.sent if email.to == address]


def fake_ports(*stores: Store, at: datetime | None = None) -> Ports:
    """Ports wired to fresh fakes (reach them through the returned ``Ports``' fields)."""
    clock = FakeClock(at)
    return Ports(
        flags=FakeFlags(clock),
        stores=FakeStores(*stores),
        customers=FakeCustomers(),
        responses=FakeResponses(),
        orders=FakeOrders(),
        returns=FakeReturns(),
        mailer=FakeMailer(),
        analyzer=LocalAnalyzer(),
        clock=clock,
        signing_key=lambda: b"k" * 32,
        base_url="https://care.example.com",
    )


_check_flags: Flags = FakeFlags(FakeClock())
_check_stores: Stores = FakeStores()
_check_responses: Responses = FakeResponses()
_check_customers: Customers = FakeCustomers()
_check_orders: Orders = FakeOrders()
_check_returns: Returns = FakeReturns()
_check_mailer: Mailer = FakeMailer()
_check_clock: Clock = FakeClock()
