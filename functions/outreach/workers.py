"""The sweep's workers on AWS: one asynchronous invocation of the worker Lambda per shard of the due index.

``InvocationType=Event``: Lambda queues the event and answers at once, so the coordinator starts every
worker in well under a second and ends. A worker that fails is retried by Lambda, then its event goes to
the on-failure destination (``infra/aftercare.yaml``); nothing is lost either way, because the due index is
the queue: the next run hands the same shard out again. Decision 57 says why this rather than SQS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from functions.outreach.sweep import Report
from functions.shared import aws
from functions.shared.errors import AftercareError
from functions.shared.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


class LambdaWorkers:
    def __init__(self, function_name: str, client: LambdaClient | None = None) -> None:
        self.function_name = function_name
        self._client = client

    @property
    def client(self) -> LambdaClient:
        return self._client or aws.lambda_()

    def _invoke(self, shard: int, run: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="Event",
                Payload=json.dumps({"shard": shard, "run": run}).encode(),
            )
        except (ClientError, BotoCoreError) as error:
            raise aws.domain_error(error, f"starting the sweep worker of shard {shard}") from error

    def start(self, shards: Sequence[int], remaining_ms: Callable[[], int] | None) -> Report:
        """Start one worker per shard; a shard whose worker could not be started waits for the next run
        (and is counted), the others start all the same. Raises only when none started."""
        run = uuid.uuid4().hex
        report = Report()
        problems: list[AftercareError] = []
        for shard in shards:
            try:
                self._invoke(shard, run)
                report.workers += 1
            except AftercareError as error:
                problems.append(error)
                logger.warning("sweep worker not started", extra={"shard": shard, "error": error.message})
        if problems:
            metrics.add_metric(name="SweepWorkerNotStarted", unit="Count", value=len(problems))
            if not report.workers:
                raise problems[0]  # nothing started: the run fails, so its alarm and retry see it
        return report
