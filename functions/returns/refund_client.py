"""The store's refund endpoint: one signed HTTPS POST per attempt, its answer sorted into what it means.

The body is signed like a generic webhook (``X-Aftercare-Signature``, ``functions.shared.signatures``)
with the store's generic secret, so the store can check the call came from Aftercare; the
``Idempotency-Key`` header lets it recognise a retry of the same refund.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from functions.shared import clock

if TYPE_CHECKING:
    import requests


class Reply(StrEnum):
    ISSUED = "issued"  # 2xx: the store took the refund
    BUSY = "busy"  # 5xx, 408, 429: worth retrying with the same key
    REDIRECTED = "redirected"  # 3xx: not followed
    REFUSED = "refused"  # 4xx
    TIMED_OUT = "timed out"  # no answer in time
    UNREACHABLE = "unreachable"  # no connection


@dataclass(frozen=True)
class RefundAnswer:
    reply: Reply
    status: int = 0  # the HTTP status, when there was one
    reference: str = ""  # the store's refund reference, when it gave one
    error: str = ""  # the transport error's name, when there was no answer


class RefundClient(Protocol):
    def unsafe(self, endpoint: str) -> str | None:
        """Why Aftercare must not call ``endpoint`` (a private address, a bad URL); None when it may."""
        ...

    def post(self, endpoint: str, body: bytes, key: str, secret: str) -> RefundAnswer: ...


def classify(status: int) -> Reply:
    if status >= 500 or status in (408, 429):
        return Reply.BUSY
    if status >= 400:
        return Reply.REFUSED
    if status >= 300:
        return Reply.REDIRECTED
    return Reply.ISSUED


class HttpRefundClient:
    """Calls the endpoint with ``requests``; the signature's timestamp is the real time."""

    def __init__(
        self,
        timeout_seconds: float,
        allow_loopback: bool,
        wall_now: Callable[[], datetime] = clock.wall_now,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.allow_loopback = allow_loopback
        self.wall_now = wall_now  # not the simulated clock: the store checks the timestamp with its own

    def unsafe(self, endpoint: str) -> str | None:
        from functions.shared.endpoints import UnsafeEndpoint, resolve_and_check

        try:
            resolve_and_check(endpoint, allow_loopback=self.allow_loopback)
        except UnsafeEndpoint as unsafe:
            return str(unsafe)
        return None

    def post(self, endpoint: str, body: bytes, key: str, secret: str) -> RefundAnswer:
        import requests

        from functions.shared.signatures import sign_generic

        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "User-Agent": "Aftercare",
            "X-Aftercare-Signature": sign_generic(secret, body, clock.epoch_seconds(self.wall_now())),
        }
        try:
            response = requests.post(
                endpoint, data=body, headers=headers, timeout=self.timeout_seconds, allow_redirects=False
            )
        except requests.RequestException as error:
            reply = Reply.TIMED_OUT if isinstance(error, requests.Timeout) else Reply.UNREACHABLE
            return RefundAnswer(reply, error=type(error).__name__)
        reply = classify(response.status_code)
        return RefundAnswer(
            reply, response.status_code, _reference(response) if reply is Reply.ISSUED else ""
        )


def _reference(response: requests.Response) -> str:
    """The store's reference for the refund, if it answered with a JSON object naming one."""
    try:
        return str(response.json().get("reference", ""))[:200]
    except (ValueError, AttributeError):
        return ""
