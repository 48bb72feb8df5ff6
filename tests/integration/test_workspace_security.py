"""The store's workspace: signing in by email, sessions, CSRF, tenants, and the inbox behind them.

Everything goes through the HTTP routes in-process against moto (SES included: the sign-in link is read
from the email that was sent), with the clock frozen so links and sessions expire on demand.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from functions.composition import adapters
from functions.shared import clock, links, tokens
from functions.workspace import session as sessions
from functions.workspace import signin
from tests.helpers import ApiClient, ApiResponse, bearer, minimal_store_config
from tests.shop import T0, mails
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = pytest.mark.integration

FORM = {"content-type": "application/x-www-form-urlencoded"}
A, B = "acme-goods", "bolt-shop"
OWNER_A, STAFF_A = "owner@acme-goods.example.com", "care@acme-goods.example.com"
OWNER_B = "owner@bolt-shop.example.com"


def store_config(store_id: str, **extra: Any) -> dict[str, Any]:
    config = minimal_store_config(store_id)
    config["staff"] = {
        "alert_emails": [f"care@{store_id}.example.com"],
        "owners": [f"owner@{store_id}.example.com"],
    }
    config["returns"] = {"auto_approve_below": 50, "keep_it_below": 15, "approval_timeout": "P2D"}
    config.update(extra)
    return config


class Stores:
    """Two stores (A in English, B in Arabic), created through the operator API."""

    def __init__(self, api: ApiClient, operator_key: str) -> None:
        self.api, self.operator_key = api, operator_key
        self.secrets: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        for store_id, extra in ((A, {}), (B, {"default_locale": "ar", "timezone": "Asia/Dubai"})):
            created = api.post(
                "/v1/admin/stores",
                json_body={"config": store_config(store_id, **extra)},
                headers=bearer(operator_key),
            )
            assert created.status == 201, created.text
            self.secrets[store_id] = created.json["webhook_secrets"]["generic"]
            self.versions[store_id] = 1

    def update(self, store_id: str, config: dict[str, Any]) -> None:
        response = self.api.request(
            "PUT",
            f"/v1/admin/stores/{store_id}",
            json_body={"config": config, "version": self.versions[store_id]},
            headers=bearer(self.operator_key),
        )
        assert response.status == 200, response.text
        self.versions[store_id] = response.json["version"]

    def event(self, store_id: str, event: dict[str, Any]) -> ApiResponse:
        raw = body_of(event)
        return self.api.post(
            f"/webhooks/{store_id}/events", body=raw, headers=generic_headers([self.secrets[store_id]], raw)
        )


@pytest.fixture
def stores(api: ApiClient, operator_key: str, frozen: Any) -> Stores:
    clock.clock.freeze(T0)
    return Stores(api, operator_key)


# ------------------------------------------------------------------------------ a browser, by hand


def set_cookie(response: ApiResponse) -> str:
    return response.headers.get("set-cookie", "")


def cookie_from(response: ApiResponse, name: str) -> str | None:
    found = re.match(rf"{name}=([^;]*)", set_cookie(response))
    return found.group(1) if found else None


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name} in the page"
    return found.group(1)


class Browser:
    """Cookies and forms, like a browser without JavaScript."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.cookies: dict[str, str] = {}

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**({"cookie": cookie} if cookie else {}), **(extra or {})}

    def _keep(self, response: ApiResponse) -> ApiResponse:
        header = set_cookie(response)
        if header:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in header:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response

    def get(self, path: str, **headers: str) -> ApiResponse:
        return self._keep(self.api.get(path, headers=self._headers(headers)))

    def post(self, path: str, form: dict[str, str]) -> ApiResponse:
        return self._keep(self.api.post(path, body=urlencode(form), headers=self._headers(FORM)))

    def ask_for_link(self, store_id: str, email: str, next_path: str = "") -> ApiResponse:
        page = self.get("/workspace/sign-in" + (f"?next={quote(next_path)}" if next_path else ""))
        assert page.status == 200, page.text
        form = {"csrf": hidden(page.text, "csrf"), "next": hidden(page.text, "next")}
        return self.post("/workspace/sign-in", {**form, "store": store_id, "email": email})

    def sign_in(self, store_id: str, email: str) -> ApiResponse:
        sent = len(mails())
        assert self.ask_for_link(store_id, email).status == 200
        link = link_in(mails()[sent:], email)
        page = self.get(link)
        assert page.status == 200, page.text
        return self.post(link, {"csrf": hidden(page.text, "csrf")})

    @property
    def session(self) -> str | None:
        return self.cookies.get(sessions.COOKIE)


def link_in(messages: list[dict[str, Any]], email: str) -> str:
    """The sign-in link of the one email just sent to ``email`` (as a path)."""
    [message] = [m for m in messages if m["to"] == [email] and "/workspace/sign-in/link/" in m["text"]]
    [href] = [link["href"] for link in message["links"] if "/workspace/sign-in/link/" in link["href"]]
    return str(href).removeprefix("https://care.example.com")


def sign_in_mails(email: str) -> list[dict[str, Any]]:
    return [m for m in mails() if m["to"] == [email] and "/workspace/sign-in/link/" in m["text"]]


def session_id(cookie: str) -> str:
    return str(tokens.unverified_body(cookie)["j"])


@pytest.fixture
def owner_a(api: ApiClient, stores: Stores) -> Browser:
    browser = Browser(api)
    assert browser.sign_in(A, OWNER_A).status == 303
    return browser


# ------------------------------------------------------------------------------ signing in


def test_owner_signs_in_with_the_emailed_link_and_lands_on_the_inbox(api: ApiClient, stores: Stores) -> None:
    browser = Browser(api)
    answer = browser.ask_for_link(A, OWNER_A.upper(), next_path="/workspace/settings")
    assert answer.status == 200 and "Check your email" in answer.text

    [message] = sign_in_mails(OWNER_A)  # the address as the configuration writes it
    assert message["subject"] == "Your sign-in link for Acme Goods"
    assert "hello@acme-goods.example.com" in message["from"] and "15 minutes" not in message["subject"]
    link = link_in([message], OWNER_A)

    opened = browser.get(link)
    assert opened.status == 200 and "Sign in to Acme Goods" in opened.text
    assert sessions.COOKIE not in set_cookie(opened)  # a GET never signs in (mail scanners)

    signed = browser.post(link, {"csrf": hidden(opened.text, "csrf")})
    assert signed.status == 303 and signed.headers["location"] == "/workspace/settings"
    cookie = set_cookie(signed)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/workspace" in cookie
    assert "Max-Age=43200" in cookie and "Secure" in cookie  # the deployment is reached over https

    inbox = browser.get("/workspace")
    assert inbox.status == 200 and "Nothing needs you right now" in inbox.text
    assert f"Signed in as {OWNER_A}" in inbox.text and "Settings" in inbox.text


def test_staff_sign_in_in_the_stores_language(api: ApiClient, stores: Stores) -> None:
    browser = Browser(api)
    assert browser.sign_in(B, f"care@{B}.example.com").status == 303
    [message] = sign_in_mails(f"care@{B}.example.com")
    assert message["subject"] == "رابط تسجيل دخولك إلى \u2068Acme Goods\u2069"
    assert "(Asia/Dubai)" in message["text"]

    inbox = browser.get("/workspace")
    assert 'dir="rtl"' in inbox.text and "لا شيء يحتاج إليك الآن" in inbox.text
    assert "/workspace/settings" not in inbox.text  # staff see no settings


def test_a_link_signs_in_once(api: ApiClient, stores: Stores) -> None:
    browser = Browser(api)
    browser.ask_for_link(A, OWNER_A)
    link = link_in(sign_in_mails(OWNER_A), OWNER_A)
    csrf = hidden(browser.get(link).text, "csrf")
    assert browser.post(link, {"csrf": csrf}).status == 303

    thief = Browser(api)
    again = thief.post(link, {"csrf": csrf})
    assert again.status == 410 and "This link was already used" in again.text
    assert thief.session is None and "/workspace/sign-in?store=acme-goods" in again.text
    reopened = thief.get(link)
    assert reopened.status == 410 and "already used" in reopened.text


def test_an_expired_link_explains_itself_and_signs_nobody_in(api: ApiClient, stores: Stores) -> None:
    browser = Browser(api)
    browser.ask_for_link(A, OWNER_A)
    link = link_in(sign_in_mails(OWNER_A), OWNER_A)
    csrf = hidden(browser.get(link).text, "csrf")

    clock.clock.freeze(T0 + timedelta(minutes=15, seconds=1))
    assert browser.get(link).status == 410
    late = browser.post(link, {"csrf": csrf})
    assert late.status == 410 and "expired" in late.text and browser.session is None


def test_a_damaged_link_or_another_kind_of_token_does_not_sign_in(api: ApiClient, stores: Stores) -> None:
    browser = Browser(api)
    staff_token = links.STAFF.mint(adapters().signing_key, A, {"f": "f1", "a": OWNER_A})
    for token in ("x" * 5000, "abc.def", staff_token, staff_token[:-3] + "AAA", "%00", "..%2f"):
        answer = browser.post(f"/workspace/sign-in/link/{token}", {"csrf": "x"})
        assert answer.status in (400, 404), (token, answer.status)
        assert browser.session is None


def test_the_link_button_needs_the_links_own_form_value(api: ApiClient, stores: Stores) -> None:
    browser = Browser(api)
    browser.ask_for_link(A, OWNER_A)
    link = link_in(sign_in_mails(OWNER_A), OWNER_A)
    for forged in ({}, {"csrf": ""}, {"csrf": "0" * 32}):
        refused = browser.post(link, forged)
        assert refused.status == 403 and browser.session is None
    assert browser.post(link, {"csrf": hidden(browser.get(link).text, "csrf")}).status == 303  # still usable


def test_unknown_address_or_store_gets_the_same_answer_and_no_email(api: ApiClient, stores: Stores) -> None:
    def answer(store_id: str, email: str) -> tuple[int, str]:
        response = Browser(api).ask_for_link(store_id, email)
        text = response.text.replace(email, "EMAIL").replace(store_id, "STORE")
        return response.status, re.sub(r'name="csrf" value="[^"]*"', "", text)

    known = answer(A, OWNER_A)
    assert answer(A, "stranger@example.com") == known
    assert answer("no-such-store", OWNER_A) == known
    assert answer(B, OWNER_A) == known  # listed in another store only
    assert len(sign_in_mails(OWNER_A)) == 1 and sign_in_mails("stranger@example.com") == []


def test_sign_in_links_are_rate_limited_per_address_and_store(api: ApiClient, stores: Stores) -> None:
    browser = Browser(api)
    answers = [browser.ask_for_link(A, OWNER_A) for _ in range(signin.LINKS_PER_WINDOW + 2)]
    assert {a.status for a in answers} == {200}
    assert len({re.sub(r'value="[^"]*"', "", a.text) for a in answers}) == 1  # the page never tells
    assert len(sign_in_mails(OWNER_A)) == signin.LINKS_PER_WINDOW

    browser.ask_for_link(A, STAFF_A)  # another address is counted on its own
    assert len(sign_in_mails(STAFF_A)) == 1

    clock.clock.freeze(T0 + signin.RATE_WINDOW)
    browser.ask_for_link(A, OWNER_A)
    assert len(sign_in_mails(OWNER_A)) == signin.LINKS_PER_WINDOW + 1


def test_the_sign_in_form_is_csrf_checked(api: ApiClient, stores: Stores) -> None:
    browser = Browser(api)
    page = browser.get("/workspace/sign-in")
    csrf = hidden(page.text, "csrf")
    form = {"store": A, "email": OWNER_A}

    assert browser.post("/workspace/sign-in", form).status == 403  # no form value
    assert browser.post("/workspace/sign-in", {**form, "csrf": "1.abc"}).status == 403  # forged
    other = Browser(api)  # a value shown to another browser (another cookie) does not pass
    assert other.post("/workspace/sign-in", {**form, "csrf": csrf}).status == 403
    clock.clock.freeze(T0 + sessions.FORM_TTL)
    assert browser.post("/workspace/sign-in", {**form, "csrf": csrf}).status == 403  # too old
    assert sign_in_mails(OWNER_A) == []


def test_next_is_only_ever_a_workspace_path(api: ApiClient, stores: Stores) -> None:
    for target in ("https://evil.example/workspace", "//evil.example", "/workspace/../staff", "/staff/x"):
        browser = Browser(api)
        sent = len(mails())
        browser.ask_for_link(A, OWNER_A, next_path=target)
        link = link_in(mails()[sent:], OWNER_A)
        signed = browser.post(link, {"csrf": hidden(browser.get(link).text, "csrf")})
        assert signed.headers["location"] == "/workspace", target
        clock.clock.freeze(clock.now() + signin.RATE_WINDOW)


# ------------------------------------------------------------------------------ sessions


def test_a_planted_cookie_is_never_adopted(api: ApiClient, stores: Stores) -> None:
    attacker = Browser(api)
    assert attacker.sign_in(A, STAFF_A).status == 303
    planted = str(attacker.session)

    victim = Browser(api)
    victim.cookies[sessions.COOKIE] = planted  # fixed before the victim signs in
    assert victim.sign_in(A, OWNER_A).status == 303
    assert victim.session and session_id(victim.session) != session_id(planted)
    assert "owner" in victim.get("/workspace").text
    # the planted session was the browser's previous one: signing in ended it
    assert attacker.get("/workspace").status == 303


def test_an_expired_session_goes_back_to_sign_in(owner_a: Browser) -> None:
    assert owner_a.get("/workspace").status == 200
    clock.clock.freeze(T0 + sessions.SESSION.ttl)
    answer = owner_a.get("/workspace/settings")
    assert answer.status == 303
    assert answer.headers["location"] == "/workspace/sign-in?next=/workspace/settings"
    assert "Max-Age=0" in answer.headers["set-cookie"]


def test_a_cookie_of_another_store_opens_only_that_store(api: ApiClient, owner_a: Browser) -> None:
    key = adapters().signing_key
    forged = sessions.issue(key, B, OWNER_A, "owner")  # a real session, of store B, for A's owner
    browser = Browser(api)
    browser.cookies[sessions.COOKIE] = forged
    assert browser.get("/workspace").status == 303  # A's owner is nobody in store B

    stolen = str(owner_a.session)  # A's session with its store swapped for B's: the signature breaks
    signature = stolen.split(".")[1]
    body = tokens.unverified_body(stolen)
    body["s"] = B
    swapped = tokens.encode_body(body)
    browser.cookies[sessions.COOKIE] = f"{swapped}.{signature}"
    assert browser.get("/workspace").status == 303

    staff_link = links.STAFF.mint(key, A, {"e": OWNER_A, "r": "owner"})  # another purpose
    browser.cookies[sessions.COOKIE] = staff_link
    assert browser.get("/workspace").status == 303


def test_session_forms_need_the_sessions_csrf_value(api: ApiClient, owner_a: Browser) -> None:
    for form in ({}, {"csrf": ""}, {"csrf": "0" * 32}):
        refused = owner_a.post("/workspace/sign-out", form)
        assert refused.status == 403 and "This form cannot be used" in refused.text
    assert owner_a.get("/workspace").status == 200  # still signed in

    other = Browser(api)  # another session's value does not pass either
    assert other.sign_in(A, STAFF_A).status == 303
    other_csrf = hidden(other.get("/workspace").text, "csrf")
    assert owner_a.post("/workspace/sign-out", {"csrf": other_csrf}).status == 403


def test_signing_out_ends_the_session_even_for_a_kept_cookie(api: ApiClient, owner_a: Browser) -> None:
    kept = str(owner_a.session)
    out = owner_a.post("/workspace/sign-out", {"csrf": hidden(owner_a.get("/workspace").text, "csrf")})
    assert out.status == 303 and out.headers["location"] == "/workspace/sign-in?signed_out=1&store=acme-goods"
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert "You are signed out." in owner_a.get(out.headers["location"]).text

    replay = Browser(api)
    replay.cookies[sessions.COOKIE] = kept
    assert replay.get("/workspace").status == 303
    assert replay.post("/workspace/sign-out", {"csrf": "x"}).status == 303


def test_settings_are_for_owners_and_show_no_secret(api: ApiClient, stores: Stores, owner_a: Browser) -> None:
    staff = Browser(api)
    assert staff.sign_in(A, STAFF_A).status == 303
    refused = staff.get("/workspace/settings")
    assert refused.status == 403 and "For the store's owners" in unescape(refused.text)
    assert "Sign out" in refused.text  # inside the workspace's layout, with its navigation

    page = owner_a.get("/workspace/settings")
    assert page.status == 200
    for shown in (
        "People",
        "Owners",
        OWNER_A,
        "Reply within",
        "1 day",
        "Created",
        "store.yaml" and "alerts.sla",
    ):
        assert shown in page.text, shown
    stored = adapters().stores.get(A)
    assert stored.admin_key_hash not in page.text
    assert stores.secrets[A] not in page.text and "admin_key" not in page.text


def test_settings_show_the_config_history(api: ApiClient, stores: Stores, owner_a: Browser) -> None:
    changed = store_config(A)
    changed["alerts"] = {"sla": "PT4H"}
    stores.update(A, changed)
    page = owner_a.get("/workspace/settings")
    assert "Configuration changed" in page.text and "alerts.sla" in page.text
    assert "operator" in page.text and "version 2" in page.text


def test_a_removed_owner_loses_the_workspace_at_the_next_click(stores: Stores, owner_a: Browser) -> None:
    assert owner_a.get("/workspace/settings").status == 200
    demoted = store_config(A)
    demoted["staff"] = {"alert_emails": [STAFF_A, OWNER_A], "owners": ["boss@acme-goods.example.com"]}
    stores.update(A, demoted)
    assert owner_a.get("/workspace/settings").status == 303  # an owner's session, now only staff

    removed = store_config(A)
    removed["staff"] = {"alert_emails": [STAFF_A], "owners": ["boss@acme-goods.example.com"]}
    stores.update(A, removed)
    assert owner_a.get("/workspace").status == 303
    sent = len(mails())
    Browser(owner_a.api).ask_for_link(A, OWNER_A)
    assert len(mails()) == sent  # nor can the address ask for a new link


def test_odd_input_never_fails(api: ApiClient, owner_a: Browser) -> None:
    odd = ["x" * 3000, "%00", "f" + "0" * 23, "..", "<script>", "a%2Fb", "ünï"]
    for value in odd:
        for path in (f"/workspace/flags/{value}", f"/workspace/returns/{value}"):
            answer = owner_a.get(path)
            assert answer.status == 404 and "text/html" in answer.headers["content-type"], path
            assert "<script>" not in answer.text
        assert owner_a.get(f"/workspace/sign-in/link/{value}").status in (400, 404)
        assert api.get(f"/workspace/sign-in?store={quote(value)}&next={quote(value)}").status == 200
    bad_cookies = [
        "aftercare_session=",
        "aftercare_session=%%%",
        'aftercare_session="a.b"',
        "x" * 9000,
        "=;=;",
    ]
    for cookie in bad_cookies:
        assert api.get("/workspace", headers={"cookie": cookie}).status == 303
        assert (
            api.post("/workspace/sign-out", body="csrf=x", headers={**FORM, "cookie": cookie}).status == 303
        )
    for body in ("", "store=&email=", "%%%", "a" * 40000, "store=" + "é" * 500):
        answer = api.post("/workspace/sign-in", body=body, headers=FORM)
        assert answer.status == 403 and "text/html" in answer.headers["content-type"]


def test_a_link_from_another_site_continues_from_our_own_origin(api: ApiClient, stores: Stores) -> None:
    """SameSite=Strict withholds the cookie on a link followed from webmail: continue, do not sign out."""
    answer = api.get("/workspace/settings?x=1", headers={"sec-fetch-site": "cross-site"})
    assert answer.status == 200 and 'content="0;url=/workspace/settings?x=1"' in answer.text
    assert "set-cookie" not in answer.headers


# ------------------------------------------------------------------------------ the inbox, across stores


@pytest.fixture
def pump(frozen: Any) -> Any:
    """What the Responses stream mapping does on AWS: hand new answers to the flagging function."""
    from aftercare.devstack.streams import Mapping, StreamPump
    from app import flag_responses

    table, arn = frozen.tables["ResponsesTable"], frozen.stream_arns["ResponsesTable"]
    return StreamPump([Mapping(table, arn, "flag_responses", flag_responses, batch_size=10)])


def flag_of(store_id: str, stores: Stores, pump: Any, order_id: str, stars: int = 1) -> str:
    """A negative review flagged the way it happens for real: order, request email, answer, stream."""
    from functions import composition
    from functions.outreach import sweep

    delivered = generic_order(order_id, [("l1", "tour", "experience")])
    event = generic_event("order.delivered", delivered, occurred_at=clock.isoformat(clock.now()))
    assert stores.event(store_id, event).status == 200
    clock.clock.freeze(clock.now() + timedelta(days=1, minutes=1))
    sent = len(mails())
    sweep.run(composition.sweep_ports())
    [request] = [m for m in mails()[sent:] if f"@{store_id}.example.com" in m["from"]]
    link = [x["href"] for x in request["links"] if "/s/" in x["href"]][stars - 1]
    path = link.removeprefix("https://care.example.com")
    assert stores.api.post(path, body=f"score={stars}&comment=Broken", headers=FORM).status == 200
    pump.pump_until_quiet()
    found = adapters().flags.list(store_id, "open", clock.now(), 10)
    return str(next(f["flag_id"] for f in found if f["order_id"] == order_id))


def return_awaiting_approval(store_id: str, stores: Stores, order_id: str) -> str:
    """A return over the auto-approval amount: its workflow parks it, waiting for staff."""
    order = generic_order(order_id, [("l1", "jacket", "clothing")])
    order["line_items"][0]["price"] = "120.00"
    delivered = generic_event(
        "order.delivered", order, occurred_at=clock.isoformat(clock.now() - timedelta(days=3))
    )
    assert stores.event(store_id, delivered).status == 200
    requested = generic_event(
        "return.requested",
        {"id": order_id},
        **{"return": {"id": f"R-{order_id}", "order_id": order_id, "items": [{"line_item_id": "l1"}]}},
    )
    answer = stores.event(store_id, requested)
    assert answer.status == 200, answer.text
    return_id = str(answer.json["return_id"])
    deadline = time.monotonic() + 30
    while adapters().returns.needing_attention(store_id) == []:
        assert time.monotonic() < deadline, "the return never waited for approval"
        time.sleep(0.05)
    return return_id


def test_inbox_shows_what_needs_a_person_and_opens_it(api: ApiClient, stores: Stores, pump: Any) -> None:
    flag_id = flag_of(A, stores, pump, "W-1")
    return_id = return_awaiting_approval(A, stores, "W-2")
    staff = Browser(api)
    assert staff.sign_in(A, STAFF_A).status == 303

    inbox = staff.get("/workspace")
    assert inbox.status == 200
    assert "1 of 5 stars" in inbox.text and "Due in 24 hours" in inbox.text and "(UTC)" in inbox.text
    assert "Awaiting approval" in inbox.text and "Return for order #W-2" in inbox.text
    assert "€120.00" in inbox.text

    opened = staff.get(f"/workspace/flags/{flag_id}")
    assert opened.status == 303 and opened.headers["location"].startswith("/staff/")
    staff_page = api.get(opened.headers["location"])
    assert staff_page.status == 200 and "Broken" in staff_page.text
    token = links.STAFF.open(adapters().signing_key, opened.headers["location"].rsplit("/", 1)[1])
    assert token.claims == {"f": flag_id, "a": STAFF_A}  # acts as the signed-in person
    assert token.expires_at <= clock.now() + sessions.SESSION.ttl  # never outlives the session

    approval = staff.get(f"/workspace/returns/{return_id}")
    assert approval.status == 303 and approval.headers["location"].startswith("/approve/")
    assert "Approve" in api.get(approval.headers["location"]).text

    clock.clock.freeze(clock.now() + timedelta(days=1, hours=2))
    assert staff.get("/workspace").status == 303  # the 12-hour session has ended meanwhile
    assert staff.sign_in(A, STAFF_A).status == 303
    later = staff.get("/workspace")
    assert "Overdue by 2 hours" in later.text


def test_ids_of_another_store_are_not_found(api: ApiClient, stores: Stores, pump: Any) -> None:
    flag_b = flag_of(B, stores, pump, "X-1")
    return_b = return_awaiting_approval(B, stores, "X-2")
    owner = Browser(api)
    assert owner.sign_in(A, OWNER_A).status == 303

    for path in (f"/workspace/flags/{flag_b}", f"/workspace/returns/{return_b}"):
        answer = owner.get(path)
        assert answer.status == 404 and "location" not in answer.headers
        assert "Nothing to show" in answer.text
    inbox = owner.get("/workspace").text
    assert flag_b not in inbox and return_b not in inbox and "Nothing needs you right now" in inbox


def test_a_decided_return_leaves_the_inbox(api: ApiClient, stores: Stores) -> None:
    return_id = return_awaiting_approval(A, stores, "D-1")
    owner = Browser(api)
    assert owner.sign_in(A, OWNER_A).status == 303
    approval = owner.get(f"/workspace/returns/{return_id}").headers["location"]
    page = api.get(approval)
    decided = api.post(
        approval, body=urlencode({"csrf": hidden(page.text, "csrf"), "decision": "reject"}), headers=FORM
    )
    assert decided.status == 200 and "Rejected" in decided.text
    deadline = time.monotonic() + 30
    while adapters().returns.needing_attention(A):
        assert time.monotonic() < deadline, "the decided return stayed in the attention index"
        time.sleep(0.05)
    assert "Nothing needs you right now" in owner.get("/workspace").text
    request, steps = adapters().returns.get(A, return_id)
    assert request is not None and "attention_store" not in request
    assert any(step.get("actor") == OWNER_A for step in steps)  # the decision is the signed-in person's


def test_every_status_change_keeps_the_attention_index_in_step(stores: Stores) -> None:
    """The sparse index holds exactly the returns that need a person, whoever changes the status."""
    from functions.returns.models import Status
    from functions.stores.models import Retention

    repository = adapters().returns
    base = {"store_id": A, "order_id": "O-1", "requested_at": clock.isoformat(clock.now())}
    kept = Retention().returns
    assert repository.create({**base, "return_id": "ret-a", "status": Status.REQUESTED}, keep=kept)
    assert repository.create({**base, "return_id": "ret-b", "status": Status.AWAITING_APPROVAL}, keep=kept)
    assert [r["return_id"] for r in repository.needing_attention(A)] == ["ret-b"]

    repository.update(A, "ret-a", {"status": Status.REFUND_FAILED, "refund_problem": "HTTP 500"})
    repository.update(A, "ret-b", {"status": Status.REJECTED}, only_if_status=Status.AWAITING_APPROVAL)
    assert [r["return_id"] for r in repository.needing_attention(A)] == ["ret-a"]
    assert repository.needing_attention(B) == []  # one store's returns never show in another's

    repository.update(A, "ret-a", {"status": Status.SETTLED}, only_if_status=Status.REFUND_FAILED)
    repository.update(A, "ret-a", {"refund_retries": 1})  # a write without a status leaves it alone
    assert repository.needing_attention(A) == []
