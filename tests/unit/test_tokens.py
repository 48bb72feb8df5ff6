from __future__ import annotations

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
    import base64
    import json

    payload, signature = _token().split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["c"]["s"] = 1
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
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
    import base64
    import json

    payload, signature = _token(store_id="other").split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["s"] = "acme"
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(KEY, f"{forged}.{signature}", purpose="survey", store_id="acme")


def test_other_deployment_key_is_refused() -> None:
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(b"x" * 48, _token(), purpose="survey")


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "%%%.###", "x" * 5000, "eyJ9.sig"])
def test_garbage_is_refused_cleanly(garbage: str) -> None:
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(KEY, garbage, purpose="survey")
