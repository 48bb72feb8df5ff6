"""The idempotency adapter: Powertools idempotency over the idempotency table, built on first use.

A delivery is identified by ``[store_id, integration, event_key]`` and remembered for three days
(Shopify retries for up to 48 hours). A repeat gets the first outcome back marked ``duplicate``; one
arriving while the first is still being applied raises ``InProgress``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from functions.webhooks.errors import InProgress
from functions.webhooks.ports import Outcome

IDEMPOTENCY_SECONDS = 3 * 24 * 3600  # Shopify retries for up to 48 hours
EVENT_IDENTITY = "[store_id, integration, event_key]"


def _mark_replayed(response: Any, idempotent_data: Any) -> Any:
    if isinstance(response, dict):
        return {**response, "duplicate": True, "status": "duplicate"}
    return response


def _work(*, event: dict[str, Any], work: Callable[[dict[str, Any]], Outcome]) -> Outcome:
    return work(event)


class PowertoolsOnce:
    def __init__(self, table: str) -> None:
        self.table = table
        self._lock = threading.Lock()
        self._built: tuple[Any, Callable[..., Outcome]] | None = None

    def _build(self) -> tuple[Any, Callable[..., Outcome]]:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        from functions.shared import aws

        persistence = DynamoDBPersistenceLayer(table_name=self.table, boto3_client=aws.dynamodb())
        config = IdempotencyConfig(
            event_key_jmespath=EVENT_IDENTITY,
            expires_after_seconds=IDEMPOTENCY_SECONDS,
            response_hook=_mark_replayed,
        )
        decorate = idempotent_function(
            data_keyword_argument="event", persistence_store=persistence, config=config, key_prefix="webhook"
        )
        return config, decorate(_work)

    def _once(self) -> tuple[Any, Callable[..., Outcome]]:
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    def run(
        self, event: dict[str, Any], work: Callable[[dict[str, Any]], Outcome], lambda_context: Any = None
    ) -> Outcome:
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

        config, apply = self._once()
        if lambda_context is not None:
            config.register_lambda_context(lambda_context)  # lets an abandoned attempt expire in time
        try:
            return apply(event=event, work=work)
        except IdempotencyAlreadyInProgressError:
            raise InProgress("this event is being processed right now") from None

    def forget(self, store_id: str, integration: str, event_key: str) -> bool:
        """Delete the record of one delivery (its outcome may name the order); whether there was one.

        The record's id is Powertools' own: ``webhook#`` and the MD5 of the event identity's JSON
        (``[store_id, integration, event_key]``, keys sorted), as ``_get_hashed_idempotency_key`` makes it.
        """
        import hashlib
        import json

        from functions.shared import aws

        identity = json.dumps([store_id, integration, event_key], sort_keys=True)
        record = f"webhook#{hashlib.md5(identity.encode(), usedforsecurity=False).hexdigest()}"
        from botocore.exceptions import ClientError

        try:
            response = aws.dynamodb().delete_item(
                TableName=self.table, Key={"id": {"S": record}}, ReturnValues="ALL_OLD"
            )
        except ClientError as error:
            raise aws.domain_error(error, "erasing a delivery record") from error
        return bool(response.get("Attributes"))
