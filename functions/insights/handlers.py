"""Entry point of counting: the consumer of the Responses, Outreach, Flags and Returns streams.

``app.py`` declares it as a Lambda function (so it runs with the app's middleware) and calls this; it takes
its ports from the composition root. Failed records are reported one by one (ReportBatchItemFailures), and
each record is counted at most once however often Lambda delivers it (see ``functions.insights.store``).
"""

from __future__ import annotations

from typing import Any

from functions.shared.observability import logger


def table_of(event_source_arn: str) -> str:
    """The table name in a stream ARN (``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<time>``)."""
    _, _, rest = event_source_arn.partition(":table/")
    return rest.split("/", 1)[0]


def count_insights(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """DynamoDB streams of the source tables → the stores' weekly counters, exactly once per record."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from functions.composition import insights_ports
    from functions.insights.service import Counted, count_change
    from functions.shared.dynamo import from_item

    ports = insights_ports()

    def handle(record: DynamoDBRecord) -> str:
        raw = record.raw_event
        source = ports.sources.get(table_of(str(raw.get("eventSourceARN") or "")))
        if source is None or record.event_name is None or record.event_name.name == "REMOVE":
            return Counted.NOTHING_TO_COUNT.value  # deletions (TTL, erasure) leave history as it was
        images = raw.get("dynamodb") or {}
        old, new = images.get("OldImage"), images.get("NewImage")
        outcome = count_change(
            source,
            str(raw["eventID"]),
            from_item(old) if old else None,
            from_item(new) if new else None,
            ports,
        )
        logger.debug("record counted", extra={"outcome": outcome.value, "source": source.value})
        return outcome.value

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    result: Any = process_partial_response(
        event=event, record_handler=handle, processor=processor, context=context
    )
    return dict(result)
