"""Entry points of flagging: the Responses stream consumer and the SLA escalation schedule.

``app.py`` declares them as Lambda functions (so every one runs with the app's middleware) and calls these;
they take their ports from the composition root.
"""

from __future__ import annotations

from typing import Any

from functions.shared.observability import logger


def flag_responses(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """DynamoDB stream of Responses → flags and staff alerts, reporting only failed records for retry."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from functions.composition import flag_ports
    from functions.flags.flagging import process_answer
    from functions.shared.dynamo import from_item

    ports = flag_ports()

    def handle(record: DynamoDBRecord) -> str:
        if record.event_name is None or record.event_name.name == "REMOVE":
            return "removed"
        image = record.raw_event.get("dynamodb", {}).get("NewImage") or {}
        outcome = process_answer(from_item(image), ports)
        logger.info(
            "answer processed",
            extra={"outcome": outcome.value, "key": record.raw_event["dynamodb"].get("Keys")},
        )
        return outcome.value

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    result: Any = process_partial_response(
        event=event, record_handler=handle, processor=processor, context=context
    )
    return dict(result)


def escalate(event: Any) -> dict[str, int]:
    """Escalate flags past their SLA (a scheduled event)."""
    from functions.composition import flag_ports
    from functions.flags import escalation

    return {"escalated": escalation.escalate(flag_ports())}
