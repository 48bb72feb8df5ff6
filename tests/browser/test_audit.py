"""The audit of everything a customer, staff or the owner sees, in every language.

For each locale a store lives its whole story (tests/audit.py: requests, answers, alerts, replies,
unsubscribing, returns, the workspace, the digest) and every email and every page it produced is judged
the way people and their mail filters will:

- rendered in headless Chromium at 360 and 1280 px (emails also at 320 px): nothing scrolls sideways;
- axe finds no serious or critical violation (emails are judged as documents: they have no landmarks);
- SpamAssassin's local rules (``spamassassin -L -t``) give every email a score of 0 or less;
- in ar, fa, kk and ka no English is left: every Latin word is one the store or the customer wrote.

Each run writes its counts to ``build/audit/<locale>.json``; the terminal summary adds them up.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests import spam
from tests.audit import LOCALES, WRITTEN, Seen, Story, whole_story
from tests.browser.checks import overflow, serious_violations
from tests.world import World

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "build" / "audit"
SHOTS = ROOT / "docs" / "screenshots"
# The README's pictures of what customers and staff see, taken from the audit's renders (the first email
# or page of that name): (locale, name, width) -> file in docs/screenshots
README_SHOTS = {
    ("en", "review and NPS requests: to the customer", 360): "request-email-en-360.png",
    ("ar", "review and NPS requests: to the customer", 360): "request-email-ar-360.png",
    ("ar", "survey page, review", 360): "survey-ar-360.png",
    ("en", "bad answer: to staff", 360): "staff-alert-en-360.png",
    ("en", "staff page", 1280): "staff-page-en-1280.png",
}
PAGE_WIDTHS = (360, 1280)
EMAIL_WIDTHS = (320, 360, 1280)
AXE_WIDTHS = (360, 1280)
# Latin words allowed in every language besides the ones people wrote, each for a reason:
LOANWORDS = {
    "Aftercare",  # the product's name, and its command (``aftercare store update``) the settings page quotes
    "aftercare",
    "Re",  # "Re:" before a reply's subject: the mail convention every client reads in every language
    "NPS",  # the survey's name; the catalogs keep the acronym, as the trade does
    "CSV",  # the download's file format
    "JSON",  # the customer data export's file format (the portable copy the readable export points to)
    "US",  # CLDR's symbol for the US dollar in these languages ("US$")
    "webhook",  # the platforms' own word, kept by Arabic, Persian, Kazakh and Georgian developers
    "ID",  # "store ID": Georgian keeps the Latin abbreviation
    "shopify",  # the integration ids of store.yaml, which the settings page lists as configured
    "generic",
}
ALLOWED = WRITTEN | LOANWORDS
_LATIN = re.compile(r"[A-Za-z][A-Za-z']+")
_NOT_WORDS = re.compile(
    # links, addresses, ids with dashes (store ids, "ret-1f90"), zone names (Asia/Riyadh), currency codes
    # and a language's code after its name ("العربية (ar)")
    r"https?://\S+|[\w.+-]+@[\w.-]+|\b[a-z0-9]+(?:-[a-z0-9]+)+\b|\b[A-Z][a-z]+/[A-Za-z_]+\b|\b[A-Z]{3}\b"
    r"|\([a-z]{2}\)"
)


# Everything a person reads, except <code> (configuration keys and ids the settings page quotes exactly as
# they are written in store.yaml, and the refund's idempotency key on the customer data export) and what
# is marked translate="no" (lists and texts of the store's configuration shown as the store wrote them:
# keywords, return reasons, reply templates).
VISIBLE = """() => {
  const hide = document.createElement('style');
  hide.textContent = 'code, [translate=no] { display: none !important; }';
  document.head.appendChild(hide);
  const words = [document.title, document.body.innerText];
  hide.remove();
  for (const el of document.querySelectorAll('[title],[aria-label],[alt],[placeholder],input[type=submit]')) {
    for (const name of ['title', 'aria-label', 'alt', 'placeholder', 'value']) {
      const shown = name !== 'value' || el.type === 'submit';
      if (shown && el.hasAttribute(name)) words.push(el.getAttribute(name));
    }
  }
  return words.join('\\n');
}"""


def english_left(text: str) -> list[str]:
    """The Latin words of ``text`` nobody wrote in the store's data: what a catalog failed to translate."""
    plain = _NOT_WORDS.sub(" ", text)
    return sorted({word for word in _LATIN.findall(plain) if word not in ALLOWED})


def spam_scores(emails: list[Seen]) -> list[tuple[float, str]]:
    """Each email's local SpamAssassin score (as ``spamassassin -L -t`` gives it), with the rules that
    scored."""
    return [(found.score, found.scoring_text()) for found in spam.verdicts(email.mime for email in emails)]


def judge(browser: Any, story: Story) -> dict[str, Any]:
    problems: list[str] = []
    renders = violations = 0
    contexts = {
        width: browser.new_context(viewport={"width": width, "height": 800}) for width in EMAIL_WIDTHS
    }
    tabs = {width: context.new_page() for width, context in contexts.items()}
    shots = {
        (name, width): file for (locale, name, width), file in README_SHOTS.items() if locale == story.locale
    }
    try:
        for seen in [*story.emails, *story.pages]:
            widths = EMAIL_WIDTHS if seen.is_email else PAGE_WIDTHS
            for width in widths:
                tab = tabs[width]
                tab.set_content(seen.html, wait_until="load")
                renders += 1
                shot = shots.pop((seen.name, width), None)
                if shot:
                    tab.screenshot(path=str(SHOTS / shot), full_page=True)
                wide = overflow(tab)
                if wide > 0:
                    problems.append(f"{seen.name}: {wide} px too wide at {width} px")
                if width in AXE_WIDTHS:
                    found = serious_violations(tab, seen.is_email)
                    violations += len(found)
                    problems.extend(f"{seen.name} at {width} px: {v}" for v in found)
            if story.locale != "en":
                shown = tabs[1280].evaluate(VISIBLE)
                left = english_left("\n".join([shown, seen.subject, seen.text]))
                if left:
                    problems.append(f"{seen.name}: English left in {story.locale}: {left}")
    finally:
        for context in contexts.values():
            context.close()
    problems.extend(
        f"no {name!r} at {width} px for the README's {file}" for (name, width), file in shots.items()
    )
    scores = spam_scores(story.emails)
    for email, (score, rules) in zip(story.emails, scores, strict=True):
        if score > 0:
            problems.append(f"{email.name} ({email.subject}): SpamAssassin {score} ({rules})")
        if not email.headers.get("Message-ID"):
            problems.append(f"{email.name}: no Message-ID")
    return {
        "locale": story.locale,
        "emails": len(story.emails),
        "pages": len(story.pages),
        "renders": renders,
        "violations": violations,
        "max_spam_score": max(score for score, _ in scores),
        "problems": problems,
    }


@pytest.mark.parametrize("locale", LOCALES)
def test_every_email_and_page_fits_passes_axe_and_speaks_the_language(
    world: World, browser: Any, locale: str
) -> None:
    # Given a store and its customers in this language, When they live the whole story
    story = whole_story(world, locale)
    assert len(story.emails) >= 15 and len(story.pages) >= 25  # the story still shows what it should
    # Then every email and page is judged, and nothing is found against any of them
    report = judge(browser, story)
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{locale}.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    assert report["problems"] == [], "\n".join(report["problems"])
