"""Security: every link token, every admin key, hostile bodies and hostile text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.composition import adapters
from functions.shared import clock, tokens
from tests.helpers import ApiClient, bearer
from tests.shop import Shop
from tests.webhooks import body_of, generic_headers

pytestmark = pytest.mark.integration

# Every kind of link Aftercare emails, with claims that point at real data once the store has some.
LINKS = {
    "survey": ("/s/{}", {"r": "X-1", "o": "review-x", "p": "tour", "s": 3}),
    "unsubscribe": ("/u/{}", {"c": "0" * 64}),
    "staff": ("/staff/{}", {"f": "f123", "a": "care@acme-goods.example.com"}),
    "return": ("/r/{}", {"o": "X-1"}),
    "return-approval": ("/approve/{}", {"r": "ret-0000000000000000", "a": "care@acme-goods.example.com"}),
}


def sign(purpose: str, store_id: str = "acme-goods", ttl: timedelta = timedelta(days=1)) -> str:
    return tokens.sign(
        adapters().signing_key, purpose=purpose, store_id=store_id, ttl=ttl, claims=LINKS[purpose][1]
    )


def swap_store(token: str, store_id: str) -> str:
    signature = token.split(".")[1]
    body = tokens.unverified_body(token)
    body["s"] = store_id
    return tokens.encode_body(body) + "." + signature


@pytest.mark.parametrize("purpose", list(LINKS))
def test_every_link_kind_refuses_tampering_expiry_and_other_stores(
    shop: Shop, api: ApiClient, operator_key: str, purpose: str
) -> None:
    Shop(api, operator_key, "other-shop")
    path = LINKS[purpose][0]
    good = sign(purpose)
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    moved = swap_store(good, "other-shop")
    expired = sign(purpose, ttl=timedelta(seconds=1))
    clock.clock.advance(timedelta(seconds=2))

    for token, status in (
        (tampered, 400),
        (moved, 400),
        (expired, 410),
        ("not-a-token", 400),
        ("a" * 5000, 400),
    ):
        response = api.get(path.format(token))
        assert response.status == status, (purpose, token[:20], response.status)
        assert response.headers["content-type"].startswith("text/html")
        assert "Traceback" not in response.text


@pytest.mark.parametrize("purpose", list(LINKS))
def test_a_link_works_only_where_it_belongs(shop: Shop, api: ApiClient, purpose: str) -> None:
    token = sign(purpose)
    for other, (path, _) in LINKS.items():
        if other != purpose:
            assert api.get(path.format(token)).status == 400, (purpose, other)


def test_a_store_key_opens_no_other_store(shop: Shop, api: ApiClient, operator_key: str) -> None:
    other = Shop(api, operator_key, "other-shop")
    for path in (
        "/v1/stores/{}",
        "/v1/stores/{}/orders/1",
        "/v1/stores/{}/responses",
        "/v1/stores/{}/flags",
        "/v1/stores/{}/returns/ret-1",
    ):
        response = api.get(path.format(other.id), headers=bearer(shop.admin_key))
        assert response.status == 403, path
        assert response.json["error"] == "forbidden"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("body", [nested(100_000), b'{"a":' * 50_000 + b"1" + b"}" * 50_000])
def test_deeply_nested_json_is_a_clear_400(
    shop: Shop, api: ApiClient, operator_key: str, body: bytes
) -> None:
    admin = api.post("/v1/admin/stores", body=body, headers=bearer(operator_key))
    assert admin.status in (400, 413)
    assert admin.json["error"] in {"invalid_json", "body_too_large"}
    signed = api.post(f"/webhooks/{shop.id}/events", body=body, headers=generic_headers([shop.secret], body))
    assert signed.status in (400, 413)


def test_non_utf8_webhook_is_a_clear_400(shop: Shop, api: ApiClient) -> None:
    body = b'{"id": "\xff\xfe"}'
    response = api.post(
        f"/webhooks/{shop.id}/events", body=body, headers=generic_headers([shop.secret], body)
    )
    assert response.status == 400
    assert "UTF-8" in response.json["message"]


def test_oversized_admin_body_is_413(api: ApiClient, operator_key: str) -> None:
    response = api.post("/v1/admin/stores", body=b" " * 300_000 + b"{}", headers=bearer(operator_key))
    assert response.status == 413


@pytest.mark.parametrize("field", ["name", "postal_address"])
def test_line_breaks_in_store_texts_that_reach_headers_are_refused(
    api: ApiClient, operator_key: str, field: str
) -> None:
    from tests.helpers import minimal_store_config

    config = minimal_store_config("evil-shop")
    config[field] = "Evil Shop Inc\r\nBcc: everyone@example.com"
    response = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))
    assert response.status == 422
    assert any(f["field"] == f"config.{field}" for f in response.json["fields"])


def test_event_with_crlf_in_names_cannot_create_headers(shop: Shop) -> None:
    from tests.shop import at, mails, run_sweep
    from tests.webhooks import generic_event, generic_order

    order = generic_order(
        "INJ-1",
        [("l1", "tour", "experience")],
        customer={"email": "sam@example.com", "name": "Sam\nSubject: hacked", "locale": "en"},
    )
    order["name"] = "#1\r\nX-Injected: yes"
    order["line_items"][0]["name"] = "Tour\r\nBcc: x@example.com"  # names are cleaned; ids must be clean
    raw = body_of(generic_event("order.delivered", order, occurred_at=clock.isoformat(clock.now())))
    answer = shop.api.post(
        f"/webhooks/{shop.id}/events", body=raw, headers=generic_headers([shop.secret], raw)
    )
    assert answer.status == 200, answer.text
    at(timedelta(days=1, minutes=1))
    run_sweep()
    [message] = mails()
    names = [name.lower() for name, _ in message["headers"]]
    assert "bcc" not in names and "x-injected" not in names
    assert [value for name, value in message["headers"] if name == "Subject"] == [message["subject"]]
    assert "\n" not in message["subject"]


def test_replayed_survey_token_records_once(shop: Shop, api: ApiClient) -> None:
    from tests.shop import at, mails, review_links, run_sweep

    shop.delivered("RP-1", [("l1", "tour", "experience")])
    at(timedelta(days=1, minutes=1))
    run_sweep()
    link = review_links(mails()[0])[0].removeprefix("https://care.example.com")
    form = {"content-type": "application/x-www-form-urlencoded"}
    for _ in range(5):
        assert api.post(link, body="score=1&comment=same", headers=form).status == 200

    [answer] = adapters().responses.for_order(shop.id, "RP-1")
    assert answer["answers"] == 1
    assert len(answer["history"]) == 1
