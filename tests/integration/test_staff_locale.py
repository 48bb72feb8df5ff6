"""Staff read alerts, escalations, the staff page, approval pages and return notes in the store's language
and time, and the SLA counts only the store's business hours.

An Arabic store in Riyadh (right to left, UTC+3) and a Berlin store open on weekdays 09:00-17:00 go through
the public routes and the real schedules, as in production.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.shared import clock
from functions.shared.i18n import Translator, catalog
from tests.world import Shop, World, form_values, store_config, token_of

pytestmark = pytest.mark.integration

TOUR = ("l1", "p-tour", "experience", 1, "30.00")  # reviewed a day after delivery
JACKET = ("l2", "p-jacket", "clothing", 1, "120.00")  # above auto-approval (50): staff decide
SOCKS = ("l3", "p-socks", "clothing", 2, "7.00")  # refunded at once (below keep-it, 15)
AR = catalog("ar")
# English staff phrases that must not reach an Arabic store's staff (customer texts aside).
ENGLISH = (
    "Needs a reply",
    "Overdue",
    "Why flagged",
    "Customer",
    "of 5 stars",
    "Emails received",
    "Open, reply",
    "This link is yours",
    "Send reply",
    "Mark resolved",
    "Signed in",
    "Approve",
    "Reject",
    "Reason:",
    "Please decide",
    "Request ret-",
    "Audit trail",
    "Review and decide",
    "(UTC)",
)


def arabic_shop(world: World, store_id: str = "riyadh-shop") -> Shop:
    config = store_config(store_id, world.desk.url)
    config["default_locale"] = "ar"
    config["timezone"] = "Asia/Riyadh"
    config["alerts"] = {
        "sla": "PT4H",
        "reply_templates": {"Sorry": "Dear {name}, we are sorry. {store}"},  # stays as configured
    }
    shop = Shop(world, store_id, config)
    shop.create()
    return shop


def answer_badly(shop: Shop, world: World, order_id: str, comment: str) -> None:
    """A one-star answer with ``comment`` to the review request of a tour delivered now."""
    shop.delivered(order_id, [TOUR], email=f"{order_id.lower()}@example.com", days_ago=0)
    world.advance(timedelta(days=1, minutes=1))
    [mail] = [m for m in shop.mails() if m["to"] == [f"{order_id.lower()}@example.com"]]
    star = next(link["href"] for link in mail["links"] if "/s/" in link["href"])
    world.form("/s/" + token_of(star), {"score": "1", "comment": comment})
    world.run_schedules()


def staff_mails(shop: Shop) -> list[dict[str, Any]]:
    staff = {f"care@{shop.id}.example.com", f"lead@{shop.id}.example.com"}
    return [m for m in shop.mails() if set(m["to"]) <= staff]


def staff_path(mail: dict[str, Any], kind: str = "staff") -> str:
    return f"/{kind}/" + token_of(next(link["href"] for link in mail["links"] if f"/{kind}/" in link["href"]))


def staff_mail_about(shop: Shop, heading: str) -> dict[str, Any]:
    """The one staff email with ``heading`` in its subject (a parked workflow may still be sending it)."""
    deadline = time.monotonic() + 30
    while True:
        found = [m for m in staff_mails(shop) if squeezed(heading) in squeezed(m["subject"])]
        if found or time.monotonic() > deadline:
            [mail] = found
            return mail
        time.sleep(0.05)


def squeezed(subject: str) -> str:
    """A subject without spaces: Python's header folding drops a space where it splits a long non-ASCII
    subject into encoded words (functions/shared/email.py folds at 78 characters)."""
    return subject.replace(" ", "")


def english_left(text: str) -> list[str]:
    return [phrase for phrase in ENGLISH if phrase in text]


# ------------------------------------------------------------------------------ alerts and the staff page


def test_an_arabic_store_gets_its_alert_in_arabic_and_riyadh_time(world: World) -> None:
    # Given an Arabic store in Riyadh, When a customer answers badly with markup in the comment
    shop = arabic_shop(world)
    answer_badly(shop, world, "AR-1", "<b>سيء</b> never arrived")
    # Then the alert is in Arabic, right to left, with the deadline in Riyadh time and in words
    [alert] = staff_mails(shop)
    # (the product and the order number keep their own direction: Unicode isolates around them)
    subject = "[بحاجة إلى رد] \u20681★\u2069 لـ \u2068Product p-tour\u2069، الطلب \u2068#AR-1\u2069"
    assert alert["subject"] == subject
    html, text = alert["html"], alert["text"]
    assert '<html lang="ar" dir="rtl">' in html
    [flag] = shop.flags()
    due = clock.parse_iso(flag["sla_deadline"])
    assert due == clock.now() + timedelta(hours=4)  # no business hours: every hour counts
    assert "(Asia/Riyadh)" in text and "يلزم الرد قبل" in text
    assert "خلال 4 ساعات" in text  # "in 4 hours"
    assert "يذكر «\u2068never arrived\u2069»" in text and "1 من 5 نجوم (يُعلِّم المتجر 2 أو أقل)" in text
    # And what the customer wrote is shown as written, escaped
    assert "&lt;b&gt;سيء&lt;/b&gt; never arrived" in html and "<b>سيء</b> never arrived" in text
    assert english_left(text.replace("never arrived", "")) == []
    assert english_left(html.replace("never arrived", "")) == []


def test_the_staff_page_and_its_answers_are_in_the_stores_language(world: World) -> None:
    shop = arabic_shop(world)
    answer_badly(shop, world, "AR-2", "الجولة أُلغيت")
    path = staff_path(staff_mails(shop)[0])
    page = world.call("GET", path).text
    assert '<html lang="ar" dir="rtl">' in page
    assert AR["staff_send_reply"] in page and AR["staff_offer_heading"] in page
    assert "(Asia/Riyadh)" in page and "خلال 4 ساعات" in page
    # the customer (Sam) reads English: the English starting point is preselected; the store's own plain
    # template is its default language's (Arabic) starting point, as configured
    assert '<option value="en" selected>' in page and "Hi Sam," in page
    assert "Dear Sam, we are sorry. Acme Goods" in world.call("GET", f"{path}?reply_locale=ar").text
    draft = page.split('id="reply"')[1].split("</textarea>")[0]
    assert english_left(page.replace(draft, "").replace("Sorry", "")) == []
    # A forged form is refused in Arabic
    forged = world.form(path, {"csrf": "nope", "action_id": "x", "action": "resolve"})
    assert forged.status == 422 and AR["staff_error_stale_form"] in forged.text
    # A reply is confirmed in Arabic, and the log shows it in Riyadh time
    sent = world.form(path, {**form_values(page), "action": "reply", "reply": "نأسف جدًا"})
    assert AR["staff_notice_replied"] in sent.text
    assert AR["staff_action_reply"] in sent.text and sent.text.count("(Asia/Riyadh)") >= 2
    resolved = world.form(path, {**form_values(sent.text), "action": "resolve", "action_id": "r2"})
    assert AR["staff_notice_resolved"] in resolved.text and AR["staff_badge_resolved"] in resolved.text


def test_escalation_says_how_late_the_reply_is(world: World) -> None:
    shop = arabic_shop(world)
    answer_badly(shop, world, "AR-3", "سيء")
    world.advance(timedelta(hours=5))
    overdue = [m for m in staff_mails(shop) if m["subject"].startswith("[متأخر]")]
    assert len(overdue) == 1
    assert "متأخر بمقدار 60 دقيقة" in overdue[0]["text"]  # late by an hour
    assert english_left(overdue[0]["text"]) == []


def test_reasons_the_evaluator_writes_are_all_said_in_the_stores_language() -> None:
    # Every reason functions.flags.evaluate can give has its catalog text (a new wording would show here)
    from functions.flags import emails, evaluate
    from functions.flags.sentiment import Sentiment
    from functions.shared.i18n import Translator
    from functions.stores.models import AlertPolicy

    class Gloomy:
        def analyze(self, text: str, hint: str | None = None) -> Sentiment:
            return Sentiment(label="NEGATIVE", confidence=0.87, language="en", analyzer="local")

    policy = AlertPolicy(keywords=["broken"])
    found = [  # stars and a keyword; a detractor; a text read only when nothing else flags (decision 66)
        *evaluate.evaluate({"kind": "review", "score": 1, "comment": "broken"}, policy, Gloomy()).reasons,
        *evaluate.evaluate({"kind": "nps", "score": 2}, policy, Gloomy()).reasons,
        *evaluate.evaluate({"kind": "review", "score": 5, "comment": "meh"}, policy, Gloomy()).reasons,
    ]
    assert len(found) == 4
    said = emails.reasons(Translator("ka"), {"reasons": found})
    assert not set(said) & set(found), said
    assert emails.reasons(Translator("en"), {"reasons": found}) == found  # English says what was stored


# ------------------------------------------------------------------------------ business hours


def berlin_office_shop(world: World) -> Shop:
    config = store_config("berlin-shop", world.desk.url)
    config["timezone"] = "Europe/Berlin"
    config["business_hours"] = {
        "weekly": {day: ["09:00-17:00"] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")},
        "holidays": ["2027-01-01"],
    }
    shop = Shop(world, "berlin-shop", config)
    shop.create()
    return shop


def test_the_sla_counts_business_hours_so_a_friday_answer_escalates_on_monday(world: World) -> None:
    # Given a store open weekdays 09:00-17:00 in Berlin with a 4-hour SLA, and a tour delivered on Thursday
    shop = berlin_office_shop(world)
    clock.clock.freeze(datetime(2026, 11, 5, 14, 59, tzinfo=UTC))  # Thursday 15:59 in Berlin
    # When the customer answers badly on Friday at 16:00 Berlin time
    answer_badly(shop, world, "BH-1", "broken")
    [flag] = shop.flags()
    assert clock.now() == datetime(2026, 11, 6, 15, 0, tzinfo=UTC)
    # Then the reply is due on Monday at 12:00 Berlin time (one hour on Friday, three on Monday)
    assert flag["sla_deadline"] == "2026-11-09T11:00:00Z"
    [alert] = staff_mails(shop)
    assert "Nov 9, 2026, 12:00\u202fPM (Europe/Berlin)" in alert["text"]
    assert "4 hours of business hours left" in alert["text"]
    # And nothing escalates over the weekend, however long it is in wall-clock hours
    world.advance(timedelta(days=2, hours=18))  # Monday 10:00 in Berlin
    page = world.call("GET", staff_path(alert)).text
    assert "2 hours of business hours left" in page and "Overdue" not in page
    assert [m for m in shop.mails() if m["subject"].startswith("[Overdue]")] == []
    # Until Monday noon has passed
    world.advance(timedelta(hours=2, minutes=30))
    [escalation] = [m for m in shop.mails() if m["subject"].startswith("[Overdue]")]
    due = "Overdue by 30 minutes: the reply was due Nov 9, 2026, 12:00\u202fPM (Europe/Berlin)"
    assert due in escalation["text"]


def test_the_example_configuration_shows_business_hours_that_validate() -> None:
    import yaml

    from functions.stores.models import StoreConfig

    text = Path("examples/store.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert "# business_hours:" in lines, "examples/store.yaml shows no business_hours block"
    start = lines.index("# business_hours:")
    block = [lines[start], *itertools.takewhile(lambda line: line.startswith("#   "), lines[start + 1 :])]
    uncommented = "\n".join(line.removeprefix("# ") for line in block)
    config = yaml.safe_load(text)
    config["business_hours"] = yaml.safe_load(uncommented)["business_hours"]
    hours = StoreConfig.model_validate(config).business_hours
    assert hours is not None and hours.periods(0) and hours.holidays


# ------------------------------------------------------------------------------ returns: approval and notes


def test_return_approval_email_and_page_are_in_the_stores_language(world: World) -> None:
    from tests.integration.test_money import request_return

    shop = arabic_shop(world, "riyadh-returns")
    shop.delivered("AR-R1", [JACKET])
    assert request_return(shop, "AR-R1", "l2").status == 200
    world.settle()
    mail = staff_mail_about(shop, AR["staff_return_approve"])
    assert mail["subject"].endswith(")") and "ret-" in mail["subject"]
    text = mail["text"]
    assert "(Asia/Riyadh)" in text and "خلال يومين" in text  # decide within two days
    assert "الطلب \u2068#AR-R1\u2069: استرداد لعدد 1 من المنتجات، 120.00 USD." in text
    assert "السبب: المقاس غير مناسب." in text  # one of Aftercare's own reasons, said in the store's language
    assert english_left(text.replace("Does not fit", "")) == [], text
    # The approval page is Arabic, right to left, its times in Riyadh
    path = staff_path(mail, "approve")
    page = world.call("GET", path).text
    assert '<html lang="ar" dir="rtl">' in page
    assert AR["staff_return_status_awaiting_approval"] in page and AR["approval_approve"] in page
    assert "(Asia/Riyadh)" in page
    assert english_left(page.replace("Does not fit", "")) == []
    decided = world.form(path, {**form_values(page), "decision": "approve"})
    assert AR["approval_notice_approve"] in decided.text


def refused_refund(world: World, store_id: str, order_id: str) -> dict[str, Any]:
    """An Arabic store whose refund endpoint refuses a return of socks, and the staff email saying so."""
    from tests.integration.test_money import request_return

    shop = arabic_shop(world, store_id)
    shop.delivered(order_id, [SOCKS])
    world.desk.refusing = True
    assert request_return(shop, order_id, "l3").status == 200
    world.settle()
    [mail] = [
        m for m in staff_mails(shop) if squeezed(AR["staff_return_refund_failed"]) in squeezed(m["subject"])
    ]
    return dict(mail)


def test_a_refund_that_fails_is_explained_to_staff_in_the_stores_language(world: World) -> None:
    mail = refused_refund(world, "riyadh-refunds", "AR-R2")
    # What the endpoint did, as Aftercare recorded it (in English), is said in Arabic
    assert Translator("ar")("staff_problem_refused", status=422) in mail["text"]
    assert "refused the refund" not in mail["text"] and "HTTP 422" in mail["text"]
    lines = mail["text"].split("\n")
    for key in ("staff_return_line_same_key", "staff_return_line_fix", "staff_return_link_retry"):
        assert any(AR[key] in line for line in lines), key
    assert english_left(mail["text"]) == []


def test_every_staff_note_the_return_steps_write_has_its_catalog_text() -> None:
    # functions/returns/steps.py writes staff notes in English; each heading and link label must be known
    from functions.returns import emails

    source = Path("functions/returns/steps.py").read_text(encoding="utf-8")
    headings = set(re.findall(r'StaffNote\(\s*"([^"]+)"', source))
    headings |= set(re.findall(r'"((?:Overdue: )?[Aa]pprove or reject a return)"', source))
    labels = set(re.findall(r'link_label="([^"]+)"', source))
    assert headings and labels
    assert headings <= set(emails.NOTE_HEADINGS), headings - set(emails.NOTE_HEADINGS)
    assert labels <= set(emails.LINK_LABELS), labels - set(emails.LINK_LABELS)
    for key in [
        *emails.NOTE_HEADINGS.values(),
        *emails.LINK_LABELS.values(),
        *[k for _, k in emails.NOTE_LINES],
    ]:
        assert key in catalog("en") and catalog("fa")[key] != catalog("en")[key], key


def test_staff_catalog_texts_are_translated_not_copied() -> None:
    english = json.loads(Path("templates/i18n/en.json").read_text(encoding="utf-8"))
    staff_keys = [key for key in english if key.startswith(("staff_", "approval_"))]
    symbols = re.compile(r"^[\s{}a-z_★:·0-9NPS]*$")  # texts that are only placeholders and symbols
    for language in ("ar", "fa", "kk", "ka"):
        translated = catalog(language)
        copied = [k for k in staff_keys if translated[k] == english[k] and not symbols.match(english[k])]
        assert copied == [], (language, copied)


# ------------------------------------------------------------------------------ what returns store in English

KK = catalog("kk")
# Aftercare's own English words for a return (its audit trail, policy warnings, refund problems, sender):
# stored in English, they must reach a Kazakh or Arabic store's staff in the store's language.
STORED_ENGLISH = (
    "cannot be returned",
    "does not take back",
    "return window",
    "Tick the confirmation",
    "requested for",
    "item(s)",
    "within the return policy",
    "outside the return policy",
    "offered by staff",
    "customer keeps",
    "approved automatically",
    "issued on attempt",
    "returned items left",
    "refund endpoint",
    "refused the refund",
    "Aftercare for",
    "Reference:",
)
# Words of the audit trail's steps and actors (checked as whole words, addresses and return ids aside).
AUDIT_WORDS = re.compile(
    r"\b(system|store|customer|requested|eligible|approval|approved|refund|refused|failed|issued|emailed"
    r"|completed|closed|done|settled|attempt|below|policy|note)\b"
)


def kazakh_shop(world: World, store_id: str = "almaty-shop") -> Shop:
    config = store_config(store_id, world.desk.url)
    config["default_locale"] = "kk"
    config["timezone"] = "Asia/Almaty"
    shop = Shop(world, store_id, config)
    shop.create()
    return shop


def stored_english_left(text: str) -> list[str]:
    return [phrase for phrase in STORED_ENGLISH if phrase in text]


def audit_words_left(section: str) -> list[str]:
    """English step and actor words in an audit trail, once addresses and return ids are taken out."""
    plain = re.sub(r"<[^>]+>", " ", section)
    plain = re.sub(r"[\w.+-]+@[\w.-]+|ret-[0-9]+(:\w+)?|[\w-]+\.example\.com", " ", plain)
    return AUDIT_WORDS.findall(plain)


def section(page: str, start: str, end: str) -> str:
    found = re.search(re.escape(start) + "(.*?)" + re.escape(end), page, re.DOTALL)
    assert found, start
    return found.group(1)


def test_an_offer_outside_the_policy_and_its_audit_trail_are_in_the_stores_language(world: World) -> None:
    # Given a Kazakh store whose policy does not take tours back, and a flag about a tour
    shop = kazakh_shop(world)
    answer_badly(shop, world, "KK-1", "тур өтпеді")
    [alert] = staff_mails(shop)
    kk = Translator("kk")
    # Then the alert comes from "Aftercare" named in Kazakh
    assert (
        kk("staff_sender_name", store="Acme Goods") in alert["from"] and "Aftercare for" not in alert["from"]
    )
    # When staff open the page, the policy's warning about the offer is in Kazakh
    path = staff_path(alert)
    page = html.unescape(world.call("GET", path).text)
    warning = kk("staff_policy_kind_one", names="Product p-tour")
    assert warning in page and stored_english_left(page) == []
    # And an offer sent without the confirmation is refused in Kazakh, naming the policy's reason
    unconfirmed = world.form(path, {**form_values(page), "action": "offer", "offer": "refund"})
    assert unconfirmed.status == 422
    refused = html.unescape(unconfirmed.text)
    assert kk("staff_error_outside_policy", warnings=warning) in refused
    assert stored_english_left(refused) == []
    # When staff confirm the offer and the refund goes through
    confirmed = {**form_values(page), "action": "offer", "offer": "refund", "outside_policy_ok": "1"}
    assert world.form(path, confirmed).status == 200
    world.settle()
    # Then the return's audit trail on the staff page says its steps, actors and outcomes in Kazakh
    trail = html.unescape(
        section(world.call("GET", path).text, '<section data-testid="return">', "</section>")
    )
    for key in ("staff_step_requested", "staff_step_eligible", "staff_step_refund_issued"):
        assert KK[key] in trail, key
    assert kk("staff_actor_store", store="almaty-shop") in trail and KK["staff_actor_system"] in trail
    assert kk("staff_audit_requested", outcome=KK["staff_outcome_refund"], count=1) in trail
    assert kk("staff_audit_outside_policy", policy=warning) in trail and KK["staff_audit_offered"] in trail
    assert stored_english_left(trail) == [] and audit_words_left(trail) == [], trail


def test_the_approval_page_says_a_failed_refund_and_its_audit_trail_in_the_stores_language(
    world: World,
) -> None:
    # Given an Arabic store whose refund endpoint refuses a customer's return of cheap socks
    # When staff open the return from the email saying the refund could not be issued
    mail = refused_refund(world, "riyadh-audit", "AR-R3")
    ar = Translator("ar")
    assert ar("staff_sender_name", store="Acme Goods") in mail["from"] and "Aftercare for" not in mail["from"]
    page = html.unescape(world.call("GET", staff_path(mail, "approve")).text)
    # Then the refund's problem is said in Arabic
    problem = ar("staff_problem_refused", status=422)
    assert f"{AR['approval_refund_problem']}</strong> {problem}." in page
    # And so is every step of the audit trail: who, what, and what came of it
    trail = section(page, '<table data-testid="audit">', "</table>")
    for key in ("staff_step_requested", "staff_step_eligible", "staff_step_refund_refused"):
        assert AR[key] in trail, key
    assert ar("staff_actor_customer_email", email="\u2068sam@example.com\u2069") in trail
    assert ar("staff_audit_requested", outcome=AR["staff_outcome_refund"], count=1) in trail
    assert ar("staff_audit_keeps_item", limit="15", currency="USD") in trail
    assert f"<td>{problem}</td>" in trail
    assert stored_english_left(page.replace("Does not fit", "")) == []
    assert audit_words_left(trail) == [], trail
    assert english_left(page.replace("Does not fit", "")) == []


def test_a_staff_link_that_does_not_open_is_explained_in_the_stores_language(world: World) -> None:
    # Given a Kazakh store, a staff link and an approval link that expire in a day, and one for a lost flag
    shop = kazakh_shop(world, "almaty-links")
    staff = "/staff/" + shop.link("staff", {"f": "flag-x", "a": "care@almaty-links.example.com"}, days=1)
    approval = "/approve/" + shop.link(
        "return-approval", {"r": "ret-x", "a": "care@almaty-links.example.com"}, 1
    )
    # When the missing flag's link is opened, the page is in Kazakh
    missing = world.call("GET", "/staff/" + shop.link("staff", {"f": "flag-gone", "a": "x"}))
    assert missing.status == 404 and '<html lang="kk"' in missing.text
    assert KK["staff_link_missing_title"] in missing.text and stored_english_left(missing.text) == []
    # And once the links have expired, their pages are in Kazakh too
    world.advance(timedelta(days=2))
    for path, key in ((staff, "staff_link_expired"), (approval, "approval_link_expired")):
        expired = world.call("GET", path)
        assert expired.status == 410 and '<html lang="kk"' in expired.text
        page = html.unescape(expired.text)
        assert KK["staff_link_expired_title"] in page and Translator("kk")(key, days=14) in page
        assert "This link has expired" not in page and stored_english_left(page) == []
    # But a damaged link proves no store: its page stays in English
    damaged = world.call("GET", staff[:-3] + ("AAA" if not staff.endswith("AAA") else "BBB"))
    assert damaged.status == 400 and '<html lang="en"' in damaged.text


def test_every_wording_a_return_stores_is_said_in_the_stores_language() -> None:
    # Given the English a return records: step names (steps.py, service.py), the policy's reasons and notes,
    # and what a refund call that failed was recorded as
    import ast
    from types import SimpleNamespace

    from functions.returns import policy, steps, wording
    from functions.returns.refund_client import RefundAnswer, Reply
    from functions.stores.models import StoreConfig

    names: set[str] = {"refund call failed"}  # steps._refund_problem's default step
    for source in ("functions/returns/steps.py", "functions/returns/service.py"):
        for node in ast.walk(ast.parse(Path(source).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                at = {"step": 1 if source.endswith("steps.py") else 3, "_refund_problem": 2}.get(name)
                if at is not None and len(node.args) > at:
                    names |= {c.value for c in ast.walk(node.args[at]) if isinstance(c, ast.Constant)}
    names = {n.strip() for n in names if isinstance(n, str)} | {"approval timed out", "parcel timed out"}
    names -= {"timed out"}
    assert names <= set(wording.STEPS), names - set(wording.STEPS)
    config = StoreConfig.model_validate(
        {**store_config("wording-shop", "https://shop.example.com/refunds"), "default_locale": "kk"}
    )
    now = datetime(2027, 3, 1, tzinfo=UTC)
    items = [{"name": "Tour", "product_type": "experience"}, {"name": "Gift", "product_type": "gift card"}]
    problems = [
        *policy.outside_policy(items[:1], config, None, now),
        *policy.outside_policy(items, config, now - timedelta(days=40), now),
    ]
    staff_offer = {"items": [{**items[0], "price": "30"}], "source": "staff", "outcome": "refund"}
    notes = policy.decide(staff_offer, config, now - timedelta(days=40), now).notes
    auto = policy.decide({"items": [{"name": "Cap", "price": "20"}]}, config, None, now).notes
    recorded: list[str] = []
    ctx = SimpleNamespace(
        set=lambda **fields: None, step=lambda actor, step, outcome, **d: recorded.append(outcome)
    )
    for answer in (
        RefundAnswer(Reply.TIMED_OUT, error="Timeout"),
        RefundAnswer(Reply.UNREACHABLE, error="ConnectionError"),
        RefundAnswer(Reply.BUSY, 503),
        RefundAnswer(Reply.REDIRECTED, 302),
        RefundAnswer(Reply.REFUSED, 422),
    ):
        with pytest.raises((steps.RefundEndpointUnavailable, steps.RefundRejected)):
            steps._check_answer(ctx, answer, 2, "ret-1:refund")  # type: ignore[arg-type]
    assert len(problems) == 3 and len(notes) == 4 and len(auto) == 1 and len(recorded) == 5
    # Then each is said in Kazakh (and English says what was stored)
    kk, en = Translator("kk"), Translator("en")
    for name in names:
        assert KK[wording.STEPS[name]] != name and catalog("en")[wording.STEPS[name]] == name
    for text in problems:  # (a closing day is said as a date in any language)
        assert (
            wording.policy_said(kk, text) != text and stored_english_left(wording.policy_said(kk, text)) == []
        )
    assert wording.policy_said(en, problems[0]) == problems[0]
    for text in [*notes, *auto]:
        said = wording.outcome_said(kk, "eligible", text, "UTC")
        english = wording.outcome_said(en, "eligible", text, "UTC")
        assert said != text and (english == text or "window closed" in text), text
        assert stored_english_left(said) == [] and audit_words_left(said) == [], said
    for text in [*recorded, *steps._PLAIN_FAILURES.values(), "the refund step stopped unexpectedly"]:
        said = wording.problem_said(kk, text)
        assert said != text and "refund" not in said and wording.problem_said(en, text) == text, text
    assert wording.problem_said(kk, "Already returned or refunded (l1: 0 left).") == kk(
        "staff_ledger_taken", left=kk("staff_ledger_left", line="l1", count=0)
    )
    assert wording.reason_said(kk, "offered by staff: no note") == kk(
        "staff_reason_offered", note=KK["staff_audit_no_note"]
    )
