"""Entry points of flagging: the Responses stream consumer and the SLA escalation schedule.

``app.py`` declares them as Lambda functions (so every one runs with the app's middleware) and calls these.
"""

from __future__ import annotations

from typing import Any

from functions.shared.observability import logger


def reset() -> None:
    """Forget the cached ports (tests and the local stack change tables between runs)."""
    from functions.flags import service

    service.reset_ports()


def flag_responses(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """DynamoDB stream of Responses → flags and staff alerts, reporting only failed records for retry."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from functions.flags import service
    from functions.shared.dynamo import from_item

    ports = service.shared_ports()

    def handle(record: DynamoDBRecord) -> str:
        if record.event_name is None or record.event_name.name == "REMOVE":
            return "removed"
        image = record.raw_event.get("dynamodb", {}).get("NewImage") or {}
        outcome = service.process_answer(from_item(image), ports)
        logger.info(
            "answer processed", extra={"outcome": outcome, "key": record.raw_event["dynamodb"].get("Keys")}
        )
        return outcome

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    result: Any = process_partial_response(
        event=event, record_handler=handle, processor=processor, context=context
    )
    return dict(result)


def escalate(event: Any) -> dict[str, int]:
    """Escalate flags past their SLA (a scheduled event)."""
    from functions.flags import service

    return {"escalated": service.escalate(service.shared_ports())}
