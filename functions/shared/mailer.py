"""The mail port and its SES v2 adapter: send one raw MIME email, retry throttling, classify failures."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, Protocol

from functions.shared import aws
from functions.shared.observability import metrics

if TYPE_CHECKING:
    from functions.shared.email import Email

# Worth another try later: SES is busy, over its rate, or briefly unavailable.
TRANSIENT = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "LimitExceededException",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "SendingPausedException",
    }
)


class TransientSendError(Exception):
    """The mail service could not take the email now; another try later may succeed."""


class PermanentSendError(Exception):
    """The mail service refused the email for a reason another try will not fix."""


class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Send and return the provider's message id; raise Transient/PermanentSendError."""
        ...


class SesMailer:
    """Sends through SES v2 with the deployment's configuration set (bounce and complaint events)."""

    def __init__(
        self, configuration_set: str, retries: int, base_delay_ms: int, client: Any | None = None
    ) -> None:
        self.configuration_set = configuration_set
        self.retries = retries
        self.base_delay_ms = base_delay_ms
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.sesv2()

    def send(self, email: Email) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        data = email.mime()
        attempt = 0
        while True:
            try:
                response = self.client.send_email(
                    FromEmailAddress=email.sender,
                    Destination={"ToAddresses": [email.to]},
                    Content={"Raw": {"Data": data}},
                    ConfigurationSetName=self.configuration_set,
                    EmailTags=[
                        {"Name": "store", "Value": email.store_id},
                        {"Name": "kind", "Value": email.kind},
                    ],
                )
                return str(response["MessageId"])
            except ClientError as error:
                code = aws.error_code(error)
                status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
                if code not in TRANSIENT and status < 500:
                    raise PermanentSendError(f"SES rejected the email: {code}") from error
                metrics.add_metric(name="EmailThrottled", unit="Count", value=1)
                reason = f"SES: {code or status}"
            except BotoCoreError as error:  # connection problems, timeouts
                reason = f"SES unreachable: {type(error).__name__}"
            if attempt >= self.retries:
                raise TransientSendError(reason)
            time.sleep(self.base_delay_ms / 1000 * 2**attempt * random.uniform(0.5, 1.0))  # jitter
            attempt += 1
