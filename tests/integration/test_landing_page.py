"""A person opening the service's address gets a page saying what it is, in their language; the local stack
links to its dev console, a deployment does not; the browser's icon request gets an icon, not a 404."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from tests.helpers import ApiClient

pytestmark = pytest.mark.integration

CATALOGS = Path(__file__).resolve().parents[2] / "templates" / "i18n" / "landing"


def catalog(locale: str) -> dict[str, str]:
    return dict(json.loads((CATALOGS / f"{locale}.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("accept", "locale", "direction"),
    [
        ("", "en", "ltr"),
        ("ar-EG,ar;q=0.9,en;q=0.5", "ar", "rtl"),
        ("de-DE,fa;q=0.8", "fa", "rtl"),
        ("kk", "kk", "ltr"),
        ("en;q=0.3,ka-GE;q=0.9", "ka", "ltr"),
        ("de, fr", "en", "ltr"),
    ],
)
def test_the_landing_page_speaks_the_visitors_language(
    api: ApiClient, accept: str, locale: str, direction: str
) -> None:
    # When a browser opens the service's address
    response = api.get("/", headers={"accept-language": accept} if accept else {})

    # Then it is an HTML page in the first of the five languages the browser accepts, else English
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-language"] == locale
    assert response.headers["vary"] == "Accept-Language"
    assert f'<html lang="{locale}" dir="{direction}">' in response.text
    texts, shown = catalog(locale), html.unescape(response.text)
    assert texts["landing_tagline"] in shown and texts["landing_what"] in shown


def test_the_local_stack_links_to_its_dev_console(api: ApiClient) -> None:
    page = api.get("/").text
    assert 'href="/_dev/"' in page and catalog("en")["landing_console"] in page
    assert catalog("en")["landing_visitors"] not in page


def test_a_deployment_tells_visitors_there_is_nothing_here_and_never_links_the_console(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import composition

    # Given a deployment that is not the local stack
    monkeypatch.setenv("AFTERCARE_STAGE", "prod")
    composition.reset()

    for locale in ("en", "ar", "fa", "kk", "ka"):
        page = html.unescape(api.get("/", headers={"accept-language": locale}).text)
        texts = catalog(locale)
        assert texts["landing_visitors"] in page
        assert (
            "/_dev" not in page
            and texts["landing_console"] not in page
            and texts["landing_local"] not in page
        )


def test_the_icon_is_an_svg_browsers_may_cache(api: ApiClient) -> None:
    response = api.get("/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert "max-age=604800" in response.headers["cache-control"]
    assert response.text.startswith("<svg ") and response.text.endswith("</svg>")
