"""The customer's side of a return in the browser's terms: the status link in every email, its page, the
return page's items the store does not take back, and links that do not open, in the store's language."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from functions.composition import adapters
from functions.shared import tokens
from tests.integration import test_returns
from tests.integration.test_returns import FORM, Store, finished
from tests.shop import mails

pytestmark = pytest.mark.integration
receiver, store = test_returns.receiver, test_returns.store  # the returns tests' store and refund endpoint


def status_links() -> list[str]:
    return [link for m in mails() for link in re.findall(r"https?://\S+/rs/[\w.-]+", m["text"])]


def return_link(store: Store, order_id: str) -> str:
    return tokens.sign(
        adapters().signing_key,
        purpose="return",
        store_id=store.id,
        ttl=timedelta(days=1),
        claims={"o": order_id},
    )


def test_every_email_links_to_a_read_only_status_page_of_that_return(store: Store, receiver: Any) -> None:
    store.delivered("S-1")
    return_id = store.request("S-1", ["l2"])  # 9.00: below keep-it, refunded at once
    assert finished(return_id)["status"] == "SUCCEEDED"
    [link] = status_links()
    path = "/" + link.split("/", 3)[3]
    page = store.api.get(path)
    assert page.status == 200, page.text
    assert "Your return is complete: a refund." in page.text
    assert page.text.count('data-state="done"') == 3 and "aria-current" not in page.text  # no parcel to send
    assert "<form" not in page.text
    assert store.api.post(path, body="", headers=FORM).status in (403, 404, 405)  # nothing acts on it
    assert store.view(return_id)["return"]["status"] == "completed"
    tampered = (
        path[:-2] + ("A" if path[-2] != "A" else "B") + path[-1]
    )  # a token is signed: edits do not open
    assert store.api.get(tampered).status == 400


def test_the_return_page_does_not_offer_what_the_store_does_not_take_back(store: Store) -> None:
    store.delivered("S-2")
    link = return_link(store, "S-2")
    page = store.api.get(f"/r/{link}")
    assert 'data-testid="not-returnable"' in page.text and 'name="item-l4"' not in page.text
    assert 'value="does_not_fit"' in page.text  # reasons posted as codes
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    body = f"request_id={request_id}&item-l4=1&item-l2=1&reason=does_not_fit&outcome=refund"
    refused = store.api.post(f"/r/{link}", body=body, headers=FORM)
    assert refused.status == 422 and "Product tour cannot be returned" in refused.text


def test_an_expired_return_link_says_so_in_the_stores_language(api: Any, store: Store) -> None:
    expired = tokens.sign(
        adapters().signing_key,
        purpose="return",
        store_id=store.id,
        ttl=timedelta(seconds=-1),
        claims={"o": "x"},
    )
    page = store.api.get(f"/r/{expired}")
    assert page.status == 410 and "This link has expired" in page.text
