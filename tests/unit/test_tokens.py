from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from functions.shared import tokens
from functions.shared.clock import clock

pytestmark = pytest.mark.unit

KEY = b"k" * 48


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    clock.freeze(datetime(2026, 5, 1, 12, tzinfo=UTC))
    yield
    clock.reset()


def _token(**overrides: object) -> str:
    options: dict[str, object] = {
        "purpose": "survey",
        "store_id": "acme",
        "ttl": timedelta(days=30),
        "claims": {"o": "out-1", "s": 5},
    }
    options.update(overrides)
    return tokens.sign(KEY, **options)  # type: ignore[arg-type]


def test_signed_token_verifies_with_its_claims() -> None:
    token = tokens.verify(KEY, _token(), purpose="survey", store_id="acme")

    assert token.store_id == "acme"
    assert token.claims == {"o": "out-1", "s": 5}
    assert token.expires_at == datetime(2026, 5, 31, 12, tzinfo=UTC)
    assert token.token_id


def test_tokens_are_url_safe_and_not_guessable() -> None:
    first, second = _token(), _token()
    assert first != second
    assert all(c.isalnum() or c in "-_." for c in first)


def test_tokens_are_capitals_and_digits_so_links_add_no_lower_case_letters_to_an_email() -> None:
    # Given a token with every kind of claim, When it is signed
    token = _token(claims={"o": "review-15e64c9472c2439a", "p": "p-boots", "l": "kk", "s": 5})
    # Then it has no lower-case letter (mail filters count the Latin "e" of a Kazakh email) and its
    # signature is 160 bits in 32 characters
    assert re.fullmatch(r"[A-Z2-7]+\.[A-Z2-7]{32}", token), token


def _legacy(body: dict[str, object]) -> str:
    """A token as Aftercare signed them before base32: base64url payload and the whole HMAC."""
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    key = hmac.new(KEY, b"aftercare/store/acme", hashlib.sha256).digest()
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def test_a_link_signed_before_base32_still_works_until_it_expires() -> None:
    # Given an unsubscribe link from an email sent before tokens were base32
    expires = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp())
    old = _legacy({"p": "unsubscribe", "s": "acme", "e": expires, "j": "abc", "c": {"c": "h"}})
    # When it is used, Then it verifies with its claims
    assert tokens.verify(KEY, old, purpose="unsubscribe", store_id="acme").claims == {"c": "h"}
    assert tokens.unverified_body(old)["c"] == {"c": "h"}
    # and a changed legacy payload still breaks its signature
    forged = _legacy({"p": "unsubscribe", "s": "acme", "e": expires, "j": "abc", "c": {"c": "x"}})
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(KEY, forged.split(".")[0] + "." + old.split(".")[1], purpose="unsubscribe")
    # and it expires as it always did
    clock.freeze(datetime(2026, 6, 1, tzinfo=UTC))
    with pytest.raises(tokens.TokenExpired):
        tokens.verify(KEY, old, purpose="unsubscribe")


@pytest.mark.parametrize("position", [0, 5, -1, -5])
def test_any_tampered_character_is_rejected(position: int) -> None:
    token = _token()
    flipped = "A" if token[position] != "A" else "B"
    tampered = (
        token[:position] + flipped + token[position + 1 :]
        if position >= 0
        else (token[: len(token) + position] + flipped + token[len(token) + position + 1 :])
    )
    with pytest.raises(tokens.TokenError):
        tokens.verify(KEY, tampered, purpose="survey")


def test_changing_the_score_claim_breaks_the_signature() -> None:
    token = _token()
    signature = token.split(".")[1]
    body = tokens.unverified_body(token)
    body["c"]["s"] = 1
    forged = tokens.encode_body(body)
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(KEY, f"{forged}.{signature}", purpose="survey")


def test_expired_token_is_refused() -> None:
    token = _token(ttl=timedelta(hours=1))
    clock.advance(timedelta(hours=1))
    with pytest.raises(tokens.TokenExpired):
        tokens.verify(KEY, token, purpose="survey")


def test_token_for_another_purpose_is_refused() -> None:
    with pytest.raises(tokens.TokenWrongScope):
        tokens.verify(KEY, _token(purpose="unsubscribe"), purpose="survey")


def test_token_of_another_store_is_refused() -> None:
    with pytest.raises(tokens.TokenWrongScope):
        tokens.verify(KEY, _token(store_id="other"), purpose="survey", store_id="acme")


def test_store_swapped_inside_payload_fails_signature() -> None:
    token = _token(store_id="other")
    signature = token.split(".")[1]
    body = tokens.unverified_body(token)
    body["s"] = "acme"
    forged = tokens.encode_body(body)
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(KEY, f"{forged}.{signature}", purpose="survey", store_id="acme")


def test_other_deployment_key_is_refused() -> None:
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(b"x" * 48, _token(), purpose="survey")


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "%%%.###", "x" * 5000, "eyJ9.sig"])
def test_garbage_is_refused_cleanly(garbage: str) -> None:
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(KEY, garbage, purpose="survey")
