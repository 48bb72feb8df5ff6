"""A store that lists no alert keywords gets Aftercare's own in its language (and English), so a comment in
the store's language that mentions one is flagged whatever its stars.

Stores go through the public routes and the real schedules, as in production (tests/world.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.helpers import bearer
from tests.world import Shop, World, store_config, token_of

pytestmark = pytest.mark.integration

TOUR = ("l1", "p-tour", "experience", 1, "30.00")  # reviewed a day after delivery


def shop_in(world: World, store_id: str, locale: str, **alerts: Any) -> Shop:
    config = store_config(store_id, world.desk.url)
    config["default_locale"] = locale
    config["alerts"] = {"sla": "PT4H", **alerts}
    shop = Shop(world, store_id, config)
    shop.create()
    return shop


def five_stars(shop: Shop, world: World, order_id: str, comment: str) -> None:
    """A five-star answer (never negative by its score) with ``comment``."""
    email = f"{order_id.lower()}@example.com"
    shop.delivered(order_id, [TOUR], email=email, days_ago=0)
    world.advance(timedelta(days=1, minutes=1))
    [mail] = [m for m in shop.mails() if m["to"] == [email]]
    star = [link["href"] for link in mail["links"] if "/s/" in link["href"]][4]
    answered = world.form("/s/" + token_of(star), {"score": "5", "comment": comment})
    assert answered.status == 200, answered.text
    world.run_schedules()


def keyword_reasons(shop: Shop) -> list[str]:
    return [r for flag in shop.flags() for r in flag.get("reasons") or [] if r.startswith("mentions")]


def test_an_arabic_comment_with_a_default_arabic_keyword_flags_an_arabic_store(world: World) -> None:
    shop = shop_in(world, "riyadh-words", "ar")
    five_stars(shop, world, "A-1", "الجولة رائعة لكن الكوب وصل مكسورًا")  # "...the cup arrived broken"
    assert keyword_reasons(shop) == ['mentions "مكسور"']
    [alert] = [m for m in shop.mails() if m["to"] == ["care@riyadh-words.example.com"]]
    assert "مكسور" in alert["text"]


def test_a_store_without_keywords_stores_none_and_a_store_of_its_own_keeps_its_words(world: World) -> None:
    default = shop_in(world, "tbilisi-words", "ka")
    own = shop_in(world, "almaty-words", "kk", keywords=["сынық"])
    shown = world.call("GET", "/v1/stores/tbilisi-words", headers=bearer(default.admin_key)).json
    assert shown["config"]["alerts"]["keywords"] is None  # the defaults are Aftercare's, not the store's
    five_stars(default, world, "K-1", "ყველაფერი კარგია, მაგრამ ჭიქა გატეხილი მოვიდა")
    five_stars(own, world, "K-2", "Бәрі жақсы, бірақ кесе сынған келді")  # a default word, not the store's
    assert keyword_reasons(default) == ['mentions "გატეხილი"']
    assert keyword_reasons(own) == []


def test_an_english_store_is_not_flagged_for_arabic_words(world: World) -> None:
    shop = shop_in(world, "london-words", "en")
    five_stars(shop, world, "E-1", "وصل مكسورًا")
    assert keyword_reasons(shop) == []
