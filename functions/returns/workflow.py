"""Step Functions adapter: start the returns state machine, resume or time out a waiting task."""

from __future__ import annotations

import json
from typing import Any

from functions.shared import aws
from functions.shared.observability import logger


class StepFunctionsWorkflow:
    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.stepfunctions()

    def start(self, name: str, payload: dict[str, Any]) -> str:
        """Start the execution ``name``; one that exists already is the same execution (its ARN)."""
        from botocore.exceptions import ClientError

        try:
            execution = self.client.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload)
            )
        except ClientError as error:
            if aws.error_code(error) != "ExecutionAlreadyExists":
                raise aws.domain_error(error, "starting the return workflow") from error
            return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        return str(execution["executionArn"])

    def start_retry(self, name: str, payload: dict[str, Any]) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload)
            )
        except ClientError as error:
            raise aws.domain_error(error, "starting the refund retry") from error

    def resume(self, token: str, output: dict[str, Any]) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.send_task_success(taskToken=token, output=json.dumps(output))
        except ClientError as error:
            raise aws.domain_error(error, "resuming the return workflow") from error

    def time_out(self, token: str, error: str, cause: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.send_task_failure(taskToken=token, error=error, cause=cause)
        except ClientError as failure:
            logger.warning("could not time out a return task", extra={"error": aws.error_code(failure)})
            return False
        return True

    def stop(self, name: str, cause: str) -> bool:
        """Stop the execution ``name`` if it still runs (the customer's data is being erased); whether one
        was running. An execution that never existed or has ended is left as it is."""
        from botocore.exceptions import ClientError

        arn = f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        try:
            status = self.client.describe_execution(executionArn=arn)["status"]
            if status != "RUNNING":
                return False
            self.client.stop_execution(executionArn=arn, error="CustomerDataErased", cause=cause)
        except ClientError as error:
            if aws.error_code(error) == "ExecutionDoesNotExist":
                return False
            raise aws.domain_error(error, "stopping a return workflow") from error
        return True
