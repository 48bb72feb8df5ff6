"""SES v2 adapter: send one raw MIME email, retrying throttling with backoff, classifying failures."""

from __future__ import annotations

import random
import time

from functions.outreach.compose import Email
from functions.shared import aws
from functions.shared.observability import metrics

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
    """SES could not take the email now; the item goes back to the queue."""


class PermanentSendError(Exception):
    """SES refused the email for a reason another try will not fix."""


def send(email: Email, configuration_set: str, kind: str, retries: int, base_delay_ms: int) -> str:
    """Send and return SES's message id."""
    from botocore.exceptions import BotoCoreError, ClientError

    data = email.mime()
    attempt = 0
    while True:
        try:
            response = aws.sesv2().send_email(
                FromEmailAddress=email.sender,
                Destination={"ToAddresses": [email.to]},
                Content={"Raw": {"Data": data}},
                ConfigurationSetName=configuration_set,
                EmailTags=[{"Name": "store", "Value": email.store_id}, {"Name": "kind", "Value": kind}],
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
        if attempt >= retries:
            raise TransientSendError(reason)
        time.sleep(base_delay_ms / 1000 * 2**attempt * random.uniform(0.5, 1.0))  # jitter
        attempt += 1
