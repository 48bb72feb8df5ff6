"""Signed, expiring, scoped tokens for the links Aftercare puts in emails.

A token is ``<payload>.<signature>``. The payload is compact JSON naming the purpose (what the link may
do), the store, an expiry and a random token id, plus the purpose's own claims. The signature is
HMAC-SHA256 under a key derived per store from the deployment's signing key, so a token minted for one
store can never verify for another, even if the store id in the payload were swapped. Comparison is
constant-time.

Both parts are written in base32 (RFC 4648: capital letters and the digits 2-7, no padding) and the
signature keeps the first 160 bits of the HMAC. Capitals only, because a link is text in the email
too: random lower-case letters in long links skew the letter statistics mail filters keep
(SpamAssassin's MIXED_ES counts the Latin "e" of a message against e-like letters such as the Cyrillic
one, so a Kazakh email with a few base64 links scored as spam). Tokens signed before this change
(base64url, the whole 256-bit signature in 43 characters) still verify until they expire, so links in
emails already sent keep working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from functions.shared import clock


class TokenError(Exception):
    """Base for token failures: the link cannot be used (``links.problem`` says what its holder is told).

    ``store_id`` names the store whose key signed the token when the signature held (an expired token, one
    for another purpose), so its page can speak the store's language; None when nothing proves the store.
    """

    def __init__(self, message: str, store_id: str | None = None) -> None:
        super().__init__(message)
        self.store_id = store_id


class TokenInvalid(TokenError):
    """Malformed, copied incompletely, or signed under another key."""


class TokenExpired(TokenError):
    """Past its expiry."""


class TokenWrongScope(TokenError):
    """Minted for another purpose or another store."""


@dataclass(frozen=True)
class Token:
    purpose: str
    store_id: str
    token_id: str
    expires_at: datetime
    claims: dict[str, Any] = field(default_factory=dict)


SIGNATURE_BYTES = 20  # 160 bits of HMAC-SHA256: 32 base32 characters
_LEGACY_SIGNATURE_LENGTH = 43  # base64url of the whole 256-bit HMAC, as tokens were signed until 2026-12


def _b32(data: bytes) -> str:
    return base64.b32encode(data).rstrip(b"=").decode("ascii")


def _unb32(text: str) -> bytes:
    return base64.b32decode(text + "=" * (-len(text) % 8))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _store_key(signing_key: bytes, store_id: str) -> bytes:
    return hmac.new(signing_key, b"aftercare/store/" + store_id.encode("utf-8"), hashlib.sha256).digest()


def _signature(signing_key: bytes, store_id: str, payload: str, *, legacy: bool = False) -> str:
    digest = hmac.new(_store_key(signing_key, store_id), payload.encode("ascii"), hashlib.sha256).digest()
    return _b64(digest) if legacy else _b32(digest[:SIGNATURE_BYTES])


def encode_body(body: dict[str, Any]) -> str:
    """The payload part of a token for ``body`` (signing is ``sign``'s; tests forge payloads with this)."""
    return _b32(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))


def unverified_body(token: str) -> dict[str, Any]:
    """What a token says about itself, signature unchecked: for showing a link's claims in tools and tests,
    never for deciding anything (``verify`` does that). Empty when the token cannot be read."""
    payload, _, signature = token.partition(".")
    try:
        return _body(payload, legacy=len(signature) == _LEGACY_SIGNATURE_LENGTH)
    except TokenInvalid:
        return {}


def sign(
    signing_key: bytes,
    *,
    purpose: str,
    store_id: str,
    ttl: timedelta,
    claims: dict[str, Any] | None = None,
    token_id: str | None = None,
) -> str:
    expires = clock.epoch_seconds(clock.now() + ttl)
    body = {"p": purpose, "s": store_id, "e": expires, "j": token_id or secrets.token_urlsafe(9)}
    if claims:
        body["c"] = claims
    payload = encode_body(body)
    return f"{payload}.{_signature(signing_key, store_id, payload)}"


def _body(payload: str, *, legacy: bool = False) -> dict[str, Any]:
    """The decoded payload, which must name a store and an expiry."""
    try:
        body = json.loads(_unb64(payload) if legacy else _unb32(payload))
    except (ValueError, UnicodeDecodeError):
        raise TokenInvalid("undecodable payload") from None
    if not isinstance(body, dict) or not isinstance(body.get("s"), str) or not isinstance(body.get("e"), int):
        raise TokenInvalid("payload lacks store or expiry")
    return body


def verify(signing_key: bytes, token: str, *, purpose: str, store_id: str | None = None) -> Token:
    """Check signature, purpose, store and expiry; raise a ``TokenError`` subclass otherwise."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 4096:
        raise TokenInvalid("malformed token")
    payload, signature = token.split(".")
    legacy = len(signature) == _LEGACY_SIGNATURE_LENGTH
    body = _body(payload, legacy=legacy)
    expected = _signature(signing_key, body["s"], payload, legacy=legacy)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace")):
        raise TokenInvalid("bad signature")
    if body.get("p") != purpose:
        raise TokenWrongScope(f"token is for {body.get('p')!r}, not {purpose!r}", body["s"])
    if store_id is not None and body["s"] != store_id:
        raise TokenWrongScope("token belongs to another store", body["s"])
    if clock.epoch_seconds() >= body["e"]:
        raise TokenExpired("token expired", body["s"])
    expires_at = datetime.fromtimestamp(body["e"], tz=clock.now().tzinfo)
    claims = body.get("c") or {}
    return Token(
        purpose=body["p"],
        store_id=body["s"],
        token_id=str(body.get("j", "")),
        expires_at=expires_at,
        claims=claims,
    )
