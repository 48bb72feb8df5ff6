"""HMAC signatures over raw request bytes: the platforms' webhook schemes and Aftercare's own.

Aftercare's scheme (``X-Aftercare-Signature: t=<unix seconds>,v1=<hex>``) signs generic webhooks
coming in and refund calls going out to a store's endpoint. Checks are constant-time against every
active secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

GENERIC_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class Verification:
    valid: bool
    scheme: str
    reason: str
    secret_index: int | None = None

    def audit(self) -> dict[str, object]:
        return {
            "valid": self.valid,
            "scheme": self.scheme,
            "reason": self.reason,
            "secret_index": self.secret_index,
        }


def _digest(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def sign_base64(secret: str, raw_body: bytes) -> str:
    """Shopify's and WooCommerce's signature header value for a body."""
    return base64.b64encode(_digest(secret, raw_body)).decode("ascii")


def verify_base64_hmac(scheme: str, raw_body: bytes, header: str | None, secrets: list[str]) -> Verification:
    """Shopify and WooCommerce: header = base64(HMAC-SHA256(secret, raw body))."""
    if not header:
        return Verification(False, scheme, "signature header missing")
    presented = header.strip().encode("ascii", "replace")
    for index, secret in enumerate(secrets):
        expected = base64.b64encode(_digest(secret, raw_body))
        if hmac.compare_digest(expected, presented):
            return Verification(True, scheme, "signature matches", index)
    return Verification(False, scheme, "signature does not match")


def sign_generic(secret: str, raw_body: bytes, timestamp: int) -> str:
    """The ``X-Aftercare-Signature`` value for a body (used by the CLI and by stores' own code)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_generic(raw_body: bytes, header: str | None, secrets: list[str], now: datetime) -> Verification:
    """``X-Aftercare-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`` with a 5-minute tolerance."""
    scheme = "aftercare-v1"
    if not header:
        return Verification(False, scheme, "signature header missing")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        return Verification(False, scheme, "signature header malformed: expected t=<unix seconds>,v1=<hex>")
    if abs(now.timestamp() - timestamp) > GENERIC_TOLERANCE_SECONDS:
        return Verification(False, scheme, "signature timestamp outside the 5-minute tolerance")
    signed = f"{timestamp}.".encode() + raw_body
    for index, secret in enumerate(secrets):
        expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest().encode("ascii")
        for candidate in candidates:
            if hmac.compare_digest(expected, candidate.encode("ascii", "replace")):
                return Verification(True, scheme, "signature matches", index)
    return Verification(False, scheme, "signature does not match")
