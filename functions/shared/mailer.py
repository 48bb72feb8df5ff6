"""The mail port and its SES adapters: send one raw MIME email, retry throttling, classify failures, and
read the account's sending quota.

A mailer may be given a ``Pacer`` (the sweep's shared send-rate limiter, ``functions.outreach.limiter``):
it waits for the pacer before every attempt, and tells it when SES throttled, so every worker slows down.
SES's own throttling (``TooManyRequestsException``, ``Throttling``: "Maximum sending rate exceeded")
becomes ``SendThrottled`` here; nothing above this module sees a botocore error."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, Protocol

from functions.shared import aws, clock
from functions.shared.errors import AftercareError
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


# SES asking us to slow down: over the account's MaxSendRate, or its API rate.
THROTTLING = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "LimitExceededException"}
)


class TransientSendError(Exception):
    """The mail service could not take the email now; another try later may succeed."""


class SendThrottled(TransientSendError):
    """SES refused the email for going over the sending rate; slow down and try again later."""


class PermanentSendError(Exception):
    """The mail service refused the email for a reason another try will not fix."""


class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Send and return the provider's message id; raise Transient/PermanentSendError."""
        ...


class Pacer(Protocol):
    """Decides when the next email may go (a send-rate limiter shared by every sender that uses it)."""

    def acquire(self) -> None:
        """Block until one more email may be sent now; raise a domain error when that cannot be known."""
        ...

    def throttled(self) -> None:
        """SES said we went over the rate: send more slowly for a while."""
        ...


class SesMailer:
    """Sends through SES v2 with the deployment's configuration set (bounce and complaint events)."""

    def __init__(
        self,
        configuration_set: str,
        retries: int,
        base_delay_ms: int,
        client: Any | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.configuration_set = configuration_set
        self.retries = retries
        self.base_delay_ms = base_delay_ms
        self._client = client
        self.pacer = pacer

    def paced(self, pacer: Pacer) -> SesMailer:
        """The same mailer, waiting for ``pacer`` before every attempt."""
        return SesMailer(self.configuration_set, self.retries, self.base_delay_ms, self._client, pacer)

    def _wait_for_pacer(self) -> None:
        if self.pacer is None:
            return
        try:
            self.pacer.acquire()
        except AftercareError as error:  # nothing was sent: the caller puts the email back for later
            raise TransientSendError(f"send rate unknown: {error.message}") from error

    @property
    def client(self) -> Any:
        return self._client or aws.sesv2()

    def send(self, email: Email) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        data = email.mime()
        attempt = 0
        while True:
            throttled = False
            self._wait_for_pacer()
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
                throttled = code in THROTTLING
                if throttled and self.pacer is not None:
                    self.pacer.throttled()
                metrics.add_metric(name="EmailThrottled", unit="Count", value=1)
                reason = f"SES: {code or status}"
            except BotoCoreError as error:  # connection problems, timeouts
                reason = f"SES unreachable: {type(error).__name__}"
            if attempt >= self.retries:
                raise SendThrottled(reason) if throttled else TransientSendError(reason)
            time.sleep(self.base_delay_ms / 1000 * 2**attempt * random.uniform(0.5, 1.0))  # jitter
            attempt += 1


class SesQuota:
    """The SES account's ``MaxSendRate`` (emails per second), read with ``GetSendQuota`` and kept for
    ``ttl_seconds`` (a quota raise reaches running workers within that); ``fixed`` answers without asking
    SES (the local stack, whose simulated SES says 1 per second)."""

    def __init__(
        self, fixed: float | None = None, ttl_seconds: float = 60, client: Any | None = None
    ) -> None:
        self.fixed = fixed
        self.ttl_seconds = ttl_seconds
        self._client = client
        self._read: tuple[float, float] | None = None  # (rate, wall seconds when read)
        self.reads = 0

    def max_send_rate(self) -> float:
        if self.fixed is not None:
            return self.fixed
        now = clock.wall_now().timestamp()
        if self._read is not None and now - self._read[1] < self.ttl_seconds:
            return self._read[0]
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = (self._client or aws.ses()).get_send_quota()
        except ClientError as error:
            raise aws.domain_error(error, "reading the SES sending quota") from error
        except BotoCoreError as error:
            raise aws.domain_error(error, "reading the SES sending quota") from error
        self.reads += 1
        rate = float(response["MaxSendRate"])
        self._read = (rate, now)
        return rate
