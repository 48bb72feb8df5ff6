"""Store texts are ``{placeholder}`` templates and nothing more: rendering, validation, catalogs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.shared import texts
from functions.shared.i18n import Translator, catalog
from functions.stores.models import SUPPORTED_LOCALES

pytestmark = pytest.mark.unit

CATALOGS = Path("templates/i18n")
ENGLISH = json.loads((CATALOGS / "en.json").read_text(encoding="utf-8"))


class Loud:
    """A value whose formatting would show if anything ever called ``format`` on it."""

    def __str__(self) -> str:
        return "Acme"

    def __format__(self, spec: str) -> str:
        raise AssertionError("format() must never be called")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Thanks from {store}", "Thanks from Acme"),
        ("{store}{store}", "AcmeAcme"),
        ("{{store}} is {store}", "{store} is Acme"),
        ("{{ literal }}", "{ literal }"),
        ("{{{store}}}", "{Acme}"),
        ("}} and {{", "} and {"),
        ("no placeholders", "no placeholders"),
        ("{unknown} stays", "{unknown} stays"),
        ("{Store} is not a placeholder", "{Store} is not a placeholder"),
        ("{store:>99999999}", "{store:>99999999}"),
        ("{store.__class__}", "{store.__class__}"),
        ("{store.__class__.__mro__}", "{store.__class__.__mro__}"),
        ("{store[0]}", "{store[0]}"),
        ("{store!r}", "{store!r}"),
        ("{0}", "{0}"),
        ("{}", "{}"),
        ("{store", "{store"),
        ("store}", "store}"),
        ("{ store }", "{ store }"),
    ],
)
def test_render_fills_plain_placeholders_and_leaves_everything_else_literal(
    template: str, expected: str
) -> None:
    assert texts.render(template, {"store": Loud()}) == expected


def test_render_uses_str_of_values_without_formatting_them() -> None:
    assert texts.render("{count} items, {amount}", {"count": 3, "amount": 9.5}) == "3 items, 9.5"


def test_values_are_not_rendered_again() -> None:
    assert texts.render("Hi {name}", {"name": "{store}", "store": "Acme"}) == "Hi {store}"


def test_a_width_spec_cannot_build_a_huge_text() -> None:
    assert len(texts.render("{store:>99999999}" * 10, {"store": "Acme"})) < 200


def test_reply_template_helper_fills_name_and_store_only() -> None:
    rendered = texts.render_reply_template("Hi {name}, {store} {order}", name="Ana", store="Acme")
    assert rendered == "Hi Ana, Acme {order}"


def test_placeholders_ignore_escaped_braces() -> None:
    assert texts.placeholders("{{store}} {order} {name}") == {"order", "name"}


@pytest.mark.parametrize(
    ("template", "phrase"),
    [
        ("{store:>99999999}", "formatting"),
        ("{store!r}", "formatting"),
        ("{store.__class__}", "without . or [ ]"),
        ("{store[0]}", "without . or [ ]"),
        ("{0}", "needs a name"),
        ("{}", "needs a name"),
        ("{Store}", "lowercase"),
        ("{store-name}", "lowercase"),
        ("Hi {store", "lone '{'"),
        ("Hi store}", "lone '}'"),
        ("{{store}", "lone '}'"),
        ("a { b", "write {{ or }}"),
    ],
)
def test_syntax_problems_are_explained(template: str, phrase: str) -> None:
    problem = texts.problem(template, frozenset({"store"}))
    assert problem is not None
    assert phrase in problem


@pytest.mark.parametrize("template", ["", "plain", "{store}", "{{store}}", "{{ {store} }}", "a\nb\tc"])
def test_valid_templates_have_no_problem(template: str) -> None:
    assert texts.problem(template, frozenset({"store"})) is None


def test_a_placeholder_outside_the_allow_list_names_the_allowed_ones() -> None:
    problem = texts.problem("Hi {customer}", frozenset({"name", "store"}))
    assert problem == "uses {customer}, which this text cannot fill (it can use {name}, {store})"


def test_a_text_without_placeholders_says_so() -> None:
    problem = texts.problem("Hi {store}", frozenset())
    assert problem is not None and "no placeholders" in problem


def test_length_and_control_characters_are_limited() -> None:
    assert texts.problem("x" * 1000, frozenset()) is None
    assert "longer than 1000" in (texts.problem("x" * 1001, frozenset()) or "")
    assert "control characters" in (texts.problem("a\x00b", frozenset()) or "")
    assert "control characters" in (texts.problem("a\rb", frozenset()) or "")


def test_reply_templates_allow_name_and_store_up_to_5000_characters() -> None:
    assert texts.reply_template_problem("Hi {name},\n\n{store}") is None
    assert texts.reply_template_problem("x" * 5000) is None
    assert "longer than 5000" in (texts.reply_template_problem("x" * 5001) or "")
    assert "{order}" in (texts.reply_template_problem("Your order {order}") or "")


def test_allow_lists_come_from_the_english_catalog() -> None:
    allowed = texts.catalog_placeholders()
    assert set(allowed) == {key for key in ENGLISH if not key.startswith("_")}
    for key, text in ENGLISH.items():
        if not key.startswith("_"):
            assert allowed[key] == texts.placeholders(text), key


def test_override_of_an_unknown_key_suggests_the_nearest_one() -> None:
    key = next(key for key, names in texts.catalog_placeholders().items() if "store" in names)
    problem = texts.override_problem(key[:-1], "Hi {store}")
    assert problem == f"is not a text Aftercare uses; did you mean {key!r}?"


def test_override_of_a_far_off_key_points_at_the_catalog() -> None:
    problem = texts.override_problem("zzzzzzzzzz", "Hi")
    assert problem is not None and "templates/i18n/en.json" in problem


def test_override_checks_the_keys_own_placeholders() -> None:
    allowed = texts.catalog_placeholders()
    key = next(key for key, names in allowed.items() if not names)
    assert texts.override_problem(key, "Plain words") is None
    assert "no placeholders" in (texts.override_problem(key, "{store}") or "")


@pytest.mark.parametrize("language", SUPPORTED_LOCALES)
def test_every_catalog_passes_the_same_validation_as_store_overrides(language: str) -> None:
    translated = json.loads((CATALOGS / f"{language}.json").read_text(encoding="utf-8"))
    for key, text in translated.items():
        if key.startswith("_"):
            continue
        assert key in ENGLISH, f"{language}.{key} is not in the English catalog"
        assert texts.syntax_problem(text) is None, f"{language}.{key}"
        assert texts.placeholders(text) <= texts.placeholders(ENGLISH[key]), f"{language}.{key}"


def test_every_locale_file_is_checked() -> None:
    assert {path.stem for path in CATALOGS.glob("*.json")} == set(SUPPORTED_LOCALES)


def test_translator_renders_with_the_template_language() -> None:
    t = Translator("en", {"en": {"greeting": "Hi {name:>50} {name.__class__} {name}"}})
    assert t("greeting", name="Ana") == "Hi {name:>50} {name.__class__} Ana"


def test_translator_falls_back_from_override_to_catalog_to_english_to_key() -> None:
    t = Translator("ka", {"ka": {"thanks": "Custom {{braces}}"}})
    assert t("thanks") == "Custom {braces}"
    assert t.text("submit") == catalog("ka")["submit"]
    assert Translator("xx")("submit") == catalog("en")["submit"]
    assert Translator("en")("no_such_key") == "no_such_key"


def test_translator_ignores_overrides_for_other_languages() -> None:
    assert Translator("en", {"ka": {"submit": "X"}})("submit") == catalog("en")["submit"]
