"""A stand-in for a store's refund endpoint, served by the local stack at ``/_dev/refunds/<store id>``.

It behaves as a careful store would: it checks ``X-Aftercare-Signature`` with the store's generic
webhook secret, refunds once per ``Idempotency-Key`` (a repeated key gets the first answer back) and
answers a reference. The dev console lists what it refunded, so the whole story (negative answer,
staff offer, refund) can be followed on one laptop. Never part of the deployed package.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from functions.shared import clock, signatures


@dataclass
class Refund:
    reference: str
    store_id: str
    idempotency_key: str
    return_id: str
    order_id: str
    outcome: str
    amount: str
    currency: str
    items: list[dict[str, Any]]
    at: str
    calls: int = 1

    def view(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RefundDesk:
    refunds: dict[tuple[str, str], Refund] = field(default_factory=dict)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(
        self, store_id: str, headers: dict[str, str], body: bytes, secrets: list[str]
    ) -> tuple[int, dict[str, Any]]:
        """Answer one refund call: (HTTP status, JSON body)."""
        check = signatures.verify_generic(
            body, headers.get("x-aftercare-signature"), secrets, clock.wall_now()
        )
        if not check.valid:
            with self.lock:
                self.refused += 1
            return 401, {"error": "invalid_signature", "message": check.reason}
        key = headers.get("idempotency-key", "")
        try:
            call = json.loads(body)
        except ValueError:
            return 400, {"error": "invalid_json", "message": "The body is not JSON."}
        if not key or not isinstance(call, dict) or call.get("idempotency_key") != key:
            return 422, {
                "error": "validation_failed",
                "message": "Idempotency-Key missing or not the body's.",
            }
        with self.lock:
            existing = self.refunds.get((store_id, key))
            if existing is not None:
                existing.calls += 1
                return 200, {"reference": existing.reference, "replayed": True}
            refund = Refund(
                reference=f"DEV-RF-{len(self.refunds) + 1:04d}",
                store_id=store_id,
                idempotency_key=key,
                return_id=str(call.get("return_id", "")),
                order_id=str(call.get("order_id", "")),
                outcome=str(call.get("outcome", "")),
                amount=str(call.get("amount", "")),
                currency=str(call.get("currency", "")),
                items=list(call.get("items") or []),
                at=clock.isoformat(clock.now()),
            )
            self.refunds[(store_id, key)] = refund
        return 200, {"reference": refund.reference, "replayed": False}

    def listing(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                refund.view() for refund in sorted(self.refunds.values(), key=lambda r: r.at, reverse=True)
            ]
