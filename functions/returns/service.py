"""Returns and refunds: where an offer from staff (or, later, a customer or the store) is recorded.

Every request is one item in the Returns table with its audit steps beside it. The Step Functions
workflow that carries a request through approval, the return and the refund call builds on these items.
"""

from __future__ import annotations

import hashlib
from typing import Any

from functions.shared import aws, clock
from functions.shared.dynamo import to_item
from functions.shared.errors import DependencyFailed
from functions.stores.models import Store

REQUESTED = "requested"


def _table() -> str:
    from functions.shared.settings import get_settings

    return get_settings().returns_table


def request_from_staff(
    store: Store, flag: dict[str, Any], kind: str, actor: str, note: str
) -> dict[str, Any]:
    """Record that staff offered a refund, return or replacement for a flagged answer (idempotent)."""
    from botocore.exceptions import ClientError

    return_id = "ret-" + hashlib.sha256(f"{flag['flag_id']}/{kind}".encode()).hexdigest()[:16]
    pk = f"{store.id}#{return_id}"
    now = clock.isoformat(clock.now())
    product = flag.get("product") or {}
    request = {
        "pk": pk,
        "sk": "RETURN",
        "store_id": store.id,
        "return_id": return_id,
        "status": REQUESTED,
        "outcome": kind,
        "source": "staff",
        "requested_by": actor,
        "requested_at": now,
        "order_id": flag["order_id"],
        "order_key": f"{store.id}#{flag['order_id']}",
        "items": [{"product_id": product.get("id"), "name": product.get("name"), "quantity": 1}]
        if product
        else [],
        "customer": flag.get("customer"),
        "flag_id": flag["flag_id"],
        "note": note,
    }
    step = {
        "pk": pk,
        "sk": f"STEP#{now}#0001",
        "at": now,
        "actor": actor,
        "step": "requested",
        "outcome": f"staff offered a {kind} from a flagged answer",
        "note": note,
    }
    client = aws.dynamodb()
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": _table(),
                        "Item": to_item(request),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": _table(), "Item": to_item(step)}},
            ]
        )
    except ClientError as error:
        if aws.error_code(error) != "TransactionCanceledException":
            raise DependencyFailed(
                f"DynamoDB failed while recording a return: {aws.error_code(error)}"
            ) from error
        return {"return_id": return_id, "status": "already requested"}
    return {"return_id": return_id, "status": REQUESTED}
