"""Staff reply in the customer's language: per-locale reply templates, the customer's preselected, the
reply emailed in the language it was written in."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from functions.shared.i18n import catalog
from functions.stores.models import StoreConfig
from tests.helpers import minimal_store_config
from tests.integration.test_staff_locale import staff_mails, staff_path
from tests.world import Shop, World, form_values, store_config, token_of

pytestmark = pytest.mark.integration

AR, KK = catalog("ar"), catalog("kk")
TOUR = ("l1", "p-tour", "experience", 1, "30.00")


def english_shop(world: World, store_id: str, templates: dict[str, Any] | None = None) -> Shop:
    config = store_config(store_id, world.desk.url)
    if templates is not None:
        config["alerts"] = {"reply_templates": templates}
    shop = Shop(world, store_id, config)
    shop.create()
    return shop


def flagged(shop: Shop, world: World, customer: dict[str, Any]) -> str:
    """An Arabic customer's one-star answer; the staff page's path from the alert."""
    email = customer["email"]
    shop.delivered("Q-1", [TOUR], email=email, days_ago=0, customer=customer)
    world.advance(timedelta(days=1, minutes=1))
    [mail] = [m for m in shop.mails() if m["to"] == [email]]
    star = next(link["href"] for link in mail["links"] if "/s/" in link["href"])
    world.form("/s/" + token_of(star), {"score": "1", "comment": "سيء"})
    world.run_schedules()
    return staff_path(staff_mails(shop)[0])


def test_an_arabic_customer_gets_the_arabic_starting_point_and_an_arabic_reply(world: World) -> None:
    # Given an English store with its default (English) template, and an Arabic customer without a name
    shop = english_shop(world, "reply-langs")
    path = flagged(shop, world, {"email": "nour@example.com", "name": "", "locale": "ar"})
    # When staff open the page, Then Arabic is preselected and the draft is Aftercare's Arabic apology,
    # addressing the customer the Arabic way (never an English "there")
    page = world.call("GET", path).text
    assert '<option value="ar" selected>' in page
    assert AR["rp_apology_body"].replace("{name}", AR["rp_name_missing"]).split("\n")[0] in page
    assert "there" not in page.split('id="reply"')[1].split("</textarea>")[0]
    # When they choose Kazakh instead (a GET: it only changes the draft), Then the Kazakh one is shown
    kazakh = world.call("GET", f"{path}?reply_locale=kk").text
    assert KK["rp_apology_body"].replace("{name}", KK["rp_name_missing"]).split("\n")[0] in kazakh
    # When they send the Arabic draft, Then the email is marked Arabic, right to left
    draft = html.unescape(page.split('id="reply"')[1].split(">", 1)[1].split("</textarea>")[0])
    sent = world.form(path, {**form_values(page), "action": "reply", "reply": draft})
    assert sent.status == 200, sent.text
    [reply] = [m for m in shop.mails() if m["to"] == ["nour@example.com"] and m["subject"].startswith("Re:")]
    assert '<html lang="ar" dir="rtl">' in reply["html"] and AR["rp_name_missing"] in reply["text"]


def test_the_stores_own_templates_per_locale_are_offered_in_that_locale(world: World) -> None:
    templates = {"Sorry": {"en": "Hi {name}, sorry. {store}", "ar": "مرحبًا {name}، نعتذر. {store}"}}
    shop = english_shop(world, "reply-own", templates)
    path = flagged(shop, world, {"email": "nour@example.com", "name": "Nour Haddad", "locale": "ar"})
    page = world.call("GET", path).text
    assert "مرحبًا \u2068Nour\u2069، نعتذر." in page or "مرحبًا Nour، نعتذر." in page
    english = world.call("GET", f"{path}?reply_locale=en&template=Sorry").text
    assert "Hi Nour, sorry. Acme Goods" in english


def test_reply_templates_per_locale_are_checked_like_one_text() -> None:
    def config(templates: Any) -> dict[str, Any]:
        data = minimal_store_config()
        data["alerts"] = {"reply_templates": templates}
        return data

    good = {"Sorry": {"en": "Hi {name}", "ar": "مرحبًا {name}"}, "Old": "Hi {name}. {store}"}
    assert StoreConfig.model_validate(config(good)).alerts.reply_templates == good
    with pytest.raises(ValidationError, match="is not a locale with a catalog"):
        StoreConfig.model_validate(config({"Sorry": {"de": "Hallo {name}"}}))
    with pytest.raises(ValidationError, match=r"it can use \{name\}, \{store\}"):
        StoreConfig.model_validate(config({"Sorry": {"ar": "مرحبًا {customer}"}}))
